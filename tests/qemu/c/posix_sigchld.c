/* SIGCHLD, written for Linux (it also builds and passes unchanged with
 * glibc: tests/posix_c_glibc.rs).
 * - default disposition: a child's exit sends nothing that stays pending
 *   (SIGCHLD is discarded), and waitpid still reports the status;
 * - with an SA_SIGINFO handler: it runs once per child's end, with
 *   si_signo SIGCHLD, si_code CLD_EXITED and si_status the exit status,
 *   or CLD_KILLED and the signal, si_pid the child, si_uid its uid; the
 *   zombie stays for waitpid after the handler;
 * - blocked: SIGCHLD is pending after the child ended and sigtimedwait
 *   takes it with the same fields. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static volatile int got;
static volatile int got_code, got_status, got_pid, got_uid, got_signo;

static void on_chld(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    got++;
    got_signo = sig;
    got_code = si->si_code;
    got_status = si->si_status;
    got_pid = si->si_pid;
    got_uid = (int)si->si_uid;
}

int main(void) {
    sigset_t chld, none, pend;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigemptyset(&none);

    /* Default: nothing pending, the status is there. */
    pid_t c = fork();
    if (c == 0)
        _exit(3);
    int st = -1;
    CHECK(c > 0 && waitpid(c, &st, 0) == c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    sigemptyset(&pend);
    CHECK(sigpending(&pend) == 0 && !sigismember(&pend, SIGCHLD));

    /* A handler: blocked around fork, then sigsuspend waits for it. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGCHLD, &sa, NULL) == 0);
    CHECK(sigprocmask(SIG_BLOCK, &chld, NULL) == 0);
    c = fork();
    if (c == 0)
        _exit(7);
    while (got == 0)
        sigsuspend(&none);
    CHECK(got == 1 && got_signo == SIGCHLD && got_code == CLD_EXITED && got_status == 7);
    CHECK(got_pid == c && got_uid == (int)getuid());
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 7);

    /* Killed by a signal: CLD_KILLED with the signal. */
    got = 0;
    c = fork();
    if (c == 0) {
        for (;;)
            pause();
    }
    CHECK(kill(c, SIGTERM) == 0);
    while (got == 0)
        sigsuspend(&none);
    CHECK(got == 1 && got_code == CLD_KILLED && got_status == SIGTERM && got_pid == c);
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);

    /* Blocked: pending after the end, taken by sigtimedwait. */
    got = 0;
    c = fork();
    if (c == 0)
        _exit(5);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec ts = {10, 0};
    CHECK(sigtimedwait(&chld, &si, &ts) == SIGCHLD);
    CHECK(si.si_code == CLD_EXITED && si.si_status == 5 && si.si_pid == c);
    CHECK(got == 0);
    CHECK(waitpid(c, &st, 0) == c && WEXITSTATUS(st) == 5);

    if (failures == 0)
        printf("SIGCHLD: all cases passed\n");
    return failures != 0;
}
