/* Shared by the shim's C tests: CHECK(cond) exits 1 with the line and
 * errno if cond is false; CHECK_ERR(call, e) checks -1 and errno. */
#ifndef RB_CHECK_H
#define RB_CHECK_H
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d %s)\n", __FILE__, __LINE__, \
                    #cond, errno, strerror(errno));                                       \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define CHECK_ERR(call, e)                                                                 \
    do {                                                                                   \
        errno = 0;                                                                         \
        long rb_r_ = (long)(call);                                                         \
        if (rb_r_ != -1 || errno != (e)) {                                                 \
            fprintf(stderr, "%s:%d: %s: got %ld errno %d (%s), want -1 errno %d (%s)\n",   \
                    __FILE__, __LINE__, #call, rb_r_, errno, strerror(errno), (e),         \
                    strerror(e));                                                          \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

/* sem_open-style calls that fail with a null pointer. */
#define CHECK_NULL_ERR(call, e)                                                           \
    do {                                                                                  \
        errno = 0;                                                                        \
        void *rb_p_ = (void *)(call);                                                     \
        if (rb_p_ != NULL || errno != (e)) {                                              \
            fprintf(stderr, "%s:%d: %s: got %p errno %d (%s), want NULL errno %d (%s)\n", \
                    __FILE__, __LINE__, #call, rb_p_, errno, strerror(errno), (e),        \
                    strerror(e));                                                         \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)
#endif
