/* timerfd stress: timers that expire while their readers sleep, exact
 * expiration counts against the arms.
 * - own timers: 6 threads each arm a one-shot CLOCK_MONOTONIC timerfd of
 *   their own (1..3 ms) 40 times and sleep in read: every read returns
 *   exactly 1 expiration (240 in all);
 * - shared timer: 4 readers sleep in read on one timerfd; the main thread
 *   arms it (one-shot, 1 ms) 120 times, each time waiting until one
 *   reader has taken the expiration (an eventfd the reader writes), then
 *   arms it once per reader with the stop flag set: the readers take
 *   exactly 124 expirations, each of the last 4 by a different reader;
 * - periodic: a 2 ms periodic timer read by a sleeping thread until 50
 *   expirations have been counted, then disarmed: after the disarm no
 *   expiration is pending and gettime reports it disarmed.
 * Linux program. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define OWN_THREADS 6
#define OWN_ARMS 40
#define SHARED_READERS 4
#define SHARED_ARMS 120
#define PERIODIC_COUNT 50

static int arm_once(int fd, long ns)
{
    struct itimerspec its = {{0, 0}, {0, ns}};
    return timerfd_settime(fd, 0, &its, NULL);
}

/* --- own timers ---------------------------------------------------------- */

static long own_total, own_bad;

static void *own_timer(void *arg)
{
    long id = (long)arg;
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(fd >= 0);
    for (int i = 0; i < OWN_ARMS; i++) {
        CHECK(arm_once(fd, ((i + id) % 3 + 1) * 1000000L) == 0);
        uint64_t n = 0;
        if (read(fd, &n, 8) != 8 || n != 1)
            ADD(&own_bad, 1);
        ADD(&own_total, (long)n);
        ADD(&stress_progress, 1);
    }
    CHECK(close(fd) == 0);
    return NULL;
}

/* --- shared timer -------------------------------------------------------- */

static int shared_fd, ack_fd;
static int stop;
static long shared_total, stop_takers;

static void *shared_reader(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t n = 0;
        CHECK(read(shared_fd, &n, 8) == 8);
        ADD(&shared_total, (long)n);
        int leaving = LOAD(&stop);
        if (leaving)
            ADD(&stop_takers, 1);
        uint64_t one = 1;
        CHECK(write(ack_fd, &one, 8) == 8);
        if (leaving)
            break;
    }
    return NULL;
}

/* --- periodic ------------------------------------------------------------ */

static int periodic_fd;
static long periodic_total;

static void *periodic_reader(void *arg)
{
    (void)arg;
    while (LOAD(&periodic_total) < PERIODIC_COUNT) {
        uint64_t n = 0;
        CHECK(read(periodic_fd, &n, 8) == 8);
        CHECK(n >= 1);
        ADD(&periodic_total, (long)n);
    }
    struct itimerspec off = {{0, 0}, {0, 0}};
    CHECK(timerfd_settime(periodic_fd, 0, &off, NULL) == 0);
    return NULL;
}

int main(void)
{
    stress_watchdog("timerfd_stress");

    stress_set_phase("own timers");
    pthread_t t[OWN_THREADS];
    for (long i = 0; i < OWN_THREADS; i++)
        CHECK(pthread_create(&t[i], NULL, own_timer, (void *)i) == 0);
    for (int i = 0; i < OWN_THREADS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(own_total == OWN_THREADS * OWN_ARMS);
    CHECK(own_bad == 0);

    stress_set_phase("shared timer");
    shared_fd = timerfd_create(CLOCK_MONOTONIC, 0);
    ack_fd = eventfd(0, EFD_SEMAPHORE);
    CHECK(shared_fd >= 0 && ack_fd >= 0);
    pthread_t r[SHARED_READERS];
    for (int i = 0; i < SHARED_READERS; i++)
        CHECK(pthread_create(&r[i], NULL, shared_reader, NULL) == 0);
    for (int i = 0; i < SHARED_ARMS + SHARED_READERS; i++) {
        if (i == SHARED_ARMS)
            STORE(&stop, 1);
        CHECK(arm_once(shared_fd, 1000000L) == 0);
        uint64_t ack;
        CHECK(read(ack_fd, &ack, 8) == 8);
        stress_progress = i;
    }
    for (int i = 0; i < SHARED_READERS; i++)
        CHECK(pthread_join(r[i], NULL) == 0);
    CHECK(shared_total == SHARED_ARMS + SHARED_READERS);
    CHECK(stop_takers == SHARED_READERS);
    CHECK(close(shared_fd) == 0 && close(ack_fd) == 0);

    stress_set_phase("periodic");
    periodic_fd = timerfd_create(CLOCK_MONOTONIC, 0);
    CHECK(periodic_fd >= 0);
    pthread_t p;
    CHECK(pthread_create(&p, NULL, periodic_reader, NULL) == 0);
    struct itimerspec every = {{0, 2000000L}, {0, 2000000L}};
    CHECK(timerfd_settime(periodic_fd, 0, &every, NULL) == 0);
    CHECK(pthread_join(p, NULL) == 0);
    CHECK(periodic_total >= PERIODIC_COUNT);
    struct pollfd q = {periodic_fd, POLLIN, 0};
    CHECK(poll(&q, 1, 0) == 0);
    struct itimerspec now;
    CHECK(timerfd_gettime(periodic_fd, &now) == 0);
    CHECK(now.it_value.tv_sec == 0 && now.it_value.tv_nsec == 0);
    CHECK(close(periodic_fd) == 0);
    return stress_end();
}
