/* The testbed's C runtime: printf family, pthread_create/join, clocks,
 * nanosleep, ids, signal sets and masks, errno. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static volatile int counter;

static void *worker(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++)
        __atomic_fetch_add(&counter, 1, __ATOMIC_SEQ_CST);
    return (void *)(n * 2);
}

int main(void)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%d|%5d|%-5d|%05d|%x|%X|%#x|%o|%s|%.2s|%c|%ld|%llu|%zu|%%",
             -42, 7, 7, 42, 255, 255, 255, 8, "str", "abc", 'z', -1L, 18446744073709551615ULL, (size_t)3);
    CHECK(strcmp(buf, "-42|    7|7    |00042|ff|FF|0xff|10|str|ab|z|-1|18446744073709551615|3|%") == 0);
    if (failures)
        printf("got: %s\n", buf);
    CHECK(snprintf(buf, 4, "%s", "abcdef") == 6 && strcmp(buf, "abc") == 0);
    CHECK(snprintf(buf, sizeof buf, "%d %d", INT_MIN, INT_MAX) > 0 && strcmp(buf, "-2147483648 2147483647") == 0);

    uint64_t big = (uint64_t)1 << 40;
    snprintf(buf, sizeof buf, "%" PRIu64 " %" PRIx64 " %" PRId32, big, big, (int32_t)-5);
    CHECK(strcmp(buf, "1099511627776 10000000000 -5") == 0);
    assert(big != 0);

    CHECK(getpid() > 0);
    CHECK(getuid() == 0);

    struct timespec a, b;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    struct timespec d = {0, 20 * 1000 * 1000};
    CHECK(nanosleep(&d, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    int64_t waited = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000 + (b.tv_nsec - a.tv_nsec);
    CHECK(waited >= 20 * 1000 * 1000);
    CHECK(clock_gettime(CLOCK_REALTIME, &a) == 0 && a.tv_sec > 1700000000);
    CHECK(clock_gettime(12345, &a) == -1 && errno == EINVAL);

    pthread_t t[3];
    for (long i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(1000 * (i + 1))) == 0);
    for (long i = 0; i < 3; i++) {
        void *ret = NULL;
        CHECK(pthread_join(t[i], &ret) == 0);
        CHECK((long)ret == 2000 * (i + 1));
    }
    CHECK(counter == 6000);

    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGRTMIN);
    CHECK(sigismember(&set, SIGUSR1) == 1 && sigismember(&set, SIGUSR2) == 0);
    CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
    CHECK(raise(SIGUSR1) == 0);
    sigset_t pending;
    CHECK(sigpending(&pending) == 0 && sigismember(&pending, SIGUSR1) == 1);
    CHECK(sigaddset(&set, 0) == -1 && errno == EINVAL);

    char *p = malloc(100);
    CHECK(p != NULL);
    memset(p, 'x', 100);
    p = realloc(p, 200);
    CHECK(p != NULL && p[99] == 'x');
    CHECK(write(1, "write(1) works\n", 15) == 15);
    CHECK(close(77) == -1 && errno == EBADF);

    if (failures == 0)
        printf("libc basics: ok\n");
    return failures ? 1 : 0;
}
