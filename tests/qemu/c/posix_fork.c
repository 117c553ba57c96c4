/* fork and waitpid, written for Linux (it also builds and passes
 * unchanged with glibc: tests/posix_c_glibc.rs).
 * - the child gets 0, the parent the child's pid; getppid in the child;
 * - private memory (globals, the stack) is copied: the child's writes are
 *   not seen by the parent; MAP_SHARED|MAP_ANONYMOUS memory is shared;
 * - an eventfd opened before fork is the same open description: what the
 *   child writes, the parent reads;
 * - waitpid: WIFEXITED/WEXITSTATUS for an exit, WIFSIGNALED/WTERMSIG for
 *   a child killed by SIGTERM, WNOHANG returns 0 while the child runs,
 *   ECHILD without children; wait() collects several children;
 * - handlers are inherited: the child's own raise runs it;
 * - a process-shared mutex and condition variable in MAP_SHARED memory:
 *   parent and child each add 2000 under the mutex and lose none, and
 *   hand a turn back and forth 50 times through the condition variable. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"


static int private_global = 1;

struct shared_sync {
    pthread_mutex_t lock;
    pthread_cond_t turn_changed;
    long counter;
    int turn;
};

#define ADDS 2000
#define TURNS 50

/* Adds under the lock, then plays `me` (0 parent, 1 child) in the
 * turn-taking. */
static void sync_work(struct shared_sync *s, int me)
{
    for (int i = 0; i < ADDS; i++) {
        pthread_mutex_lock(&s->lock);
        long v = s->counter;
        if ((i & 127) == 0)
            sched_yield();
        s->counter = v + 1;
        pthread_mutex_unlock(&s->lock);
    }
    for (int i = 0; i < TURNS; i++) {
        pthread_mutex_lock(&s->lock);
        while (s->turn != me)
            pthread_cond_wait(&s->turn_changed, &s->lock);
        s->turn = 1 - me;
        pthread_cond_broadcast(&s->turn_changed);
        pthread_mutex_unlock(&s->lock);
    }
}

static void shared_sync_case(void)
{
    struct shared_sync *s =
        mmap(0, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s != MAP_FAILED);
    if (s == MAP_FAILED)
        return;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    CHECK(pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED) == 0);
    CHECK(pthread_mutex_init(&s->lock, &ma) == 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    CHECK(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED) == 0);
    CHECK(pthread_cond_init(&s->turn_changed, &ca) == 0);
    s->counter = 0;
    s->turn = 0;
    pid_t c = fork();
    if (c == 0) {
        sync_work(s, 1);
        _exit(0);
    }
    CHECK(c > 0);
    sync_work(s, 0);
    int st = -1;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(s->counter == 2 * ADDS);
    CHECK(s->turn == 0);
}
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
    (void)sig;
    handled = 1;
}

int main(void)
{
    int *shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    int *priv = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(priv != MAP_FAILED);
    *shared = 1;
    *priv = 1;
    int efd = eventfd(0, 0);
    CHECK(efd >= 0);
    volatile int on_stack = 5;
    pid_t parent = getpid();

    pid_t c = fork();
    if (c == 0) {
        int bad = 0;
        if (getppid() != parent || getpid() == parent)
            bad |= 1;
        if (on_stack != 5 || private_global != 1 || *priv != 1)
            bad |= 2;
        on_stack = 6;
        private_global = 2;
        *priv = 2;
        *shared = 42;
        uint64_t v = 3;
        if (write(efd, &v, sizeof v) != sizeof v)
            bad |= 4;
        _exit(bad ? 100 + bad : 7);
    }
    CHECK(c > 0);
    int st = -1;
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFEXITED(st) && !WIFSIGNALED(st) && WEXITSTATUS(st) == 7);
    CHECK(on_stack == 5 && private_global == 1 && *priv == 1);
    CHECK(*shared == 42);
    uint64_t v = 0;
    CHECK(read(efd, &v, sizeof v) == sizeof v && v == 3);

    /* Death by a signal, and WNOHANG while it lives. */
    c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    CHECK(c > 0);
    CHECK(waitpid(c, &st, WNOHANG) == 0);
    CHECK(kill(c, SIGTERM) == 0);
    CHECK(waitpid(c, &st, 0) == c);
    CHECK(WIFSIGNALED(st) && !WIFEXITED(st) && WTERMSIG(st) == SIGTERM);
    errno = 0;
    CHECK(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);

    /* An inherited handler; several children collected by wait(). */
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < 3; i++) {
        c = fork();
        if (c == 0) {
            raise(SIGUSR1);
            _exit(handled ? 20 + i : 1);
        }
        CHECK(c > 0);
    }
    int codes = 0;
    for (int i = 0; i < 3; i++) {
        CHECK(wait(&st) > 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) >= 20 && WEXITSTATUS(st) < 23)
            codes |= 1 << (WEXITSTATUS(st) - 20);
    }
    CHECK(codes == 7);
    CHECK(handled == 0);
    errno = 0;
    CHECK(wait(&st) == -1 && errno == ECHILD);
    close(efd);
    shared_sync_case();
    if (failures == 0)
        printf("fork and waitpid: all cases passed\n");
    return failures != 0;
}
