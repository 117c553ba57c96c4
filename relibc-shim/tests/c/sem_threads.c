/* Unnamed semaphores between threads: a sleeping waiter is woken by a
 * post (futex wait + wake), a post wakes one waiter and not all, EINTR,
 * a timed wait woken before its deadline, and a ping-pong that loses no
 * wake-up. */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

static sem_t s, ping, pong;
static volatile int done;

static void *waiter(void *arg)
{
    (void)arg;
    CHECK(sem_wait(&s) == 0);
    __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *timed_waiter(void *arg)
{
    (void)arg;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 30;
    CHECK(sem_timedwait(&s, &t) == 0);
    return NULL;
}

static void *interrupted(void *arg)
{
    (void)arg;
    CHECK_ERR(sem_wait(&s), EINTR);
    return NULL;
}

#define ROUNDS 20000
static void *ponger(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        CHECK(sem_wait(&ping) == 0);
        CHECK(sem_post(&pong) == 0);
    }
    return NULL;
}

static void phase(const char *what)
{
    if (getenv("RB_TRACE")) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        fprintf(stderr, "%ld.%03ld %s\n", (long)t.tv_sec, t.tv_nsec / 1000000, what);
    }
}

int main(void)
{
    pthread_t a, b;
    int v;

    /* one sleeper, one post */
    CHECK(sem_init(&s, 0, 0) == 0);
    unsigned long long before = rb_shim_hosted_syscalls();
    CHECK(pthread_create(&a, NULL, waiter, NULL) == 0);
    CHECK(rb_wait_parked(1));
    CHECK(sem_post(&s) == 0);
    CHECK(pthread_join(a, NULL) == 0);
    CHECK(done == 1);
    CHECK(rb_shim_hosted_syscalls() >= before + 2); /* futex wait, wake */

    phase("two sleepers");
    /* two sleepers, one post: exactly one wakes */
    done = 0;
    CHECK(pthread_create(&a, NULL, waiter, NULL) == 0);
    CHECK(pthread_create(&b, NULL, waiter, NULL) == 0);
    CHECK(rb_wait_parked(2));
    CHECK(sem_post(&s) == 0);
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 5000 && __atomic_load_n(&done, __ATOMIC_SEQ_CST) < 1; i++)
        nanosleep(&ms, NULL);
    struct timespec settle = {0, 100000000};
    nanosleep(&settle, NULL);
    CHECK(__atomic_load_n(&done, __ATOMIC_SEQ_CST) == 1);
    CHECK(rb_wait_parked(1) && rb_shim_hosted_parked() <= 1); /* the other still sleeps */
    CHECK(sem_getvalue(&s, &v) == 0 && v == 0);
    CHECK(sem_post(&s) == 0);
    CHECK(pthread_join(a, NULL) == 0);
    CHECK(pthread_join(b, NULL) == 0);
    CHECK(done == 2);

    phase("a timed wait");
    /* a timed wait woken before its deadline */
    CHECK(pthread_create(&a, NULL, timed_waiter, NULL) == 0);
    CHECK(rb_wait_parked(1));
    CHECK(sem_post(&s) == 0);
    CHECK(pthread_join(a, NULL) == 0);

    phase("a signal");
    /* a signal interrupts a sleeping wait: EINTR, nothing consumed */
    CHECK(pthread_create(&a, NULL, interrupted, NULL) == 0);
    CHECK(rb_wait_parked(1));
    rb_shim_hosted_raise(SIGUSR1);
    CHECK(pthread_join(a, NULL) == 0);
    rb_shim_hosted_take_signal(SIGUSR1);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 0);

    phase("ping-pong");
    /* ping-pong, private and process-shared */
    for (int shared = 0; shared <= 1; shared++) {
        CHECK(sem_init(&ping, shared, 0) == 0);
        CHECK(sem_init(&pong, shared, 0) == 0);
        CHECK(pthread_create(&a, NULL, ponger, NULL) == 0);
        for (int i = 0; i < ROUNDS; i++) {
            CHECK(sem_post(&ping) == 0);
            CHECK(sem_wait(&pong) == 0);
        }
        CHECK(pthread_join(a, NULL) == 0);
        CHECK(sem_getvalue(&ping, &v) == 0 && v == 0);
        CHECK(sem_getvalue(&pong, &v) == 0 && v == 0);
        CHECK(sem_destroy(&ping) == 0);
        CHECK(sem_destroy(&pong) == 0);
    }
    phase("end");
    CHECK(sem_destroy(&s) == 0);
    return 0;
}
