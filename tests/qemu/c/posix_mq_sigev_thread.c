/* mq_notify with SIGEV_THREAD, written for Linux (it also builds and
 * passes unchanged with glibc: tests/posix_c_glibc.rs).
 * - a message on the empty queue starts a new thread running
 *   sigev_notify_function(sigev_value), with sigev_notify_attributes
 *   (a stack size) read at registration;
 * - one registration per queue: a second one is EBUSY (SIGEV_NONE too,
 *   and from a forked child); it fires once: afterwards a new one is
 *   accepted, and a message on a non-empty queue fires nothing;
 * - mq_notify(NULL) removes it: nothing runs for the next message;
 * - the function may register again: three rounds in a row;
 * - a send from a forked child fires the parent's registration. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static mqd_t q;
static sem_t fired;
static volatile int runs;
static volatile int value_ok;
static volatile int other_thread;
static pthread_t main_thread;
static int marker;
static volatile int rearm_left;
static struct sigevent rearm_ev;

static void on_notify(union sigval v) {
    if (v.sival_ptr == &marker)
        value_ok++;
    if (!pthread_equal(pthread_self(), main_thread))
        other_thread++;
    runs++;
    if (rearm_left > 0) {
        rearm_left--;
        if (mq_notify(q, &rearm_ev) != 0)
            printf("re-arm failed: %d\n", errno);
    }
    sem_post(&fired);
}

/* Waits up to 10 s for one run of on_notify. */
static int wait_fired(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    while (sem_timedwait(&fired, &ts) != 0) {
        if (errno != EINTR)
            return 0;
    }
    return 1;
}

static void drain(void) {
    char buf[64];
    struct mq_attr a;
    while (mq_getattr(q, &a) == 0 && a.mq_curmsgs > 0)
        mq_receive(q, buf, sizeof buf, NULL);
}

int main(void) {
    main_thread = pthread_self();
    CHECK(sem_init(&fired, 0, 0) == 0);
    struct mq_attr qa;
    memset(&qa, 0, sizeof qa);
    qa.mq_maxmsg = 4;
    qa.mq_msgsize = 64;
    mq_unlink("/posix_sigev_thread");
    q = mq_open("/posix_sigev_thread", O_CREAT | O_EXCL | O_RDWR, 0600, &qa);
    CHECK(q != (mqd_t)-1);

    pthread_attr_t attr;
    CHECK(pthread_attr_init(&attr) == 0);
    CHECK(pthread_attr_setstacksize(&attr, 256 * 1024) == 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD;
    ev.sigev_notify_function = on_notify;
    ev.sigev_notify_attributes = &attr;
    ev.sigev_value.sival_ptr = &marker;
    struct sigevent none;
    memset(&none, 0, sizeof none);
    none.sigev_notify = SIGEV_NONE;

    /* Register; a second registration is EBUSY. */
    CHECK(mq_notify(q, &ev) == 0);
    /* The attributes were read at registration. */
    CHECK(pthread_attr_destroy(&attr) == 0);
    errno = 0;
    CHECK(mq_notify(q, &ev) == -1 && errno == EBUSY);
    errno = 0;
    CHECK(mq_notify(q, &none) == -1 && errno == EBUSY);

    /* Another process: EBUSY too. */
    pid_t child = fork();
    if (child == 0) {
        int ok = mq_notify(q, &none) == -1 && errno == EBUSY;
        _exit(ok ? 0 : 1);
    }
    int st = -1;
    CHECK(child > 0 && waitpid(child, &st, 0) == child);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* A message on the empty queue: one run, in another thread, with the
     * value. */
    CHECK(mq_send(q, "a", 1, 0) == 0);
    CHECK(wait_fired());
    CHECK(runs == 1 && value_ok == 1 && other_thread == 1);
    /* One shot: the registration is gone (a new one is accepted). */
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);

    /* A send to a non-empty queue fires nothing. */
    CHECK(mq_notify(q, &ev) == 0);
    CHECK(mq_send(q, "b", 1, 0) == 0);
    CHECK(runs == 1);
    errno = 0;
    CHECK(mq_notify(q, &none) == -1 && errno == EBUSY);
    drain();

    /* mq_notify(NULL) removes it: the next message starts nothing. */
    CHECK(mq_notify(q, NULL) == 0);
    CHECK(mq_send(q, "c", 1, 0) == 0);
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);
    drain();

    /* The function re-registers: three runs from three messages, each on
     * an empty queue. */
    memcpy(&rearm_ev, &ev, sizeof ev);
    rearm_ev.sigev_notify_attributes = NULL;
    rearm_left = 2;
    CHECK(mq_notify(q, &rearm_ev) == 0);
    for (int i = 0; i < 3; i++) {
        CHECK(mq_send(q, "r", 1, 0) == 0);
        CHECK(wait_fired());
        drain();
    }
    CHECK(runs == 4 && value_ok == 4 && other_thread == 4);
    CHECK(mq_notify(q, &none) == 0);
    CHECK(mq_notify(q, NULL) == 0);

    /* A send from a forked child fires the parent's registration. */
    CHECK(mq_notify(q, &ev) == 0);
    child = fork();
    if (child == 0)
        _exit(mq_send(q, "f", 1, 0) == 0 ? 0 : 1);
    CHECK(child > 0 && waitpid(child, &st, 0) == child);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(wait_fired());
    CHECK(runs == 5);
    drain();

    CHECK(mq_close(q) == 0);
    CHECK(mq_unlink("/posix_sigev_thread") == 0);
    if (failures == 0)
        printf("mq_notify SIGEV_THREAD: all cases passed\n");
    return failures != 0;
}
