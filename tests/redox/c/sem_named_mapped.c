/* A named semaphore shared by processes through every way they can reach
 * it, for the named-semaphore fast path (relibc 0014 maps the
 * semaphore's kernel page at sem_open, SYS_RB_SEM_MAP, and runs the
 * unnamed protocol on it; sem_close unmaps it):
 *   - a forked child uses the parent's sem_t (an inherited mapping): a
 *     parent blocked in sem_wait is woken by the child's post and the
 *     reverse;
 *   - a child closes the inherited semaphore (its mapping goes, the
 *     parent's stays) and opens the name again (a second mapping of the
 *     same page): 1000 posts of the child are seen by the parent's
 *     sem_getvalue and taken by 1000 sem_trywait, the next one EAGAIN;
 *     a timed wait of the child is woken by the parent;
 *   - sem_unlink while both have it open: both go on using it, a new
 *     sem_open of the name is ENOENT;
 *   - after the parent's sem_close, sem_getvalue on a fresh open of a
 *     second name still works (nothing left behind).
 * It prints the cost of an uncontended sem_post + sem_wait pair on the
 * named semaphore and on an unnamed process-shared one (a measurement
 * for docs/performance.md, not asserted: the mapped path makes no
 * system call, the fd path two). Runs on Redox (tests/redox/c) and
 * unchanged against glibc on Linux (-lpthread). */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../qemu/c/check.h"

#define NAME "/rb_named_mapped"
#define OTHER "/rb_named_mapped2"
#define POSTS 1000
#define PAIRS 20000

static int child_status(pid_t pid)
{
    int st = -1;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static double pair_ns(sem_t *s)
{
    uint64_t t0 = now_ns();
    for (int i = 0; i < PAIRS; i++)
        if (sem_post(s) != 0 || sem_wait(s) != 0)
            return -1;
    return (double)(now_ns() - t0) / PAIRS;
}

int main(void)
{
    sem_unlink(NAME);
    sem_unlink(OTHER);
    sem_t *s = sem_open(NAME, O_CREAT | O_EXCL, 0600, 0);
    CHECK(s != SEM_FAILED);
    if (s == SEM_FAILED)
        return 1;

    /* Inherited across fork: woken both ways (the pipe tells the child
     * that the parent took its post, so it cannot take it back itself). */
    int took_it[2];
    CHECK(pipe(took_it) == 0);
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        char b;
        nap_ms(50);
        if (sem_post(s) != 0)
            _exit(2);
        if (read(took_it[0], &b, 1) != 1)
            _exit(3);
        if (sem_wait(s) != 0) /* the parent's post */
            _exit(4);
        _exit(0);
    }
    CHECK(sem_wait(s) == 0);
    CHECK(write(took_it[1], "t", 1) == 1);
    nap_ms(50);
    CHECK(sem_post(s) == 0);
    int st = child_status(c);
    printf("sem_named_mapped: inherited by fork, woken both ways: child %d\n", st);
    CHECK(st == 0);

    /* A second mapping of the same page: the child closes its inherited
     * semaphore and opens the name again. */
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        if (sem_close(s) != 0)
            _exit(2);
        sem_t *t = sem_open(NAME, 0);
        if (t == SEM_FAILED)
            _exit(3);
        for (int i = 0; i < POSTS; i++)
            if (sem_post(t) != 0)
                _exit(4);
        char b;
        if (read(took_it[0], &b, 1) != 1)
            _exit(7);
        /* Wait (at most 10 s) for the parent's post after it took all. */
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 10;
        if (sem_timedwait(t, &dl) != 0)
            _exit(5);
        if (sem_close(t) != 0)
            _exit(6);
        _exit(0);
    }
    int v = -1;
    for (int tries = 0; tries < 2000; tries++) {
        CHECK(sem_getvalue(s, &v) == 0);
        if (v == POSTS)
            break;
        nap_ms(5);
    }
    CHECK(v == POSTS);
    int took = 0;
    while (took < POSTS + 5 && sem_trywait(s) == 0)
        took++;
    int e = errno;
    printf("sem_named_mapped: second mapping in a child: value %d seen, %d taken, then errno %d\n",
           v, took, e);
    CHECK(took == POSTS);
    CHECK(e == EAGAIN);
    CHECK(write(took_it[1], "t", 1) == 1);
    nap_ms(50);
    CHECK(sem_post(s) == 0);
    st = child_status(c);
    printf("sem_named_mapped: child's timed wait woken, its close: child %d\n", st);
    CHECK(st == 0);

    /* Unlinked while open in two processes. */
    c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        if (sem_wait(s) != 0)
            _exit(2);
        if (sem_post(s) != 0)
            _exit(3);
        _exit(0);
    }
    CHECK(sem_unlink(NAME) == 0);
    errno = 0;
    CHECK(sem_open(NAME, 0) == SEM_FAILED && errno == ENOENT);
    CHECK(sem_post(s) == 0);
    st = child_status(c);
    CHECK(st == 0);
    CHECK(sem_getvalue(s, &v) == 0 && v == 1);
    printf("sem_named_mapped: unlinked while open: child %d, value %d\n", st, v);

    double named = pair_ns(s);
    CHECK(sem_close(s) == 0);

    sem_t *u = mmap(NULL, sizeof *u, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(u != MAP_FAILED);
    double unnamed = -1;
    if (u != MAP_FAILED && sem_init(u, 1, 0) == 0) {
        unnamed = pair_ns(u);
        sem_destroy(u);
    }
    printf("sem_named_mapped: uncontended sem_post+sem_wait: named %.0f ns, unnamed pshared %.0f ns "
           "(%d pairs each)\n",
           named, unnamed, PAIRS);
    CHECK(named >= 0 && unnamed >= 0);

    sem_t *o = sem_open(OTHER, O_CREAT | O_EXCL, 0600, 3);
    CHECK(o != SEM_FAILED);
    if (o != SEM_FAILED) {
        CHECK(sem_getvalue(o, &v) == 0 && v == 3);
        CHECK(sem_close(o) == 0);
    }
    CHECK(sem_unlink(OTHER) == 0);
    printf("sem_named_mapped: %s\n", failures ? "FAILED" : "all cases passed");
    return failures ? 1 : 0;
}
