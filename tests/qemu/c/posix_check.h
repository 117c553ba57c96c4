/* The check macro of the posix_*.c programs (Linux programs: they build
 * with glibc too). A failed check prints its line and is counted; main
 * returns nonzero if any failed. */
#ifndef POSIX_CHECK_H
#define POSIX_CHECK_H
#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                                        \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#endif
