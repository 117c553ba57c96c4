/* POSIX semaphore stress: bounded operations, exact totals.
 * - post race: a poster and a waiter thread hand a turn back and forth
 *   through `go` and `back`, up to RACE_TURNS turns or RACE_MS of clock
 *   time: the waiter sleeps in sem_wait on `go`; the poster, with 2 CPUs
 *   or more, spins on sem_trywait for `back` before it sleeps, so that
 *   its next sem_post on `go` often meets the waiter's registration, and
 *   the waiter's sem_post on `back` the poster's. A sem_post that reads
 *   the waiter count before it raises the value (ci/stress-mutation's
 *   `mutation-sem-post-order`) loses the wake-up when the poster is
 *   delayed between the two (a tick, the host descheduling its virtual
 *   CPU) while the other thread registers and sleeps: the turn never
 *   comes back, and the watchdog names this phase and says which thread
 *   sleeps on a semaphore that holds a unit. Both threads count the same
 *   turns, both semaphores end at 0;
 * - ping-pong: 4 pairs of threads hand a turn back and forth 1500 times
 *   through two semaphores each; every pair counts exactly 1500 turns and
 *   both its semaphores end at 0;
 * - producer/consumer: 4 producers put 1500 items each into an 8-slot
 *   ring guarded by semaphores `empty` (8), `full` (0) and `mutex` (1);
 *   4 consumers take them until a poison item each: every item is taken
 *   exactly once, each consumer sees each producer's items in order, and
 *   the semaphores end at 8, 0 and 1;
 * - across processes: a process-shared pair in MAP_SHARED memory, parent
 *   and forked child hand the turn back and forth 1000 times.
 * Linux program (glibc too). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define PAIRS 4
#define TURNS 1500
#define PRODUCERS 4
#define CONSUMERS 4
#define ITEMS 1500
#define SLOTS 8
#define PROC_TURNS 1000
#define POISON (-1L)
#define RACE_TURNS 100000
#define RACE_MS 2000
/* sem_trywait attempts before the poster sleeps after all (the waiter's
 * CPU may be taken away for a whole tick). */
#define RACE_SPIN 2000

/* --- post race ------------------------------------------------------------ */

static sem_t race_go, race_back;
static long race_turns;
static volatile int race_stop;
/* Who is inside sem_wait now (the watchdog's verdict). */
static volatile int race_waiter_in, race_poster_in;

/* The watchdog's cleanup in this phase: a thread inside sem_wait on a
 * semaphore that holds a unit lost its wake-up (not a slow run). */
static void race_verdict(void)
{
    int go = -1, back = -1;
    sem_getvalue(&race_go, &go);
    sem_getvalue(&race_back, &back);
    if (race_waiter_in && go > 0)
        stress_put("sem_stress: post race: lost wake-up: the waiter sleeps while go holds a unit\n");
    else if (race_poster_in && back > 0)
        stress_put("sem_stress: post race: lost wake-up: the poster sleeps while back holds a unit\n");
    else
        stress_put("sem_stress: post race: no unit left behind (slow, not lost)\n");
}

static void *race_waiter(void *arg)
{
    (void)arg;
    for (;;) {
        race_waiter_in = 1;
        CHECK(sem_wait(&race_go) == 0);
        race_waiter_in = 0;
        if (race_stop)
            return NULL;
        race_turns++;
        stress_progress = race_turns;
        CHECK(sem_post(&race_back) == 0);
    }
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Up to RACE_TURNS turns or RACE_MS of clock time, whichever ends first;
 * returns the turns made. With one CPU the spin only delays the waiter:
 * `spin` is 0 there. A failed sem_trywait is not told apart from another
 * error (errno costs the testbed's libc a system call per look): the
 * totals catch one. */
static long race_poster(int spin)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long i;
    for (i = 0; i < RACE_TURNS; i++) {
        if ((i & 31) == 0 && ms_since(&t0) > RACE_MS)
            break;
        CHECK(sem_post(&race_go) == 0);
        int tries = 0;
        while (tries < spin && sem_trywait(&race_back) != 0)
            tries++;
        if (tries == spin) {
            race_poster_in = 1;
            CHECK(sem_wait(&race_back) == 0);
            race_poster_in = 0;
        }
    }
    race_stop = 1;
    CHECK(sem_post(&race_go) == 0);
    printf("post race: %ld turns in %ld ms\n", i, ms_since(&t0));
    return i;
}

/* --- ping-pong ----------------------------------------------------------- */

struct pair {
    sem_t ping, pong;
    long turns;
};
static struct pair pairs[PAIRS];

static void *pinger(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < TURNS; i++) {
        CHECK(sem_post(&p->ping) == 0);
        CHECK(sem_wait(&p->pong) == 0);
    }
    return NULL;
}

static void *ponger(void *arg)
{
    struct pair *p = arg;
    for (int i = 0; i < TURNS; i++) {
        CHECK(sem_wait(&p->ping) == 0);
        p->turns++;
        ADD(&stress_progress, 1);
        CHECK(sem_post(&p->pong) == 0);
    }
    return NULL;
}

/* --- producer/consumer --------------------------------------------------- */

static sem_t empty, full, mutex;
static long ring[SLOTS];
static int head, tail;
static unsigned char taken[PRODUCERS * ITEMS];
static long out_of_order;

static void put(long item)
{
    CHECK(sem_wait(&empty) == 0);
    CHECK(sem_wait(&mutex) == 0);
    ring[tail] = item;
    tail = (tail + 1) % SLOTS;
    CHECK(sem_post(&mutex) == 0);
    CHECK(sem_post(&full) == 0);
}

static long get(void)
{
    CHECK(sem_wait(&full) == 0);
    CHECK(sem_wait(&mutex) == 0);
    long item = ring[head];
    head = (head + 1) % SLOTS;
    CHECK(sem_post(&mutex) == 0);
    CHECK(sem_post(&empty) == 0);
    return item;
}

static void *producer(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < ITEMS; i++)
        put(id * ITEMS + i);
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    long last[PRODUCERS];
    for (int p = 0; p < PRODUCERS; p++)
        last[p] = -1;
    for (;;) {
        long item = get();
        if (item == POISON)
            break;
        if (item < 0 || item >= PRODUCERS * ITEMS) {
            ADD(&out_of_order, 1);
            continue;
        }
        __atomic_add_fetch(&taken[item], 1, __ATOMIC_SEQ_CST);
        long p = item / ITEMS, seq = item % ITEMS;
        if (seq <= last[p])
            ADD(&out_of_order, 1);
        last[p] = seq;
        ADD(&stress_progress, 1);
    }
    return NULL;
}

static int value(sem_t *s)
{
    int v = -1;
    CHECK(sem_getvalue(s, &v) == 0);
    return v;
}

/* --- across processes ---------------------------------------------------- */

struct shared_pair {
    sem_t ping, pong;
    long child_turns;
};

int main(void)
{
    stress_watchdog("sem_stress");

    stress_set_phase("post race");
    CHECK(sem_init(&race_go, 0, 0) == 0);
    CHECK(sem_init(&race_back, 0, 0) == 0);
    if (failures)
        return 2; /* without semaphores every wait below fails without end */
    pthread_t rw;
    stress_cleanup = race_verdict;
    CHECK(pthread_create(&rw, NULL, race_waiter, NULL) == 0);
    long turns = race_poster(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? RACE_SPIN : 0);
    CHECK(pthread_join(rw, NULL) == 0);
    stress_cleanup = NULL;
    CHECK(turns > 0 && race_turns == turns);
    CHECK(value(&race_go) == 0 && value(&race_back) == 0);

    stress_set_phase("ping-pong");
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        CHECK(sem_init(&pairs[i].ping, 0, 0) == 0);
        CHECK(sem_init(&pairs[i].pong, 0, 0) == 0);
        CHECK(pthread_create(&t[2 * i], NULL, pinger, &pairs[i]) == 0);
        CHECK(pthread_create(&t[2 * i + 1], NULL, ponger, &pairs[i]) == 0);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (int i = 0; i < PAIRS; i++) {
        CHECK(pairs[i].turns == TURNS);
        CHECK(value(&pairs[i].ping) == 0);
        CHECK(value(&pairs[i].pong) == 0);
    }

    stress_set_phase("producer/consumer");
    CHECK(sem_init(&empty, 0, SLOTS) == 0);
    CHECK(sem_init(&full, 0, 0) == 0);
    CHECK(sem_init(&mutex, 0, 1) == 0);
    pthread_t prod[PRODUCERS], cons[CONSUMERS];
    for (long i = 0; i < CONSUMERS; i++)
        CHECK(pthread_create(&cons[i], NULL, consumer, NULL) == 0);
    for (long i = 0; i < PRODUCERS; i++)
        CHECK(pthread_create(&prod[i], NULL, producer, (void *)i) == 0);
    for (int i = 0; i < PRODUCERS; i++)
        CHECK(pthread_join(prod[i], NULL) == 0);
    for (int i = 0; i < CONSUMERS; i++)
        put(POISON);
    for (int i = 0; i < CONSUMERS; i++)
        CHECK(pthread_join(cons[i], NULL) == 0);
    long once = 0;
    for (int i = 0; i < PRODUCERS * ITEMS; i++)
        once += taken[i] == 1;
    CHECK(once == PRODUCERS * ITEMS);
    CHECK(out_of_order == 0);
    CHECK(value(&empty) == SLOTS);
    CHECK(value(&full) == 0);
    CHECK(value(&mutex) == 1);

    stress_set_phase("across processes");
    struct shared_pair *sp =
        mmap(NULL, sizeof *sp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sp != MAP_FAILED);
    if (sp == MAP_FAILED)
        return stress_end();
    CHECK(sem_init(&sp->ping, 1, 0) == 0);
    CHECK(sem_init(&sp->pong, 1, 0) == 0);
    pid_t child = stress_fork("sem_stress child");
    CHECK(child >= 0);
    if (child == 0) {
        int bad = 0;
        for (int i = 0; i < PROC_TURNS; i++) {
            bad |= sem_wait(&sp->ping) != 0;
            sp->child_turns++;
            bad |= sem_post(&sp->pong) != 0;
        }
        _exit(bad);
    }
    for (int i = 0; i < PROC_TURNS; i++) {
        CHECK(sem_post(&sp->ping) == 0);
        CHECK(sem_wait(&sp->pong) == 0);
        stress_progress = i;
    }
    int status = -1;
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(sp->child_turns == PROC_TURNS);
    CHECK(value(&sp->ping) == 0 && value(&sp->pong) == 0);
    return stress_end();
}
