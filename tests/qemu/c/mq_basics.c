/* POSIX message queues from C through relibc-shim (Linux API): open,
 * send and receive in priority order, FIFO within a priority, unlink
 * while open, nonblocking and timed errors, getattr/setattr, poll, bad
 * pointers as EFAULT without loss, and a queue of more than 10 messages
 * created by uid 0. Compiles unchanged against glibc on Linux. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <testbed.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("check failed: %s (line %d, errno %d)\n", #cond, __LINE__, errno); \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define Q "/rb-c-mq-basics"
#define BIG "/rb-c-mq-big"

int main(void)
{
    char buf[128];
    unsigned prio = 0;
    mq_unlink(Q);
    mq_unlink(BIG);
    struct mq_attr a = {0, 4, 128, 0, {0}}, got;
    mqd_t q = mq_open(Q, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    CHECK(q >= 0);
    CHECK(mq_open(Q, O_RDWR | O_CREAT | O_EXCL, 0600, &a) == -1 && errno == EEXIST);
    CHECK(mq_open("noslash", O_RDWR) == -1 && errno == EINVAL);
    CHECK(mq_open("/rb-c-absent", O_RDWR) == -1 && errno == ENOENT);
    CHECK(mq_getattr(q, &got) == 0 && got.mq_maxmsg == 4 && got.mq_msgsize == 128);

    /* priority order, FIFO within one */
    CHECK(mq_send(q, "a", 1, 1) == 0);
    CHECK(mq_send(q, "b", 1, 30) == 0);
    CHECK(mq_send(q, "c", 1, 1) == 0);
    CHECK(mq_send(q, "d", 1, 30) == 0);
    CHECK(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 4);
    const char *want = "bdac";
    for (int i = 0; i < 4; i++) {
        CHECK(mq_receive(q, buf, sizeof buf, &prio) == 1 && buf[0] == want[i]);
        CHECK(prio == (i < 2 ? 30u : 1u));
    }
    CHECK(mq_send(q, "x", 1, 32768) == -1 && errno == EINVAL);
    CHECK(mq_send(q, buf, 129, 0) == -1 && errno == EMSGSIZE);
    CHECK(mq_receive(q, buf, 127, NULL) == -1 && errno == EMSGSIZE);

    /* nonblocking, timed */
    struct mq_attr nb = {O_NONBLOCK, 0, 0, 0, {0}}, old;
    CHECK(mq_setattr(q, &nb, &old) == 0 && old.mq_flags == 0);
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == -1 && errno == EAGAIN);
    nb.mq_flags = 0;
    CHECK(mq_setattr(q, &nb, NULL) == 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 20 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    CHECK(mq_timedreceive(q, buf, sizeof buf, NULL, &ts) == -1 && errno == ETIMEDOUT);
    struct timespec bad = {0, 1000000000L};
    CHECK(mq_timedsend(q, "x", 1, 0, &bad) == -1 && errno == EINVAL);

    /* poll: POLLOUT when not full, POLLIN when not empty */
    struct pollfd p = {q, POLLIN | POLLOUT, 0};
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
    for (int i = 0; i < 4; i++)
        CHECK(mq_send(q, "f", 1, 0) == 0);
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLIN);

    /* bad pointers: EFAULT, nothing lost */
    char *edge = tb_map(4096); /* followed by an unmapped page */
    CHECK(edge != NULL);
    /* Only the message's bytes are written: a buffer whose first byte is
     * unmapped faults (a 1-byte message into a buffer running into the
     * unmapped page would not). */
    CHECK(mq_receive(q, edge + 4096, 128, NULL) == -1 && errno == EFAULT);
    CHECK(mq_receive(q, buf, sizeof buf, (unsigned *)(edge + 4096)) == -1 && errno == EFAULT);
    CHECK(mq_getattr(q, (struct mq_attr *)(edge + 4096 - 32)) == -1 && errno == EFAULT);
    CHECK(mq_getattr(q, &got) == 0 && got.mq_curmsgs == 4);
    for (int i = 0; i < 4; i++)
        CHECK(mq_receive(q, buf, sizeof buf, NULL) == 1);
    CHECK(mq_send(q, edge + 4096 - 8, 64, 0) == -1 && errno == EFAULT);

    /* unlink while open; the wrong access mode */
    mqd_t ro = mq_open(Q, O_RDONLY | O_CLOEXEC);
    CHECK(ro >= 0);
    CHECK(mq_send(ro, "x", 1, 0) == -1 && errno == EBADF);
    CHECK(mq_unlink(Q) == 0);
    CHECK(mq_open(Q, O_RDWR) == -1 && errno == ENOENT);
    CHECK(mq_send(q, "still", 5, 0) == 0);
    CHECK(mq_receive(ro, buf, sizeof buf, NULL) == 5 && memcmp(buf, "still", 5) == 0);
    int d = dup(q);
    CHECK(d >= 0 && mq_send(d, "dup", 3, 0) == 0);
    CHECK(close(d) == 0 && mq_close(ro) == 0 && mq_close(q) == 0);
    CHECK(mq_send(q, "x", 1, 0) == -1 && errno == EBADF);

    /* uid 0 may pass msg_max (10) */
    struct mq_attr big = {0, 20, 64, 0, {0}};
    mqd_t b = mq_open(BIG, O_RDWR | O_CREAT, 0600, &big);
    CHECK(b >= 0 && mq_getattr(b, &got) == 0 && got.mq_maxmsg == 20);
    for (int i = 0; i < 20; i++)
        CHECK(mq_send(b, "m", 1, (unsigned)i) == 0);
    CHECK(mq_receive(b, buf, sizeof buf, &prio) == 1 && prio == 19);
    CHECK(mq_close(b) == 0 && mq_unlink(BIG) == 0);

    /* and ask for up to HARD_MSGMAX (65 536) messages, no more; the
     * default RLIMIT_MSGQUEUE (819 200 bytes; TESTBED_MQ_BYTES unset)
     * binds uid 0 too: 65 536 x 64 are charged 65 536 x (64 + 48) +
     * 32 768 x 48 bytes (EMFILE), 4096 x 64 655 360 */
    struct mq_attr over = {0, 65537, 64, 0, {0}}, hard = {0, 65536, 64, 0, {0}};
    struct mq_attr deep = {0, 4096, 64, 0, {0}};
    CHECK(mq_open(BIG, O_RDWR | O_CREAT, 0600, &over) == -1 && errno == EINVAL);
    CHECK(mq_open(BIG, O_RDWR | O_CREAT, 0600, &hard) == -1 && errno == EMFILE);
    b = mq_open(BIG, O_RDWR | O_CREAT | O_NONBLOCK, 0600, &deep);
    CHECK(b >= 0 && mq_getattr(b, &got) == 0 && got.mq_maxmsg == 4096);
    int sent = 0;
    while (sent < 5000 && mq_send(b, "m", 1, (unsigned)sent % 3) == 0)
        sent++;
    CHECK(sent == 4096 && errno == EAGAIN);
    CHECK(mq_getattr(b, &got) == 0 && got.mq_curmsgs == 4096);
    CHECK(mq_receive(b, buf, sizeof buf, &prio) == 1 && prio == 2);
    CHECK(mq_close(b) == 0 && mq_unlink(BIG) == 0);

    if (failures == 0)
        printf("message queues from C: ok\n");
    return failures != 0;
}
