/* CPU time, written for Linux (it also builds and passes unchanged with
 * glibc: tests/posix_c_glibc.rs).
 * - clock() and CLOCK_PROCESS_CPUTIME_ID / CLOCK_THREAD_CPUTIME_ID grow
 *   while the process spins, never go back, and a sleep adds almost
 *   nothing to them;
 * - clock_getres of both CPU-time clocks succeeds with a step of at
 *   most 1 ms;
 * - a thread's own CPU time covers its spin, and the process's CPU time
 *   after joining it is at least what that thread reported;
 * - a forked child's CPU time starts again near zero. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static int64_t ns_of(clockid_t clk)
{
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static volatile uint64_t sink;

/* Spins until `clk` advanced by `ns` (or 5 s of CLOCK_MONOTONIC pass). */
static int spin_for(clockid_t clk, int64_t ns)
{
    int64_t start = ns_of(clk);
    int64_t wall = ns_of(CLOCK_MONOTONIC);
    while (ns_of(clk) - start < ns) {
        for (int i = 0; i < 1000; i++)
            sink += (uint64_t)i;
        if (ns_of(CLOCK_MONOTONIC) - wall > 5000000000LL)
            return 0;
    }
    return 1;
}

static void case_clocks(void)
{
    struct timespec res;
    CHECK(clock_getres(CLOCK_PROCESS_CPUTIME_ID, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);
    CHECK(clock_getres(CLOCK_THREAD_CPUTIME_ID, &res) == 0);
    CHECK(res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= 1000000);

    clock_t c0 = clock();
    int64_t p0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    int64_t t0 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    CHECK(c0 != (clock_t)-1 && p0 >= 0 && t0 >= 0);
    /* One thread so far: the thread's time is the process's. */
    CHECK(t0 <= ns_of(CLOCK_PROCESS_CPUTIME_ID));

    CHECK(spin_for(CLOCK_THREAD_CPUTIME_ID, 20000000));
    int64_t p1 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    int64_t t1 = ns_of(CLOCK_THREAD_CPUTIME_ID);
    clock_t c1 = clock();
    CHECK(t1 - t0 >= 20000000);
    CHECK(p1 - p0 >= 20000000);
    CHECK((c1 - c0) * (1000000000 / CLOCKS_PER_SEC) >= 19000000);

    /* Never back, over many reads. */
    int64_t last = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    int64_t last_t = ns_of(CLOCK_THREAD_CPUTIME_ID);
    int back = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t now = ns_of(CLOCK_PROCESS_CPUTIME_ID);
        int64_t now_t = ns_of(CLOCK_THREAD_CPUTIME_ID);
        back += now < last || now_t < last_t;
        last = now;
        last_t = now_t;
    }
    CHECK(back == 0);

    /* A 200 ms sleep is not CPU time. */
    int64_t before = ns_of(CLOCK_THREAD_CPUTIME_ID);
    struct timespec nap = {0, 200000000};
    CHECK(nanosleep(&nap, NULL) == 0);
    CHECK(ns_of(CLOCK_THREAD_CPUTIME_ID) - before < 100000000);
}

static void *spinner(void *arg)
{
    (void)arg;
    /* 200 ms: the main thread's own time over the join must stay below
     * it even when a held-up virtual CPU inflates its short runs. */
    if (!spin_for(CLOCK_THREAD_CPUTIME_ID, 200000000))
        return (void *)(intptr_t)-1;
    return (void *)(intptr_t)ns_of(CLOCK_THREAD_CPUTIME_ID);
}

static void case_thread(void)
{
    int64_t mine = ns_of(CLOCK_THREAD_CPUTIME_ID);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, spinner, NULL) == 0);
    void *r = NULL;
    CHECK(pthread_join(t, &r) == 0);
    int64_t theirs = (int64_t)(intptr_t)r;
    CHECK(theirs >= 200000000);
    /* The joined thread's time stays in the process's; the main thread
     * did not spin meanwhile (it slept in the join). */
    CHECK(ns_of(CLOCK_PROCESS_CPUTIME_ID) >= theirs + mine);
    CHECK(ns_of(CLOCK_THREAD_CPUTIME_ID) - mine < theirs);
}

static void case_fork(void)
{
    CHECK(spin_for(CLOCK_PROCESS_CPUTIME_ID, 30000000));
    int64_t parent = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    pid_t pid = fork();
    if (pid == 0) {
        /* A new process: its own CPU time, far below the parent's. */
        int64_t child = ns_of(CLOCK_PROCESS_CPUTIME_ID);
        _exit(child >= 0 && child < parent ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    case_clocks();
    case_thread();
    case_fork();
    if (failures)
        return 1;
    printf("posix_cputime: all cases passed\n");
    return 0;
}
