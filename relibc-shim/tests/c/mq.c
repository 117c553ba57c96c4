/* mqueue.h through the shim on the hosted kernel: open (variadic mode and
 * attributes, O_CREAT/O_EXCL, access modes, name rules), send/receive in
 * priority order, nonblocking and timed errors, getattr/setattr, notify
 * (SIGEV_SIGNAL pending; SIGEV_THREAD is mq_thread.c), unlink while open, a
 * receiver blocked in another thread, and bad pointers as EFAULT. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "hosted.h"

_Static_assert(sizeof(struct mq_attr) == 64, "mq_attr is 64 bytes");
_Static_assert(sizeof(mqd_t) == sizeof(int), "mqd_t is an int");

static mqd_t q;

static void *receiver(void *arg)
{
    char buf[64];
    unsigned prio = 0;
    ssize_t n = mq_receive(q, buf, sizeof buf, &prio);
    *(long *)arg = (n == 5 && prio == 9 && memcmp(buf, "hello", 5) == 0) ? 1 : -1;
    return NULL;
}

int main(void)
{
    struct mq_attr a = {0, 4, 64, 0, {0}}, got;
    char buf[64];
    unsigned prio;

    CHECK_ERR(mq_open("noslash", O_RDWR | O_CREAT, 0600, NULL), EINVAL);
    CHECK_ERR(mq_open("/a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
    CHECK_ERR(mq_open("/", O_RDWR | O_CREAT, 0600, NULL), ENOENT);
    CHECK_ERR(mq_open("/absent", O_RDWR), ENOENT);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    CHECK_ERR(mq_open(longname, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG);
    struct mq_attr bad = {0, 0, 64, 0, {0}};
    CHECK_ERR(mq_open("/c", O_RDWR | O_CREAT, 0600, &bad), EINVAL);
    CHECK_ERR(mq_open("/c", O_RDWR | O_CREAT, 0600, (struct mq_attr *)8), EFAULT);

    q = mq_open("/c", O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    CHECK(q >= 0);
    CHECK_ERR(mq_open("/c", O_RDWR | O_CREAT | O_EXCL, 0600, &a), EEXIST);
    CHECK(mq_getattr(q, &got) == 0);
    CHECK(got.mq_flags == 0 && got.mq_maxmsg == 4 && got.mq_msgsize == 64 && got.mq_curmsgs == 0);

    CHECK(mq_send(q, "low", 3, 1) == 0);
    CHECK(mq_send(q, "high", 4, 7) == 0);
    CHECK(mq_send(q, "low2", 4, 1) == 0);
    CHECK_ERR(mq_send(q, "x", 1, 32768), EINVAL);
    CHECK_ERR(mq_send(q, buf, 65, 0), EMSGSIZE);
    CHECK_ERR(mq_receive(q, buf, 63, &prio), EMSGSIZE);
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 4 && prio == 7 && memcmp(buf, "high", 4) == 0);
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 3 && prio == 1);
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == 4 && memcmp(buf, "low2", 4) == 0);

    /* Nonblocking and timed. */
    struct mq_attr nb = {O_NONBLOCK, 0, 0, 0, {0}}, old;
    CHECK(mq_setattr(q, &nb, &old) == 0 && old.mq_flags == 0);
    CHECK_ERR(mq_receive(q, buf, sizeof buf, NULL), EAGAIN);
    CHECK(mq_getattr(q, &got) == 0 && got.mq_flags == O_NONBLOCK);
    nb.mq_flags = 0;
    CHECK(mq_setattr(q, &nb, NULL) == 0);
    struct timespec past = {0, 0}, badns = {0, 1000000000L};
    CHECK_ERR(mq_timedreceive(q, buf, sizeof buf, NULL, &past), ETIMEDOUT);
    CHECK_ERR(mq_timedsend(q, "x", 1, 0, &badns), EINVAL);
    nb.mq_flags = O_NONBLOCK | 1;
    CHECK_ERR(mq_setattr(q, &nb, NULL), EINVAL);

    /* Bad pointers: EFAULT from the kernel, nothing lost. */
    CHECK_ERR(mq_send(q, (const char *)8, 4, 0), EFAULT);
    CHECK(mq_send(q, "kept", 4, 2) == 0);
    CHECK_ERR(mq_receive(q, (char *)8, 64, NULL), EFAULT);
    CHECK_ERR(mq_receive(q, buf, 64, (unsigned *)8), EFAULT);
    CHECK_ERR(mq_getattr(q, (struct mq_attr *)8), EFAULT);
    CHECK_ERR(mq_timedsend(q, "x", 1, 0, (struct timespec *)8), EFAULT);
    CHECK_ERR(mq_notify(q, (struct sigevent *)8), EFAULT);
    CHECK(mq_receive(q, buf, 64, &prio) == 4 && prio == 2 && memcmp(buf, "kept", 4) == 0);

    /* Wrong access mode, wrong fd. */
    mqd_t ro = mq_open("/c", O_RDONLY);
    CHECK(ro >= 0);
    CHECK_ERR(mq_send(ro, "x", 1, 0), EBADF);
    CHECK(mq_close(ro) == 0);
    CHECK_ERR(mq_send(ro, "x", 1, 0), EBADF);
    CHECK_ERR(mq_close(-1), EBADF);

    /* Notification: SIGEV_SIGNAL once, EBUSY. */
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    CHECK(mq_notify(q, &ev) == 0);
    CHECK_ERR(mq_notify(q, &ev), EBUSY);
    CHECK(!rb_shim_hosted_pending(SIGUSR1));
    CHECK(mq_send(q, "n", 1, 0) == 0);
    CHECK(rb_shim_hosted_pending(SIGUSR1));
    rb_shim_hosted_take_signal(SIGUSR1);
    CHECK(mq_notify(q, NULL) == 0);
    CHECK(mq_receive(q, buf, 64, NULL) == 1);

    /* A receiver blocked in another thread gets the message. */
    pthread_t t;
    long ok = 0;
    CHECK(pthread_create(&t, NULL, receiver, &ok) == 0);
    CHECK(rb_wait_parked(1));
    CHECK(mq_send(q, "hello", 5, 9) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(ok == 1);

    /* Unlink while open. */
    CHECK(mq_unlink("/c") == 0);
    CHECK_ERR(mq_unlink("/c"), ENOENT);
    CHECK_ERR(mq_open("/c", O_RDWR), ENOENT);
    CHECK(mq_send(q, "z", 1, 0) == 0);
    CHECK(mq_receive(q, buf, 64, NULL) == 1);
    CHECK(mq_close(q) == 0);

    /* The default attributes, and another user's EACCES. */
    mqd_t d = mq_open("/d", O_RDWR | O_CREAT, 0600, NULL);
    CHECK(d >= 0);
    CHECK(mq_getattr(d, &got) == 0 && got.mq_maxmsg == 10 && got.mq_msgsize == 8192);
    rb_shim_hosted_set_creds(2000, 2000);
    CHECK_ERR(mq_open("/d", O_RDONLY), EACCES);
    CHECK_ERR(mq_unlink("/d"), EACCES);
    rb_shim_hosted_set_creds(1000, 1000);
    CHECK(mq_unlink("/d") == 0);
    CHECK(mq_close(d) == 0);
    printf("mq: ok\n");
    return 0;
}
