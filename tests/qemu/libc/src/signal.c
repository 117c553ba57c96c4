/* <signal.h> handlers and waits, alarm/setitimer, over the testbed's
 * signal calls (SIGACTION, SIGRETURN, SIGSUSPEND, SIGTIMEDWAIT,
 * THREAD_KILL, SETITIMER). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "syscall.h"
#include "thread.h"

/* The kernel's sigaction record (testbed-abi `SigAction`). */
struct k_sigaction {
    unsigned long handler, flags, restorer, mask;
};
#define K_SA_RESTORER 0x04000000UL

/* A handler returns here; SIGRETURN restores the interrupted context
 * from the frame at the stack pointer. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".global __tb_sigreturn\n"
        "__tb_sigreturn:\n"
        "  mov $38, %eax\n"
        "  syscall\n"
        "  ud2\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global __tb_sigreturn\n"
        "__tb_sigreturn:\n"
        "  mov x8, #38\n"
        "  svc #0\n"
        "  udf #0\n");
#endif
void __tb_sigreturn(void);

/* Signals 32 and 33 belong to the C library (pthread_cancel uses 32),
 * as in glibc: sigaction refuses them. */
int __tb_sigaction_raw(int sig, const struct sigaction *act, struct sigaction *old);

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
    if (sig == 32 || sig == 33) {
        errno = EINVAL;
        return -1;
    }
    return __tb_sigaction_raw(sig, act, old);
}

int __tb_sigaction_raw(int sig, const struct sigaction *act, struct sigaction *old)
{
    struct k_sigaction kn, ko;
    if (act) {
        kn.handler = (unsigned long)act->sa_handler;
        kn.flags = (unsigned long)(unsigned)act->sa_flags | K_SA_RESTORER;
        kn.restorer = (unsigned long)__tb_sigreturn;
        kn.mask = act->sa_mask;
    }
    long r = __tb_ret(tb_sys3(TB_SIGACTION, sig, act ? &kn : 0, old ? &ko : 0));
    if (r < 0)
        return -1;
    if (old) {
        memset(old, 0, sizeof *old);
        old->sa_handler = (void (*)(int))ko.handler;
        old->sa_flags = (int)(ko.flags & ~K_SA_RESTORER);
        old->sa_mask = ko.mask;
    }
    return 0;
}

/* glibc's signal(): BSD semantics (SA_RESTART, handler stays). */
sighandler_t signal(int sig, sighandler_t handler)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, sig);
    if (sigaction(sig, &sa, &old) < 0)
        return SIG_ERR;
    return old.sa_handler;
}

/* sigsuspend, pause and the sigwait family are cancellation points. */
int sigsuspend(const sigset_t *mask)
{
    sigset_t m = *mask & ~(3UL << 31);
    return (int)__tb_ret(TB_CANCEL_POINT(tb_sys1(TB_SIGSUSPEND, &m)));
}

int pause(void)
{
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    return sigsuspend(&cur);
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
    return (int)__tb_ret(TB_CANCEL_POINT(tb_sys3(TB_SIGTIMEDWAIT, set, info, timeout)));
}

int sigwaitinfo(const sigset_t *set, siginfo_t *info) { return sigtimedwait(set, info, 0); }

/* sigwait returns the error number instead of setting errno, and (as
 * glibc) retries when a handler interrupted it. */
int sigwait(const sigset_t *set, int *sig)
{
    long r;
    do
        r = TB_CANCEL_POINT(tb_sys3(TB_SIGTIMEDWAIT, set, 0, 0));
    while (r == -EINTR);
    if (r < 0)
        return (int)-r;
    *sig = (int)r;
    return 0;
}

int sigisemptyset(const sigset_t *set) { return *set == 0; }

int tgkill(pid_t pid, pid_t tid, int sig)
{
    if (pid != getpid()) {
        errno = ESRCH;
        return -1;
    }
    return (int)__tb_ret(tb_sys2(TB_THREAD_KILL, tid, sig));
}

long __tb_pthread_tid(unsigned long thread);

int pthread_kill(unsigned long thread, int sig)
{
    long r = tb_sys2(TB_THREAD_KILL, __tb_pthread_tid(thread), sig);
    return r < 0 ? (int)-r : 0;
}

struct k_itimerval {
    long interval_sec, interval_usec, value_sec, value_usec;
};

int setitimer(int which, const struct itimerval *value, struct itimerval *old)
{
    if (which != ITIMER_REAL) {
        errno = EINVAL;
        return -1;
    }
    struct k_itimerval kn, ko;
    if (value) {
        kn.interval_sec = value->it_interval.tv_sec;
        kn.interval_usec = value->it_interval.tv_usec;
        kn.value_sec = value->it_value.tv_sec;
        kn.value_usec = value->it_value.tv_usec;
    }
    if (__tb_ret(tb_sys2(TB_SETITIMER, value ? &kn : 0, old ? &ko : 0)) < 0)
        return -1;
    if (old) {
        old->it_interval.tv_sec = ko.interval_sec;
        old->it_interval.tv_usec = ko.interval_usec;
        old->it_value.tv_sec = ko.value_sec;
        old->it_value.tv_usec = ko.value_usec;
    }
    return 0;
}

int getitimer(int which, struct itimerval *value) { return setitimer(which, 0, value); }

/* glibc's rounding: to the nearest second, never 0 while armed. */
unsigned alarm(unsigned seconds)
{
    struct itimerval v, old;
    memset(&v, 0, sizeof v);
    v.it_value.tv_sec = seconds;
    if (setitimer(ITIMER_REAL, &v, &old) < 0)
        return 0;
    unsigned r = (unsigned)old.it_value.tv_sec;
    if (old.it_value.tv_usec >= 500000 || (r == 0 && old.it_value.tv_usec > 0))
        r++;
    return r;
}

int gettimeofday(struct timeval *tv, void *tz)
{
    (void)tz;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
    return 0;
}

int sigaltstack(const stack_t *ss, stack_t *old)
{
    long r = __tb_ret(tb_sys2(TB_SIGALTSTACK, ss, old));
    if (r == 0 && ss) {
        unsigned long lo = (unsigned long)ss->ss_sp;
        if (ss->ss_flags & SS_DISABLE)
            __tb_note_altstack(0, 0);
        else
            __tb_note_altstack(lo, lo + ss->ss_size);
    }
    return (int)r;
}
