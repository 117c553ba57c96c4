/* Bad pointers in every pointer argument of the shim's C API: NULL, a low
 * address (8), an object ending at the end of the user address space, and
 * one that straddles from a mapped page into an unmapped one.
 *
 * Where glibc hands the pointer to the kernel (timerfd_*, signalfd,
 * eventfd_read) the shim does too: -1/EFAULT and nothing changes (timer
 * setting, signal mask, counter, fd table, the mapped half of a straddling
 * buffer). sem_init's kernel writes the sem_t, so it is EFAULT here too.
 * Where the C library itself must touch the memory (a sem_t on the fast
 * path, a deadline it checks first, a name it measures, sem_getvalue's
 * out-value), the process dies of SIGSEGV, as with glibc; each such case
 * runs in a child. NULL there is the shim's EINVAL (glibc dies).
 * sem_destroy and sem_close read nothing: 0 and EINVAL, as glibc.
 *
 * Also compiles and passes on Linux/glibc (cc -pthread shim_efault.c),
 * where two Linux facts differ (measured on 6.x): a bad `old` of
 * timerfd_settime still sets the timer, and a bad eventfd_read buffer can
 * lose the counter; there the program checks only the errno of those. */
#define _GNU_SOURCE /* glibc's sem_clockwait */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#else
#include <testbed.h>
#endif

#include "page_hole.h"
#define FILL 0xa5

/* The last page of user space: below x86_64's canonical hole (Linux and
 * the testbed), aarch64 Linux's 48-bit top, the testbed's 39-bit one. */
#if defined(__x86_64__)
#define TOP_END 0x800000000000UL
#elif defined(__linux__)
#define TOP_END 0x1000000000000UL
#else
#define TOP_END (1UL << 39)
#endif

enum { K_NULL, K_LOW, K_TOP, K_STRADDLE, KINDS };
static const char *const kind_name[KINDS] = {"NULL", "8", "last page", "straddle"};

/* Expected outcomes: an errno (-1 returned), OK (0 returned), DIES. */
#define OK 0
#define DIES (-1)
#if defined(__GLIBC__)
#define SHIM_OR_GLIBC(shim, glibc) (glibc)
#else
#define SHIM_OR_GLIBC(shim, glibc) (shim)
#endif
#ifdef __linux__
#define LINUX 1
#else
#define LINUX 0
#endif

/* A mapped page followed by an unmapped one. */
static unsigned char *page;
/* Set by a case when something it must leave alone changed. */
static const char *changed;


/* The bad pointer of `kind` for an object of `len` bytes: the straddling
 * one has its first half in the mapped page. */
static void *bad_ptr(int kind, unsigned long len, unsigned long align)
{
    switch (kind) {
    case K_NULL:
        return NULL;
    case K_LOW:
        return (void *)8;
    case K_TOP:
        return (void *)(TOP_END - len);
    default:
        return page + ((PAGE - len / 2) & ~(align - 1));
    }
}

/* The mapped bytes of a straddling buffer must stay as filled. */
static void fill_page(void) { memset(page, FILL, PAGE); }
static void check_fill(const char *what)
{
    for (unsigned long i = 0; i < PAGE; i++)
        if (page[i] != FILL) {
            changed = what;
            return;
        }
}

/* ---- the cases: each makes the call with `p` and returns its errno (0
 * for success); state checks set `changed` ---------------------------- */

static int result(long r) { return r == -1 ? errno : (r == 0 ? OK : 1000); }

static int armed_timer(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec set = {{7, 0}, {100, 0}};
    if (fd < 0 || timerfd_settime(fd, 0, &set, NULL) != 0)
        changed = "setup";
    return fd;
}

/* The timer has period `period` s and has not expired yet (7 s: still
 * the setting armed_timer made). */
static void check_timer(int fd, long period, const char *what)
{
    struct itimerspec cur;
    if (timerfd_gettime(fd, &cur) != 0 || cur.it_interval.tv_sec != period || cur.it_interval.tv_nsec != 0 ||
        cur.it_value.tv_sec < 50)
        changed = what;
    close(fd);
}

static int c_settime_new(void *p)
{
    int fd = armed_timer();
    int e = result(timerfd_settime(fd, 0, p, NULL));
    check_timer(fd, 7, "timer setting");
    return e;
}

static int c_settime_old(void *p)
{
    int fd = armed_timer();
    struct itimerspec other = {{3, 0}, {200, 0}};
    int e = result(timerfd_settime(fd, 0, &other, p));
    if (e == OK)
        check_timer(fd, 3, "timer setting"); /* NULL old: set */
    else if (!LINUX)
        check_timer(fd, 7, "timer setting");
    else
        close(fd); /* Linux sets the timer, then fails to write old */
    return e;
}

static int c_gettime(void *p)
{
    int fd = armed_timer();
    int e = result(timerfd_gettime(fd, p));
    check_timer(fd, 7, "timer setting");
    return e;
}

static int lowest_free_fd(void)
{
    int fd = eventfd(0, 0);
    close(fd);
    return fd;
}

static int c_signalfd_new(void *p)
{
    int before = lowest_free_fd();
    int r = signalfd(-1, p, SFD_NONBLOCK);
    int e = result(r < 0 ? -1 : 0);
    if (r >= 0)
        close(r);
    else if (lowest_free_fd() != before)
        changed = "fd table";
    return e;
}

static int c_signalfd_update(void *p)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    int fd = signalfd(-1, &usr1, SFD_NONBLOCK);
    int e = result(signalfd(fd, p, 0) < 0 ? -1 : 0);
    /* The mask still has SIGUSR1: a pending one is read. */
    kill(getpid(), SIGUSR1);
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != sizeof si || si.ssi_signo != SIGUSR1)
        changed = "signal mask";
    close(fd);
    return e;
}

static int c_eventfd_read(void *p)
{
    int fd = eventfd(5, EFD_NONBLOCK);
    int e = result(eventfd_read(fd, p));
    eventfd_t v = 0;
    if (!LINUX && (eventfd_read(fd, &v) != 0 || v != 5))
        changed = "counter";
    close(fd);
    return e;
}

static int c_sem_init(void *p) { return result(sem_init(p, 0, 1)); }
static int c_sem_destroy(void *p) { return result(sem_destroy(p)); }
static int c_sem_post(void *p) { return result(sem_post(p)); }
static int c_sem_wait(void *p) { return result(sem_wait(p)); }
static int c_sem_trywait(void *p) { return result(sem_trywait(p)); }
static int c_sem_close(void *p) { return result(sem_close(p)); }

static int c_sem_getvalue_sem(void *p)
{
    int v;
    return result(sem_getvalue(p, &v));
}

static struct timespec soon(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    return ts;
}

static int c_sem_timedwait_sem(void *p)
{
    struct timespec ts = soon();
    return result(sem_timedwait(p, &ts));
}

static int c_sem_clockwait_sem(void *p)
{
    struct timespec ts = soon();
    return result(sem_clockwait(p, CLOCK_REALTIME, &ts));
}

static sem_t one;

static int c_sem_getvalue_sval(void *p) { return result(sem_getvalue(&one, p)); }
static int c_sem_timedwait_ts(void *p) { return result(sem_timedwait(&one, p)); }
static int c_sem_clockwait_ts(void *p) { return result(sem_clockwait(&one, CLOCK_MONOTONIC, p)); }

/* A straddling name: "/abc" up to the end of the page, no NUL. */
static void *name_ptr(void *p)
{
    if (p == NULL || (unsigned char *)p < page || (unsigned char *)p >= page + PAGE)
        return p;
    memcpy(page + PAGE - 4, "/abc", 4);
    return page + PAGE - 4;
}

static int c_sem_open(void *p)
{
    sem_t *s = sem_open(name_ptr(p), 0);
    return s == SEM_FAILED ? errno : OK;
}

static int c_sem_unlink(void *p) { return result(sem_unlink(name_ptr(p))); }

struct arg_case {
    const char *name;
    int (*call)(void *p);
    unsigned long len, align;
    /* Per kind: NULL, 8, last page, straddle. */
    int expect[KINDS];
    /* The straddle's mapped half must be left as it was. */
    int keeps_fill;
};

/* sem_t pointers: NULL is the shim's EINVAL (glibc dies); glibc reads
 * only the first 8 bytes of a sem_t for trywait and getvalue, so a
 * straddle at 8 returns there. */
#define SEM_NULL SHIM_OR_GLIBC(EINVAL, DIES)
static const struct arg_case cases[] = {
    {"timerfd_settime(new)", c_settime_new, 32, 8, {EFAULT, EFAULT, EFAULT, EFAULT}, 1},
    {"timerfd_settime(old)", c_settime_old, 32, 8, {OK, EFAULT, EFAULT, EFAULT}, !LINUX},
    {"timerfd_gettime(curr)", c_gettime, 32, 8, {EFAULT, EFAULT, EFAULT, EFAULT}, !LINUX},
    {"signalfd(mask) new", c_signalfd_new, 8, 1, {EFAULT, EFAULT, EFAULT, EFAULT}, 1},
    {"signalfd(mask) update", c_signalfd_update, 8, 1, {EFAULT, EFAULT, EFAULT, EFAULT}, 1},
    {"eventfd_read(value)", c_eventfd_read, 8, 1, {EFAULT, EFAULT, EFAULT, EFAULT}, !LINUX},
    {"sem_init(sem)", c_sem_init, 16, 8, {SEM_NULL, SHIM_OR_GLIBC(EFAULT, DIES), SHIM_OR_GLIBC(EFAULT, DIES),
                                        SHIM_OR_GLIBC(EFAULT, DIES)}, !LINUX},
    {"sem_destroy(sem)", c_sem_destroy, 16, 8, {SHIM_OR_GLIBC(EINVAL, OK), OK, OK, OK}, 1},
    {"sem_close(sem)", c_sem_close, 16, 8, {EINVAL, EINVAL, EINVAL, EINVAL}, 1},
    /* The shim's post reads and writes only the first 8 bytes of a
     * sem_t (value, waiters) while the value is below SEM_VALUE_MAX, so
     * a straddle at 8 (zero-filled) posts there; glibc reads `private`
     * at 8 first and dies. */
    {"sem_post(sem)", c_sem_post, 16, 8, {SEM_NULL, DIES, DIES, SHIM_OR_GLIBC(OK, DIES)}, 0},
    {"sem_wait(sem)", c_sem_wait, 16, 8, {SEM_NULL, DIES, DIES, DIES}, 0},
    {"sem_trywait(sem)", c_sem_trywait, 16, 8, {SEM_NULL, DIES, DIES, SHIM_OR_GLIBC(DIES, EAGAIN)}, 0},
    {"sem_getvalue(sem)", c_sem_getvalue_sem, 16, 8, {SEM_NULL, DIES, DIES, SHIM_OR_GLIBC(DIES, OK)}, 0},
    {"sem_timedwait(sem)", c_sem_timedwait_sem, 16, 8, {SEM_NULL, DIES, DIES, DIES}, 0},
    {"sem_clockwait(sem)", c_sem_clockwait_sem, 16, 8, {SEM_NULL, DIES, DIES, DIES}, 0},
    /* An int straddling a page is misaligned: the shim's EINVAL. */
    {"sem_getvalue(sval)", c_sem_getvalue_sval, 4, 1, {SEM_NULL, DIES, DIES, SHIM_OR_GLIBC(EINVAL, DIES)}, 0},
    {"sem_timedwait(abstime)", c_sem_timedwait_ts, 16, 8, {SEM_NULL, DIES, DIES, DIES}, 0},
    {"sem_clockwait(abstime)", c_sem_clockwait_ts, 16, 8, {SEM_NULL, DIES, DIES, DIES}, 0},
    {"sem_open(name)", c_sem_open, 4, 1, {SEM_NULL, DIES, DIES, DIES}, 0},
    {"sem_unlink(name)", c_sem_unlink, 4, 1, {SEM_NULL, DIES, DIES, DIES}, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static int run_here(unsigned c, int kind)
{
    void *p = bad_ptr(kind, cases[c].len, cases[c].align);
    /* A sem_t straddling the page holds 0 in its mapped half. */
    if (cases[c].keeps_fill)
        fill_page();
    else
        memset(page, 0, PAGE);
    errno = 0;
    return cases[c].call(p);
}

/* Runs case `c` with `kind` in a child; whether it died of SIGSEGV. */
static int dies_in_child(unsigned c, int kind)
{
#ifdef __linux__
    pid_t pid = fork();
    if (pid == 0) {
        run_here(c, kind);
        _exit(0);
    }
    int st;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV;
#else
    pid_t pid = tb_spawn("shim_efault", 0, 1 + c * KINDS + kind);
    return pid > 0 && tb_wait(pid) == 128 + SIGSEGV;
#endif
}

static int setup(void)
{
    page = map_page_before_hole();
    return page != NULL && sem_init(&one, 0, 1) == 0;
}

int main(void)
{
#ifndef __linux__
    unsigned long arg = tb_arg();
    if (arg != 0) { /* a child: one case that should kill it */
        if (!setup())
            return 2;
        run_here((arg - 1) / KINDS, (arg - 1) % KINDS);
        return 0;
    }
#endif
    if (!setup()) {
        printf("setup failed: errno %d\n", errno);
        return 1;
    }
    int failures = 0, checked = 0;
    for (unsigned c = 0; c < NCASES; c++) {
        for (int k = 0; k < KINDS; k++) {
            int want = cases[c].expect[k];
            checked++;
            if (want == DIES) {
                if (!dies_in_child(c, k)) {
                    printf("%s with %s: did not die of SIGSEGV\n", cases[c].name, kind_name[k]);
                    failures++;
                }
                continue;
            }
            changed = NULL;
            int got = run_here(c, k);
            if (k == K_STRADDLE && cases[c].keeps_fill)
                check_fill("the mapped half");
            if (got != want || changed) {
                printf("%s with %s: got %d, want %d%s%s\n", cases[c].name, kind_name[k], got, want,
                       changed ? ", changed: " : "", changed ? changed : "");
                failures++;
            }
        }
    }
    if (failures == 0)
        printf("%d bad-pointer cases: EFAULT where the kernel checks, SIGSEGV where libc reads: ok\n", checked);
    return failures != 0;
}
