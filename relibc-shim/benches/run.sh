#!/usr/bin/env bash
# relibc-shim/benches/run.sh [pairs] [rounds]: builds the shim's host
# staticlib (release, hosted backend) and benches/sem_bench.c, and runs it:
# the shim against glibc in the same process. Exit 2 if an uncontended
# sem_wait/sem_post made a syscall.
set -euo pipefail
shim="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$shim/.." && pwd)"
out="$root/target/shim-host"
cd "$root"
cargo rustc -q --release -p relibc-shim --features hosted-backend --crate-type staticlib --target-dir "$out"
"${CC:-cc}" -std=c11 -O2 -Wall -Werror -pthread -I "$shim/include" "$shim/benches/sem_bench.c" \
    "$out/release/libredbear_shim.a" -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o "$out/sem_bench"
"$out/sem_bench" "$@"
