/* gmtime/localtime (UTC: there is no time zone database), timegm/mktime
 * and a strftime for printing. Days from the civil date follow the
 * proleptic Gregorian calendar (Howard Hinnant's days_from_civil). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const wday_name[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                         "Thursday", "Friday", "Saturday"};
static const char *const mon_name[12] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};

static long long days_from_civil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

struct tm *gmtime_r(const time_t *t, struct tm *out)
{
    long long s = *t;
    long long days = s / 86400;
    long long rem = s % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    out->tm_hour = (int)(rem / 3600);
    out->tm_min = (int)(rem / 60 % 60);
    out->tm_sec = (int)(rem % 60);
    out->tm_wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    long long z = days + 719468;
    long long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = (long long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    out->tm_year = (int)(y - 1900);
    out->tm_mon = (int)m - 1;
    out->tm_mday = (int)d;
    out->tm_yday = (int)(days - days_from_civil(y, 1, 1));
    out->tm_isdst = 0;
    out->tm_gmtoff = 0;
    out->tm_zone = "UTC";
    return out;
}

static struct tm shared_tm;

struct tm *gmtime(const time_t *t) { return gmtime_r(t, &shared_tm); }
struct tm *localtime_r(const time_t *t, struct tm *out) { return gmtime_r(t, out); }
struct tm *localtime(const time_t *t) { return gmtime_r(t, &shared_tm); }

/* Normalizes the fields (a tm_mday of 32 is the next month's first...). */
time_t timegm(struct tm *tm)
{
    long long mon = tm->tm_mon;
    long long y = (long long)tm->tm_year + 1900 + mon / 12;
    mon %= 12;
    if (mon < 0) {
        mon += 12;
        y--;
    }
    long long days = days_from_civil(y, (unsigned)mon + 1, 1) + tm->tm_mday - 1;
    long long s = days * 86400 + (long long)tm->tm_hour * 3600 + (long long)tm->tm_min * 60 +
                  tm->tm_sec;
    time_t t = (time_t)s;
    gmtime_r(&t, tm);
    return t;
}

time_t mktime(struct tm *tm) { return timegm(tm); }

size_t strftime(char *s, size_t max, const char *fmt, const struct tm *tm)
{
    size_t n = 0;
    char buf[64];
    for (const char *f = fmt; *f; f++) {
        const char *piece = buf;
        if (*f != '%') {
            buf[0] = *f;
            buf[1] = 0;
        } else {
            f++;
            int h12 = tm->tm_hour % 12 ? tm->tm_hour % 12 : 12;
            long long year = (long long)tm->tm_year + 1900;
            switch (*f) {
            case 'a': snprintf(buf, sizeof buf, "%.3s", wday_name[tm->tm_wday % 7]); break;
            case 'A': piece = wday_name[tm->tm_wday % 7]; break;
            case 'b':
            case 'h': snprintf(buf, sizeof buf, "%.3s", mon_name[tm->tm_mon % 12]); break;
            case 'B': piece = mon_name[tm->tm_mon % 12]; break;
            case 'c':
                snprintf(buf, sizeof buf, "%.3s %.3s %2d %02d:%02d:%02d %lld",
                         wday_name[tm->tm_wday % 7], mon_name[tm->tm_mon % 12], tm->tm_mday,
                         tm->tm_hour, tm->tm_min, tm->tm_sec, year);
                break;
            case 'C': snprintf(buf, sizeof buf, "%02lld", year / 100); break;
            case 'd': snprintf(buf, sizeof buf, "%02d", tm->tm_mday); break;
            case 'D':
                snprintf(buf, sizeof buf, "%02d/%02d/%02lld", tm->tm_mon + 1, tm->tm_mday,
                         year % 100);
                break;
            case 'e': snprintf(buf, sizeof buf, "%2d", tm->tm_mday); break;
            case 'F':
                snprintf(buf, sizeof buf, "%lld-%02d-%02d", year, tm->tm_mon + 1, tm->tm_mday);
                break;
            case 'H': snprintf(buf, sizeof buf, "%02d", tm->tm_hour); break;
            case 'I': snprintf(buf, sizeof buf, "%02d", h12); break;
            case 'j': snprintf(buf, sizeof buf, "%03d", tm->tm_yday + 1); break;
            case 'm': snprintf(buf, sizeof buf, "%02d", tm->tm_mon + 1); break;
            case 'M': snprintf(buf, sizeof buf, "%02d", tm->tm_min); break;
            case 'n': piece = "\n"; break;
            case 'p': piece = tm->tm_hour < 12 ? "AM" : "PM"; break;
            case 'R': snprintf(buf, sizeof buf, "%02d:%02d", tm->tm_hour, tm->tm_min); break;
            case 's': {
                struct tm c = *tm;
                snprintf(buf, sizeof buf, "%lld", (long long)timegm(&c));
                break;
            }
            case 'S': snprintf(buf, sizeof buf, "%02d", tm->tm_sec); break;
            case 't': piece = "\t"; break;
            case 'T':
                snprintf(buf, sizeof buf, "%02d:%02d:%02d", tm->tm_hour, tm->tm_min, tm->tm_sec);
                break;
            case 'u': snprintf(buf, sizeof buf, "%d", tm->tm_wday ? tm->tm_wday : 7); break;
            case 'w': snprintf(buf, sizeof buf, "%d", tm->tm_wday); break;
            case 'y': snprintf(buf, sizeof buf, "%02lld", year % 100); break;
            case 'Y': snprintf(buf, sizeof buf, "%lld", year); break;
            case 'z': piece = "+0000"; break;
            case 'Z': piece = "UTC"; break;
            case '%': piece = "%"; break;
            default: return 0;
            }
        }
        size_t len = strlen(piece);
        if (n + len >= max)
            return 0;
        memcpy(s + n, piece, len);
        n += len;
    }
    if (n >= max)
        return 0;
    s[n] = 0;
    return n;
}

/* asctime's fixed form, "Wed Jun 30 21:49:08 1993\n" (C's and glibc's). */
char *asctime_r(const struct tm *tm, char *buf)
{
    if (tm->tm_wday < 0 || tm->tm_wday > 6 || tm->tm_mon < 0 || tm->tm_mon > 11) {
        errno = EINVAL;
        return 0;
    }
    if (tm->tm_year > 9999 - 1900) {
        errno = EOVERFLOW;
        return 0;
    }
    snprintf(buf, 26, "%.3s %.3s%3d %.2d:%.2d:%.2d %d\n", wday_name[tm->tm_wday], mon_name[tm->tm_mon],
             tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, tm->tm_year + 1900);
    return buf;
}

static char shared_asc[26];

char *asctime(const struct tm *tm) { return asctime_r(tm, shared_asc); }

char *ctime_r(const time_t *t, char *buf)
{
    struct tm tm;
    return asctime_r(localtime_r(t, &tm), buf);
}

char *ctime(const time_t *t) { return asctime(localtime(t)); }

double difftime(time_t t1, time_t t0) { return (double)(t1 - t0); }
