/* pthread attributes, written for Linux (it also builds and passes
 * unchanged with glibc: tests/posix_c_glibc.rs).
 * - defaults of a fresh attribute: joinable, system scope, inherited
 *   scheduling, SCHED_OTHER priority 0, a guard of at least a page;
 * - every setter reads back through its getter, and refuses what glibc
 *   refuses (EINVAL; ENOTSUP for PTHREAD_SCOPE_PROCESS; a priority out of
 *   the policy's sched_get_priority_min/max range);
 * - a thread made with a guard size of 3 pages and a 64 KiB stack runs,
 *   and one made with pthread_attr_setstack runs on that memory;
 * - a thread whose stack (pthread_attr_setstack) lies inside the main
 *   thread's own stack has its own errno: it starts at 0 and a failing
 *   call in it leaves the main thread's errno alone (the testbed libc
 *   finds the calling thread by its stack pointer, and must not take
 *   this one for the main thread);
 * - explicit SCHED_OTHER scheduling creates a thread;
 *   pthread_getschedparam of a thread is SCHED_OTHER, priority 0. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "posix_check.h"

/* Stores an address on its own stack, as a number. */
static void *where(void *arg)
{
    volatile char local[64];
    local[0] = 1;
    *(volatile unsigned long *)arg = (unsigned long)&local[0];
    return arg;
}

static void *touch_stack(void *arg)
{
    (void)arg;
    /* Most of a 64 KiB stack, from the top down. */
    volatile char big[48 * 1024];
    for (unsigned i = 0; i < sizeof big; i += 512)
        big[i] = (char)i;
    return (void *)(long)big[512];
}

/* errno of a fresh thread, then after a failing close: 0 and EBADF. */
static void *own_errno(void *arg)
{
    int *seen = arg;
    seen[0] = errno;
    CHECK(close(-1) == -1);
    seen[1] = errno;
    return 0;
}

/* A stack for own_errno inside the main thread's stack. */
#define ON_MAIN_STACK (PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536)

static void thread_on_main_stack(void)
{
    char stack[ON_MAIN_STACK] __attribute__((aligned(64)));
    pthread_attr_t a;
    pthread_t t;
    int seen[2] = {-1, -1};
    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_setstack(&a, stack, sizeof stack) == 0);
    errno = ERANGE;
    CHECK(pthread_create(&t, &a, own_errno, seen) == 0);
    CHECK(pthread_join(t, 0) == 0);
    CHECK(errno == ERANGE);
    CHECK(seen[0] == 0);
    CHECK(seen[1] == EBADF);
    CHECK(pthread_attr_destroy(&a) == 0);
}

int main(void)
{
    pthread_attr_t a;
    int v;
    size_t sz;
    struct sched_param sp;
    long page = sysconf(_SC_PAGESIZE);

    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_getdetachstate(&a, &v) == 0 && v == PTHREAD_CREATE_JOINABLE);
    CHECK(pthread_attr_getscope(&a, &v) == 0 && v == PTHREAD_SCOPE_SYSTEM);
    CHECK(pthread_attr_getinheritsched(&a, &v) == 0 && v == PTHREAD_INHERIT_SCHED);
    CHECK(pthread_attr_getschedpolicy(&a, &v) == 0 && v == SCHED_OTHER);
    CHECK(pthread_attr_getschedparam(&a, &sp) == 0 && sp.sched_priority == 0);
    CHECK(pthread_attr_getguardsize(&a, &sz) == 0 && sz >= (size_t)page);
    CHECK(pthread_attr_getstacksize(&a, &sz) == 0 && sz >= (size_t)PTHREAD_STACK_MIN);

    CHECK(pthread_attr_setdetachstate(&a, 7) == EINVAL);
    CHECK(pthread_attr_setscope(&a, PTHREAD_SCOPE_PROCESS) == ENOTSUP);
    CHECK(pthread_attr_setscope(&a, 9) == EINVAL);
    CHECK(pthread_attr_setscope(&a, PTHREAD_SCOPE_SYSTEM) == 0);
    CHECK(pthread_attr_setinheritsched(&a, 9) == EINVAL);
    CHECK(pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED) == 0);
    CHECK(pthread_attr_getinheritsched(&a, &v) == 0 && v == PTHREAD_EXPLICIT_SCHED);
    CHECK(pthread_attr_setschedpolicy(&a, 77) == EINVAL);
    CHECK(sched_get_priority_min(SCHED_OTHER) == 0 && sched_get_priority_max(SCHED_OTHER) == 0);
    CHECK(sched_get_priority_min(SCHED_FIFO) == 1 && sched_get_priority_max(SCHED_FIFO) == 99);
    CHECK(sched_get_priority_min(SCHED_RR) == 1 && sched_get_priority_max(SCHED_RR) == 99);
    CHECK(sched_get_priority_max(77) == -1 && errno == EINVAL);
    sp.sched_priority = 5;
    CHECK(pthread_attr_setschedparam(&a, &sp) == EINVAL); /* SCHED_OTHER: only 0 */
    CHECK(pthread_attr_setschedpolicy(&a, SCHED_FIFO) == 0);
    CHECK(pthread_attr_getschedpolicy(&a, &v) == 0 && v == SCHED_FIFO);
    CHECK(pthread_attr_setschedparam(&a, &sp) == 0);
    CHECK(pthread_attr_getschedparam(&a, &sp) == 0 && sp.sched_priority == 5);
    sp.sched_priority = 100;
    CHECK(pthread_attr_setschedparam(&a, &sp) == EINVAL);
    CHECK(pthread_attr_getschedparam(&a, &sp) == 0 && sp.sched_priority == 5);
    CHECK(pthread_attr_setschedpolicy(&a, SCHED_RR) == 0);
    CHECK(pthread_attr_setguardsize(&a, 0) == 0);
    CHECK(pthread_attr_getguardsize(&a, &sz) == 0 && sz == 0);
    CHECK(pthread_attr_setguardsize(&a, 3 * (size_t)page) == 0);
    CHECK(pthread_attr_getguardsize(&a, &sz) == 0 && sz == 3 * (size_t)page);
    CHECK(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN - 1) == EINVAL);
    CHECK(pthread_attr_setstacksize(&a, 64 * 1024) == 0);
    CHECK(pthread_attr_getstacksize(&a, &sz) == 0 && sz == 64 * 1024);
    CHECK(pthread_attr_destroy(&a) == 0);

    /* A guarded 64 KiB stack the thread mostly uses. */
    pthread_t t;
    void *ret = 0;
    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_setguardsize(&a, 3 * (size_t)page) == 0);
    CHECK(pthread_attr_setstacksize(&a, 64 * 1024) == 0);
    CHECK(pthread_create(&t, &a, touch_stack, 0) == 0);
    CHECK(pthread_join(t, &ret) == 0 && ret == (void *)(long)(char)512);
    CHECK(pthread_attr_destroy(&a) == 0);

    /* The caller's stack. */
    size_t stack_len = 256 * 1024;
    char *stack = mmap(0, stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(stack != MAP_FAILED);
    void *got_addr = 0;
    size_t got_len = 0;
    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_setstack(&a, stack, PTHREAD_STACK_MIN - 1) == EINVAL);
    CHECK(pthread_attr_setstack(&a, stack, stack_len) == 0);
    CHECK(pthread_attr_getstack(&a, &got_addr, &got_len) == 0);
    CHECK(got_addr == stack && got_len == stack_len);
    CHECK(pthread_attr_getstacksize(&a, &sz) == 0 && sz == stack_len);
    unsigned long local = 0;
    CHECK(pthread_create(&t, &a, where, &local) == 0);
    CHECK(pthread_join(t, 0) == 0);
    CHECK(local >= (unsigned long)stack && local < (unsigned long)stack + stack_len);
    CHECK(pthread_attr_destroy(&a) == 0);

    thread_on_main_stack();

    /* Explicit SCHED_OTHER, priority 0. */
    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED) == 0);
    CHECK(pthread_attr_setschedpolicy(&a, SCHED_OTHER) == 0);
    sp.sched_priority = 0;
    CHECK(pthread_attr_setschedparam(&a, &sp) == 0);
    local = 0;
    CHECK(pthread_create(&t, &a, where, &local) == 0);
    CHECK(pthread_join(t, 0) == 0 && local != 0);
    CHECK(pthread_attr_destroy(&a) == 0);

    CHECK(pthread_getschedparam(pthread_self(), &v, &sp) == 0);
    CHECK(v == SCHED_OTHER && sp.sched_priority == 0);

    if (failures)
        return 1;
    printf("posix_pthread_attr: all cases passed\n");
    return 0;
}
