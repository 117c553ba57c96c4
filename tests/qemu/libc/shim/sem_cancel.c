/* sem_wait and sem_timedwait as cancellation points, around the shim's
 * (linked with --wrap=sem_wait --wrap=sem_timedwait when the shim is the
 * IPC library: ci/qemu-test). While no pthread_cancel was ever called no
 * request can be pending, so an uncontended sem_wait stays the shim's
 * fast path with no system call; a wait that may block goes through
 * __tb_cancel_enter/leave (libc/src/pthread_cancel.c). */
#include <semaphore.h>

#include "../src/thread.h"

int __real_sem_wait(sem_t *s);
int __real_sem_timedwait(sem_t *s, const struct timespec *abstime);
extern int __tb_cancel_ever;

/* Out of line, so the fast path below needs no saved registers. */
__attribute__((noinline)) static int wait_cancellable(sem_t *s)
{
    struct start *st = __tb_cancel_enter(0);
    int r = __real_sem_wait(s);
    __tb_cancel_leave(st);
    return r;
}

/* relibc-shim: sem_wait's fast path, and `slow(s)` where it fails. */
int __rb_shim_sem_wait_or(sem_t *s, int (*slow)(sem_t *));

/* Two tail calls: the fast path costs one load and branch more than the
 * shim's own sem_wait, as glibc's __pthread_testcancel does. */
int __wrap_sem_wait(sem_t *s)
{
    if (__atomic_load_n(&__tb_cancel_ever, __ATOMIC_ACQUIRE))
        return wait_cancellable(s);
    return __rb_shim_sem_wait_or(s, wait_cancellable);
}

/* Always the full way: the deadline is the shim's to check (EINVAL,
 * EFAULT for a bad pointer, before anything else). */
int __wrap_sem_timedwait(sem_t *s, const struct timespec *abstime)
{
    struct start *st = __tb_cancel_enter(0);
    int r = __real_sem_timedwait(s, abstime);
    __tb_cancel_leave(st);
    return r;
}
