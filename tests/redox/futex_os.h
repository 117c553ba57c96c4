/* The futex calls of tests/redox/c's programs, on Redox and on Linux.
 *
 * On Redox a C program reaches the kernel's futexes through relibc's
 * libredox functions (relibc has no syscall()):
 *   FX_SYS        redox_futex_wait_v0/wake_v0: SYS_FUTEX (served by the
 *                 series' 0004), an absolute CLOCK_MONOTONIC deadline;
 *   FX_RB         redox_rb_futex_wait_v1/wake_v1 (relibc 0006):
 *                 SYS_RB_FUTEX_WAIT/WAKE, private (keyed by address space
 *                 and address), a relative timeout;
 *   FX_RB_SHARED  the same with FutexFlags::SHARED (keyed by the frame).
 * On Linux the same three are FUTEX_WAIT_BITSET (absolute monotonic,
 * shared), FUTEX_WAIT_PRIVATE and FUTEX_WAIT, so every program compiles
 * unchanged against glibc and checks the same results there.
 *
 * fx_wait returns 0 (woken) or an errno value; fx_wake returns the number
 * woken or -errno. */
#ifndef RB_REDOX_FUTEX_OS_H
#define RB_REDOX_FUTEX_OS_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum fx_kind { FX_SYS, FX_RB, FX_RB_SHARED };
static const char *const fx_name[] = {"SYS_FUTEX", "SYS_RB_FUTEX", "SYS_RB_FUTEX shared"};

#ifdef __redox__
/* relibc's own prototypes are not in a header: they are what
 * src/platform/redox/libredox.rs exports (a negative errno on failure). */
size_t redox_futex_wait_v0(uint32_t *addr, uint32_t val, const struct timespec *deadline);
size_t redox_futex_wake_v0(uint32_t *addr, uint32_t num);
size_t redox_rb_futex_wait_v1(uint32_t *addr, uint32_t expected, const struct timespec *timeout,
                              size_t flags);
size_t redox_rb_futex_wake_v1(uint32_t *addr, uint32_t count, size_t flags);
#define FX_FLAG_SHARED 1
#else
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

static struct timespec fx_after(long rel_ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += rel_ns % 1000000000L;
    t.tv_sec += rel_ns / 1000000000L + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

/* Waits while *addr == val, at most rel_ns (< 0: no bound). */
static int fx_wait(enum fx_kind kind, uint32_t *addr, uint32_t val, long rel_ns)
{
    struct timespec rel = {rel_ns / 1000000000L, rel_ns % 1000000000L};
    struct timespec abs = fx_after(rel_ns);
    long r;
#ifdef __redox__
    if (kind == FX_SYS)
        r = (long)redox_futex_wait_v0(addr, val, rel_ns < 0 ? NULL : &abs);
    else
        r = (long)redox_rb_futex_wait_v1(addr, val, rel_ns < 0 ? NULL : &rel,
                                         kind == FX_RB_SHARED ? FX_FLAG_SHARED : 0);
    return r < 0 ? (int)-r : 0;
#else
    if (kind == FX_SYS)
        r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, val, rel_ns < 0 ? NULL : &abs, NULL,
                    FUTEX_BITSET_MATCH_ANY);
    else
        r = syscall(SYS_futex, addr, kind == FX_RB ? FUTEX_WAIT_PRIVATE : FUTEX_WAIT, val,
                    rel_ns < 0 ? NULL : &rel, NULL, 0);
    return r < 0 ? errno : 0;
#endif
}

static long fx_wake(enum fx_kind kind, uint32_t *addr, uint32_t n)
{
#ifdef __redox__
    long r = kind == FX_SYS ? (long)redox_futex_wake_v0(addr, n)
                            : (long)redox_rb_futex_wake_v1(addr, n,
                                                           kind == FX_RB_SHARED ? FX_FLAG_SHARED : 0);
    return r;
#else
    long r = syscall(SYS_futex, addr, kind == FX_RB ? FUTEX_WAKE_PRIVATE : FUTEX_WAKE, n, NULL,
                     NULL, 0);
    return r < 0 ? -errno : r;
#endif
}
#endif
