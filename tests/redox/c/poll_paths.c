/* poll() over each way an fd's readiness reaches Redox's event queues,
 * one case at a time, each printed with its result and timing so a
 * failure names its path:
 *   - a pipe (a kernel scheme of Redox's own: relibc's poll itself);
 *   - ready when poll registers it (the scheme's fevent answer): an
 *     eventfd with a count, an expired timerfd, a signalfd with a pending
 *     signal;
 *   - becoming ready while poll waits (an observer's event::trigger): an
 *     eventfd written by another thread (a syscall), a timerfd expiring
 *     (the timer tick), a signal sent by another thread (the kill's
 *     SYS_RB_SIGNAL_QUEUED).
 * Redox only (the QEMU testbed has no event queue); compiles unchanged
 * against glibc on Linux (-lpthread). */
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

#include "../../qemu/c/check.h"

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* poll(fd, POLLIN, timeout): 1 with POLLIN, within [min_ms, max_ms]. */
static int polled(const char *what, int fd, int timeout, uint64_t min_ms, uint64_t max_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    uint64_t t0 = now_ms();
    errno = 0;
    int n = poll(&p, 1, timeout);
    int e = errno;
    uint64_t dt = now_ms() - t0;
    int ok = n == 1 && p.revents == POLLIN && dt >= min_ms && dt <= max_ms;
    printf("poll_paths: %-34s n=%d revents=0x%x errno=%d after %llu ms: %s\n", what, n,
           (unsigned)p.revents, e, (unsigned long long)dt, ok ? "ok" : "FAILED");
    return ok;
}

struct later {
    int fd;   /* eventfd to write, or -1 */
    int sig;  /* signal to send to the process, or 0 */
};

static void *act_later(void *arg)
{
    struct later *l = arg;
    struct timespec d = {0, 50 * 1000 * 1000};
    nanosleep(&d, NULL);
    if (l->fd >= 0) {
        uint64_t one = 1;
        return (void *)(intptr_t)(write(l->fd, &one, sizeof one) == sizeof one);
    }
    return (void *)(intptr_t)(kill(getpid(), l->sig) == 0);
}

static int with_thread(const char *what, int fd, struct later *l)
{
    pthread_t t;
    void *ok = NULL;
    if (pthread_create(&t, NULL, act_later, l) != 0)
        return 0;
    int r = polled(what, fd, 2000, 30, 1900);
    pthread_join(t, &ok);
    return r && ok == (void *)1;
}

int main(void)
{
    uint64_t v;
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    CHECK(write(pfd[1], "x", 1) == 1);
    CHECK(polled("pipe with a byte", pfd[0], 0, 0, 500));

    int efd = eventfd(1, EFD_NONBLOCK);
    CHECK(efd >= 0);
    CHECK(polled("eventfd with a count", efd, 0, 0, 500));
    CHECK(read(efd, &v, sizeof v) == sizeof v && v == 1);
    struct later w = {efd, 0};
    CHECK(with_thread("eventfd written during poll", efd, &w));

    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    CHECK(tfd >= 0);
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = 1000 * 1000;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    struct timespec d = {0, 30 * 1000 * 1000};
    nanosleep(&d, NULL);
    CHECK(polled("timerfd expired before poll", tfd, 0, 0, 500));
    CHECK(read(tfd, &v, sizeof v) == sizeof v && v == 1);
    its.it_value.tv_nsec = 40 * 1000 * 1000;
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);
    CHECK(polled("timerfd expiring during poll", tfd, 2000, 30, 1900));
    CHECK(read(tfd, &v, sizeof v) == sizeof v && v == 1);

    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &mask, NULL) == 0);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    CHECK(sfd >= 0);
    CHECK(raise(SIGUSR1) == 0);
    CHECK(polled("signalfd after raise", sfd, 0, 0, 500));
    struct signalfd_siginfo si;
    CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1);
    CHECK(kill(getpid(), SIGUSR1) == 0);
    CHECK(polled("signalfd after kill(getpid())", sfd, 0, 0, 500));
    CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1);
    /* The thread inherits the mask, so the process-directed signal stays
     * pending for the signalfd. */
    struct later k = {-1, SIGUSR1};
    CHECK(with_thread("signalfd, kill during poll", sfd, &k));
    CHECK(read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1);

    close(pfd[0]);
    close(pfd[1]);
    close(efd);
    close(tfd);
    close(sfd);
    if (failures == 0)
        printf("poll over every readiness path: ok\n");
    return failures ? 1 : 0;
}
