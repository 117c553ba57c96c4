/* pthread_cancel, written for Linux (it also builds and passes unchanged
 * with glibc: tests/posix_c_glibc.rs). Each case starts a thread, waits
 * until it is (almost surely) blocked, cancels it, and joins it:
 * - deferred cancellation acts at pthread_testcancel and in a blocked
 *   read (pipe), nanosleep, sleep, sem_wait, pthread_cond_wait (the
 *   mutex is held again when the cleanup handler runs),
 *   pthread_cond_timedwait, pthread_join, poll, sigwait; join returns
 *   PTHREAD_CANCELED and the cleanup handlers ran innermost first;
 * - not at a call that is no cancellation point (a spin), until one;
 * - PTHREAD_CANCEL_DISABLE holds a request (a full sleep, no EINTR)
 *   until enabled again and a cancellation point comes; the state is
 *   per thread;
 * - PTHREAD_CANCEL_ASYNCHRONOUS acts in a spin loop;
 * - pthread_cleanup_pop(1) runs its handler, pop(0) does not;
 * - a thread that ended is cancelled with no error and joins with its
 *   own value;
 * - signal 32 (SIGCANCEL) is the C library's: sigaction refuses it and
 *   sigfillset leaves it out;
 * - on the testbed, a cancellation point makes no system call of its
 *   own (it finds the thread by its stack): a pipe write and read from
 *   the main thread and from another make 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"
#ifndef __linux__
#include <testbed.h>
#endif

static int order[8];
static int norder;
static volatile int ready;
static int pipefd[2];
static sem_t sem;
static pthread_mutex_t mtx;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int unlocked_ok;

#ifndef __linux__
static void *count_calls(void *arg)
{
    char c = 0;
    unsigned long before = tb_syscall_count();
    int ok = write(pipefd[1], &c, 1) == 1 && read(pipefd[0], &c, 1) == 1;
    unsigned long used = tb_syscall_count() - before - 1;
    *(unsigned long *)arg = ok ? used : 999;
    return 0;
}
#endif

static void note(void *arg)
{
    order[norder++] = (int)(long)arg;
}

static void unlock_mtx(void *arg)
{
    (void)arg;
    /* An errorcheck mutex: 0 only if this thread holds it. */
    unlocked_ok = pthread_mutex_unlock(&mtx) == 0;
}

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0 && errno == EINTR) {
    }
}

enum how { TESTCANCEL, READ, NANOSLEEP, SLEEP, SEM, COND, TIMEDCOND, POLL, SIGWAIT };

static void *victim(void *arg)
{
    enum how how = (enum how)(long)arg;
    char c;
    pthread_cleanup_push(note, (void *)1);
    pthread_cleanup_push(note, (void *)2);
    ready = 1;
    switch (how) {
    case TESTCANCEL:
        for (;;)
            pthread_testcancel();
    case READ:
        (void)!read(pipefd[0], &c, 1);
        break;
    case NANOSLEEP: {
        struct timespec d = {30, 0};
        nanosleep(&d, 0);
        break;
    }
    case SLEEP:
        sleep(30);
        break;
    case SEM:
        sem_wait(&sem);
        break;
    case COND:
    case TIMEDCOND: {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 30;
        pthread_mutex_lock(&mtx);
        pthread_cleanup_push(unlock_mtx, 0);
        for (;;) {
            if (how == COND)
                pthread_cond_wait(&cond, &mtx);
            else
                pthread_cond_timedwait(&cond, &mtx, &until);
        }
        pthread_cleanup_pop(0);
        break;
    }
    case POLL: {
        struct pollfd p = {pipefd[0], POLLIN, 0};
        poll(&p, 1, 30000);
        break;
    }
    case SIGWAIT: {
        sigset_t s;
        int sig;
        sigemptyset(&s);
        sigaddset(&s, SIGUSR2);
        pthread_sigmask(SIG_BLOCK, &s, 0);
        sigwait(&s, &sig);
        break;
    }
    }
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(0);
    return (void *)7; /* reached only if the cancellation did not act */
}

static void case_blocked(enum how how)
{
    pthread_t t;
    void *ret = 0;
    norder = 0;
    ready = 0;
    unlocked_ok = 0;
    CHECK(pthread_create(&t, 0, victim, (void *)(long)how) == 0);
    while (!ready)
        sched_yield();
    nap_ms(50);
    CHECK(pthread_cancel(t) == 0);
    CHECK(pthread_join(t, &ret) == 0);
    if (ret != PTHREAD_CANCELED)
        printf("case %d: joined with %p\n", (int)how, ret);
    CHECK(ret == PTHREAD_CANCELED);
    CHECK(norder == 2 && order[0] == 2 && order[1] == 1);
    if (how == COND || how == TIMEDCOND)
        CHECK(unlocked_ok);
}

/* pthread_join is a cancellation point: the joiner is cancelled, the
 * thread it waited for is not. */
static void *sleeper(void *arg)
{
    (void)arg;
    char c;
    (void)!read(pipefd[0], &c, 1);
    return (void *)3;
}

static pthread_t sleeper_t;

static void *joiner(void *arg)
{
    (void)arg;
    void *r;
    pthread_cleanup_push(note, (void *)5);
    ready = 1;
    pthread_join(sleeper_t, &r);
    pthread_cleanup_pop(0);
    return (void *)8;
}

static void case_join(void)
{
    pthread_t j;
    void *ret = 0;
    norder = 0;
    ready = 0;
    CHECK(pthread_create(&sleeper_t, 0, sleeper, 0) == 0);
    CHECK(pthread_create(&j, 0, joiner, 0) == 0);
    while (!ready)
        sched_yield();
    nap_ms(50);
    CHECK(pthread_cancel(j) == 0);
    CHECK(pthread_join(j, &ret) == 0 && ret == PTHREAD_CANCELED);
    CHECK(norder == 1 && order[0] == 5);
    CHECK(write(pipefd[1], "x", 1) == 1);
    CHECK(pthread_join(sleeper_t, &ret) == 0 && ret == (void *)3);
}

/* A spin is no cancellation point; the next testcancel is. */
static volatile int spin_stop, spun;

static void *spinner(void *arg)
{
    (void)arg;
    ready = 1;
    while (!spin_stop)
        spun++;
    pthread_testcancel();
    return (void *)9;
}

static void case_spin_deferred(void)
{
    pthread_t t;
    void *ret = 0;
    ready = spin_stop = 0;
    CHECK(pthread_create(&t, 0, spinner, 0) == 0);
    while (!ready)
        sched_yield();
    CHECK(pthread_cancel(t) == 0);
    /* Still running after the request: it counts on (waited for up to
     * 2 s, since a virtual CPU of the testbed may be held up by its host). */
    int before = spun;
    for (int i = 0; i < 200 && spun == before; i++)
        nap_ms(10);
    CHECK(spun != before);
    spin_stop = 1;
    CHECK(pthread_join(t, &ret) == 0 && ret == PTHREAD_CANCELED);
}

/* Disabled: the request waits; the state is this thread's only. */
static volatile int disabled_slept_fully;

static void *disabler(void *arg)
{
    (void)arg;
    int old;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
    ready = 1;
    while (ready != 2)
        sched_yield();
    struct timespec d = {0, 100 * 1000000L};
    disabled_slept_fully = nanosleep(&d, 0) == 0;
    pthread_testcancel(); /* disabled: no effect */
    pthread_setcancelstate(old, 0);
    pthread_testcancel();
    return (void *)10;
}

static void case_disabled(void)
{
    pthread_t t;
    void *ret = 0;
    int old = -1;
    ready = 0;
    CHECK(pthread_create(&t, 0, disabler, 0) == 0);
    while (!ready)
        sched_yield();
    /* The other thread's DISABLE is not this thread's state. */
    CHECK(pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, &old) == 0 && old == PTHREAD_CANCEL_ENABLE);
    CHECK(pthread_cancel(t) == 0);
    ready = 2;
    CHECK(pthread_join(t, &ret) == 0 && ret == PTHREAD_CANCELED);
    CHECK(disabled_slept_fully);
}

static void *async_spinner(void *arg)
{
    (void)arg;
    int old;
    pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, &old);
    ready = 1;
    for (;;)
        spun++;
    return 0;
}

static void case_async(void)
{
    pthread_t t;
    void *ret = 0;
    int old = -1;
    ready = 0;
    CHECK(pthread_create(&t, 0, async_spinner, 0) == 0);
    while (!ready)
        sched_yield();
    CHECK(pthread_setcanceltype(PTHREAD_CANCEL_DEFERRED, &old) == 0 && old == PTHREAD_CANCEL_DEFERRED);
    CHECK(pthread_cancel(t) == 0);
    CHECK(pthread_join(t, &ret) == 0 && ret == PTHREAD_CANCELED);
}

static void *pops(void *arg)
{
    (void)arg;
    pthread_cleanup_push(note, (void *)11);
    pthread_cleanup_push(note, (void *)12);
    pthread_cleanup_pop(0);
    pthread_cleanup_pop(1);
    return (void *)13;
}

static void case_pop_and_ended(void)
{
    pthread_t t;
    void *ret = 0;
    norder = 0;
    CHECK(pthread_create(&t, 0, pops, 0) == 0);
    nap_ms(50); /* it has ended by now, not yet joined */
    CHECK(pthread_cancel(t) == 0);
    CHECK(pthread_join(t, &ret) == 0 && ret == (void *)13);
    CHECK(norder == 1 && order[0] == 11);
}

int main(void)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&mtx, &ma);
    CHECK(pipe(pipefd) == 0);
    CHECK(sem_init(&sem, 0, 0) == 0);

    enum how all[] = {TESTCANCEL, READ, NANOSLEEP, SLEEP, SEM, COND, TIMEDCOND, POLL, SIGWAIT};
    for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
        case_blocked(all[i]);
    CHECK(pthread_mutex_trylock(&mtx) == 0 && pthread_mutex_unlock(&mtx) == 0);
    case_join();
    case_spin_deferred();
    case_disabled();
    case_async();
    case_pop_and_ended();

#ifndef __linux__
    unsigned long used = 0;
    count_calls(&used);
    CHECK(used == 2);
    pthread_t ct;
    CHECK(pthread_create(&ct, 0, count_calls, &used) == 0 && pthread_join(ct, 0) == 0);
    CHECK(used == 2);
#endif

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    CHECK(sigaction(32, &sa, 0) == -1 && errno == EINVAL);
    sigset_t full;
    sigfillset(&full);
    CHECK(sigismember(&full, 32) == 0 && sigismember(&full, SIGUSR1) == 1);

    if (failures)
        return 1;
    printf("posix_cancel: all cases passed\n");
    return 0;
}
