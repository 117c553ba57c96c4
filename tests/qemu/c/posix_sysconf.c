/* sysconf, the <unistd.h> option macros, <limits.h> and <sys/stat.h>
 * names a Linux program uses, written for Linux (it also builds and
 * passes unchanged with glibc: tests/posix_c_glibc.rs). Only what both
 * systems answer alike is checked; an unknown name is EINVAL. */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/stat.h>
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
    errno = 0;
    CHECK(sysconf(-1) == -1 && errno == EINVAL);
    CHECK(NAME_MAX == 255 && PATH_MAX == 4096);
    CHECK(INT_MAX == 2147483647);
    CHECK(S_IRWXU == 0700 && (S_IRUSR | S_IWUSR | S_IXUSR) == S_IRWXU);
    CHECK(S_IRWXG == 070 && S_IRWXO == 07 && S_IFMT == 0170000);
    if (failures == 0)
        printf("sysconf and limits: all cases passed\n");
    return failures != 0;
}
