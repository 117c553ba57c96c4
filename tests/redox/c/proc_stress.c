/* Stress across processes, meant for several CPUs: 4 forked children
 * share, with the parent, a process-shared unnamed semaphore used as a
 * lock, a counting one, an EFD_SEMAPHORE eventfd inherited across fork
 * and a named POSIX message queue of 4 messages (so senders block). Each
 * child does ROUNDS times: under the lock, read-yield-write a plain
 * counter in MAP_SHARED memory (a lost exclusion loses an increment);
 * post the counting semaphore; write 1 to the eventfd; send (child,
 * sequence) on the queue with priorities 0, 1, 2 in turn. Meanwhile the
 * parent receives every message exactly once (each child's messages of
 * one priority in the order it sent them), takes the counting semaphore
 * once per message and reads the eventfd once per message (each read 1).
 * At the end: the counter is 4 * ROUNDS, nothing is left in the
 * semaphore, the eventfd or the queue, every child exited 0. A watchdog
 * (alarm) turns a hang into a failure naming the phase. Runs on Redox
 * (tests/redox/c, relibc's fork) and unchanged against glibc on Linux
 * (-lpthread -lrt). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../qemu/c/check.h"

#define CHILDREN 4
#define ROUNDS 400
#define QNAME "/rb_proc_stress"

struct shared {
    sem_t lock;
    sem_t items;
    volatile long counter;
};

struct msg {
    uint32_t child;
    uint32_t seq;
};

static const char *volatile phase = "start";
static volatile long progress;
static pid_t kids[CHILDREN];

static void watchdog(int sig)
{
    (void)sig;
    char buf[160];
    int n = snprintf(buf, sizeof buf, "proc_stress: watchdog: stuck in %s after %ld steps\n",
                     phase, progress);
    if (n > 0)
        write(1, buf, (size_t)n);
    for (int i = 0; i < CHILDREN; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGKILL);
    mq_unlink(QNAME);
    _exit(2);
}

static int child(int id, struct shared *sh, int efd)
{
    alarm(100);
    mqd_t q = mq_open(QNAME, O_WRONLY);
    if (q == (mqd_t)-1)
        return 10;
    uint64_t one = 1;
    for (uint32_t i = 0; i < ROUNDS; i++) {
        if (sem_wait(&sh->lock) != 0)
            return 11;
        long v = sh->counter;
        if (i % 8 == 0)
            sched_yield();
        sh->counter = v + 1;
        if (sem_post(&sh->lock) != 0)
            return 12;
        if (sem_post(&sh->items) != 0)
            return 13;
        if (write(efd, &one, sizeof one) != (ssize_t)sizeof one)
            return 14;
        struct msg m = {(uint32_t)id, i};
        if (mq_send(q, (const char *)&m, sizeof m, (unsigned)(i % 3)) != 0)
            return 15;
    }
    mq_close(q);
    return 0;
}

int main(void)
{
    signal(SIGALRM, watchdog);
    alarm(110);
    struct shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                             -1, 0);
    CHECK(sh != MAP_FAILED);
    if (sh == MAP_FAILED)
        return 1;
    CHECK(sem_init(&sh->lock, 1, 1) == 0);
    CHECK(sem_init(&sh->items, 1, 0) == 0);
    sh->counter = 0;
    int efd = eventfd(0, EFD_SEMAPHORE);
    CHECK(efd >= 0);
    mq_unlink(QNAME);
    struct mq_attr a = {0};
    a.mq_maxmsg = 4;
    a.mq_msgsize = sizeof(struct msg);
    mqd_t q = mq_open(QNAME, O_RDONLY | O_CREAT | O_EXCL, 0600, &a);
    CHECK(q != (mqd_t)-1);
    if (efd < 0 || q == (mqd_t)-1)
        return 2;

    phase = "fork";
    for (int i = 0; i < CHILDREN; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0);
        if (kids[i] == 0)
            _exit(child(i, sh, efd));
    }

    phase = "receive";
    uint32_t next[CHILDREN][3];
    for (int i = 0; i < CHILDREN; i++)
        for (int p = 0; p < 3; p++)
            next[i][p] = (uint32_t)p;
    long out_of_order = 0, bad = 0, sem_bad = 0, efd_bad = 0;
    for (long n = 0; n < (long)CHILDREN * ROUNDS; n++) {
        struct msg m;
        unsigned prio = 99;
        ssize_t got = mq_receive(q, (char *)&m, sizeof m, &prio);
        if (got != (ssize_t)sizeof m || m.child >= CHILDREN) {
            if (bad++ < 5)
                printf("proc_stress: mq_receive %zd errno %d\n", got, errno);
            continue;
        }
        /* Each child sends priorities 0, 1, 2 in turn: its messages of one
         * priority must arrive in the order sent (a higher priority may
         * overtake a lower one already queued), each exactly once. */
        unsigned p = m.seq % 3;
        if (prio != p || m.seq != next[m.child][p]) {
            if (out_of_order++ < 5)
                printf("proc_stress: child %u seq %u prio %u, expected seq %u\n", m.child, m.seq,
                       prio, next[m.child][p]);
        } else {
            next[m.child][p] += 3;
        }
        phase = "sem_wait items";
        if (sem_wait(&sh->items) != 0)
            sem_bad++;
        phase = "eventfd read";
        uint64_t v = 0;
        if (read(efd, &v, sizeof v) != (ssize_t)sizeof v || v != 1)
            efd_bad++;
        phase = "receive";
        progress = n;
    }

    phase = "waitpid";
    int exited_ok = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int st = -1;
        if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            exited_ok++;
        else
            printf("proc_stress: child %d status 0x%x\n", i, st);
        kids[i] = 0;
    }
    alarm(0);

    int left_items = sem_trywait(&sh->items) == 0 ? 1 : (errno == EAGAIN ? 0 : -1);
    CHECK(fcntl(efd, F_SETFL, O_NONBLOCK) == 0);
    uint64_t v = 0;
    int left_efd = read(efd, &v, sizeof v) == (ssize_t)sizeof v ? 1 : (errno == EAGAIN ? 0 : -1);
    struct mq_attr now;
    CHECK(mq_getattr(q, &now) == 0);
    int all_seq = 1;
    for (int i = 0; i < CHILDREN; i++)
        for (int p = 0; p < 3; p++)
            all_seq &= next[i][p] >= ROUNDS;

    printf("proc_stress: %d children x %d rounds: counter %ld, %d exited 0, %ld bad messages, %ld "
           "out of order, sem %ld bad / %d left, eventfd %ld bad / %d left, queue %ld left\n",
           CHILDREN, ROUNDS, sh->counter, exited_ok, bad, out_of_order, sem_bad, left_items,
           efd_bad, left_efd, (long)now.mq_curmsgs);
    CHECK(sh->counter == (long)CHILDREN * ROUNDS);
    CHECK(exited_ok == CHILDREN);
    CHECK(bad == 0);
    CHECK(out_of_order == 0);
    CHECK(all_seq);
    CHECK(sem_bad == 0 && left_items == 0);
    CHECK(efd_bad == 0 && left_efd == 0);
    CHECK(now.mq_curmsgs == 0);
    mq_close(q);
    CHECK(mq_unlink(QNAME) == 0);
    close(efd);
    sem_destroy(&sh->lock);
    sem_destroy(&sh->items);
    printf("proc_stress: %s\n", failures ? "FAILED" : "all totals exact");
    return failures ? 1 : 0;
}
