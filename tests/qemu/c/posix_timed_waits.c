/* Timed waits among many sleepers, written for Linux (it also builds and
 * passes unchanged with glibc: tests/posix_c_glibc.rs). The testbed keeps
 * blocked tasks' deadlines in two heaps (monotonic, realtime) with stale
 * entries left behind by early wake-ups; this drives each part of that:
 * - order: 16 threads in sem_timedwait (CLOCK_REALTIME) or sem_clockwait
 *   (CLOCK_MONOTONIC), deadlines 30 ms apart and interleaved across the
 *   two clocks, all time out, none early, in deadline order (between
 *   threads whose deadlines are 90 ms apart or more);
 * - stale entries: one thread makes 6000 timed waits with a 30 s deadline,
 *   each ended early by a post, while a second thread's 300 ms timed
 *   wait, parked before them, holds the front of the monotonic heap, so
 *   the stale entries pile up behind it until the heap is full (its room
 *   is twice the testbed's 1100 tasks) and are swept (seen once per run
 *   on 1 CPU with a print in the sweep, since removed); the 300 ms wait
 *   must still time out on time, not be lost in the sweep;
 * - early wake: a waiter whose post comes before its deadline returns 0,
 *   and a later timed wait of the same thread still times out. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "posix_check.h"

static int64_t now_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns)
{
    struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
    return ts;
}

/* A wait on `s` until `at_ns` on `clk`: 0, or the errno. */
static int wait_until(sem_t *s, clockid_t clk, int64_t at_ns)
{
    struct timespec at = ts_of(at_ns);
    int r = clk == CLOCK_REALTIME ? sem_timedwait(s, &at) : sem_clockwait(s, clk, &at);
    return r == 0 ? 0 : errno;
}

/* A wait on `s` until `rel_ns` from now on `clk`: 0, or the errno. */
static int timed_wait(sem_t *s, clockid_t clk, int64_t rel_ns)
{
    return wait_until(s, clk, now_ns(clk) + rel_ns);
}

/* --- order ---------------------------------------------------------- */

#define SLEEPERS 16
#define STEP_NS 30000000LL
/* Deadline order is checked between threads at least this many steps
 * apart: a thread woken at its deadline records its place only once it
 * runs, which a loaded host (or a held-up virtual CPU) can delay. */
#define SLACK_STEPS 3

static sem_t never;
static sem_t ready;
static atomic_int woke_count;

struct sleeper {
    int rank;       /* its deadline is (rank + 1) steps after the start */
    int64_t start;  /* monotonic, shared by all */
    int64_t rt_start;
    int result;
    int order;      /* position among the wake-ups */
    int64_t late_ns; /* how long after its deadline it returned */
};

static void *sleeper_main(void *p)
{
    struct sleeper *s = p;
    clockid_t clk = s->rank % 2 ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    int64_t base = clk == CLOCK_REALTIME ? s->rt_start : s->start;
    sem_post(&ready);
    s->result = wait_until(&never, clk, base + (s->rank + 1) * STEP_NS);
    s->order = atomic_fetch_add(&woke_count, 1);
    s->late_ns = now_ns(clk) - (base + (s->rank + 1) * STEP_NS);
    return NULL;
}

static void case_order(void)
{
    static struct sleeper s[SLEEPERS];
    pthread_t t[SLEEPERS];
    CHECK(sem_init(&never, 0, 0) == 0);
    CHECK(sem_init(&ready, 0, 0) == 0);
    /* Deadlines far enough out that every thread is asleep before the
     * first one passes. */
    int64_t start = now_ns(CLOCK_MONOTONIC) + 200000000LL;
    int64_t rt_start = now_ns(CLOCK_REALTIME) + 200000000LL;
    /* Started in an order unlike their deadlines', so the heap's order
     * is not the order of arrival. */
    for (int i = 0; i < SLEEPERS; i++) {
        int rank = (i * 7) % SLEEPERS;
        s[rank] = (struct sleeper){.rank = rank, .start = start, .rt_start = rt_start};
        CHECK(pthread_create(&t[i], NULL, sleeper_main, &s[rank]) == 0);
    }
    for (int i = 0; i < SLEEPERS; i++)
        sem_wait(&ready);
    for (int i = 0; i < SLEEPERS; i++)
        pthread_join(t[i], NULL);
    for (int r = 0; r < SLEEPERS; r++) {
        if (s[r].result != ETIMEDOUT || s[r].late_ns < 0)
            printf("rank %d: result %d, %lld ns after its deadline\n", r, s[r].result,
                   (long long)s[r].late_ns);
        CHECK(s[r].result == ETIMEDOUT);
        CHECK(s[r].late_ns >= 0);
    }
    /* Deadline order, counted in wake-ups. */
    for (int r = 0; r < SLEEPERS; r++)
        for (int q = 0; q + SLACK_STEPS <= r; q++)
            if (s[q].order > s[r].order) {
                printf("rank %d woke %dth, before rank %d (%dth)\n", r, s[r].order, q,
                       s[q].order);
                CHECK(s[q].order < s[r].order);
            }
    sem_destroy(&never);
    sem_destroy(&ready);
}

/* --- stale entries ---------------------------------------------------- */

#define ROUNDS 6000

static sem_t ping, pong, lonely, lonely_started;
static int lonely_result;
static int64_t lonely_took_ns;

static void *lonely_main(void *p)
{
    (void)p;
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    sem_post(&lonely_started);
    lonely_result = timed_wait(&lonely, CLOCK_MONOTONIC, 300000000LL);
    lonely_took_ns = now_ns(CLOCK_MONOTONIC) - t0;
    return NULL;
}

static void *poster_main(void *p)
{
    (void)p;
    for (int i = 0; i < ROUNDS; i++) {
        sem_wait(&pong);
        sem_post(&ping);
    }
    return NULL;
}

static void case_stale(void)
{
    CHECK(sem_init(&ping, 0, 0) == 0);
    CHECK(sem_init(&pong, 0, 0) == 0);
    CHECK(sem_init(&lonely, 0, 0) == 0);
    CHECK(sem_init(&lonely_started, 0, 0) == 0);
    pthread_t lt, pt;
    CHECK(pthread_create(&lt, NULL, lonely_main, NULL) == 0);
    sem_wait(&lonely_started);
    CHECK(pthread_create(&pt, NULL, poster_main, NULL) == 0);
    int ok = 0, other = 0;
    for (int i = 0; i < ROUNDS; i++) {
        sem_post(&pong);
        /* Alternate the clocks, so both heaps collect stale entries. */
        int r = timed_wait(&ping, i % 2 ? CLOCK_REALTIME : CLOCK_MONOTONIC, 30000000000LL);
        if (r == 0)
            ok++;
        else if (other++ < 3)
            printf("round %d: timed wait gave %d\n", i, r);
    }
    CHECK(ok == ROUNDS);
    pthread_join(pt, NULL);
    pthread_join(lt, NULL);
    if (lonely_result != ETIMEDOUT)
        printf("lonely waiter: %d after %lld ms\n", lonely_result,
               (long long)(lonely_took_ns / 1000000));
    CHECK(lonely_result == ETIMEDOUT);
    /* On time: not before its 300 ms, and not left for a later event
     * (the rounds take far less than the 5 s allowed on a loaded host). */
    CHECK(lonely_took_ns >= 300000000LL);
    CHECK(lonely_took_ns < 5000000000LL);
    sem_destroy(&ping);
    sem_destroy(&pong);
    sem_destroy(&lonely);
    sem_destroy(&lonely_started);
}

/* --- early wake, then a timeout --------------------------------------- */

static sem_t early;

static void *early_poster(void *p)
{
    (void)p;
    struct timespec d = {0, 20000000};
    nanosleep(&d, NULL);
    sem_post(&early);
    return NULL;
}

static void case_early_then_timeout(void)
{
    CHECK(sem_init(&early, 0, 0) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, early_poster, NULL) == 0);
    int64_t t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(timed_wait(&early, CLOCK_REALTIME, 10000000000LL) == 0);
    CHECK(now_ns(CLOCK_MONOTONIC) - t0 < 5000000000LL);
    pthread_join(t, NULL);
    t0 = now_ns(CLOCK_MONOTONIC);
    CHECK(timed_wait(&early, CLOCK_REALTIME, 50000000LL) == ETIMEDOUT);
    int64_t took = now_ns(CLOCK_MONOTONIC) - t0;
    CHECK(took >= 49000000LL && took < 5000000000LL);
    sem_destroy(&early);
}

int main(void)
{
    case_order();
    case_stale();
    case_early_then_timeout();
    if (failures)
        printf("posix_timed_waits: %d checks failed\n", failures);
    else
        printf("posix_timed_waits: all cases passed\n");
    return failures != 0;
}
