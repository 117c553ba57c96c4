/* A process-directed signal wakes one thread, written for Linux (it also
 * builds and passes unchanged with glibc: tests/posix_c_glibc.rs).
 * Linux's complete_signal queues it for the process and wakes one thread
 * that does not block it: with the main thread blocking SIGUSR1 and two
 * threads blocked in an eventfd read under a handler without
 * SA_RESTART, kill(getpid(), SIGUSR1) makes exactly one read fail EINTR;
 * the other read stays blocked until the eventfd is written. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static int efd;
static volatile int eintr, reads, handled;

static void on_usr1(int sig) {
    (void)sig;
    handled++;
}

static void *reader(void *arg) {
    (void)arg;
    uint64_t v;
    ssize_t n = read(efd, &v, sizeof v);
    if (n < 0 && errno == EINTR)
        __atomic_add_fetch(&eintr, 1, __ATOMIC_SEQ_CST);
    else if (n == 8)
        __atomic_add_fetch(&reads, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void nap(long ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void) {
    efd = eventfd(0, EFD_SEMAPHORE);
    CHECK(efd >= 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, reader, NULL) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK(pthread_sigmask(SIG_BLOCK, &usr1, NULL) == 0);
    nap(200); /* both readers block */
    CHECK(kill(getpid(), SIGUSR1) == 0);
    for (int i = 0; i < 1000 && eintr == 0; i++)
        nap(10);
    nap(200); /* a second, wrong wake would show now */
    CHECK(eintr == 1 && handled == 1 && reads == 0);
    uint64_t one = 1;
    CHECK(write(efd, &one, sizeof one) == 8);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(eintr == 1 && reads == 1);
    if (failures == 0)
        printf("one thread woken: all cases passed\n");
    return failures != 0;
}
