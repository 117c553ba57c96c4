/* <stdio.h>: a small printf family (flags - 0 + space #, width, precision,
 * * for both, length hh h l ll z j t, conversions d i u x X o c s p %). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syscall.h"

struct __tb_file {
    int fd;
};
static FILE out = {1}, err = {2};
FILE *stdout = &out;
FILE *stderr = &err;

struct sink {
    char *buf;
    size_t cap; /* bytes that may be stored (excluding the terminator) */
    size_t len; /* bytes produced */
    int console;
    char tmp[256];
    size_t tmp_len;
};

static void flush(struct sink *s)
{
    if (s->console && s->tmp_len) {
        tb_sys2(TB_CONSOLE_WRITE, s->tmp, s->tmp_len);
        s->tmp_len = 0;
    }
}

static void put(struct sink *s, char c)
{
    if (s->console) {
        if (s->tmp_len == sizeof s->tmp)
            flush(s);
        s->tmp[s->tmp_len++] = c;
    } else if (s->len < s->cap) {
        s->buf[s->len] = c;
    }
    s->len++;
}

static void put_n(struct sink *s, char c, int n)
{
    while (n-- > 0)
        put(s, c);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(s, *fmt);
            continue;
        }
        fmt++;
        int left = 0, zero = 0, plus = 0, space = 0, alt = 0;
        for (;; fmt++) {
            if (*fmt == '-')
                left = 1;
            else if (*fmt == '0')
                zero = 1;
            else if (*fmt == '+')
                plus = 1;
            else if (*fmt == ' ')
                space = 1;
            else if (*fmt == '#')
                alt = 1;
            else
                break;
        }
        int width = 0, prec = -1;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = 1;
                width = -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    prec = prec * 10 + (*fmt++ - '0');
            }
        }
        int lng = 0; /* 0 int, 1 long, 2 long long, -1 short, -2 char */
        for (;; fmt++) {
            if (*fmt == 'l')
                lng++;
            else if (*fmt == 'h')
                lng--;
            else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
                lng = 2;
            else
                break;
        }
        char c = *fmt;
        if (!c)
            break;
        if (c == '%') {
            put(s, '%');
            continue;
        }
        if (c == 'c') {
            if (!left)
                put_n(s, ' ', width - 1);
            put(s, (char)va_arg(ap, int));
            if (left)
                put_n(s, ' ', width - 1);
            continue;
        }
        if (c == 's') {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = (int)strnlen(str, prec < 0 ? (size_t)-1 : (size_t)prec);
            if (!left)
                put_n(s, ' ', width - n);
            for (int i = 0; i < n; i++)
                put(s, str[i]);
            if (left)
                put_n(s, ' ', width - n);
            continue;
        }
        unsigned long long v;
        int neg = 0, base = 10, upper = 0;
        if (c == 'd' || c == 'i') {
            long long x;
            if (lng >= 2)
                x = va_arg(ap, long long);
            else if (lng == 1)
                x = va_arg(ap, long);
            else
                x = va_arg(ap, int);
            if (lng == -1)
                x = (short)x;
            if (lng <= -2)
                x = (signed char)x;
            neg = x < 0;
            v = neg ? 0ULL - (unsigned long long)x : (unsigned long long)x;
        } else if (c == 'u' || c == 'x' || c == 'X' || c == 'o' || c == 'p') {
            if (c == 'p') {
                v = (uintptr_t)va_arg(ap, void *);
                alt = 1;
            } else if (lng >= 2) {
                v = va_arg(ap, unsigned long long);
            } else if (lng == 1) {
                v = va_arg(ap, unsigned long);
            } else {
                v = va_arg(ap, unsigned int);
            }
            if (lng == -1 && c != 'p')
                v = (unsigned short)v;
            if (lng <= -2 && c != 'p')
                v = (unsigned char)v;
            base = (c == 'o') ? 8 : (c == 'u') ? 10 : 16;
            upper = c == 'X';
        } else {
            put(s, '%');
            put(s, c);
            continue;
        }
        char digits[24];
        int nd = 0;
        const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
        while (v) {
            digits[nd++] = set[v % (unsigned)base];
            v /= (unsigned)base;
        }
        if (nd == 0 && prec != 0)
            digits[nd++] = '0';
        char sign = neg ? '-' : plus ? '+' : space ? ' ' : 0;
        const char *prefix = (alt && base == 16) ? (upper ? "0X" : "0x") : (alt && base == 8) ? "0" : "";
        int zeros = prec > nd ? prec - nd : 0;
        int total = nd + zeros + (sign ? 1 : 0) + (int)strlen(prefix);
        if (zero && !left && prec < 0 && width > total) {
            zeros += width - total;
            total = width;
        }
        if (!left)
            put_n(s, ' ', width - total);
        if (sign)
            put(s, sign);
        for (const char *p = prefix; *p; p++)
            put(s, *p);
        put_n(s, '0', zeros);
        while (nd)
            put(s, digits[--nd]);
        if (left)
            put_n(s, ' ', width - total);
    }
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct sink s = {buf, n ? n - 1 : 0, 0, 0, {0}, 0};
    format(&s, fmt, ap);
    if (n)
        buf[s.len < n - 1 ? s.len : n - 1] = 0;
    return (int)s.len;
}

int vsprintf(char *buf, const char *fmt, va_list ap) { return vsnprintf(buf, (size_t)1 << 30, fmt, ap); }

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    (void)f;
    struct sink s = {0, 0, 0, 1, {0}, 0};
    format(&s, fmt, ap);
    flush(&s);
    return (int)s.len;
}

int vprintf(const char *fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vprintf(fmt, ap);
    va_end(ap);
    return r;
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsprintf(buf, fmt, ap);
    va_end(ap);
    return r;
}

int fputs(const char *str, FILE *f)
{
    (void)f;
    tb_sys2(TB_CONSOLE_WRITE, str, strlen(str));
    return 0;
}

int puts(const char *str)
{
    printf("%s\n", str);
    return 0;
}

int fputc(int c, FILE *f)
{
    char ch = (char)c;
    (void)f;
    tb_sys2(TB_CONSOLE_WRITE, &ch, 1);
    return (unsigned char)c;
}

int putchar(int c) { return fputc(c, stdout); }

int fflush(FILE *f)
{
    (void)f;
    return 0;
}

void perror(const char *msg)
{
    int e = errno;
    if (msg && *msg)
        fprintf(stderr, "%s: %s\n", msg, strerror(e));
    else
        fprintf(stderr, "%s\n", strerror(e));
}

/* <assert.h> */
void __assert_fail(const char *expr, const char *file, unsigned int line, const char *func)
{
    printf("assertion failed: %s (%s:%u, %s)\n", expr, file, line, func);
    exit(134);
}
