#ifndef _SYS_TIME_H
#define _SYS_TIME_H
#include <sys/types.h>
#include <time.h>
struct timeval {
    time_t tv_sec;
    suseconds_t tv_usec;
};
struct itimerval {
    struct timeval it_interval;
    struct timeval it_value;
};
/* Only ITIMER_REAL (SIGALRM); the others are EINVAL. */
#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2
int setitimer(int which, const struct itimerval *value, struct itimerval *old);
int getitimer(int which, struct itimerval *value);
int gettimeofday(struct timeval *tv, void *tz);
/* The BSD timeval helpers (glibc's, under _DEFAULT_SOURCE). */
#define timerisset(t) ((t)->tv_sec || (t)->tv_usec)
#define timerclear(t) ((t)->tv_sec = (t)->tv_usec = 0)
#define timercmp(a, b, CMP)                                                                \
    (((a)->tv_sec == (b)->tv_sec) ? ((a)->tv_usec CMP(b)->tv_usec) : ((a)->tv_sec CMP(b)->tv_sec))
#define timeradd(a, b, r)                                                                  \
    do {                                                                                   \
        (r)->tv_sec = (a)->tv_sec + (b)->tv_sec;                                           \
        (r)->tv_usec = (a)->tv_usec + (b)->tv_usec;                                        \
        if ((r)->tv_usec >= 1000000) {                                                     \
            ++(r)->tv_sec;                                                                 \
            (r)->tv_usec -= 1000000;                                                       \
        }                                                                                  \
    } while (0)
#define timersub(a, b, r)                                                                  \
    do {                                                                                   \
        (r)->tv_sec = (a)->tv_sec - (b)->tv_sec;                                           \
        (r)->tv_usec = (a)->tv_usec - (b)->tv_usec;                                        \
        if ((r)->tv_usec < 0) {                                                            \
            --(r)->tv_sec;                                                                 \
            (r)->tv_usec += 1000000;                                                       \
        }                                                                                  \
    } while (0)
#endif
