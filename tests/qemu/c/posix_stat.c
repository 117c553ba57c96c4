/* stat and fstat, written for Linux (it also builds and passes unchanged
 * with glibc: tests/posix_c_glibc.rs), on what both have:
 * - stat of this program (argv[0]): a regular file with a size and the
 *   owner's execute bit; ENOENT for a path that names nothing;
 * - a pipe's ends: S_IFIFO | 0600, one inode for both, another pipe
 *   another; one link;
 * - eventfd, timerfd, signalfd: mode 0600 with no file type bits (Linux's
 *   anonymous inode);
 * - a message queue: S_IFREG with the mode it was made with less the
 *   umask, owned by the caller;
 * - EBADF for a closed fd;
 * - on the testbed only: fds 0..2 are the console, S_IFCHR | 0620, and
 *   the times are 0 (on Linux they are whatever runs the test). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "posix_check.h"

static int anon_ok(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == 0 && (st.st_mode & 0777) == 0600;
}

int main(int argc, char **argv)
{
    (void)argc;
    struct stat st, st2;
    CHECK(stat(argv[0], &st) == 0);
    CHECK(S_ISREG(st.st_mode) && st.st_size > 0 && (st.st_mode & S_IXUSR));
    CHECK(stat("/no/such/posix_stat_program", &st) == -1 && errno == ENOENT);

    int p[2], q[2];
    CHECK(pipe(p) == 0 && pipe(q) == 0);
    CHECK(fstat(p[0], &st) == 0 && fstat(p[1], &st2) == 0);
    CHECK(S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0600);
    CHECK(S_ISFIFO(st2.st_mode) && (st2.st_mode & 0777) == 0600);
    CHECK(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev && st.st_nlink == 1);
    CHECK(st.st_uid == geteuid());
    CHECK(fstat(q[0], &st2) == 0 && st2.st_ino != st.st_ino);

    CHECK(anon_ok(eventfd(0, 0)));
    CHECK(anon_ok(timerfd_create(CLOCK_MONOTONIC, 0)));
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    CHECK(anon_ok(signalfd(-1, &set, 0)));

    char name[64];
    snprintf(name, sizeof name, "/posix_stat_%d", (int)getpid());
    mode_t old = umask(022);
    mqd_t m = mq_open(name, O_CREAT | O_RDWR | O_EXCL, 0664, NULL);
    CHECK(m != (mqd_t)-1);
    CHECK(fstat((int)m, &st) == 0);
    CHECK(S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644 && st.st_uid == geteuid());
    CHECK(mq_close(m) == 0 && mq_unlink(name) == 0);
    umask(old);

#ifndef __linux__
    CHECK(fstat(1, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 0777) == 0620);
    CHECK(fstat(p[0], &st) == 0 && st.st_mtime == 0 && st.st_atime == 0 && st.st_ctime == 0);
#endif
    CHECK(close(q[0]) == 0);
    CHECK(fstat(q[0], &st) == -1 && errno == EBADF);

    if (failures)
        return 1;
    printf("posix_stat: all cases passed\n");
    return 0;
}
