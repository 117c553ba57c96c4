/* eventfd, timerfd and signalfd from C (Linux API, through relibc-shim):
 * read/write semantics, poll over all three at once, a blocking read woken
 * by another thread. Compiles unchanged against glibc on Linux. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void *writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    uint64_t v = 42;
    return (void *)(intptr_t)(write(fd, &v, sizeof v) == sizeof v);
}

int main(void)
{
    uint64_t v;
    /* eventfd */
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK(read(efd, &v, sizeof v) == -1 && errno == EAGAIN);
    CHECK(eventfd_write(efd, 5) == 0);
    eventfd_t ev = 0;
    CHECK(eventfd_read(efd, &ev) == 0 && ev == 5);
    CHECK(write(efd, &v, 4) == -1 && errno == EINVAL);

    /* timerfd: one-shot in 200 ms (ample for the check after it: the
     * testbed's clock moves with host time when its CPU is held up) */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(tfd >= 0);
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 200 * 1000 * 1000;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    struct itimerspec cur;
    CHECK(timerfd_gettime(tfd, &cur) == 0 && cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0);

    /* signalfd for SIGUSR1 (blocked) */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    CHECK(sfd >= 0);

    /* poll all three: only the timer becomes ready, at its expiry (not
     * at the poll's timeout) */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd p[3] = {{efd, POLLIN, 0}, {tfd, POLLIN, 0}, {sfd, POLLIN, 0}};
    int n = poll(p, 3, 2000);
    CHECK(n == 1 && p[0].revents == 0 && p[1].revents == POLLIN && p[2].revents == 0);
    CHECK(ms_since(&t0) < 1000);
    CHECK(read(tfd, &v, sizeof v) == sizeof v && v == 1);

    /* a poll without a timeout, woken by the timer's next expiry: the
     * only thing that can end it is that expiry */
    its.it_value.tv_nsec = 30 * 1000 * 1000;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd one = {tfd, POLLIN, 0};
    CHECK(poll(&one, 1, -1) == 1 && one.revents == POLLIN);
    CHECK(ms_since(&t0) >= 29 && ms_since(&t0) < 2000);
    CHECK(read(tfd, &v, sizeof v) == sizeof v && v == 1);

    /* now the signal */
    CHECK(raise(SIGUSR1) == 0);
    p[1].revents = 0;
    n = poll(p, 3, 0);
    CHECK(n == 1 && p[2].revents == POLLIN);
    struct signalfd_siginfo si;
    CHECK(read(sfd, &si, sizeof si) == sizeof si);
    CHECK(si.ssi_signo == SIGUSR1 && si.ssi_pid == (uint32_t)getpid());
    CHECK(read(sfd, &si, sizeof si) == -1 && errno == EAGAIN);

    /* sigqueue: the code and the value reach the reader */
    union sigval val;
    val.sival_int = 77;
    CHECK(sigaddset(&mask, SIGRTMIN) == 0 && sigprocmask(SIG_BLOCK, &mask, NULL) == 0);
    CHECK(signalfd(sfd, &mask, 0) == sfd);
    CHECK(sigqueue(getpid(), SIGRTMIN, val) == 0);
    CHECK(read(sfd, &si, sizeof si) == sizeof si);
    CHECK(si.ssi_signo == (uint32_t)SIGRTMIN && si.ssi_code == SI_QUEUE && si.ssi_int == 77);

    /* a blocking eventfd read woken by another thread */
    int bfd = eventfd(0, 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, writer, (void *)(intptr_t)bfd) == 0);
    CHECK(read(bfd, &v, sizeof v) == sizeof v && v == 42);
    void *ok = NULL;
    pthread_join(t, &ok);
    CHECK(ok == (void *)1);

    close(efd);
    close(tfd);
    close(sfd);
    close(bfd);
    if (failures == 0)
        printf("eventfd, timerfd, signalfd and poll from C: ok\n");
    return failures ? 1 : 0;
}
