/* eventfd stress: several writers and readers on one counter, bounded
 * operations, exact sums.
 * - counter: 4 writers write 1..7 (2000 writes each) while 4 readers
 *   read; what the readers read plus what is left equals what was
 *   written;
 * - ceiling: 4 writers write 2^62 (150 times each), so at most three fit
 *   under the ceiling and writers block until readers drain; the units of
 *   2^62 read are exactly 600;
 * - EFD_SEMAPHORE: 4 writers write 1..3 until each has written 1200,
 *   4 readers make exactly 1200 reads each and every read returns 1; the
 *   counter ends at 0.
 * Counter-mode readers cannot count their own share, so they stop by a
 * flag and a nudge: the main thread, once the sum is reached, sets the
 * flag and writes 1 per reader, one at a time, each read by one reader
 * that then leaves (the nudges are in both sums). Linux program. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "stress.h"

#define WRITERS 4
#define READERS 4
#define WRITES 2000
#define BIG_WRITES 150
#define UNIT (1ULL << 62)
#define SEM_SHARE 1200

static int efd;
/* Sums in units of 2^62 and below it, so 2^62-sized writes cannot overflow. */
static uint64_t written_units, written_low, read_units, read_low;
static int done, readers_left;
static int big;

static void account(uint64_t *units, uint64_t *low, uint64_t v)
{
    ADD(units, v / UNIT);
    ADD(low, v % UNIT);
}

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < (big ? BIG_WRITES : WRITES); i++) {
        uint64_t v = big ? UNIT : (uint64_t)((i + id) % 7 + 1);
        CHECK(write(efd, &v, 8) == 8);
        account(&written_units, &written_low, v);
    }
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t v = 0;
        CHECK(read(efd, &v, 8) == 8);
        account(&read_units, &read_low, v);
        ADD(&stress_progress, 1);
        if (LOAD(&done))
            break;
    }
    ADD(&readers_left, -1);
    return NULL;
}

/* What the writers of the counter phase write in all. */
static uint64_t small_sum(void)
{
    uint64_t sum = 0;
    for (long id = 0; id < WRITERS; id++)
        for (int i = 0; i < WRITES; i++)
            sum += (uint64_t)((i + id) % 7 + 1);
    return sum;
}

/* One counter-mode phase: writers and readers, then the nudges. */
static void counter_phase(const char *phase, int big_writes)
{
    stress_set_phase(phase);
    big = big_writes;
    written_units = written_low = read_units = read_low = 0;
    done = 0;
    readers_left = READERS;
    pthread_t w[WRITERS], r[READERS];
    for (long i = 0; i < READERS; i++)
        CHECK(pthread_create(&r[i], NULL, reader, NULL) == 0);
    for (long i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i], NULL, writer, (void *)i) == 0);
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_join(w[i], NULL) == 0);
    /* Every write is in: wait until the readers have it all. */
    while (LOAD(&read_units) != written_units || LOAD(&read_low) != written_low)
        sched_yield();
    STORE(&done, 1);
    for (int left = READERS; left > 0; left--) {
        uint64_t one = 1;
        CHECK(write(efd, &one, 8) == 8);
        account(&written_units, &written_low, 1);
        while (LOAD(&readers_left) >= left)
            sched_yield();
    }
    for (int i = 0; i < READERS; i++)
        CHECK(pthread_join(r[i], NULL) == 0);
    struct pollfd p = {efd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);
    CHECK(read_units == written_units && read_low == written_low);
    if (big_writes)
        CHECK(read_units == WRITERS * BIG_WRITES);
    else
        CHECK(read_low == small_sum() + READERS);
}

/* --- EFD_SEMAPHORE --------------------------------------------------------- */

static int sfd;
static long sem_reads, sem_bad;

static void *sem_writer(void *arg)
{
    long id = (long)arg;
    int left = SEM_SHARE;
    for (int i = 0; left > 0; i++) {
        uint64_t v = (uint64_t)((i + id) % 3 + 1);
        if (v > (uint64_t)left)
            v = (uint64_t)left;
        CHECK(write(sfd, &v, 8) == 8);
        left -= (int)v;
    }
    return NULL;
}

static void *sem_reader(void *arg)
{
    (void)arg;
    for (int i = 0; i < SEM_SHARE; i++) {
        uint64_t v = 0;
        CHECK(read(sfd, &v, 8) == 8);
        if (v != 1)
            ADD(&sem_bad, 1);
        ADD(&sem_reads, 1);
        ADD(&stress_progress, 1);
    }
    return NULL;
}

int main(void)
{
    stress_watchdog("eventfd_stress");
    efd = eventfd(0, 0);
    CHECK(efd >= 0);
    if (efd < 0)
        return 2; /* the readers would fail every read without end */
    counter_phase("counter", 0);
    counter_phase("ceiling", 1);
    CHECK(close(efd) == 0);

    stress_set_phase("semaphore");
    sfd = eventfd(0, EFD_SEMAPHORE);
    CHECK(sfd >= 0);
    if (sfd < 0)
        return 2;
    pthread_t w[WRITERS], r[READERS];
    for (long i = 0; i < READERS; i++)
        CHECK(pthread_create(&r[i], NULL, sem_reader, NULL) == 0);
    for (long i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i], NULL, sem_writer, (void *)i) == 0);
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_join(w[i], NULL) == 0);
    for (int i = 0; i < READERS; i++)
        CHECK(pthread_join(r[i], NULL) == 0);
    CHECK(sem_reads == READERS * SEM_SHARE);
    CHECK(sem_bad == 0);
    struct pollfd p = {sfd, POLLIN, 0};
    CHECK(poll(&p, 1, 0) == 0);
    CHECK(close(sfd) == 0);
    return stress_end();
}
