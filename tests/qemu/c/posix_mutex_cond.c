/* pthread mutexes, condition variables, once and keys, written for Linux
 * (it also builds and passes unchanged with glibc: tests/posix_c_glibc.rs).
 * - normal mutex: 4 threads x 2000 increments under the lock lose none;
 *   trylock is EBUSY while held; timedlock times out with ETIMEDOUT;
 * - recursive: the owner locks twice and must unlock twice;
 * - errorcheck: relock is EDEADLK, unlock by another thread EPERM;
 * - condition variable: a bounded queue between 2 producers and 2
 *   consumers moves every item exactly once; broadcast wakes all waiters;
 *   timed waits time out on CLOCK_REALTIME and on CLOCK_MONOTONIC;
 * - pthread_once runs once across threads; keys are per thread and their
 *   destructors run at thread exit; pthread_self/pthread_equal;
 * - detach: a thread created detached, or detached later, cannot be
 *   joined (EINVAL, checked while it still runs), a second detach is
 *   EINVAL, and joining oneself is EDEADLK. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"


#define THREADS 4
#define ROUNDS 2000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&lock);
        long v = counter;
        if ((i & 63) == 0)
            sched_yield(); /* let the others pile up on the lock */
        counter = v + 1;
        pthread_mutex_unlock(&lock);
    }
    return arg;
}

static struct timespec in_ms(clockid_t clk, long ms)
{
    struct timespec t;
    clock_gettime(clk, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void *try_from_other(void *m)
{
    long r = pthread_mutex_trylock(m);
    if (r == 0)
        pthread_mutex_unlock(m);
    return (void *)r;
}

static void *unlock_from_other(void *m) { return (void *)(long)pthread_mutex_unlock(m); }

static void mutex_cases(void)
{
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        CHECK(pthread_create(&t[i], 0, add, 0) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], 0);
    CHECK(counter == THREADS * ROUNDS);

    CHECK(pthread_mutex_lock(&lock) == 0);
    CHECK(pthread_mutex_trylock(&lock) == EBUSY);
    struct timespec soon = in_ms(CLOCK_REALTIME, 30);
    CHECK(pthread_mutex_timedlock(&lock, &soon) == ETIMEDOUT);
    CHECK(pthread_mutex_unlock(&lock) == 0);
    CHECK(pthread_mutex_trylock(&lock) == 0);
    CHECK(pthread_mutex_unlock(&lock) == 0);

    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    CHECK(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE) == 0);
    pthread_mutex_t rec;
    CHECK(pthread_mutex_init(&rec, &a) == 0);
    CHECK(pthread_mutex_lock(&rec) == 0);
    CHECK(pthread_mutex_lock(&rec) == 0);
    CHECK(pthread_mutex_unlock(&rec) == 0);
    pthread_t o;
    void *r;
    pthread_create(&o, 0, try_from_other, &rec);
    pthread_join(o, &r);
    CHECK((long)r == EBUSY); /* still held once */
    CHECK(pthread_mutex_unlock(&rec) == 0);
    pthread_create(&o, 0, try_from_other, &rec);
    pthread_join(o, &r);
    CHECK((long)r == 0);
    pthread_mutex_destroy(&rec);

    CHECK(pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) == 0);
    int type = -1;
    CHECK(pthread_mutexattr_gettype(&a, &type) == 0 && type == PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t ec;
    CHECK(pthread_mutex_init(&ec, &a) == 0);
    CHECK(pthread_mutex_lock(&ec) == 0);
    CHECK(pthread_mutex_lock(&ec) == EDEADLK);
    pthread_create(&o, 0, unlock_from_other, &ec);
    pthread_join(o, &r);
    CHECK((long)r == EPERM);
    CHECK(pthread_mutex_unlock(&ec) == 0);
    CHECK(pthread_mutex_unlock(&ec) == EPERM);
    pthread_mutex_destroy(&ec);
    pthread_mutexattr_destroy(&a);
}

/* A bounded queue. */
#define CAP 4
#define ITEMS 400
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int queue[CAP], qhead, qlen, seen[2 * ITEMS + 1], consumed;

static void *producer(void *arg)
{
    long base = (long)arg;
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&qlock);
        while (qlen == CAP)
            pthread_cond_wait(&not_full, &qlock);
        queue[(qhead + qlen) % CAP] = (int)base + i;
        qlen++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&qlock);
    }
    return 0;
}

static void *consumer(void *arg)
{
    for (;;) {
        pthread_mutex_lock(&qlock);
        while (qlen == 0 && consumed < 2 * ITEMS)
            pthread_cond_wait(&not_empty, &qlock);
        if (consumed == 2 * ITEMS) {
            pthread_mutex_unlock(&qlock);
            return arg;
        }
        int v = queue[qhead];
        qhead = (qhead + 1) % CAP;
        qlen--;
        seen[v]++;
        if (++consumed == 2 * ITEMS)
            pthread_cond_broadcast(&not_empty);
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&qlock);
    }
}

static pthread_cond_t gate = PTHREAD_COND_INITIALIZER;
static int open_gate, waiting;

static void *wait_gate(void *arg)
{
    pthread_mutex_lock(&qlock);
    waiting++;
    while (!open_gate)
        pthread_cond_wait(&gate, &qlock);
    pthread_mutex_unlock(&qlock);
    return arg;
}

static void cond_cases(void)
{
    pthread_t p[2], c[2];
    pthread_create(&p[0], 0, producer, (void *)0);
    pthread_create(&p[1], 0, producer, (void *)(long)ITEMS);
    pthread_create(&c[0], 0, consumer, 0);
    pthread_create(&c[1], 0, consumer, 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(p[i], 0);
        pthread_join(c[i], 0);
    }
    int once_each = 1;
    for (int v = 1; v <= 2 * ITEMS; v++)
        if (seen[v] != 1)
            once_each = 0;
    CHECK(once_each && consumed == 2 * ITEMS);

    pthread_t w[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&w[i], 0, wait_gate, (void *)1);
    for (;;) {
        pthread_mutex_lock(&qlock);
        int n = waiting;
        pthread_mutex_unlock(&qlock);
        if (n == 3)
            break;
        sched_yield();
    }
    pthread_mutex_lock(&qlock);
    open_gate = 1;
    pthread_cond_broadcast(&gate);
    pthread_mutex_unlock(&qlock);
    for (int i = 0; i < 3; i++) {
        void *r = 0;
        pthread_join(w[i], &r);
        CHECK(r == (void *)1);
    }

    /* Timed waits on both clocks. */
    pthread_cond_t cr = PTHREAD_COND_INITIALIZER, cm;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    CHECK(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
    clockid_t clk = -1;
    CHECK(pthread_condattr_getclock(&ca, &clk) == 0 && clk == CLOCK_MONOTONIC);
    CHECK(pthread_cond_init(&cm, &ca) == 0);
    pthread_mutex_lock(&qlock);
    struct timespec t = in_ms(CLOCK_REALTIME, 40);
    CHECK(pthread_cond_timedwait(&cr, &qlock, &t) == ETIMEDOUT);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK(now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec >= t.tv_nsec));
    t = in_ms(CLOCK_MONOTONIC, 40);
    CHECK(pthread_cond_timedwait(&cm, &qlock, &t) == ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &now);
    CHECK(now.tv_sec > t.tv_sec || (now.tv_sec == t.tv_sec && now.tv_nsec >= t.tv_nsec));
    CHECK(pthread_mutex_unlock(&qlock) == 0); /* the mutex came back held */
    pthread_cond_destroy(&cm);
    pthread_cond_destroy(&cr);
    pthread_condattr_destroy(&ca);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static pthread_key_t key;
static int dtor_runs;

static void init_once(void) { __atomic_fetch_add(&once_runs, 1, __ATOMIC_SEQ_CST); }
static void dtor(void *v)
{
    (void)v;
    __atomic_fetch_add(&dtor_runs, 1, __ATOMIC_SEQ_CST);
}

static void *keyed(void *arg)
{
    pthread_once(&once, init_once);
    if (pthread_getspecific(key) != 0)
        return (void *)0;
    pthread_setspecific(key, arg);
    sched_yield();
    return pthread_getspecific(key) == arg ? (void *)1 : (void *)0;
}

static void once_and_keys(void)
{
    CHECK(pthread_key_create(&key, dtor) == 0);
    static int mine;
    CHECK(pthread_setspecific(key, &mine) == 0);
    pthread_t t[THREADS];
    static int vals[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], 0, keyed, &vals[i]);
    for (int i = 0; i < THREADS; i++) {
        void *r = 0;
        pthread_join(t[i], &r);
        CHECK(r == (void *)1);
    }
    CHECK(once_runs == 1);
    CHECK(dtor_runs == THREADS);
    CHECK(pthread_getspecific(key) == &mine);
    CHECK(pthread_equal(pthread_self(), pthread_self()));
    CHECK(!pthread_equal(pthread_self(), t[0]));
    int old = -1;
    CHECK(pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old) == 0 && old == PTHREAD_CANCEL_ENABLE);
    CHECK(pthread_setcancelstate(old, 0) == 0);
    pthread_key_delete(key);
}

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open;
static int gate_passed;

/* Runs until the gate opens, so the checks on it see a live thread. */
static void *wait_at_gate(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    gate_passed++;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    return NULL;
}

static void detach_cases(void)
{
    pthread_attr_t a;
    CHECK(pthread_attr_init(&a) == 0);
    CHECK(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0);
    pthread_t born_detached, detached_later;
    CHECK(pthread_create(&born_detached, &a, wait_at_gate, NULL) == 0);
    CHECK(pthread_create(&detached_later, NULL, wait_at_gate, NULL) == 0);
    CHECK(pthread_join(born_detached, NULL) == EINVAL);
    CHECK(pthread_detach(detached_later) == 0);
    CHECK(pthread_join(detached_later, NULL) == EINVAL);
    CHECK(pthread_detach(detached_later) == EINVAL);
    CHECK(pthread_join(pthread_self(), NULL) == EDEADLK);
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    while (gate_passed < 2)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    pthread_attr_destroy(&a);
}

int main(void)
{
    mutex_cases();
    cond_cases();
    once_and_keys();
    detach_cases();
    if (failures == 0)
        printf("mutexes and condition variables: all cases passed\n");
    return failures != 0;
}
