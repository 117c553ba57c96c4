/* The IPC families with fork and signal handlers, written for Linux (it
 * also builds and passes unchanged with glibc: tests/posix_c_glibc.rs).
 * - mq_notify(SIGEV_SIGNAL) runs an SA_SIGINFO handler when a forked
 *   child sends to the empty queue: si_signo, si_code SI_MESGQ, si_pid
 *   the sender, si_uid, si_value the registration's sigev_value;
 * - a handler (SA_RESTART or not) interrupts a blocked semop and a
 *   blocked msgrcv: EINTR, Linux never restarts the SysV calls;
 * - a blocked mq_receive: EINTR without SA_RESTART; with SA_RESTART
 *   mq_receive, mq_timedreceive with a timeout and a blocked mq_send are
 *   restarted and complete (measured on Linux 6.18 / glibc 2.36);
 * - SEM_UNDO at a forked child's end: its adjustments are undone when
 *   it exits and when SIGKILL ends it, the others stay;
 * - a named semaphore opened before fork is shared: the child's posts
 *   wake the parent's waits;
 * - an mq descriptor is close-on-exec even without O_CLOEXEC, as
 *   Linux's mq_open makes every one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static volatile sig_atomic_t got;
static volatile int got_signo, got_code, got_value;
static volatile pid_t got_pid;
static volatile uid_t got_uid;

static void on_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_signo = sig;
    got_code = si->si_code;
    got_pid = si->si_pid;
    got_uid = si->si_uid;
    got_value = si->si_value.sival_int;
    got++;
}

static void on_plain(int sig)
{
    (void)sig;
    got++;
}

static void install(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (flags & SA_SIGINFO)
        sa.sa_sigaction = on_info;
    else
        sa.sa_handler = on_plain;
    sa.sa_flags = flags;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* SIGALRM in 30 ms (once). */
static void alarm_soon(void)
{
    struct itimerval it = {{0, 0}, {0, 30000}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

static void queue_name(char *buf, size_t n, const char *what)
{
    snprintf(buf, n, "/posix_ipc_signals_%s_%d", what, (int)getpid());
}

static void case_mq_notify_handler(void)
{
    char name[64];
    queue_name(name, sizeof name, "notify");
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    CHECK(q != (mqd_t)-1);
    CHECK(fcntl(q, F_GETFD) == FD_CLOEXEC);
    install(SIGUSR1, SA_SIGINFO);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;
    ev.sigev_value.sival_int = 777;
    CHECK(mq_notify(q, &ev) == 0);
    got = 0;
    pid_t pid = fork();
    if (pid == 0) {
        mqd_t c = mq_open(name, O_WRONLY);
        int ok = c != (mqd_t)-1 && mq_send(c, "hello", 5, 1) == 0;
        _exit(ok ? 0 : 1);
    }
    sigset_t wait_mask = old;
    sigdelset(&wait_mask, SIGUSR1);
    while (!got)
        sigsuspend(&wait_mask);
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK(got == 1 && got_signo == SIGUSR1 && got_code == SI_MESGQ);
    CHECK(got_pid == pid && got_uid == getuid() && got_value == 777);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char buf[16];
    unsigned prio = 0;
    CHECK(mq_receive(q, buf, sizeof buf, &prio) == 5 && prio == 1);
    mq_close(q);
    mq_unlink(name);
}

static void case_sysv_eintr(int flags)
{
    install(SIGALRM, flags);
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    CHECK(sem >= 0);
    got = 0;
    alarm_soon();
    struct sembuf down = {0, -1, 0};
    errno = 0;
    CHECK(semop(sem, &down, 1) == -1 && errno == EINTR);
    CHECK(got == 1);
    CHECK(semctl(sem, 0, IPC_RMID) == 0);

    int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(msq >= 0);
    struct {
        long mtype;
        char text[8];
    } m;
    got = 0;
    alarm_soon();
    errno = 0;
    CHECK(msgrcv(msq, &m, sizeof m.text, 0, 0) == -1 && errno == EINTR);
    CHECK(got == 1);
    CHECK(msgctl(msq, IPC_RMID, NULL) == 0);
}

static void case_mq_receive_restart(void)
{
    char name[64];
    queue_name(name, sizeof name, "recv");
    struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    CHECK(q != (mqd_t)-1);
    char buf[16];

    install(SIGALRM, 0);
    got = 0;
    alarm_soon();
    errno = 0;
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == -1 && errno == EINTR);
    CHECK(got == 1);

    /* Restarted: the handler runs, the receive goes on and gets the
     * message a child sends later. */
    install(SIGALRM, SA_RESTART);
    got = 0;
    alarm_soon();
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200000);
        mqd_t c = mq_open(name, O_WRONLY);
        int ok = c != (mqd_t)-1 && mq_send(c, "late", 4, 0) == 0;
        _exit(ok ? 0 : 1);
    }
    CHECK(mq_receive(q, buf, sizeof buf, NULL) == 4);
    CHECK(got == 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* The same with a timeout (absolute, 5 s away). */
    got = 0;
    alarm_soon();
    pid = fork();
    if (pid == 0) {
        usleep(200000);
        mqd_t c = mq_open(name, O_WRONLY);
        int ok = c != (mqd_t)-1 && mq_send(c, "timed", 5, 0) == 0;
        _exit(ok ? 0 : 1);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    CHECK(mq_timedreceive(q, buf, sizeof buf, NULL, &ts) == 5);
    CHECK(got == 1);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);

    /* A send blocked on the full queue, restarted until a child takes one. */
    for (int i = 0; i < 4; i++)
        CHECK(mq_send(q, "x", 1, 0) == 0);
    got = 0;
    alarm_soon();
    pid = fork();
    if (pid == 0) {
        usleep(200000);
        mqd_t c = mq_open(name, O_RDONLY);
        char b[16];
        int ok = c != (mqd_t)-1 && mq_receive(c, b, sizeof b, NULL) == 1;
        _exit(ok ? 0 : 1);
    }
    CHECK(mq_send(q, "y", 1, 0) == 0);
    CHECK(got == 1);
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    mq_close(q);
    mq_unlink(name);
}

static void case_sem_undo_fork(void)
{
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    CHECK(sem >= 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct sembuf ops[2] = {{0, 2, 0}, {0, 3, SEM_UNDO}};
        _exit(semop(sem, ops, 2) == 0 ? 0 : 1);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(semctl(sem, 0, GETVAL) == 2);

    /* Killed while holding an undo: settled at its end too. */
    pid = fork();
    if (pid == 0) {
        struct sembuf up = {0, 5, SEM_UNDO};
        if (semop(sem, &up, 1) != 0)
            _exit(1);
        for (;;)
            pause();
    }
    while (semctl(sem, 0, GETVAL) != 7)
        usleep(1000);
    CHECK(kill(pid, SIGKILL) == 0);
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    CHECK(semctl(sem, 0, GETVAL) == 2);
    CHECK(semctl(sem, 0, IPC_RMID) == 0);
}

static void case_named_sem_fork(void)
{
    char name[64];
    queue_name(name, sizeof name, "sem");
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    CHECK(s != SEM_FAILED);
    pid_t pid = fork();
    if (pid == 0) {
        for (int i = 0; i < 3; i++) {
            usleep(5000);
            if (sem_post(s) != 0)
                _exit(1);
        }
        _exit(0);
    }
    for (int i = 0; i < 3; i++)
        CHECK(sem_wait(s) == 0);
    errno = 0;
    CHECK(sem_trywait(s) == -1 && errno == EAGAIN);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(sem_close(s) == 0);
    CHECK(sem_unlink(name) == 0);
}

int main(void)
{
    case_mq_notify_handler();
    case_sysv_eintr(0);
    case_sysv_eintr(SA_RESTART);
    case_mq_receive_restart();
    case_sem_undo_fork();
    case_named_sem_fork();
    if (failures)
        return 1;
    printf("posix_ipc_signals: all cases passed\n");
    return 0;
}
