#!/usr/bin/env bash
# relibc-shim/benches/run.sh [pairs] [rounds]: the shim against glibc in
# the same process (benches/sem_bench.c), twice:
# 1. the shim with the hosted backend (release): uncontended pairs, with
#    the syscalls it made counted (must be 0), and two-thread ping-pong
#    through the hosted kernel's futex;
# 2. the shim as built for a real kernel (sem_t words inline, the syscall
#    stub unused): the uncontended pairs only, which never enter a kernel.
# Exit status non-zero if an uncontended pair made a syscall or failed.
set -euo pipefail
shim="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$shim/.." && pwd)"
cd "$root"
libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)
cflags=(-std=c11 -O2 -Wall -Werror -pthread -I "$shim/include")

out="$root/target/shim-host"
cargo rustc -q --release -p relibc-shim --features hosted-backend --crate-type staticlib --target-dir "$out"
"${CC:-cc}" "${cflags[@]}" "$shim/benches/sem_bench.c" "$out/release/libredbear_shim.a" "${libs[@]}" -o "$out/sem_bench"
"$out/sem_bench" "$@"

native="$root/target/shim-native"
cargo rustc -q --release -p relibc-shim --features standalone --crate-type staticlib --target-dir "$native" \
    --config 'profile.release.panic="abort"'
"${CC:-cc}" "${cflags[@]}" -DRB_NATIVE_LAYOUT "$shim/benches/sem_bench.c" "$native/release/libredbear_shim.a" "${libs[@]}" \
    -o "$native/sem_bench"
"$native/sem_bench" "$@"
