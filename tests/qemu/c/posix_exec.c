/* execv/execl/execvp, written for Linux (it also builds and passes
 * unchanged with glibc: tests/posix_c_glibc.rs). The program execs
 * itself (argv[0]; on the testbed the archive is the file system) with a
 * mode in argv[1]; each image checks what it inherited and exits with a
 * code the parent checks.
 * - the new image gets exactly the argv given (execv and execl: empty
 *   and spaced strings, argv[argc] NULL), the same pid and parent;
 * - its memory is fresh (a global written before exec has its initial
 *   value); handlers are back to SIG_DFL, SIG_IGN stays ignored; the
 *   mask and a pending blocked signal stay; the alternate signal stack
 *   is gone;
 * - fds stay open unless FD_CLOEXEC (pipe2 O_CLOEXEC or F_SETFD), which
 *   are closed (EBADF);
 * - ITIMER_REAL survives: an alarm set before exec kills the new image
 *   in pause() (WTERMSIG SIGALRM);
 * - a multithreaded process: exec from the main thread and from another
 *   thread ends the other threads (one blocked in a read) and the image
 *   runs alone with the same pid;
 * - a missing program: -1 with ENOENT, the caller goes on. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"

static int marker = 1;
static char *self;
static int block_fd = -1;

static void on_usr1(int sig) { (void)sig; }

static long arg_long(const char *s) { return strtol(s, 0, 10); }

/* "image fdw fdcloexec1 fdcloexec2 pid ppid": what a plain exec keeps. */
static int image_main(int argc, char **argv)
{
    CHECK(argc == 7);
    if (argc != 7)
        return 1;
    CHECK(argv[7] == NULL);
    CHECK(marker == 1);
    CHECK(getpid() == (pid_t)arg_long(argv[5]));
    CHECK(getppid() == (pid_t)arg_long(argv[6]));
    struct sigaction sa;
    CHECK(sigaction(SIGUSR1, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL);
    CHECK(sigaction(SIGUSR2, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
    sigset_t m, p;
    CHECK(sigprocmask(SIG_BLOCK, NULL, &m) == 0 && sigismember(&m, SIGTERM));
    CHECK(sigpending(&p) == 0 && sigismember(&p, SIGTERM));
    stack_t ss;
    CHECK(sigaltstack(NULL, &ss) == 0 && ss.ss_flags == SS_DISABLE);
    int fdw = (int)arg_long(argv[2]);
    CHECK(write(fdw, "ok", 2) == 2);
    for (int i = 3; i <= 4; i++) {
        int fd = (int)arg_long(argv[i]);
        errno = 0;
        CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF);
    }
    return failures ? 1 : 42;
}

static void case_exec_keeps(void)
{
    int keep[2], cx1[2], cx2[2];
    CHECK(pipe(keep) == 0);
    CHECK(pipe2(cx1, O_CLOEXEC) == 0);
    CHECK(pipe(cx2) == 0);
    CHECK(fcntl(cx2[1], F_SETFD, FD_CLOEXEC) == 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        marker = 7;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sigaction(SIGUSR1, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGUSR2, &sa, NULL);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGTERM);
        sigprocmask(SIG_BLOCK, &m, NULL);
        raise(SIGTERM);
        static char alt[65536];
        stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
        sigaltstack(&ss, NULL);
        char a[5][16];
        snprintf(a[0], 16, "%d", keep[1]);
        snprintf(a[1], 16, "%d", cx1[1]);
        snprintf(a[2], 16, "%d", cx2[1]);
        snprintf(a[3], 16, "%d", (int)getpid());
        snprintf(a[4], 16, "%d", (int)parent);
        char *args[] = {self, "image", a[0], a[1], a[2], a[3], a[4], NULL};
        execv(self, args);
        _exit(99);
    }
    close(keep[1]);
    char buf[8];
    CHECK(read(keep[0], buf, sizeof buf) == 2 && memcmp(buf, "ok", 2) == 0);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
    close(keep[0]);
    close(cx1[0]);
    close(cx1[1]);
    close(cx2[0]);
    close(cx2[1]);
}

/* "execl", "a b", "": the argv execl built. */
static int execl_main(int argc, char **argv)
{
    CHECK(argc == 4);
    if (argc != 4)
        return 1;
    CHECK(strcmp(argv[2], "a b") == 0);
    CHECK(strcmp(argv[3], "") == 0);
    CHECK(argv[4] == NULL);
    return failures ? 1 : 43;
}

static void case_execl(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl(self, self, "execl", "a b", "", (char *)0);
        _exit(99);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 43);
    pid = fork();
    if (pid == 0) {
        char *args[] = {self, "execl", "a b", "", NULL};
        execvp(self, args);
        _exit(99);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 43);
}

static void case_missing(void)
{
    char *args[] = {"no-such-program-here", NULL};
    errno = 0;
    CHECK(execv("/nonexistent-dir/no-such-program-here", args) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(execvp("no-such-program-here", args) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(execl("/nonexistent-dir/no-such-program-here", "x", (char *)0) == -1 &&
          errno == ENOENT);
}

static void case_alarm_survives(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        alarm(1);
        execl(self, self, "pause", (char *)0);
        _exit(99);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM);
}

/* "alone pid": the image after a multithreaded exec. */
static int alone_main(int argc, char **argv)
{
    CHECK(argc == 3);
    if (argc != 3)
        return 1;
    CHECK(getpid() == (pid_t)arg_long(argv[2]));
    return failures ? 1 : 44;
}

static void *blocked_reader(void *arg)
{
    (void)arg;
    char c;
    ssize_t r = read(block_fd, &c, 1);
    (void)r;
    return NULL;
}

static void *exec_from_thread(void *arg)
{
    char *pid = arg;
    execl(self, self, "alone", pid, (char *)0);
    _exit(98);
}

static void case_threads(int from_thread)
{
    int never[2];
    CHECK(pipe(never) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        block_fd = never[0];
        pthread_t t;
        pthread_create(&t, NULL, blocked_reader, NULL);
        usleep(20000);
        static char me[16];
        snprintf(me, sizeof me, "%d", (int)getpid());
        if (from_thread) {
            pthread_t u;
            pthread_create(&u, NULL, exec_from_thread, me);
            char c;
            ssize_t r = read(never[0], &c, 1);
            (void)r;
            _exit(97);
        }
        execl(self, self, "alone", me, (char *)0);
        _exit(99);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 44);
    close(never[0]);
    close(never[1]);
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc >= 2 && strcmp(argv[1], "image") == 0)
        return image_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "execl") == 0)
        return execl_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "alone") == 0)
        return alone_main(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "pause") == 0) {
        pause();
        return 1;
    }
    CHECK(argc == 1 && argv[1] == NULL);
    case_exec_keeps();
    case_execl();
    case_missing();
    case_alarm_survives();
    {
        case_threads(0);
        case_threads(1);
    }
    if (failures)
        return 1;
    printf("posix_exec: all cases passed\n");
    return 0;
}
