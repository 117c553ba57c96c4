/* Anonymous mmap and munmap, written for Linux (it also builds and passes
 * unchanged with glibc: tests/posix_c_glibc.rs).
 * - a private mapping is zeroed and writable; munmap of one page of it
 *   leaves the others, and an access to the removed page kills the
 *   process with SIGSEGV (checked in a forked child);
 * - munmap of a page that is not mapped succeeds; an unaligned address
 *   and a zero length are EINVAL, and change nothing;
 * - munmap of the whole mapping removes every page of it;
 * - on the testbed, which maps read-write only, another prot is ENOTSUP
 *   (Linux maps it). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"

#define PAGE 4096UL

static int dies_of_segv(volatile unsigned char *p)
{
    pid_t pid = fork();
    if (pid == 0) {
        p[0] = 1;
        _exit(0);
    }
    int st = 0;
    return waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
}

int main(void)
{
    unsigned char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    if (p == MAP_FAILED)
        return 1;
    CHECK(p[0] == 0 && p[3 * PAGE - 1] == 0);
    memset(p, 0x5a, 3 * PAGE);

    CHECK(munmap(p + PAGE, PAGE) == 0);
    CHECK(p[0] == 0x5a && p[2 * PAGE] == 0x5a);
    CHECK(dies_of_segv(p + PAGE));
    /* The page is gone: removing it again is not an error. */
    CHECK(munmap(p + PAGE, PAGE) == 0);

    errno = 0;
    CHECK(munmap(p + 1, PAGE) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(munmap(p, 0) == -1 && errno == EINVAL);
    CHECK(p[0] == 0x5a);

    CHECK(munmap(p, 3 * PAGE) == 0);
    CHECK(dies_of_segv(p));
#if !defined(__linux__) && !defined(__redox__)
    errno = 0;
    CHECK(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == ENOTSUP);
    errno = 0;
    CHECK(mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED && errno == ENOTSUP);
#endif
    CHECK(dies_of_segv(p + 2 * PAGE));

    if (failures)
        return 1;
    printf("posix_mmap: all cases passed\n");
    return 0;
}
