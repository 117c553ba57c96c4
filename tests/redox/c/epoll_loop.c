/* The consumers' pattern (Wayland compositors, Qt's event dispatcher): one
 * event loop in epoll waiting on an eventfd, a periodic timerfd, a signalfd
 * and a POSIX message queue at once. A producer thread makes one readiness
 * change at a time and waits until the loop has consumed it, so every
 * change must wake the loop (nothing missed: a wait that times out fails)
 * and the loop must not spin (wake-ups with nothing to consume are
 * counted). The signals come from another process (a forked child that
 * kill()s the parent on request). Redox only: the QEMU testbed has no
 * epoll. Compiles unchanged against glibc on Linux (-lrt -lpthread). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../qemu/c/check.h"

#define Q "/rb-redox-epoll-loop"
#define ROUNDS 30 /* 10 eventfd writes, 10 messages, 10 signals */
#define PERIOD_MS 25
/* The loop runs until the timer has woken it this often, too. */
#define TIMER_WAKES 4
/* A wait longer than this means a readiness change was missed. */
#define MISSED_MS 3000

enum { SRC_EVENT, SRC_TIMER, SRC_SIGNAL, SRC_MQ };

static int efd;
static mqd_t mq;
static int to_child = -1;
static sem_t consumed;

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Makes one change per round and waits for the loop to consume it. */
static void *producer(void *arg)
{
    (void)arg;
    long bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        /* Spread the rounds over several timer periods. */
        struct timespec pause = {0, 4 * 1000 * 1000};
        nanosleep(&pause, NULL);
        switch (i % 3) {
        case 0: {
            uint64_t one = 1;
            bad += write(efd, &one, sizeof one) != sizeof one;
            break;
        }
        case 1: {
            char m = (char)i;
            bad += mq_send(mq, &m, 1, 0) != 0;
            break;
        }
        default:
            bad += write(to_child, "k", 1) != 1; /* the child kill()s us */
            break;
        }
        while (sem_wait(&consumed) != 0 && errno == EINTR) {
        }
    }
    return (void *)bad;
}

/* The child: one kill(parent, SIGUSR1) per byte 'k' read, exit at EOF. */
static int child(int from_parent)
{
    char c;
    pid_t parent = getppid();
    while (read(from_parent, &c, 1) == 1)
        if (c == 'k' && kill(parent, SIGUSR1) != 0)
            return 1;
    return 0;
}

static int add(int ep, int fd, int src)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.u32 = (uint32_t)src;
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(void)
{
    /* SIGUSR1 is blocked before any thread or child exists, so only the
     * signalfd can take it. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);

    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t kid = fork();
    CHECK(kid >= 0);
    if (kid == 0) {
        close(pipefd[1]);
        _exit(child(pipefd[0]));
    }
    close(pipefd[0]);
    to_child = pipefd[1];

    efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    mq_unlink(Q);
    struct mq_attr a = {0, 4, 8, 0, {0}};
    mq = mq_open(Q, O_RDWR | O_CREAT | O_EXCL | O_NONBLOCK, 0600, &a);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    CHECK(efd >= 0 && tfd >= 0 && sfd >= 0 && mq != (mqd_t)-1 && ep >= 0);
    if (failures)
        return 1;
    CHECK(add(ep, efd, SRC_EVENT) == 0);
    CHECK(add(ep, tfd, SRC_TIMER) == 0);
    CHECK(add(ep, sfd, SRC_SIGNAL) == 0);
    CHECK(add(ep, (int)mq, SRC_MQ) == 0);
    CHECK(sem_init(&consumed, 0, 0) == 0);

    struct itimerspec its;
    memset(&its, 0, sizeof its);
    its.it_value.tv_nsec = PERIOD_MS * 1000000L;
    its.it_interval.tv_nsec = PERIOD_MS * 1000000L;
    uint64_t start = now_ms();
    CHECK(timerfd_settime(tfd, 0, &its, NULL) == 0);

    pthread_t prod;
    CHECK(pthread_create(&prod, NULL, producer, NULL) == 0);

    int got[4] = {0, 0, 0, 0};
    uint64_t expirations = 0;
    int waits = 0, empty = 0, missed = 0, bad_pid = 0;
    int done = 0;
    while ((done < ROUNDS || got[SRC_TIMER] < TIMER_WAKES) && missed == 0) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, MISSED_MS);
        waits++;
        if (n == 0) {
            printf("epoll_loop: no wake-up in %d ms after %d of %d changes (%d/%d/%d/%d)\n",
                   MISSED_MS, done, ROUNDS, got[0], got[1], got[2], got[3]);
            missed++;
            break;
        }
        if (n < 0) {
            CHECK(errno == EINTR);
            continue;
        }
        int useful = 0;
        for (int i = 0; i < n; i++) {
            switch (evs[i].data.u32) {
            case SRC_EVENT: {
                uint64_t v;
                while (read(efd, &v, sizeof v) == sizeof v) {
                    got[SRC_EVENT] += (int)v;
                    done += (int)v;
                    useful++;
                    for (uint64_t j = 0; j < v; j++)
                        sem_post(&consumed);
                }
                break;
            }
            case SRC_TIMER: {
                uint64_t v;
                if (read(tfd, &v, sizeof v) == sizeof v) {
                    expirations += v;
                    got[SRC_TIMER]++;
                    useful++;
                }
                break;
            }
            case SRC_SIGNAL: {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof si) == sizeof si) {
                    bad_pid += si.ssi_signo != SIGUSR1 || si.ssi_pid != (uint32_t)kid;
                    got[SRC_SIGNAL]++;
                    done++;
                    useful++;
                    sem_post(&consumed);
                }
                break;
            }
            case SRC_MQ: {
                char m[8];
                while (mq_receive(mq, m, sizeof m, NULL) == 1) {
                    got[SRC_MQ]++;
                    done++;
                    useful++;
                    sem_post(&consumed);
                }
                break;
            }
            default:
                CHECK(0);
            }
        }
        empty += useful == 0;
    }
    uint64_t elapsed = now_ms() - start;

    void *bad = (void *)1;
    if (missed == 0)
        pthread_join(prod, &bad);
    close(to_child);
    int st = -1;
    CHECK(missed == 0 && waitpid(kid, &st, 0) == kid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(bad == NULL);
    CHECK(got[SRC_EVENT] == ROUNDS / 3 && got[SRC_MQ] == ROUNDS / 3 && got[SRC_SIGNAL] == ROUNDS / 3);
    CHECK(bad_pid == 0);
    /* The periodic timer woke the loop too, and counted every period (a
     * late read gets the periods it missed). */
    CHECK(got[SRC_TIMER] >= TIMER_WAKES && expirations + 2 >= elapsed / PERIOD_MS);
    /* No busy loop: each wait consumed something, but for a few. */
    CHECK(empty <= 3 + waits / 10);
    printf("epoll_loop: %d waits (%d empty) in %llu ms: %d eventfd, %d timer wake-ups "
           "(%llu expirations), %d signals, %d messages\n",
           waits, empty, (unsigned long long)elapsed, got[SRC_EVENT], got[SRC_TIMER],
           (unsigned long long)expirations, got[SRC_SIGNAL], got[SRC_MQ]);
    mq_close(mq);
    mq_unlink(Q);
    close(ep);
    close(efd);
    close(tfd);
    close(sfd);
    if (failures == 0)
        printf("epoll event loop over eventfd, timerfd, signalfd and mq: ok\n");
    return failures ? 1 : 0;
}
