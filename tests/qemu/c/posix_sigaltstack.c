/* sigaltstack and SA_ONSTACK, written for Linux (it also builds and
 * passes unchanged with glibc: tests/posix_c_glibc.rs).
 * - without an alternate stack sigaltstack reports SS_DISABLE with a
 *   null base and size 0; a set one is reported back (flags 0);
 * - an SA_ONSTACK handler runs on it (its locals lie inside), sees
 *   SS_ONSTACK, and changing or disabling the stack there is EPERM; a
 *   nested SA_ONSTACK handler stays on it, below the first; afterwards
 *   the flags are 0 again;
 * - a handler without SA_ONSTACK runs on the interrupted stack;
 * - general and FP registers are intact after a handler on it;
 * - a size below MINSIGSTKSZ is ENOMEM, unknown flags EINVAL, and the
 *   stack in place is unchanged; SS_DISABLE removes it (an SA_ONSTACK
 *   handler then runs on the normal stack);
 * - a forked child keeps its thread's alternate stack, a new thread has
 *   none;
 * - a handler nesting on itself (SA_NODEFER) until the alternate stack
 *   would overflow: the process dies of SIGSEGV (Linux's get_sigframe
 *   refuses the frame). On Linux the stack has an inaccessible page
 *   below it: on a CPU whose signal frame leaves the handler less room
 *   than its own calls use, they run past the stack's base, the kernel
 *   then no longer sees the thread on it and places the next frame at
 *   its top again, over the live ones (measured on Linux 6.18, glibc
 *   2.36: without the guard the child loops instead of dying); the
 *   guard page turns that into SIGSEGV too. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"

#define ALT_SIZE 65536
static char alt[ALT_SIZE] __attribute__((aligned(16)));

static volatile uintptr_t outer_local, inner_local;
static volatile int outer_flags, inner_flags, outer_eperm, outer_eperm_disable, ran;

static int in_alt(uintptr_t a) { return a >= (uintptr_t)alt && a < (uintptr_t)alt + ALT_SIZE; }

static void on_inner(int sig)
{
    (void)sig;
    volatile char here = 0;
    inner_local = (uintptr_t)&here;
    stack_t o;
    if (sigaltstack(NULL, &o) == 0)
        inner_flags = o.ss_flags;
}

static void on_outer(int sig)
{
    (void)sig;
    volatile char here = 0;
    outer_local = (uintptr_t)&here;
    stack_t o;
    if (sigaltstack(NULL, &o) == 0)
        outer_flags = o.ss_flags;
    static char other[ALT_SIZE];
    stack_t n = {.ss_sp = other, .ss_size = sizeof other, .ss_flags = 0};
    errno = 0;
    outer_eperm = sigaltstack(&n, NULL) == -1 && errno == EPERM;
    n.ss_flags = SS_DISABLE;
    errno = 0;
    outer_eperm_disable = sigaltstack(&n, NULL) == -1 && errno == EPERM;
    raise(SIGUSR2);
    ran++;
}

static void on_plain(int sig)
{
    (void)sig;
    volatile char here = 0;
    outer_local = (uintptr_t)&here;
    ran++;
}

static void install(int sig, void (*h)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* Registers around a handler that runs on the alternate stack. */
static int regs_intact(void)
{
    volatile double d = 1.25;
    double acc = 0;
    long x = 3;
    for (int i = 0; i < 4; i++) {
        acc += d * i;
        x = x * 7 + i;
        raise(SIGUSR1);
    }
    return acc == 1.25 * 6 && x == ((((3 * 7 + 0) * 7 + 1) * 7 + 2) * 7 + 3);
}

static volatile long depth;
static char small_alt[3 * MINSIGSTKSZ] __attribute__((aligned(16)));

/* The small alternate stack of the overflow case (see the top). */
static char *small_alt_base(void)
{
#ifdef __linux__
    long pg = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, pg + sizeof small_alt, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED || mprotect(p, pg, PROT_NONE) != 0)
        return NULL;
    return p + pg;
#else
    return small_alt;
#endif
}

static void on_recurse(int sig)
{
    depth++;
    if (depth < 100000)
        raise(sig);
}

static void *thread_query(void *arg)
{
    stack_t *o = arg;
    sigaltstack(NULL, o);
    return NULL;
}

int main(void)
{
    stack_t o;
    memset(&o, 0x55, sizeof o);
    CHECK(sigaltstack(NULL, &o) == 0);
    CHECK(o.ss_flags == SS_DISABLE && o.ss_sp == NULL && o.ss_size == 0);

    stack_t n = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    CHECK(sigaltstack(&n, NULL) == 0);
    CHECK(sigaltstack(NULL, &o) == 0);
    CHECK(o.ss_flags == 0 && o.ss_sp == alt && o.ss_size == ALT_SIZE);

    /* On the alternate stack, nested, EPERM there. */
    install(SIGUSR1, on_outer, SA_ONSTACK);
    install(SIGUSR2, on_inner, SA_ONSTACK);
    volatile char main_local = 0;
    ran = 0;
    raise(SIGUSR1);
    CHECK(ran == 1);
    CHECK(in_alt(outer_local));
    CHECK(in_alt(inner_local) && inner_local < outer_local);
    CHECK(outer_flags == SS_ONSTACK && inner_flags == SS_ONSTACK);
    CHECK(outer_eperm && outer_eperm_disable);
    CHECK(sigaltstack(NULL, &o) == 0 && o.ss_flags == 0 && o.ss_sp == alt);
    CHECK(!in_alt((uintptr_t)&main_local));

    /* Without SA_ONSTACK: the interrupted stack. */
    install(SIGUSR1, on_plain, 0);
    ran = 0;
    raise(SIGUSR1);
    CHECK(ran == 1 && !in_alt(outer_local));

    /* Registers come back after a handler on the alternate stack. */
    install(SIGUSR1, on_plain, SA_ONSTACK);
    CHECK(regs_intact());
    CHECK(in_alt(outer_local));

    /* Errors leave the stack in place. */
    stack_t bad = {.ss_sp = alt, .ss_size = MINSIGSTKSZ - 1, .ss_flags = 0};
    errno = 0;
    CHECK(sigaltstack(&bad, NULL) == -1 && errno == ENOMEM);
    bad.ss_size = ALT_SIZE;
    bad.ss_flags = 0x100;
    errno = 0;
    CHECK(sigaltstack(&bad, NULL) == -1 && errno == EINVAL);
    CHECK(sigaltstack(NULL, &o) == 0 && o.ss_sp == alt && o.ss_size == ALT_SIZE);

    /* A new thread has none; a forked child keeps it. */
    stack_t t;
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_query, &t) == 0);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(t.ss_flags == SS_DISABLE);
    pid_t pid = fork();
    if (pid == 0) {
        stack_t c;
        int ok = sigaltstack(NULL, &c) == 0 && c.ss_sp == alt && c.ss_size == ALT_SIZE;
        ran = 0;
        raise(SIGUSR1);
        ok = ok && ran == 1 && in_alt(outer_local);
        _exit(ok ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* SS_DISABLE: SA_ONSTACK handlers run on the normal stack. */
    n.ss_flags = SS_DISABLE;
    CHECK(sigaltstack(&n, &o) == 0 && o.ss_flags == 0);
    CHECK(sigaltstack(NULL, &o) == 0 && o.ss_flags == SS_DISABLE && o.ss_size == 0);
    ran = 0;
    raise(SIGUSR1);
    CHECK(ran == 1 && !in_alt(outer_local));

    /* Overflow: SIGSEGV. */
    pid = fork();
    if (pid == 0) {
        stack_t s = {.ss_sp = small_alt_base(), .ss_size = sizeof small_alt, .ss_flags = 0};
        if (s.ss_sp == NULL || sigaltstack(&s, NULL) != 0)
            _exit(2);
        install(SIGUSR1, on_recurse, SA_ONSTACK | SA_NODEFER);
        raise(SIGUSR1);
        _exit(3);
    }
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

    if (failures)
        return 1;
    printf("posix_sigaltstack: all cases passed\n");
    return 0;
}
