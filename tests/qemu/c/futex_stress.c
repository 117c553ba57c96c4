/* Futex stress: many threads, bounded operations, exact totals.
 * - lock: 8 threads each add 1500 to a plain counter under a three-state
 *   futex lock (0 free, 1 held, 2 held with waiters), yielding inside the
 *   critical section every 16th time so the others pile up in FUTEX_WAIT;
 *   the counter ends at exactly 12000;
 * - generations: 8 threads wait for each of 150 generations of a word
 *   that the main thread bumps and wakes with FUTEX_WAKE(INT_MAX); each
 *   thread reports every generation once (1200 arrivals);
 * - requeue: a condition variable broadcast through FUTEX_CMP_REQUEUE
 *   (wake 1, move the rest onto the lock word, whose unlocks then wake
 *   them one by one), 8 waiters for 100 rounds: every round, the
 *   requeue's count plus the waiters that found the word already changed
 *   (EAGAIN) is exactly 8, and all 800 passes happen.
 * On Linux the calls are FUTEX_*_PRIVATE through syscall(2); on the
 * testbed redbear-ipc's own numbers (src/syscall/numbers.rs). */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#include "stress.h"

#ifdef __linux__
static long fx_wait(uint32_t *w, uint32_t v)
{
    return syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}
static long fx_wake(uint32_t *w, int n)
{
    return syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}
static long fx_cmp_requeue(uint32_t *from, int wake, int move, uint32_t *to, uint32_t expected)
{
    return syscall(SYS_futex, from, FUTEX_CMP_REQUEUE_PRIVATE, wake, (long)move, to, expected);
}
#else
#define RB_FUTEX_WAIT 4000
#define RB_FUTEX_WAKE 4001
#define RB_FUTEX_CMP_REQUEUE 4003
#define ANY_BIT 0xffffffffL
static long fx_wait(uint32_t *w, uint32_t v)
{
    return syscall(RB_FUTEX_WAIT, (long)w, (long)v, 0L, 0L, ANY_BIT);
}
static long fx_wake(uint32_t *w, int n) { return syscall(RB_FUTEX_WAKE, (long)w, (long)n, 0L, ANY_BIT); }
static long fx_cmp_requeue(uint32_t *from, int wake, int move, uint32_t *to, uint32_t expected)
{
    return syscall(RB_FUTEX_CMP_REQUEUE, (long)from, (long)wake, (long)to, (long)move, 0L,
                   (long)expected);
}
#endif

#define THREADS 8
#define LOCK_ITERS 1500
#define GENERATIONS 150
#define ROUNDS 100

/* --- the lock ---------------------------------------------------------- */

static long lock_waits;

/* Takes `m` knowing others may wait: leaves it at 2, so unlock wakes. */
static void lock_contended(uint32_t *m)
{
    uint32_t c = __atomic_exchange_n(m, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        long r = fx_wait(m, 2);
        if (r == 0)
            ADD(&lock_waits, 1);
        c = __atomic_exchange_n(m, 2, __ATOMIC_ACQUIRE);
    }
}

static void lock(uint32_t *m)
{
    uint32_t c = 0;
    if (__atomic_compare_exchange_n(m, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    lock_contended(m);
}

static void unlock(uint32_t *m)
{
    if (__atomic_exchange_n(m, 0, __ATOMIC_RELEASE) == 2)
        fx_wake(m, 1);
}

static uint32_t the_lock;
static long counter;

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < LOCK_ITERS; i++) {
        lock(&the_lock);
        long v = counter;
        if ((i & 15) == 0)
            sched_yield();
        counter = v + 1;
        unlock(&the_lock);
        ADD(&stress_progress, 1);
    }
    return NULL;
}

/* Sleeps until *w >= target; whoever raises *w wakes it. */
static void wait_at_least(uint32_t *w, uint32_t target)
{
    uint32_t v;
    while ((v = LOAD(w)) < target)
        fx_wait(w, v);
}

static void raise_and_wake(uint32_t *w)
{
    ADD(w, 1);
    fx_wake(w, INT_MAX);
}

/* --- generations --------------------------------------------------------- */

static uint32_t generation;
static uint32_t arrivals;

static void *generation_waiter(void *arg)
{
    (void)arg;
    for (uint32_t g = 0; g < GENERATIONS; g++) {
        while (LOAD(&generation) == g)
            fx_wait(&generation, g);
        raise_and_wake(&arrivals);
    }
    return NULL;
}

/* --- requeue ------------------------------------------------------------- */

static uint32_t cv_seq, cv_lock;
static uint32_t registered, passed;
static long eagain_in_round[ROUNDS];

static void *cv_waiter(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        lock(&cv_lock);
        uint32_t seq = cv_seq;
        unlock(&cv_lock);
        raise_and_wake(&registered);
        long w = fx_wait(&cv_seq, seq);
        if (w != 0 && errno == EAGAIN)
            ADD(&eagain_in_round[r], 1);
        else
            CHECK(w == 0);
        /* Possibly moved onto cv_lock: take it as a waiter would. */
        lock_contended(&cv_lock);
        unlock(&cv_lock);
        raise_and_wake(&passed);
    }
    return NULL;
}

static void run(void *(*fn)(void *), pthread_t *t)
{
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, fn, NULL) == 0);
}

static void join(pthread_t *t)
{
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
}

int main(void)
{
    stress_watchdog("futex_stress");
    pthread_t t[THREADS];

    stress_set_phase("lock");
    run(adder, t);
    join(t);
    CHECK(counter == (long)THREADS * LOCK_ITERS);
    CHECK(the_lock == 0);

    stress_set_phase("generations");
    run(generation_waiter, t);
    for (uint32_t g = 0; g < GENERATIONS; g++) {
        wait_at_least(&arrivals, THREADS * g);
        raise_and_wake(&generation);
        stress_progress = g;
    }
    join(t);
    CHECK(arrivals == THREADS * GENERATIONS);

    stress_set_phase("requeue");
    long moved_total = 0, requeue_ret[ROUNDS];
    run(cv_waiter, t);
    for (int r = 0; r < ROUNDS; r++) {
        wait_at_least(&registered, THREADS * (r + 1));
        lock_contended(&cv_lock);
        uint32_t seq = ADD(&cv_seq, 1);
        requeue_ret[r] = fx_cmp_requeue(&cv_seq, 1, INT_MAX, &cv_lock, seq);
        CHECK(requeue_ret[r] >= 0);
        unlock(&cv_lock);
        wait_at_least(&passed, THREADS * (r + 1));
        stress_progress = r;
    }
    join(t);
    CHECK(passed == THREADS * ROUNDS);
    for (int r = 0; r < ROUNDS; r++) {
        if (requeue_ret[r] + eagain_in_round[r] != THREADS) {
            printf("round %d: requeue %ld + EAGAIN %ld != %d\n", r, requeue_ret[r],
                   eagain_in_round[r], THREADS);
            failures++;
        }
        moved_total += requeue_ret[r];
    }
    printf("futex_stress: lock waits %ld, requeued or woken %ld of %d\n", lock_waits,
           moved_total, THREADS * ROUNDS);
    return stress_end();
}
