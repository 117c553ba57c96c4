/* POSIX semaphores from C through relibc-shim: unnamed (threads, trywait,
 * timedwait on CLOCK_REALTIME, getvalue, EINVAL/EOVERFLOW), named
 * (O_CREAT|O_EXCL, EEXIST, same object from two opens, close, unlink). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>

#include "check.h"

static sem_t items, done;
static int consumed;

static void *consumer(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        while (sem_wait(&items) != 0 && errno == EINTR) {
        }
        __atomic_fetch_add(&consumed, 1, __ATOMIC_SEQ_CST);
    }
    sem_post(&done);
    return NULL;
}

int main(void)
{
    sem_t s;
    int v = -1;
    CHECK(sem_init(&s, 0, 2) == 0);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 2);
    CHECK(sem_trywait(&s) == 0);
    CHECK(sem_wait(&s) == 0);
    CHECK(sem_trywait(&s) == -1 && errno == EAGAIN);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    CHECK(sem_timedwait(&s, &ts) == -1 && errno == ETIMEDOUT);
    struct timespec bad = {0, 1000000000};
    CHECK(sem_timedwait(&s, &bad) == -1 && errno == EINVAL);
    CHECK(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1u) == -1 && errno == EINVAL);
    CHECK(sem_destroy(&s) == 0);

    /* Producer/consumer between threads. */
    CHECK(sem_init(&items, 0, 0) == 0 && sem_init(&done, 0, 0) == 0);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, consumer, (void *)50) == 0);
    for (int i = 0; i < 100; i++) {
        CHECK(sem_post(&items) == 0);
        if (i % 10 == 0)
            sched_yield();
    }
    CHECK(sem_wait(&done) == 0 && sem_wait(&done) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(consumed == 100);
    CHECK(sem_getvalue(&items, &v) == 0 && v == 0);

    /* Named. */
    sem_unlink("/rb-c-named");
    sem_t *a = sem_open("/rb-c-named", O_CREAT | O_EXCL, 0600, 1);
    CHECK(a != SEM_FAILED);
    CHECK(sem_open("/rb-c-named", O_CREAT | O_EXCL, 0600, 1) == SEM_FAILED && errno == EEXIST);
    sem_t *b = sem_open("/rb-c-named", 0);
    CHECK(b != SEM_FAILED);
    if (a != SEM_FAILED && b != SEM_FAILED) {
        CHECK(sem_wait(a) == 0);
        CHECK(sem_trywait(b) == -1 && errno == EAGAIN);
        CHECK(sem_post(b) == 0);
        CHECK(sem_getvalue(a, &v) == 0 && v == 1);
        CHECK(sem_close(b) == 0);
        CHECK(sem_close(a) == 0);
    }
    CHECK(sem_unlink("/rb-c-named") == 0);
    CHECK(sem_unlink("/rb-c-named") == -1 && errno == ENOENT);
    CHECK(sem_open("/rb-c-named", 0) == SEM_FAILED && errno == ENOENT);

    if (failures == 0)
        printf("POSIX semaphores from C: ok\n");
    return failures ? 1 : 0;
}
