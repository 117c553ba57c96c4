/* Shared by the testbed's C programs: CHECK(cond) reports a false cond
 * with its line and errno and counts it in `failures`, which each program
 * turns into its exit status. */
#ifndef RB_TESTBED_CHECK_H
#define RB_TESTBED_CHECK_H
#include <errno.h>
#include <stdio.h>

static int failures;
#define CHECK(cond)                                                                \
    do {                                                                           \
        if (!(cond)) {                                                             \
            printf("check failed: %s (line %d, errno %d)\n", #cond, __LINE__, errno); \
            failures++;                                                            \
        }                                                                          \
    } while (0)

#endif
