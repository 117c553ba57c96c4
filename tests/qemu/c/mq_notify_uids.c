/* mq_notify from C across processes with different uids: a 0600 queue is
 * EACCES for uid 1000; on a 0666 queue the child's send fires the
 * parent's SIGEV_SIGNAL registration, which the parent reads through
 * signalfd (SI_MESGQ, the child's pid and uid, the sigev_value); the
 * registration fires once, is EBUSY for the child, and ends when the
 * owner closes a descriptor of the queue. The uid 1000 child is refused
 * (EINVAL) the more-than-10-message attributes uid 0 gets in mq_basics. */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <testbed.h>
#include <unistd.h>

#define PRIV "/rb-c-mq-priv"
#define PUB "/rb-c-mq-pub"
#define BIG "/rb-c-mq-big1000"

static int child(void)
{
    if (mq_open(PRIV, O_RDONLY) != -1 || errno != EACCES)
        return 10;
    if (mq_unlink(PUB) != -1 || errno != EACCES)
        return 11;
    mqd_t q = mq_open(PUB, O_WRONLY);
    if (q < 0)
        return 12;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_NONE;
    if (mq_notify(q, &ev) != -1 || errno != EBUSY)
        return 13;
    if (mq_send(q, "hi", 2, 3) != 0)
        return 14;
    mq_close(q);
    /* The attributes uid 0 may have (mq_basics: 20 messages) are EINVAL
     * for uid 1000, held to msg_max 10 and msgsize_max 8192; at those
     * ceilings the queue is created. */
    struct mq_attr big = {0, 20, 64, 0, {0}};
    if (mq_open(BIG, O_RDWR | O_CREAT, 0600, &big) != -1 || errno != EINVAL)
        return 15;
    struct mq_attr wide = {0, 1, 8193, 0, {0}};
    if (mq_open(BIG, O_RDWR | O_CREAT, 0600, &wide) != -1 || errno != EINVAL)
        return 16;
    struct mq_attr most = {0, 10, 64, 0, {0}};
    mqd_t m = mq_open(BIG, O_RDWR | O_CREAT | O_EXCL, 0600, &most);
    if (m < 0)
        return 17;
    mq_close(m);
    if (mq_unlink(BIG) != 0)
        return 18;
    return 0;
}

int main(void)
{
    if (tb_arg() == 1)
        return child();
    mq_unlink(PRIV);
    mq_unlink(PUB);
    mq_unlink(BIG);
    umask(0);
    mqd_t priv = mq_open(PRIV, O_RDWR | O_CREAT, 0600, NULL);
    mqd_t q = mq_open(PUB, O_RDWR | O_CREAT, 0666, NULL);
    if (priv < 0 || q < 0)
        return 1;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    int sfd = signalfd(-1, &mask, SFD_NONBLOCK);
    if (sfd < 0)
        return 2;
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 4242;
    if (mq_notify(q, &ev) != 0)
        return 3;
    pid_t pid = tb_spawn("mq_notify_uids", 1000, 1);
    if (pid < 0)
        return 4;
    int status = tb_wait(pid);
    if (status != 0) {
        printf("child status %d\n", status);
        return 5;
    }
    struct signalfd_siginfo si;
    if (read(sfd, &si, sizeof si) != sizeof si) {
        printf("no notification: errno %d\n", errno);
        return 6;
    }
    if (si.ssi_signo != SIGUSR1 || si.ssi_code != SI_MESGQ || si.ssi_pid != (uint32_t)pid ||
        si.ssi_uid != 1000 || si.ssi_int != 4242) {
        printf("siginfo: signo %u code %d pid %u uid %u int %d\n", si.ssi_signo, si.ssi_code,
               si.ssi_pid, si.ssi_uid, si.ssi_int);
        return 7;
    }
    char buf[8192];
    unsigned prio;
    if (mq_receive(q, buf, sizeof buf, &prio) != 2 || prio != 3)
        return 8;
    /* fired once: another message arrives silently */
    if (mq_send(q, "x", 1, 0) != 0 || read(sfd, &si, sizeof si) != -1 || errno != EAGAIN)
        return 9;
    mq_receive(q, buf, sizeof buf, NULL);
    /* closing a dup ends the registration: a new one is accepted */
    if (mq_notify(q, &ev) != 0)
        return 15;
    int d = dup(q);
    close(d);
    if (mq_notify(q, &ev) != 0)
        return 16;
    if (mq_notify(q, NULL) != 0)
        return 17;
    mq_close(priv);
    mq_close(q);
    close(sfd);
    if (mq_unlink(PRIV) != 0 || mq_unlink(PUB) != 0)
        return 18;
    printf("mq_notify across uids from C: ok\n");
    return 0;
}
