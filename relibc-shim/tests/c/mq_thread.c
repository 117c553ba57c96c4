/* mq_notify SIGEV_THREAD through the shim on the hosted kernel (the same
 * cases as tests/qemu/c/posix_mq_sigev_thread.c, which runs on the
 * testbed and against glibc, minus its forks): a new thread runs the
 * function with the value, with the stack size of the attributes read at
 * registration; EBUSY; one shot; mq_notify(NULL) and mq_close forget it;
 * the function may register again; the shim's table of 64 registrations
 * is ENOMEM when full and frees its slots at mq_close. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "check.h"

static mqd_t q;
static sem_t fired;
static volatile int runs, value_ok, other_thread, big_stack, rearm_left;
static pthread_t main_thread;
static int marker;
static struct sigevent rearm_ev;

static void on_notify(union sigval v)
{
    if (v.sival_ptr == &marker)
        value_ok++;
    if (!pthread_equal(pthread_self(), main_thread))
        other_thread++;
    pthread_attr_t a;
    size_t sz = 0;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        pthread_attr_getstacksize(&a, &sz);
        pthread_attr_destroy(&a);
    }
    if (sz >= 3 * 1024 * 1024)
        big_stack++;
    runs++;
    if (rearm_left > 0) {
        rearm_left--;
        CHECK(mq_notify(q, &rearm_ev) == 0);
    }
    sem_post(&fired);
}

static void wait_fired(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (sem_timedwait(&fired, &ts) != 0)
        CHECK(errno == EINTR);
}

static void drain(mqd_t d)
{
    char buf[64];
    struct mq_attr a;
    while (mq_getattr(d, &a) == 0 && a.mq_curmsgs > 0)
        CHECK(mq_receive(d, buf, sizeof buf, NULL) >= 0);
}

int main(void)
{
    main_thread = pthread_self();
    CHECK(sem_init(&fired, 0, 0) == 0);
    struct mq_attr qa = {.mq_maxmsg = 4, .mq_msgsize = 64};
    q = mq_open("/shim_sigev_thread", O_CREAT | O_EXCL | O_RDWR, 0600, &qa);
    CHECK(q >= 0);

    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, 4 * 1024 * 1024) == 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_notify;
    ev.sigev_notify_attributes = &attr;
    ev.sigev_value.sival_ptr = &marker;
    struct sigevent none;
    memset(&none, 0, sizeof none);
    none.sigev_notify = SIGEV_NONE;

    CHECK(mq_notify(q, &ev) == 0);
    CHECK(pthread_attr_destroy(&attr) == 0);
    CHECK_ERR(mq_notify(q, &ev), EBUSY);
    CHECK_ERR(mq_notify(q, &none), EBUSY);
    CHECK(mq_send(q, "a", 1, 0) == 0);
    wait_fired();
    CHECK(runs == 1 && value_ok == 1 && other_thread == 1 && big_stack == 1);
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);

    /* Non-empty: nothing; NULL: nothing. */
    CHECK(mq_notify(q, &ev) == 0);
    CHECK(mq_send(q, "b", 1, 0) == 0);
    CHECK_ERR(mq_notify(q, &none), EBUSY);
    drain(q);
    CHECK(mq_notify(q, NULL) == 0);
    CHECK(mq_send(q, "c", 1, 0) == 0);
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);
    drain(q);
    CHECK(runs == 1);

    /* Re-registration from the function. */
    memcpy(&rearm_ev, &ev, sizeof ev);
    rearm_ev.sigev_notify_attributes = NULL;
    rearm_left = 2;
    CHECK(mq_notify(q, &rearm_ev) == 0);
    for (int i = 0; i < 3; i++) {
        CHECK(mq_send(q, "r", 1, 0) == 0);
        wait_fired();
        drain(q);
    }
    CHECK(runs == 4 && value_ok == 4 && other_thread == 4);
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);

    /* The table holds 64 registrations; mq_close frees them. */
    struct mq_attr small = {.mq_maxmsg = 1, .mq_msgsize = 16};
    mqd_t many[65];
    char name[32];
    for (int i = 0; i < 65; i++) {
        snprintf(name, sizeof name, "/shim_sigev_%d", i);
        many[i] = mq_open(name, O_CREAT | O_RDWR, 0600, &small);
        CHECK(many[i] >= 0);
        CHECK(mq_unlink(name) == 0);
    }
    rearm_ev.sigev_notify_attributes = NULL;
    for (int i = 0; i < 64; i++)
        CHECK(mq_notify(many[i], &rearm_ev) == 0);
    CHECK_ERR(mq_notify(many[64], &rearm_ev), ENOMEM);
    CHECK(mq_close(many[0]) == 0);
    CHECK(mq_notify(many[64], &rearm_ev) == 0);
    CHECK(mq_send(many[64], "z", 1, 0) == 0);
    wait_fired();
    CHECK(runs == 5);
    for (int i = 1; i < 65; i++)
        CHECK(mq_close(many[i]) == 0);

    CHECK(mq_close(q) == 0);
    CHECK(mq_unlink("/shim_sigev_thread") == 0);
    return 0;
}
