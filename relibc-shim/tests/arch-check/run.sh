#!/usr/bin/env bash
# relibc-shim/tests/arch-check/run.sh: builds the aarch64 check with
# Debian's rustc (build-std, as for the testbed) and runs it under
# qemu-aarch64 (package qemu-user). Exit status is the program's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v qemu-aarch64 >/dev/null || {
    echo "qemu-aarch64 missing: apt-get install qemu-user" >&2
    exit 2
}
cd "$here"
RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    RUSTFLAGS="-C linker=ld.lld -C link-arg=-static -C relocation-model=static" \
    cargo build -q --release -Zbuild-std=core -Zbuild-std-features=compiler-builtins-mem \
    --target aarch64-unknown-none
qemu-aarch64 "$here/target/aarch64-unknown-none/release/shim-arch-check"
