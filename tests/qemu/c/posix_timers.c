/* ITIMER_REAL and the restart rule of waitpid and poll, written for
 * Linux (it also builds and passes unchanged with glibc:
 * tests/posix_c_glibc.rs).
 * - getitimer reports the time left (at most what was set, more than 0)
 *   and the interval; setitimer returns the old value; a periodic timer
 *   fires again and again until disarmed, then getitimer reads zero;
 * - usleep is interrupted by a handler (EINTR), with or without
 *   SA_RESTART;
 * - waitpid: EINTR without SA_RESTART, restarted with it (it then
 *   returns the child);
 * - poll: EINTR even with SA_RESTART (Linux never restarts it);
 * - pthread_attr: the stack size and detach state read back as set. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"

static volatile sig_atomic_t got;

static void on_alrm(int sig)
{
    (void)sig;
    got++;
}

static void install(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alrm;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
}

static long usec(struct timeval tv) { return tv.tv_sec * 1000000L + tv.tv_usec; }

static void arm(long value_us, long interval_us)
{
    struct itimerval it = {{interval_us / 1000000, interval_us % 1000000},
                           {value_us / 1000000, value_us % 1000000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void case_itimer(void)
{
    install(0);
    struct itimerval cur, old;
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(usec(cur.it_value) == 0 && usec(cur.it_interval) == 0);
    arm(2000000, 0);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0);
    CHECK(usec(cur.it_value) > 0 && usec(cur.it_value) <= 2000000);
    CHECK(usec(cur.it_interval) == 0);
    struct itimerval zero = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &zero, &old) == 0);
    CHECK(usec(old.it_value) > 0 && usec(old.it_value) <= 2000000);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && usec(cur.it_value) == 0);

    /* Periodic: 20 ms, at least three expiries, then disarmed. */
    sigset_t block, old_mask;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old_mask);
    got = 0;
    arm(20000, 20000);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && usec(cur.it_interval) == 20000);
    sigset_t wait_mask = old_mask;
    sigdelset(&wait_mask, SIGALRM);
    while (got < 3)
        sigsuspend(&wait_mask);
    CHECK(setitimer(ITIMER_REAL, &zero, &old) == 0);
    CHECK(usec(old.it_interval) == 20000);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    CHECK(getitimer(ITIMER_REAL, &cur) == 0 && usec(cur.it_value) == 0);
}

static void case_usleep(int flags)
{
    install(flags);
    got = 0;
    arm(30000, 0);
    errno = 0;
    CHECK(usleep(2000000) == -1 && errno == EINTR);
    CHECK(got == 1);
}

static void case_waitpid(void)
{
    install(0);
    pid_t pid = fork();
    if (pid == 0) {
        usleep(300000);
        _exit(5);
    }
    got = 0;
    arm(30000, 0);
    int st;
    errno = 0;
    CHECK(waitpid(pid, &st, 0) == -1 && errno == EINTR);
    CHECK(got == 1);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 5);

    install(SA_RESTART);
    pid = fork();
    if (pid == 0) {
        usleep(300000);
        _exit(6);
    }
    got = 0;
    arm(30000, 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 6);
    CHECK(got == 1);
}

static void case_poll(void)
{
    install(SA_RESTART);
    int p[2];
    CHECK(pipe(p) == 0);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    got = 0;
    arm(30000, 0);
    errno = 0;
    CHECK(poll(&pfd, 1, -1) == -1 && errno == EINTR);
    CHECK(got == 1);
    close(p[0]);
    close(p[1]);
}

static void case_attr(void)
{
    pthread_attr_t a;
    CHECK(pthread_attr_init(&a) == 0);
    int ds = -1;
    CHECK(pthread_attr_getdetachstate(&a, &ds) == 0 && ds == PTHREAD_CREATE_JOINABLE);
    CHECK(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0);
    CHECK(pthread_attr_getdetachstate(&a, &ds) == 0 && ds == PTHREAD_CREATE_DETACHED);
    CHECK(pthread_attr_setstacksize(&a, 256 * 1024) == 0);
    size_t sz = 0;
    CHECK(pthread_attr_getstacksize(&a, &sz) == 0 && sz == 256 * 1024);
    CHECK(pthread_attr_destroy(&a) == 0);
}

int main(void)
{
    case_itimer();
    case_usleep(0);
    case_usleep(SA_RESTART);
    case_waitpid();
    case_poll();
    case_attr();
    if (failures)
        return 1;
    printf("posix_timers: all cases passed\n");
    return 0;
}
