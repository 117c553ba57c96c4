#ifndef _TIME_H
#define _TIME_H
#include <sys/types.h>
struct timespec {
    time_t tv_sec;
    long tv_nsec;
};
struct itimerspec {
    struct timespec it_interval;
    struct timespec it_value;
};
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
/* CPU time: the hardware time the process's threads / the calling
 * thread spent on a CPU, in user mode and in the kernel. */
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_BOOTTIME 7
#define TIMER_ABSTIME 1
int clock_gettime(clockid_t clk, struct timespec *ts);
int clock_settime(clockid_t clk, const struct timespec *ts);
/* The clock's step: the tick period on the virtual clock (it advances a
 * tick at a time while anything runs), 1 ns on the hardware one and on
 * the CPU-time clocks. */
int clock_getres(clockid_t clk, struct timespec *res);
/* The process's CPU time (CLOCK_PROCESS_CPUTIME_ID) in CLOCKS_PER_SEC. */
#define CLOCKS_PER_SEC 1000000L
clock_t clock(void);
double difftime(time_t t1, time_t t0);
int nanosleep(const struct timespec *req, struct timespec *rem);
time_t time(time_t *t);

/* Broken-down time, good enough for printing. There is no time zone
 * database: local time is UTC (tm_gmtoff 0, tm_zone "UTC"). */
struct tm {
    int tm_sec;
    int tm_min;
    int tm_hour;
    int tm_mday;
    int tm_mon;
    int tm_year;
    int tm_wday;
    int tm_yday;
    int tm_isdst;
    long tm_gmtoff;
    const char *tm_zone;
};
struct tm *gmtime_r(const time_t *t, struct tm *out);
struct tm *gmtime(const time_t *t);
struct tm *localtime_r(const time_t *t, struct tm *out);
struct tm *localtime(const time_t *t);
time_t timegm(struct tm *tm);
time_t mktime(struct tm *tm);
/* Conversions: %a %A %b %B %h %c %C %d %D %e %F %H %I %j %m %M %n %p %R
 * %s %S %t %T %u %w %y %Y %z %Z %%; any other is left out and strftime
 * returns 0 (a clear failure, not a silent one). */
size_t strftime(char *s, size_t max, const char *fmt, const struct tm *tm);
/* "Wed Jun 30 21:49:08 1993\n"; ctime is asctime(localtime(t)). */
char *asctime(const struct tm *tm);
char *asctime_r(const struct tm *tm, char *buf);
char *ctime(const time_t *t);
char *ctime_r(const time_t *t, char *buf);
#endif
