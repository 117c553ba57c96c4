/* POSIX message queue stress: several senders and receivers on a
 * 4-message queue, so both sides block. 4 sender threads send 600
 * messages each with priorities 0..3 in turn; 3 receiver threads receive
 * until a stop message (priority 0, sent once per receiver after every
 * sender is done). Every message is received exactly once, each receiver
 * sees each sender's messages of one priority in the order they were
 * sent, every priority reported is the one sent, and the queue ends
 * empty. Linux program. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

#define SENDERS 4
#define RECEIVERS 3
#define MESSAGES 600
#define PRIOS 4
#define DEPTH 4

struct msg {
    int sender; /* -1: stop */
    int prio;
    int seq; /* per sender and priority */
};

static char name[64];
static mqd_t q;
static unsigned char seen[SENDERS][PRIOS][MESSAGES / PRIOS];
static long disorder, bad;

static void remove_queue(void) { mq_unlink(name); }

static void *sender(void *arg)
{
    int id = (int)(long)arg;
    for (int i = 0; i < MESSAGES; i++) {
        struct msg m = {id, i % PRIOS, i / PRIOS};
        CHECK(mq_send(q, (const char *)&m, sizeof m, (unsigned)m.prio) == 0);
    }
    return NULL;
}

static void *receiver(void *arg)
{
    (void)arg;
    int last[SENDERS][PRIOS];
    memset(last, 0xff, sizeof last); /* -1 */
    for (;;) {
        struct msg m;
        unsigned prio = 99;
        ssize_t n = mq_receive(q, (char *)&m, sizeof m, &prio);
        if (n != (ssize_t)sizeof m) {
            ADD(&bad, 1);
            continue;
        }
        if (m.sender == -1)
            break;
        if (m.sender < 0 || m.sender >= SENDERS || m.prio < 0 || m.prio >= PRIOS ||
            m.seq < 0 || m.seq >= MESSAGES / PRIOS || prio != (unsigned)m.prio) {
            ADD(&bad, 1);
            continue;
        }
        __atomic_add_fetch(&seen[m.sender][m.prio][m.seq], 1, __ATOMIC_SEQ_CST);
        if (m.seq <= last[m.sender][m.prio])
            ADD(&disorder, 1);
        last[m.sender][m.prio] = m.seq;
        ADD(&stress_progress, 1);
    }
    return NULL;
}

int main(void)
{
    stress_watchdog("mq_stress");
    snprintf(name, sizeof name, "/rb-mq-stress-%d", (int)getpid());
    mq_unlink(name);
    struct mq_attr a = {0, DEPTH, sizeof(struct msg), 0, {0}};
    q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    CHECK(q != (mqd_t)-1);
    if (q == (mqd_t)-1)
        return stress_end();
    stress_cleanup = remove_queue;

    stress_set_phase("send/receive");
    pthread_t s[SENDERS], r[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++)
        CHECK(pthread_create(&r[i], NULL, receiver, NULL) == 0);
    for (long i = 0; i < SENDERS; i++)
        CHECK(pthread_create(&s[i], NULL, sender, (void *)i) == 0);
    for (int i = 0; i < SENDERS; i++)
        CHECK(pthread_join(s[i], NULL) == 0);
    stress_set_phase("stop");
    for (int i = 0; i < RECEIVERS; i++) {
        struct msg stop = {-1, 0, 0};
        CHECK(mq_send(q, (const char *)&stop, sizeof stop, 0) == 0);
    }
    for (int i = 0; i < RECEIVERS; i++)
        CHECK(pthread_join(r[i], NULL) == 0);

    long once = 0;
    for (int i = 0; i < SENDERS; i++)
        for (int p = 0; p < PRIOS; p++)
            for (int k = 0; k < MESSAGES / PRIOS; k++)
                once += seen[i][p][k] == 1;
    CHECK(once == SENDERS * MESSAGES);
    CHECK(disorder == 0);
    CHECK(bad == 0);
    struct mq_attr got;
    CHECK(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 0);
    CHECK(mq_close(q) == 0);
    CHECK(mq_unlink(name) == 0);
    return stress_end();
}
