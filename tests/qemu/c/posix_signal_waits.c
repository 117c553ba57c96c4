/* Signals against blocking calls, written for Linux (it also builds and
 * passes unchanged with glibc: tests/posix_c_glibc.rs).
 * - a handler interrupts a blocked eventfd read and sem_wait: EINTR
 *   without SA_RESTART; with SA_RESTART both calls are restarted and
 *   complete (measured on Linux 6.18 / glibc 2.36: sem_wait without a
 *   timeout is restarted too); nanosleep is never restarted and reports
 *   the time left;
 * - alarm() interrupts sleep(), which returns the seconds left; pause()
 *   returns after the SIGALRM handler; alarm(0) reports what was left;
 * - sigwaitinfo receives queued realtime signals in order with their
 *   values; sigtimedwait times out with EAGAIN; sigwait;
 * - pthread_kill reaches the one thread, which takes it with sigwait;
 * - sigsuspend runs the handler of a pending blocked signal and puts the
 *   mask back. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"


static volatile sig_atomic_t hits;

static void count(int sig)
{
    (void)sig;
    hits++;
}

static void on_alarm(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, 0) == 0);
}

static void arm_ms(long ms)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = ms / 1000;
    it.it_value.tv_usec = (ms % 1000) * 1000;
    CHECK(setitimer(ITIMER_REAL, &it, 0) == 0);
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Completes the blocked call once the handler has run. */
static int efd;
static sem_t sem;

static void *release_after_handler(void *arg)
{
    /* SIGALRM is for the thread in the blocking call. */
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alrm, 0);
    while (hits == 0)
        nap_ms(5);
    nap_ms(20);
    if (arg) {
        uint64_t one = 5;
        if (write(efd, &one, sizeof one) != sizeof one)
            failures++;
    } else {
        sem_post(&sem);
    }
    return 0;
}

static void interrupted_calls(void)
{
    efd = eventfd(0, 0);
    CHECK(efd >= 0);
    CHECK(sem_init(&sem, 0, 0) == 0);
    uint64_t v = 0;

    /* No SA_RESTART: EINTR. */
    on_alarm(SIGALRM, 0);
    hits = 0;
    arm_ms(50);
    errno = 0;
    CHECK(read(efd, &v, sizeof v) == -1 && errno == EINTR);
    CHECK(hits == 1);
    hits = 0;
    arm_ms(50);
    errno = 0;
    CHECK(sem_wait(&sem) == -1 && errno == EINTR);
    CHECK(hits == 1);

    /* SA_RESTART: both calls are restarted and finish. */
    on_alarm(SIGALRM, SA_RESTART);
    pthread_t t;
    hits = 0;
    CHECK(pthread_create(&t, 0, release_after_handler, (void *)1) == 0);
    arm_ms(50);
    CHECK(read(efd, &v, sizeof v) == sizeof v && v == 5);
    CHECK(hits == 1);
    pthread_join(t, 0);
    hits = 0;
    CHECK(pthread_create(&t, 0, release_after_handler, 0) == 0);
    arm_ms(50);
    CHECK(sem_wait(&sem) == 0);
    CHECK(hits == 1);
    pthread_join(t, 0);

    /* nanosleep: EINTR even under SA_RESTART, with the time left. */
    hits = 0;
    arm_ms(100);
    struct timespec req = {2, 0}, rem = {0, 0};
    errno = 0;
    CHECK(nanosleep(&req, &rem) == -1 && errno == EINTR);
    CHECK(hits == 1);
    CHECK(rem.tv_sec == 1 && rem.tv_nsec > 0);
    close(efd);
    sem_destroy(&sem);
    signal(SIGALRM, SIG_DFL);
}

static void alarm_cases(void)
{
    on_alarm(SIGALRM, 0);
    hits = 0;
    CHECK(alarm(1) == 0);
    unsigned left = sleep(5);
    CHECK(hits == 1);
    /* 4 s minus what passed since the alarm, truncated (glibc: 3 on a
     * real clock; the testbed's virtual clock: exactly 4). */
    CHECK(left == 3 || left == 4);
    hits = 0;
    alarm(1);
    errno = 0;
    CHECK(pause() == -1 && errno == EINTR);
    CHECK(hits == 1);
    /* alarm(0) cancels and reports the seconds left. */
    CHECK(alarm(30) == 0);
    CHECK(alarm(0) == 30);
    CHECK(alarm(0) == 0);
    signal(SIGALRM, SIG_DFL);
}

static void *waiter(void *arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
        return (void *)0;
    *(int *)arg = sig;
    return (void *)1;
}

static void wait_cases(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigaddset(&set, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    union sigval v;
    v.sival_int = 7;
    CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
    v.sival_int = 8;
    CHECK(sigqueue(getpid(), SIGRTMIN, v) == 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(sigwaitinfo(&set, &si) == SIGRTMIN);
    CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 7 && si.si_pid == getpid());
    CHECK(sigwaitinfo(&set, &si) == SIGRTMIN && si.si_value.sival_int == 8);
    struct timespec zero = {0, 0}, short_wait = {0, 30000000};
    errno = 0;
    CHECK(sigtimedwait(&set, &si, &zero) == -1 && errno == EAGAIN);
    errno = 0;
    CHECK(sigtimedwait(&set, &si, &short_wait) == -1 && errno == EAGAIN);
    raise(SIGUSR1);
    int sig = 0;
    CHECK(sigwait(&set, &sig) == 0 && sig == SIGUSR1);

    /* pthread_kill: the thread that waits for it gets it. */
    int seen = 0;
    pthread_t t;
    CHECK(pthread_create(&t, 0, waiter, &seen) == 0);
    nap_ms(30);
    CHECK(pthread_kill(t, SIGUSR1) == 0);
    void *ok = 0;
    pthread_join(t, &ok);
    CHECK(ok == (void *)1 && seen == SIGUSR1);
    CHECK(pthread_kill(pthread_self(), 0) == 0);

    /* sigsuspend: the pending blocked signal's handler runs inside it,
     * and the mask is back afterwards. */
    on_alarm(SIGUSR1, 0);
    hits = 0;
    raise(SIGUSR1);
    CHECK(hits == 0);
    sigset_t none, now;
    sigemptyset(&none);
    errno = 0;
    CHECK(sigsuspend(&none) == -1 && errno == EINTR);
    CHECK(hits == 1);
    sigemptyset(&now);
    sigprocmask(SIG_BLOCK, 0, &now);
    CHECK(sigismember(&now, SIGUSR1) == 1);
    signal(SIGUSR1, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, 0);
}

int main(void)
{
    interrupted_calls();
    alarm_cases();
    wait_cases();
    if (failures == 0)
        printf("signal waits: all cases passed\n");
    return failures != 0;
}
