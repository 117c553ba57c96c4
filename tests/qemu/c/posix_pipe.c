/* pipe and pipe2, written for Linux (it also builds and passes unchanged
 * with glibc: tests/posix_c_glibc.rs).
 * - bytes in order; a read takes what is there; the wrong end is EBADF;
 * - between processes: a child writes and exits, the parent reads to EOF
 *   (read returns 0 once no writer is open), blocking meanwhile;
 * - poll: POLLIN with bytes, nothing when empty, POLLOUT on the write
 *   end, POLLHUP once the writer is gone, POLLERR once the reader is;
 * - pipe2(O_NONBLOCK): EAGAIN when empty; 65536 bytes fit, then EAGAIN;
 *   O_CLOEXEC sets FD_CLOEXEC; unknown flags EINVAL; a bad array EFAULT;
 * - no reader: EPIPE with SIGPIPE ignored, the handler runs when caught,
 *   and the default action kills the writer (WTERMSIG SIGPIPE). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static volatile int pipes_caught;

static void on_pipe(int sig) {
    if (sig == SIGPIPE)
        pipes_caught++;
}

static short revents(int fd, short events) {
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

int main(void) {
    int p[2];
    char buf[256];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "hello", 5) == 5);
    CHECK(write(p[1], " world", 6) == 6);
    CHECK(read(p[0], buf, 3) == 3 && memcmp(buf, "hel", 3) == 0);
    CHECK(read(p[0], buf, sizeof buf) == 8 && memcmp(buf, "lo world", 8) == 0);
    errno = 0;
    CHECK(read(p[1], buf, 1) == -1 && errno == EBADF);
    errno = 0;
    CHECK(write(p[0], "x", 1) == -1 && errno == EBADF);

    /* poll. */
    CHECK(revents(p[0], POLLIN) == 0);
    CHECK(revents(p[1], POLLOUT) & POLLOUT);
    CHECK(write(p[1], "y", 1) == 1);
    CHECK(revents(p[0], POLLIN) & POLLIN);
    CHECK(read(p[0], buf, 1) == 1);

    /* Between processes, to EOF. */
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        for (int i = 0; i < 3; i++) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            if (write(p[1], "abcd", 4) != 4)
                _exit(1);
        }
        _exit(0);
    }
    CHECK(close(p[1]) == 0);
    int total = 0;
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        total += (int)n;
    CHECK(n == 0 && total == 12);
    int st = -1;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(revents(p[0], POLLIN) & POLLHUP);
    CHECK(close(p[0]) == 0);

    /* pipe2: nonblocking, capacity, cloexec, flags, EFAULT. */
    CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
    CHECK(fcntl(p[0], F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(p[1], F_GETFL) & O_NONBLOCK);
    errno = 0;
    CHECK(read(p[0], buf, 1) == -1 && errno == EAGAIN);
    static char page[4096];
    int fill = 0;
    while (write(p[1], page, sizeof page) == (ssize_t)sizeof page)
        fill += (int)sizeof page;
    CHECK(errno == EAGAIN && fill == 65536);
    errno = 0;
    CHECK(write(p[1], "z", 1) == -1 && errno == EAGAIN);
    CHECK(!(revents(p[1], POLLOUT) & POLLOUT));
    CHECK(close(p[0]) == 0);
    CHECK(revents(p[1], POLLOUT) & POLLERR);
    CHECK(close(p[1]) == 0);
    errno = 0;
    CHECK(pipe2(p, 0x1) == -1 && errno == EINVAL);
    errno = 0;
    int *volatile bad = (int *)8;
    CHECK(pipe(bad) == -1 && errno == EFAULT);

    /* No reader: EPIPE, SIGPIPE. */
    CHECK(pipe(p) == 0);
    CHECK(close(p[0]) == 0);
    signal(SIGPIPE, SIG_IGN);
    errno = 0;
    CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE);
    signal(SIGPIPE, on_pipe);
    errno = 0;
    CHECK(write(p[1], "x", 1) == -1 && errno == EPIPE && pipes_caught == 1);
    signal(SIGPIPE, SIG_DFL);
    c = fork();
    if (c == 0) {
        ssize_t r = write(p[1], "x", 1);
        _exit(r == -1 ? 2 : 3);
    }
    CHECK(waitpid(c, &st, 0) == c && WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE);
    CHECK(close(p[1]) == 0);

    if (failures == 0)
        printf("pipe: all cases passed\n");
    return failures != 0;
}
