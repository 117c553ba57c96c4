/* poll wake-ups under stress: threads asleep in poll on eventfds that
 * other threads write, bounded operations, exact totals.
 * - ping-pong: 3 pairs; one side writes its partner's eventfd and polls
 *   its own, the other polls, reads, answers: 1000 round trips each, and
 *   every read after POLLIN finds exactly 1;
 * - shared: 4 pollers sleep in poll on 4 nonblocking eventfds and a stop
 *   fd; 3 writers write 1 to them in turn (1500 writes each); a poller
 *   that sees POLLIN reads (EAGAIN if another poller was first). The
 *   pollers read exactly 4500, then the stop fd (written once, never
 *   read) wakes them all; no data fd is left readable.
 * Linux program. */
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

#define PAIRS 3
#define ROUNDS 1000
#define FDS 4
#define POLLERS 4
#define WRITERS 3
#define WRITES 1500

static int wait_in(int fd)
{
    struct pollfd p = {fd, POLLIN, 0};
    int n = poll(&p, 1, -1);
    return n == 1 && (p.revents & POLLIN);
}

/* --- ping-pong ----------------------------------------------------------- */

struct pair {
    int to_b, to_a;
    long rounds, bad;
};
static struct pair pairs[PAIRS];

static void *side_a(void *arg)
{
    struct pair *p = arg;
    uint64_t one = 1, v;
    for (int i = 0; i < ROUNDS; i++) {
        if (write(p->to_b, &one, 8) != 8 || !wait_in(p->to_a) || read(p->to_a, &v, 8) != 8 ||
            v != 1)
            ADD(&p->bad, 1);
    }
    return NULL;
}

static void *side_b(void *arg)
{
    struct pair *p = arg;
    uint64_t one = 1, v;
    for (int i = 0; i < ROUNDS; i++) {
        if (!wait_in(p->to_b) || read(p->to_b, &v, 8) != 8 || v != 1)
            ADD(&p->bad, 1);
        p->rounds++;
        ADD(&stress_progress, 1);
        if (write(p->to_a, &one, 8) != 8)
            ADD(&p->bad, 1);
    }
    return NULL;
}

/* --- shared eventfds ----------------------------------------------------- */

static int data[FDS], stop_fd;
static uint64_t consumed, eagains, poll_bad;

static void *poller(void *arg)
{
    (void)arg;
    struct pollfd p[FDS + 1];
    for (int i = 0; i < FDS; i++)
        p[i] = (struct pollfd){data[i], POLLIN, 0};
    p[FDS] = (struct pollfd){stop_fd, POLLIN, 0};
    for (;;) {
        int n = poll(p, FDS + 1, -1);
        if (n < 1) {
            ADD(&poll_bad, 1);
            continue;
        }
        for (int i = 0; i < FDS; i++) {
            if (!(p[i].revents & POLLIN))
                continue;
            uint64_t v;
            ssize_t r = read(data[i], &v, 8);
            if (r == 8) {
                ADD(&consumed, v);
                ADD(&stress_progress, 1);
            } else if (r < 0 && errno == EAGAIN) {
                ADD(&eagains, 1);
            } else {
                ADD(&poll_bad, 1);
            }
        }
        if (p[FDS].revents & POLLIN)
            break;
    }
    return NULL;
}

static void *writer(void *arg)
{
    long id = (long)arg;
    uint64_t one = 1;
    for (int i = 0; i < WRITES; i++)
        CHECK(write(data[(i + id) % FDS], &one, 8) == 8);
    return NULL;
}

int main(void)
{
    stress_watchdog("fdevents_poll_stress");

    stress_set_phase("ping-pong");
    pthread_t t[2 * PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        pairs[i].to_a = eventfd(0, EFD_NONBLOCK);
        pairs[i].to_b = eventfd(0, EFD_NONBLOCK);
        CHECK(pairs[i].to_a >= 0 && pairs[i].to_b >= 0);
        CHECK(pthread_create(&t[2 * i], NULL, side_a, &pairs[i]) == 0);
        CHECK(pthread_create(&t[2 * i + 1], NULL, side_b, &pairs[i]) == 0);
    }
    for (int i = 0; i < 2 * PAIRS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    for (int i = 0; i < PAIRS; i++) {
        CHECK(pairs[i].rounds == ROUNDS);
        CHECK(pairs[i].bad == 0);
        close(pairs[i].to_a);
        close(pairs[i].to_b);
    }

    stress_set_phase("shared");
    for (int i = 0; i < FDS; i++) {
        data[i] = eventfd(0, EFD_NONBLOCK);
        CHECK(data[i] >= 0);
    }
    stop_fd = eventfd(0, EFD_NONBLOCK);
    CHECK(stop_fd >= 0);
    pthread_t p[POLLERS], w[WRITERS];
    for (int i = 0; i < POLLERS; i++)
        CHECK(pthread_create(&p[i], NULL, poller, NULL) == 0);
    for (long i = 0; i < WRITERS; i++)
        CHECK(pthread_create(&w[i], NULL, writer, (void *)i) == 0);
    for (int i = 0; i < WRITERS; i++)
        CHECK(pthread_join(w[i], NULL) == 0);
    while (LOAD(&consumed) != (uint64_t)WRITERS * WRITES)
        sched_yield();
    uint64_t one = 1;
    CHECK(write(stop_fd, &one, 8) == 8);
    for (int i = 0; i < POLLERS; i++)
        CHECK(pthread_join(p[i], NULL) == 0);
    CHECK(consumed == (uint64_t)WRITERS * WRITES);
    CHECK(poll_bad == 0);
    struct pollfd q[FDS];
    for (int i = 0; i < FDS; i++)
        q[i] = (struct pollfd){data[i], POLLIN, 0};
    CHECK(poll(q, FDS, 0) == 0);
    printf("fdevents_poll_stress: %llu reads found another poller first\n",
           (unsigned long long)eagains);
    return stress_end();
}
