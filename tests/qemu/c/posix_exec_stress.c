/* exec of a multithreaded process, many times over, on every CPU count.
 *
 * Each round forks a child that starts one to three threads, each one
 * blocked in a pipe read, asleep, or spinning in user code (so on several
 * CPUs some run on another CPU at the moment of the exec), and then
 * execs this program ("alone") from the main thread or from one of them,
 * after a delay that varies by round. The new image must run alone with
 * the same pid and exit 44, which the parent checks with waitpid. A hang
 * is the runner's timeout; a wrong status fails the round. Written for
 * Linux (also built and run against glibc: tests/posix_c_glibc.rs). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

#define ROUNDS 120

static char *self;
static int never_fd = -1;
static volatile int spin_forever = 1;

static void *reader(void *arg)
{
    (void)arg;
    char c;
    ssize_t r = read(never_fd, &c, 1);
    (void)r;
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        usleep(1000);
    return NULL;
}

static void *spinner(void *arg)
{
    (void)arg;
    while (spin_forever)
        __asm__ volatile("" ::: "memory");
    return NULL;
}

static char pid_arg[16];

static void do_exec(void)
{
    execl(self, self, "alone", pid_arg, (char *)0);
    _exit(98);
}

static void *exec_thread(void *arg)
{
    long spins = (long)arg;
    for (volatile long i = 0; i < spins; i++) {
    }
    do_exec();
    return NULL;
}

static void child(int round, int fd)
{
    never_fd = fd;
    snprintf(pid_arg, sizeof pid_arg, "%d", (int)getpid());
    void *(*kinds[3])(void *) = {reader, sleeper, spinner};
    int nthreads = 1 + round % 3;
    for (int i = 0; i < nthreads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, kinds[(round / 3 + i) % 3], NULL) != 0)
            _exit(97);
    }
    /* Delays of 0 to a few thousand spins: the others may not have
     * reached their blocking call yet, or have. */
    long spins = (round * 7919L) % 5000;
    if (round % 2) {
        pthread_t u;
        if (pthread_create(&u, NULL, exec_thread, (void *)spins) != 0)
            _exit(96);
        char c;
        ssize_t r = read(fd, &c, 1);
        (void)r;
        _exit(95);
    }
    for (volatile long i = 0; i < spins; i++) {
    }
    do_exec();
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc == 3 && strcmp(argv[1], "alone") == 0)
        return getpid() == (pid_t)strtol(argv[2], 0, 10) ? 44 : 1;
    int never[2];
    CHECK(pipe(never) == 0);
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            child(round, never[0]);
        int st = 0;
        CHECK(waitpid(pid, &st, 0) == pid);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 44)) {
            printf("posix_exec_stress: round %d: status %#x\n", round, st);
            failures++;
            break;
        }
    }
    if (failures)
        return 1;
    printf("posix_exec_stress: %d rounds, all cases passed\n", ROUNDS);
    return 0;
}
