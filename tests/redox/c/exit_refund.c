/* Process exit closes a process's IPC fds and refunds what they were
 * charged. 20 forked children in turn each open 6 POSIX message queues
 * of 10 x 8192 bytes (about 490 KB of the user's 819200-byte
 * RLIMIT_MSGQUEUE, so two children's worth would not fit), unlink them,
 * send one message into each, create 300 armed timerfds (one timer slot
 * each) and exit without closing anything. Every child must succeed,
 * which it can only if the exits before it closed those fds (the
 * unlinked queues then die) and refunded the queue bytes and the timer
 * slots (20 x 300 = 6000 timerfds is more than the 4096 slots a user may
 * hold). Afterwards the parent opens the same 6 queues itself. On Redox
 * this is the series' exit hook and the scheme's close of every fd of
 * an exiting context. Runs on Redox (tests/redox/c) and unchanged
 * against glibc on Linux (-lrt). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../qemu/c/check.h"

#define CHILDREN 20
#define QUEUES 6
#define TIMERS 300

static void qname(char *buf, size_t len, int q)
{
    snprintf(buf, len, "/rb_exit_refund_%d", q);
}

static int open_queues(mqd_t *out)
{
    struct mq_attr a;
    memset(&a, 0, sizeof a);
    a.mq_maxmsg = 10;
    a.mq_msgsize = 8192;
    for (int q = 0; q < QUEUES; q++) {
        char name[64];
        qname(name, sizeof name, q);
        mq_unlink(name);
        out[q] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
        if (out[q] == (mqd_t)-1) {
            printf("exit_refund: mq_open %d: errno %d\n", q, errno);
            return q + 1;
        }
    }
    return 0;
}

static int child(void)
{
    mqd_t qs[QUEUES];
    int r = open_queues(qs);
    if (r)
        return 10 + r;
    for (int q = 0; q < QUEUES; q++) {
        char name[64];
        qname(name, sizeof name, q);
        if (mq_unlink(name) != 0)
            return 30;
        if (mq_send(qs[q], "left behind", 11, 1) != 0)
            return 31;
    }
    struct itimerspec hour = {{0, 0}, {3600, 0}};
    for (int t = 0; t < TIMERS; t++) {
        int fd = timerfd_create(CLOCK_MONOTONIC, 0);
        if (fd < 0) {
            printf("exit_refund: timerfd %d: errno %d\n", t, errno);
            return 40;
        }
        if (timerfd_settime(fd, 0, &hour, NULL) != 0)
            return 41;
    }
    /* Exit with every fd open. */
    return 0;
}

int main(void)
{
    int ok_children = 0;
    for (int i = 0; i < CHILDREN; i++) {
        pid_t c = fork();
        CHECK(c >= 0);
        if (c < 0)
            break;
        if (c == 0)
            _exit(child());
        int st = -1;
        CHECK(waitpid(c, &st, 0) == c);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            ok_children++;
        } else {
            printf("exit_refund: child %d status 0x%x\n", i, st);
            break;
        }
    }
    mqd_t qs[QUEUES];
    int r = open_queues(qs);
    printf("exit_refund: %d of %d children opened %d queues and %d timerfds each and exited "
           "holding them; the parent's own %d queues: %s\n",
           ok_children, CHILDREN, QUEUES, TIMERS, QUEUES, r ? "FAILED" : "opened");
    CHECK(ok_children == CHILDREN);
    CHECK(r == 0);
    for (int q = 0; q < QUEUES && r == 0; q++) {
        char name[64];
        qname(name, sizeof name, q);
        CHECK(mq_close(qs[q]) == 0);
        CHECK(mq_unlink(name) == 0);
    }
    printf("exit_refund: %s\n", failures ? "FAILED" : "all cases passed");
    return failures ? 1 : 0;
}
