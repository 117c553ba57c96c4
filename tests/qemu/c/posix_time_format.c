/* time, gmtime, timegm and strftime, written for Linux (it also builds
 * and passes unchanged with glibc: tests/posix_c_glibc.rs). Only UTC is
 * checked (the testbed has no time zone database: its local time is
 * UTC; localtime is only printed).
 * - gmtime_r of 0, of 2026-01-01 and of a leap day: every field;
 * - timegm inverts it and normalizes out-of-range fields;
 * - strftime: the common conversions, and 0 when the buffer is short;
 * - time() agrees with clock_gettime(CLOCK_REALTIME) and is past
 *   2026-01-01;
 * - asctime(_r) of a known time in C's fixed form, ctime is
 *   asctime(localtime()), difftime;
 * - clock_getres: a positive step no larger than a step the clock is
 *   seen to take, EINVAL for a bad clock. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "posix_check.h"

static int fields(const struct tm *t, int y, int mon, int d, int h, int mi, int s, int wd, int yd)
{
    return t->tm_year == y - 1900 && t->tm_mon == mon - 1 && t->tm_mday == d && t->tm_hour == h &&
           t->tm_min == mi && t->tm_sec == s && t->tm_wday == wd && t->tm_yday == yd;
}

int main(void)
{
    struct tm tm;
    time_t t = 0;
    CHECK(gmtime_r(&t, &tm) == &tm);
    CHECK(fields(&tm, 1970, 1, 1, 0, 0, 0, 4, 0));
    t = 1767225600; /* 2026-01-01 00:00:00 UTC, a Thursday */
    CHECK(fields(gmtime_r(&t, &tm), 2026, 1, 1, 0, 0, 0, 4, 0));
    t = 951782400 + 3 * 3600 + 4 * 60 + 5; /* 2000-02-29 03:04:05, a Tuesday */
    CHECK(fields(gmtime_r(&t, &tm), 2000, 2, 29, 3, 4, 5, 2, 59));
    t = -1; /* 1969-12-31 23:59:59, a Wednesday */
    CHECK(fields(gmtime_r(&t, &tm), 1969, 12, 31, 23, 59, 59, 3, 364));
    t = 1798761599; /* 2026-12-31 23:59:59 */
    CHECK(fields(gmtime(&t), 2026, 12, 31, 23, 59, 59, 4, 364));

    t = 951782400 + 3 * 3600 + 4 * 60 + 5;
    gmtime_r(&t, &tm);
    CHECK(timegm(&tm) == t);
    struct tm n = {.tm_year = 2025 - 1900, .tm_mon = 12, .tm_mday = 32, .tm_hour = 25};
    CHECK(timegm(&n) == 1767225600 + 32 * 86400 + 3600);
    CHECK(fields(&n, 2026, 2, 2, 1, 0, 0, 1, 32));

    char buf[128];
    t = 951782400 + 15 * 3600 + 4 * 60 + 5;
    gmtime_r(&t, &tm);
    CHECK(strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 19);
    CHECK(strcmp(buf, "2000-02-29 15:04:05") == 0);
    CHECK(strftime(buf, sizeof buf, "%a %A %b %B %h|%e|%j|%y|%C|%u|%w", &tm) > 0);
    CHECK(strcmp(buf, "Tue Tuesday Feb February Feb|29|060|00|20|2|2") == 0);
    CHECK(strftime(buf, sizeof buf, "%F %T %D %R %I %p %%", &tm) > 0);
    CHECK(strcmp(buf, "2000-02-29 15:04:05 02/29/00 15:04 03 PM %") == 0);
    CHECK(strftime(buf, sizeof buf, "%c", &tm) > 0);
    CHECK(strcmp(buf, "Tue Feb 29 15:04:05 2000") == 0);
    CHECK(strftime(buf, sizeof buf, "%s", &tm) > 0 && strcmp(buf, "951836645") == 0);
    CHECK(strftime(buf, 5, "%Y-%m", &tm) == 0);

    struct timespec ts;
    CHECK(clock_gettime(CLOCK_REALTIME, &ts) == 0);
    time_t now = time(NULL), also;
    CHECK(time(&also) >= now && also >= now);
    CHECK(now >= 1767225600 && now - ts.tv_sec >= 0 && now - ts.tv_sec <= 2);
    CHECK(localtime_r(&now, &tm) == &tm);
    CHECK(strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm) == 19);
    printf("# local time now: %s\n", buf);

    t = 951782400 + 15 * 3600 + 4 * 60 + 5;
    gmtime_r(&t, &tm);
    CHECK(strcmp(asctime(&tm), "Tue Feb 29 15:04:05 2000\n") == 0);
    char abuf[26], cbuf[26];
    CHECK(asctime_r(&tm, abuf) == abuf && strcmp(abuf, "Tue Feb 29 15:04:05 2000\n") == 0);
    t = 1767225600 + 9 * 86400 + 7 * 3600 + 5; /* 2026-01-10 07:00:05, a Saturday */
    CHECK(strcmp(asctime(gmtime(&t)), "Sat Jan 10 07:00:05 2026\n") == 0);
    CHECK(ctime_r(&t, cbuf) == cbuf && strcmp(cbuf, asctime_r(localtime_r(&t, &tm), abuf)) == 0);
    CHECK(strcmp(ctime(&t), cbuf) == 0);
    CHECK(difftime(t, t - 90) == 90.0 && difftime(t - 90, t) == -90.0);

    struct timespec res, a, b;
    CHECK(clock_getres(CLOCK_REALTIME, NULL) == 0);
    CHECK(clock_getres(-5, &res) == -1 && errno == EINVAL);
    clockid_t clocks[2] = {CLOCK_MONOTONIC, CLOCK_REALTIME};
    for (int i = 0; i < 2; i++) {
        CHECK(clock_getres(clocks[i], &res) == 0);
        long long res_ns = res.tv_sec * 1000000000LL + res.tv_nsec;
        CHECK(res_ns > 0 && res_ns <= 1000000000LL);
        /* Spin until the clock moves twice: its second step starts at a
         * step boundary, so it is at least the resolution. */
        clock_gettime(clocks[i], &a);
        do
            clock_gettime(clocks[i], &b);
        while (b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec);
        a = b;
        do
            clock_gettime(clocks[i], &b);
        while (b.tv_sec == a.tv_sec && b.tv_nsec == a.tv_nsec);
        long long step = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
        CHECK(step >= res_ns);
        printf("# clock %d: resolution %lld ns, a step of %lld ns\n", clocks[i], res_ns, step);
    }
    if (failures)
        return 1;
    printf("posix_time_format: all cases passed\n");
    return 0;
}
