/* POSIX message queues from C: receivers blocked in two threads are
 * handed messages in the order they blocked, a sender blocked on a full
 * queue is freed by a receive, and a poll blocked for POLLIN wakes on a
 * send. Compiles unchanged against glibc on Linux. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("check failed: %s (line %d, errno %d)\n", #cond, __LINE__, errno); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define Q "/rb-c-mq-threads"
static mqd_t q;

static void sleep_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

static void *receiver(void *arg)
{
    (void)arg;
    char buf[64];
    ssize_t n = mq_receive(q, buf, sizeof buf, NULL);
    return (void *)(intptr_t)(n == 1 ? buf[0] : -1);
}

static void *sender(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)(mq_send(q, "s", 1, 5) == 0);
}

static void *poller(void *arg)
{
    (void)arg;
    struct pollfd p = {q, POLLIN, 0};
    return (void *)(intptr_t)(poll(&p, 1, -1) == 1 && p.revents == POLLIN);
}

int main(void)
{
    mq_unlink(Q);
    struct mq_attr a = {0, 1, 64, 0, {0}};
    q = mq_open(Q, O_RDWR | O_CREAT, 0600, &a);
    CHECK(q >= 0);

    /* two receivers, blocked in that order, get the messages in order */
    pthread_t r1, r2;
    CHECK(pthread_create(&r1, NULL, receiver, NULL) == 0);
    sleep_ms(20);
    CHECK(pthread_create(&r2, NULL, receiver, NULL) == 0);
    sleep_ms(20);
    CHECK(mq_send(q, "1", 1, 0) == 0);
    CHECK(mq_send(q, "2", 1, 9) == 0);
    void *v1, *v2;
    pthread_join(r1, &v1);
    pthread_join(r2, &v2);
    CHECK((intptr_t)v1 == '1' && (intptr_t)v2 == '2');
    struct mq_attr got;
    CHECK(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 0);

    /* a sender blocked on a full queue, freed by a receive */
    CHECK(mq_send(q, "f", 1, 1) == 0);
    pthread_t s;
    CHECK(pthread_create(&s, NULL, sender, NULL) == 0);
    sleep_ms(20);
    char buf[64];
    unsigned prio;
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 1 && buf[0] == 'f');
    void *sv;
    pthread_join(s, &sv);
    CHECK((intptr_t)sv == 1);
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 1 && buf[0] == 's' && prio == 5);

    /* poll blocked for POLLIN */
    pthread_t p;
    CHECK(pthread_create(&p, NULL, poller, NULL) == 0);
    sleep_ms(20);
    CHECK(mq_send(q, "p", 1, 0) == 0);
    void *pv;
    pthread_join(p, &pv);
    CHECK((intptr_t)pv == 1);

    CHECK(mq_close(q) == 0 && mq_unlink(Q) == 0);
    if (failures == 0)
        printf("message queues with threads from C: ok\n");
    return failures != 0;
}
