/* mq_notify(SIGEV_SIGNAL) with a realtime signal, read by an SA_SIGINFO
 * handler: one message sent to the empty queue by a forked child fires
 * the registration once, with si_signo the registered signal, si_code
 * SI_MESGQ, si_value the registered value, si_pid the child's pid and
 * si_uid its uid. A second registration while one is armed is EBUSY; a
 * second send does not fire again; after re-registering, a send fires
 * again. On Redox the kernel cannot raise signals: relibc (0015) makes
 * the registration its helper thread's and, on the kernel's notice,
 * queues the signal to the process through procmgr with that siginfo.
 * Runs on Redox (tests/redox/c) and unchanged against glibc on Linux
 * (-lrt). */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../qemu/c/check.h"

#define QNAME "/rb_mq_notify_rt"

static volatile int fired, got_signo, got_code, got_value, got_pid, got_uid;

static void on_note(int sig, siginfo_t *si, void *ctx)
{
    (void)ctx;
    got_signo = sig;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
    got_pid = (int)si->si_pid;
    got_uid = (int)si->si_uid;
    fired++;
}

static void nap_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

/* A child sends one message; returns its pid (after it exited). */
static pid_t send_from_child(mqd_t q)
{
    pid_t c = fork();
    if (c == 0)
        _exit(mq_send(q, "note", 4, 0) == 0 ? 0 : 1);
    int st = -1;
    pid_t w;
    /* The notification may interrupt the wait (no SA_RESTART). */
    do
        w = waitpid(c, &st, 0);
    while (w < 0 && errno == EINTR);
    CHECK(c > 0 && w == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return c;
}

static int wait_fired(int n)
{
    for (int i = 0; i < 500 && fired < n; i++)
        nap_ms(10);
    return fired;
}

int main(void)
{
    int sig = SIGRTMIN + 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_note;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);

    mq_unlink(QNAME);
    struct mq_attr a;
    memset(&a, 0, sizeof a);
    a.mq_maxmsg = 4;
    a.mq_msgsize = 16;
    mqd_t q = mq_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    CHECK(q != (mqd_t)-1);
    if (q == (mqd_t)-1)
        return 1;

    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 4242;
    CHECK(mq_notify(q, &ev) == 0);
    errno = 0;
    CHECK(mq_notify(q, &ev) == -1 && errno == EBUSY);

    pid_t c = send_from_child(q);
    int n = wait_fired(1);
    printf("mq_notify_rt: fired %d: signo %d (want %d), code %d (SI_MESGQ %d), value %d, pid %d "
           "(child %d), uid %d (%d)\n",
           n, got_signo, sig, got_code, SI_MESGQ, got_value, got_pid, (int)c, got_uid,
           (int)getuid());
    CHECK(n == 1);
    CHECK(got_signo == sig);
    CHECK(got_code == SI_MESGQ);
    CHECK(got_value == 4242);
    CHECK(got_pid == (int)c);
    CHECK(got_uid == (int)getuid());

    /* Once: the queue is not empty now, and the registration is gone. */
    send_from_child(q);
    nap_ms(200);
    CHECK(fired == 1);
    char buf[16];
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == 4);
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == 4);

    /* Registered again (no EBUSY now), a send fires again. */
    ev.sigev_value.sival_int = 7;
    CHECK(mq_notify(q, &ev) == 0);
    c = send_from_child(q);
    n = wait_fired(2);
    printf("mq_notify_rt: again: fired %d, value %d, pid %d (child %d)\n", n, got_value, got_pid,
           (int)c);
    CHECK(n == 2 && got_value == 7 && got_pid == (int)c);

    CHECK(mq_close(q) == 0);
    CHECK(mq_unlink(QNAME) == 0);
    printf("mq_notify_rt: %s\n", failures ? "FAILED" : "all cases passed");
    return failures ? 1 : 0;
}
