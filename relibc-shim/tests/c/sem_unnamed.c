/* Unnamed semaphores in one thread: every function's success and error
 * paths, errno values, and zero syscalls on the uncontended paths. */
#define _GNU_SOURCE
#include <semaphore.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

static struct timespec after_ms(clockid_t clock, long ms)
{
    struct timespec t;
    CHECK(clock_gettime(clock, &t) == 0);
    t.tv_nsec += (ms % 1000) * 1000000L;
    t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static long elapsed_ms(struct timespec a, struct timespec b)
{
    return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

int main(void)
{
    sem_t s;
    int v = -1;

    CHECK(sem_init(&s, 0, 2) == 0);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 2);

    /* uncontended: no syscall at all */
    unsigned long long before = rb_shim_hosted_syscalls();
    for (int i = 0; i < 100000; i++) {
        CHECK(sem_wait(&s) == 0);
        CHECK(sem_post(&s) == 0);
    }
    CHECK(sem_trywait(&s) == 0);
    CHECK(sem_trywait(&s) == 0);
    CHECK_ERR(sem_trywait(&s), EAGAIN);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 0);
    CHECK(sem_post(&s) == 0);
    struct timespec later = after_ms(CLOCK_REALTIME, 10000);
    CHECK(sem_timedwait(&s, &later) == 0);
    CHECK(sem_post(&s) == 0);
    struct timespec mono_later = after_ms(CLOCK_MONOTONIC, 10000);
    CHECK(sem_clockwait(&s, CLOCK_MONOTONIC, &mono_later) == 0);
    CHECK(rb_shim_hosted_syscalls() == before);

    /* sem_init: value above SEM_VALUE_MAX */
    sem_t big;
    CHECK_ERR(sem_init(&big, 0, (unsigned)SEM_VALUE_MAX + 1), EINVAL);
    CHECK(sem_init(&big, 0, SEM_VALUE_MAX) == 0);
    CHECK_ERR(sem_post(&big), EOVERFLOW);
    CHECK(sem_getvalue(&big, &v) == 0 && v == SEM_VALUE_MAX);
    CHECK(sem_trywait(&big) == 0);
    CHECK(sem_post(&big) == 0);
    CHECK(sem_destroy(&big) == 0);

    /* sem_timedwait: tv_nsec is checked first, even when available */
    CHECK(sem_post(&s) == 0);
    struct timespec bad = {0, 1000000000L};
    CHECK_ERR(sem_timedwait(&s, &bad), EINVAL);
    bad.tv_nsec = -1;
    CHECK_ERR(sem_timedwait(&s, &bad), EINVAL);
    CHECK_ERR(sem_clockwait(&s, CLOCK_MONOTONIC, &bad), EINVAL);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 1);
    /* a bad clock is checked before anything else */
    struct timespec zero = {0, 0};
    CHECK_ERR(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &zero), EINVAL);
    CHECK_ERR(sem_clockwait(&s, 12345, &zero), EINVAL);
    /* available: a past deadline still takes it */
    CHECK(sem_timedwait(&s, &zero) == 0);

    /* unavailable: past deadlines time out at once */
    CHECK_ERR(sem_timedwait(&s, &zero), ETIMEDOUT);
    struct timespec neg = {-1, 0};
    CHECK_ERR(sem_timedwait(&s, &neg), ETIMEDOUT);
    CHECK_ERR(sem_clockwait(&s, CLOCK_MONOTONIC, &neg), ETIMEDOUT);
    CHECK_ERR(sem_clockwait(&s, CLOCK_REALTIME, &zero), ETIMEDOUT);

    /* future deadlines time out after they pass, on either clock */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec rt = after_ms(CLOCK_REALTIME, 60);
    CHECK_ERR(sem_timedwait(&s, &rt), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(elapsed_ms(t0, t1) >= 50 && elapsed_ms(t0, t1) < 5000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec mt = after_ms(CLOCK_MONOTONIC, 60);
    CHECK_ERR(sem_clockwait(&s, CLOCK_MONOTONIC, &mt), ETIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(elapsed_ms(t0, t1) >= 50 && elapsed_ms(t0, t1) < 5000);
    struct timespec rt2 = after_ms(CLOCK_REALTIME, 30);
    CHECK_ERR(sem_clockwait(&s, CLOCK_REALTIME, &rt2), ETIMEDOUT);
    CHECK(sem_getvalue(&s, &v) == 0 && v == 0);

    /* the waiter count is back to 0: a post makes no wake syscall */
    before = rb_shim_hosted_syscalls();
    CHECK(sem_post(&s) == 0);
    CHECK(rb_shim_hosted_syscalls() == before);
    CHECK(sem_wait(&s) == 0);

    /* process-shared semaphores work the same way */
    sem_t p;
    CHECK(sem_init(&p, 1, 1) == 0);
    CHECK(sem_wait(&p) == 0);
    CHECK_ERR(sem_trywait(&p), EAGAIN);
    CHECK(sem_post(&p) == 0);
    CHECK(sem_getvalue(&p, &v) == 0 && v == 1);
    CHECK(sem_destroy(&p) == 0);

    /* bad arguments */
    CHECK_ERR(sem_init(NULL, 0, 0), EINVAL);
    CHECK_ERR(sem_getvalue(&s, NULL), EINVAL);
    struct timespec *none = NULL;
    CHECK_ERR(sem_timedwait(&s, none), EINVAL);
    CHECK_ERR(sem_post(NULL), EINVAL);
    CHECK_ERR(sem_wait(NULL), EINVAL);

    CHECK(sem_destroy(&s) == 0);
    return 0;
}
