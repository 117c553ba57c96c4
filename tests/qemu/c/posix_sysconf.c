/* sysconf, the <unistd.h> option macros, <features.h>'s default
 * _POSIX_C_SOURCE, <limits.h>, <sys/stat.h>'s mode bits and S_IS* tests
 * and <sys/time.h>'s timeval helpers a Linux program uses, written for
 * Linux (it also builds and passes unchanged with glibc:
 * tests/posix_c_glibc.rs). Only what both systems answer alike is
 * checked; an unknown name is EINVAL. */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <unistd.h>

#include "posix_check.h"

int main(void)
{
    CHECK(sysconf(_SC_PAGESIZE) == 4096);
    CHECK(sysconf(_SC_PAGE_SIZE) == 4096);
    CHECK(sysconf(_SC_CLK_TCK) == 100);
    CHECK(sysconf(_SC_OPEN_MAX) >= 256);
    CHECK(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
    CHECK(sysconf(_SC_SEM_VALUE_MAX) == SEM_VALUE_MAX);
    CHECK(sysconf(_SC_SEM_NSEMS_MAX) == -1 || sysconf(_SC_SEM_NSEMS_MAX) >= 256);
    CHECK(sysconf(_SC_RTSIG_MAX) >= 8); /* POSIX's minimum */
    CHECK(sysconf(_SC_SEMAPHORES) == 200809L && _POSIX_SEMAPHORES == 200809L);
    CHECK(sysconf(_SC_THREADS) == 200809L && _POSIX_THREADS == 200809L);
    CHECK(sysconf(_SC_TIMEOUTS) == 200809L && _POSIX_TIMEOUTS == 200809L);
    CHECK(sysconf(_SC_REALTIME_SIGNALS) == 200809L && _POSIX_REALTIME_SIGNALS == 200809L);
    CHECK(sysconf(_SC_VERSION) == _POSIX_VERSION);
    CHECK(sysconf(_SC_MESSAGE_PASSING) == 200809L && _POSIX_MESSAGE_PASSING == 200809L);
    CHECK(sysconf(_SC_MQ_PRIO_MAX) == MQ_PRIO_MAX && MQ_PRIO_MAX == 32768);
    CHECK(sysconf(_SC_THREAD_ATTR_STACKSIZE) == 200809L && _POSIX_THREAD_ATTR_STACKSIZE == 200809L);
    CHECK(sysconf(_SC_THREAD_KEYS_MAX) >= 128 && PTHREAD_KEYS_MAX >= 128);
    CHECK(sysconf(_SC_THREAD_STACK_MIN) == PTHREAD_STACK_MIN);
    CHECK(sysconf(_SC_THREAD_DESTRUCTOR_ITERATIONS) >= 4);
    CHECK(sysconf(_SC_ARG_MAX) >= 4096); /* POSIX's minimum */
#if !defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 200809L
    CHECK(!"_POSIX_C_SOURCE is 200809L by default");
#endif
    errno = 0;
    CHECK(sysconf(-1) == -1 && errno == EINVAL);
    CHECK(NAME_MAX == 255 && PATH_MAX == 4096);
    CHECK(INT_MAX == 2147483647);
    CHECK(S_IRWXU == 0700 && (S_IRUSR | S_IWUSR | S_IXUSR) == S_IRWXU);
    CHECK(S_IRWXG == 070 && S_IRWXO == 07 && S_IFMT == 0170000);
    CHECK(S_ISREG(S_IFREG | 0644) && !S_ISREG(S_IFDIR) && S_ISDIR(S_IFDIR | 0755));
    CHECK(S_ISFIFO(S_IFIFO) && S_ISCHR(S_IFCHR) && S_ISBLK(S_IFBLK) && !S_ISBLK(S_IFCHR));
    CHECK(S_ISLNK(S_IFLNK) && S_ISSOCK(S_IFSOCK) && !S_ISLNK(S_IFREG));
    CHECK(sizeof(dev_t) == 8 && sizeof(ino_t) == 8 && sizeof(id_t) == 4 && sizeof(clock_t) == 8);
    CHECK(SSIZE_MAX == 0x7fffffffffffffffL);
    struct timeval a = {1, 700000}, b = {2, 600000}, r;
    timeradd(&a, &b, &r);
    CHECK(r.tv_sec == 4 && r.tv_usec == 300000);
    timersub(&b, &a, &r);
    CHECK(r.tv_sec == 0 && r.tv_usec == 900000);
    CHECK(timercmp(&a, &b, <) && !timercmp(&a, &b, >) && timerisset(&a));
    timerclear(&r);
    CHECK(!timerisset(&r));
    if (failures == 0)
        printf("sysconf and limits: all cases passed\n");
    return failures != 0;
}
