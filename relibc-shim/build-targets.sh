#!/usr/bin/env bash
# relibc-shim/build-targets.sh [target...]: builds the shim as a C static
# library for the Redox and bare-metal targets (default: x86_64 and aarch64,
# -unknown-redox and -unknown-none) with Debian's rustc and its library
# source (cargo build-std), then links a small C program against each
# archive with ld.lld to prove every symbol a C caller needs resolves with
# only these of libc's supplied: __errno_location, close, read, write,
# getpid and the pthread calls of mq_notify's SIGEV_THREAD helper
# (src/mq_thread.rs); ftok, which needs libc's stat, is not called. Prints one
# line per target and `N passed, N failed`; exit status 0 only if all built.
set -uo pipefail
shim="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$shim/.." && pwd)"
out="$root/target/shim-cross"
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(x86_64-unknown-redox aarch64-unknown-redox x86_64-unknown-none aarch64-unknown-none)

need=0
[ -x /usr/bin/rustc ] || need=1
[ -d /usr/lib/rustlib/src/rust/library ] || need=1
command -v ld.lld >/dev/null || need=1
command -v clang >/dev/null || need=1
if [ "$need" = 1 ]; then
    echo "# installing rustc-web rust-web-src lld clang" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends rustc-web rust-web-src lld clang >&2
fi
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/use.c" <<'C'
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
static int err;
int *__errno_location(void) { return &err; }
int close(int fd) { (void)fd; return 0; }
long read(int fd, void *b, unsigned long n) { (void)fd; (void)b; return (long)n; }
long write(int fd, const void *b, unsigned long n) { (void)fd; (void)b; return (long)n; }
int getpid(void) { return 1; }
int pthread_create(void *t, const void *a, void *(*f)(void *), void *arg) { (void)t; (void)a; (void)f; (void)arg; return 11; }
int pthread_detach(unsigned long t) { (void)t; return 0; }
int pthread_attr_init(void *a) { (void)a; return 0; }
int pthread_attr_destroy(void *a) { (void)a; return 0; }
int pthread_attr_getstacksize(const void *a, unsigned long *s) { (void)a; *s = 0; return 0; }
int pthread_attr_setstacksize(void *a, unsigned long s) { (void)a; (void)s; return 0; }
void _start(void)
{
    sem_t s, *n;
    struct timespec t = {0, 0};
    int v;
    eventfd_t e;
    struct itimerspec its = {{0, 0}, {0, 0}};
    sigset_t m = {0};
    sem_init(&s, 0, 1); sem_wait(&s); sem_post(&s); sem_trywait(&s); sem_timedwait(&s, &t);
    sem_clockwait(&s, CLOCK_MONOTONIC, &t); sem_getvalue(&s, &v); sem_destroy(&s);
    n = sem_open("/x", O_CREAT, 0600, 1); sem_close(n); sem_unlink("/x");
    eventfd_read(eventfd(0, 0), &e); eventfd_write(0, 1);
    timerfd_settime(timerfd_create(CLOCK_MONOTONIC, 0), 0, &its, 0); timerfd_gettime(0, &its);
    signalfd(-1, &m, 0);
    struct msqid_ds ds;
    long msg[2] = {1, 0};
    v = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    msgsnd(v, msg, 8, IPC_NOWAIT); msgrcv(v, msg, 8, 0, IPC_NOWAIT); msgctl(v, IPC_STAT, &ds);
    struct mq_attr ma = {0, 1, 8, 0, {0}};
    char mb[8] = {0};
    mqd_t q = mq_open("/q", O_CREAT, 0600, &ma);
    mq_send(q, mb, 1, 0); mq_timedsend(q, mb, 1, 0, &t);
    mq_receive(q, mb, 8, 0); mq_timedreceive(q, mb, 8, 0, &t);
    mq_getattr(q, &ma); mq_setattr(q, &ma, 0); mq_notify(q, 0); mq_close(q); mq_unlink("/q");
    for (;;) {}
}
C
# Minimal libc headers the program needs (the real ones are the target libc's).
mkdir -p "$tmp/inc/sys"
cat >"$tmp/inc/time.h" <<'C'
#pragma once
typedef long time_t;
typedef int clockid_t;
struct timespec { time_t tv_sec; long tv_nsec; };
struct itimerspec { struct timespec it_interval, it_value; };
#ifdef __redox__
#define CLOCK_MONOTONIC 4
#else
#define CLOCK_MONOTONIC 1
#endif
C
cat >"$tmp/inc/fcntl.h" <<'C'
#pragma once
#ifdef __redox__
#define O_CREAT 0x02000000
#else
#define O_CREAT 0100
#endif
C
printf '#pragma once\ntypedef unsigned long sigset_t;\n' >"$tmp/inc/signal.h"
printf '#pragma once\ntypedef unsigned long size_t;\n' >"$tmp/inc/stddef.h"
printf '#pragma once\n#include <stddef.h>\ntypedef long ssize_t, time_t; typedef int pid_t, key_t; typedef unsigned uid_t, gid_t, mode_t;\n' >"$tmp/inc/sys/types.h"
printf '#pragma once\ntypedef unsigned long uint64_t; typedef unsigned int uint32_t; typedef int int32_t;\ntypedef unsigned short uint16_t; typedef unsigned char uint8_t;\n' >"$tmp/inc/stdint.h"

passed=0
failed=0
for t in "${targets[@]}"; do
    arch="${t%%-*}"
    log="$tmp/$t.log"
    defs=()
    case "$t" in *-redox) defs=(-D__redox__) ;; esac
    if cargo rustc -q --manifest-path "$shim/Cargo.toml" --release --features standalone \
        --crate-type staticlib -Zbuild-std=core,alloc -Zbuild-std-features=compiler-builtins-mem \
        --config 'profile.release.panic="abort"' --target "$t" --target-dir "$out" >"$log" 2>&1 &&
        clang --target="$arch-unknown-none-elf" -ffreestanding -nostdinc -nostdlib -O2 -Wall -Werror \
            -D_GNU_SOURCE "${defs[@]}" -I "$shim/include" -I "$tmp/inc" -c "$tmp/use.c" -o "$tmp/$t.o" >>"$log" 2>&1 &&
        ld.lld -static -nostdlib --gc-sections -e _start "$tmp/$t.o" "$out/$t/release/libredbear_shim.a" \
            -o "$tmp/$t.elf" >>"$log" 2>&1; then
        echo "ok - $t ($out/$t/release/libredbear_shim.a)"
        passed=$((passed + 1))
    else
        echo "not ok - $t"
        sed 's/^/#   /' "$log"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
