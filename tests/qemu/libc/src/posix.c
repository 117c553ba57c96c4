/* <unistd.h>, <time.h>, <signal.h>, <poll.h>, <fcntl.h>, <pthread.h> over
 * the testbed's base system calls. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "syscall.h"
#include "thread.h"

/* read, write, nanosleep (so sleep, usleep), poll are cancellation
 * points (thread.h). */
ssize_t read(int fd, void *buf, size_t n) { return __tb_ret(TB_CANCEL_POINT(tb_sys3(TB_READ, fd, buf, n))); }
ssize_t write(int fd, const void *buf, size_t n)
{
    return __tb_ret(TB_CANCEL_POINT(tb_sys3(TB_WRITE, fd, buf, n)));
}
int close(int fd) { return (int)__tb_ret(tb_sys1(TB_CLOSE, fd)); }
int dup(int fd) { return (int)__tb_ret(tb_sys1(TB_DUP, fd)); }
pid_t getpid(void) { return (pid_t)tb_sys0(TB_GETPID); }
long tb_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    return __tb_syscall(n, a, b, c, d, e, f);
}
/* syscall(2): any number with up to six arguments (the testbed's own, or
 * redbear-ipc's block from 4000); -1 with errno on failure. */
long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    return __tb_ret(__tb_syscall(n, a, b, c, d, e, f));
}
pid_t getppid(void) { return (pid_t)tb_sys0(TB_GETPPID); }
pid_t gettid(void) { return (pid_t)tb_sys0(TB_GETTID); }
uid_t getuid(void) { return (uid_t)tb_sys0(TB_GETUID); }
uid_t geteuid(void) { return (uid_t)tb_sys0(TB_GETUID); }
gid_t getgid(void) { return (gid_t)tb_sys0(TB_GETGID); }
gid_t getegid(void) { return (gid_t)tb_sys0(TB_GETGID); }
int setuid(uid_t uid) { return (int)__tb_ret(tb_sys1(TB_SETUID, uid)); }
int setgid(gid_t gid) { return (int)__tb_ret(tb_sys1(TB_SETGID, gid)); }
int sched_yield(void) { return (int)tb_sys0(TB_YIELD); }
mode_t umask(mode_t mask) { return (mode_t)tb_sys1(TB_UMASK, mask); }

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    return (int)__tb_ret(tb_sys3(TB_FCNTL, fd, cmd, arg));
}

int clock_gettime(clockid_t clk, struct timespec *ts) { return (int)__tb_ret(tb_sys2(TB_CLOCK_GETTIME, clk, ts)); }

clock_t clock(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
        return (clock_t)-1;
    return (clock_t)(ts.tv_sec * CLOCKS_PER_SEC + ts.tv_nsec / (1000000000L / CLOCKS_PER_SEC));
}

int clock_getres(clockid_t clk, struct timespec *res)
{
    return (int)__tb_ret(tb_sys2(TB_CLOCK_GETRES, clk, res));
}

int clock_settime(clockid_t clk, const struct timespec *ts)
{
    return (int)__tb_ret(tb_sys2(TB_CLOCK_SETTIME, clk, ts));
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    return (int)__tb_ret(TB_CANCEL_POINT(tb_sys2(TB_NANOSLEEP, req, rem)));
}

time_t time(time_t *t)
{
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    if (t)
        *t = ts.tv_sec;
    return ts.tv_sec;
}

unsigned sleep(unsigned seconds)
{
    struct timespec ts = {seconds, 0};
    return nanosleep(&ts, &ts) ? (unsigned)ts.tv_sec : 0;
}

int usleep(unsigned long usec)
{
    struct timespec ts = {(time_t)(usec / 1000000), (long)(usec % 1000000) * 1000};
    return nanosleep(&ts, 0);
}

int kill(pid_t pid, int sig) { return (int)__tb_ret(tb_sys2(TB_KILL, pid, sig)); }
int raise(int sig) { return kill(getpid(), sig); }

int sigqueue(pid_t pid, int sig, const union sigval value)
{
    return (int)__tb_ret(tb_sys3(TB_SIGQUEUE, pid, sig, (long)value.sival_ptr));
}

/* Signals 32 and 33 are never blocked (as glibc's), so a cancellation
 * request gets through. */
int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    sigset_t s;
    if (set && how != SIG_UNBLOCK) {
        s = *set & ~(3UL << 31);
        set = &s;
    }
    return (int)__tb_ret(tb_sys3(TB_SIGPROCMASK, how, set, old));
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    /* The mask is per thread, as sigprocmask's. */
    return sigprocmask(how, set, old) ? errno : 0;
}

int sigpending(sigset_t *set) { return (int)__tb_ret(tb_sys1(TB_SIGPENDING, set)); }

static int valid_sig(int sig)
{
    if (sig < 1 || sig > 64) {
        errno = EINVAL;
        return 0;
    }
    return 1;
}

int sigemptyset(sigset_t *set)
{
    *set = 0;
    return 0;
}

/* As glibc's, without the signals the C library keeps: 32 (SIGCANCEL)
 * and 33. */
int sigfillset(sigset_t *set)
{
    *set = ~0UL & ~(3UL << 31);
    return 0;
}

int sigaddset(sigset_t *set, int sig)
{
    if (!valid_sig(sig))
        return -1;
    *set |= 1UL << (sig - 1);
    return 0;
}

int sigdelset(sigset_t *set, int sig)
{
    if (!valid_sig(sig))
        return -1;
    *set &= ~(1UL << (sig - 1));
    return 0;
}

int sigismember(const sigset_t *set, int sig)
{
    if (!valid_sig(sig))
        return -1;
    return (*set >> (sig - 1)) & 1;
}

int poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    return (int)__tb_ret(TB_CANCEL_POINT(tb_sys3(TB_POLL, fds, n, timeout_ms)));
}

/* pthreads: a thread is a kernel task of this process; pthread_t points
 * at its start record (thread.h), which also carries the return value. */
void __tb_run_key_destructors(void **keys);

#define STACK_SIZE (128 * 1024)
#define PAGE 4096UL

#if defined(__x86_64__)
__asm__(".text\n"
        ".global __tb_thread_entry\n"
        "__tb_thread_entry:\n"
        "  xor %ebp, %ebp\n"
        "  and $-16, %rsp\n"
        "  call __tb_thread_main\n"
        "  ud2\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global __tb_thread_entry\n"
        "__tb_thread_entry:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  bl __tb_thread_main\n"
        "  udf #0\n");
#endif
void __tb_thread_entry(void);

/* pthread_self: each thread's start record, by kernel thread id; the
 * main thread's is made on first use. */
#define SELF_SLOTS 1024
static struct start *self_slots[SELF_SLOTS];
static struct start main_thread;

__attribute__((noreturn, used)) void __tb_thread_main(struct start *st)
{
    long tid = tb_sys0(TB_GETTID);
    __atomic_store_n(&st->tid, tid, __ATOMIC_SEQ_CST);
    self_slots[(unsigned long)tid % SELF_SLOTS] = st;
    pthread_exit(st->fn(st->arg));
}

/* The stack: the caller's (pthread_attr_setstack), or fresh pages with
 * the guard size left unmapped below them; `*lo` its lowest address. */
static long thread_stack_top(const pthread_attr_t *attr, long *lo)
{
    if (attr && attr->__stack_addr) {
        *lo = (long)attr->__stack_addr;
        return ((long)attr->__stack_addr + (long)attr->__stack_size) & -16L;
    }
    size_t size = attr && attr->__stack_size ? attr->__stack_size : STACK_SIZE;
    size = (size + PAGE - 1) & ~(PAGE - 1);
    size_t guard = attr ? (attr->__guard_size + PAGE - 1) & ~(PAGE - 1) : PAGE;
    if (guard > 16 * 1024 * 1024 - size)
        return -EINVAL;
    long base = tb_sys1(TB_MMAP_ANON, guard + size);
    if (base < 0)
        return -EAGAIN;
    if (guard && tb_sys2(TB_MUNMAP, base, guard) < 0)
        return -EAGAIN;
    *lo = base + (long)guard;
    return base + (long)(guard + size) - 16;
}

/* Every thread record, newest last, for __tb_self; past REGISTRY it
 * falls back to pthread_self. A stack reused by a later thread (the
 * caller's memory) is found as the newest one's: the older has ended. */
#define REGISTRY 1024
static struct start *registry[REGISTRY];
static int registered;

static void register_thread(struct start *st)
{
    int i = __atomic_fetch_add(&registered, 1, __ATOMIC_ACQ_REL);
    if (i < REGISTRY)
        __atomic_store_n(&registry[i], st, __ATOMIC_RELEASE);
}

static int on(unsigned long sp, unsigned long lo, unsigned long hi) { return sp >= lo && sp < hi; }

/* The main thread's stack: the testbed gives every process 256 KiB below
 * the stack pointer it starts with (tests/qemu/testbed/src/process.rs).
 * A stack pointer there is the main thread's, found without the walk
 * below (which a program that made many threads pays at every
 * cancellation point: read, write, poll), unless some thread's stack or
 * alternate stack was given inside it by the caller. */
#define MAIN_STACK (256UL * 1024)
static unsigned long main_lo, main_hi;
static int main_shared;

void __tb_note_main_stack(unsigned long sp)
{
    main_hi = sp + 1;
    main_lo = sp > MAIN_STACK ? sp - MAIN_STACK : 0;
}

/* Caller memory [lo, hi) now serves another thread as a stack. */
static void note_foreign_stack(unsigned long lo, unsigned long hi)
{
    if (lo < main_hi && hi > main_lo)
        __atomic_store_n(&main_shared, 1, __ATOMIC_RELEASE);
}

struct start *__tb_self(void)
{
    unsigned long here = (unsigned long)__builtin_frame_address(0);
    if (on(here, main_lo, main_hi) && !__atomic_load_n(&main_shared, __ATOMIC_ACQUIRE))
        return &main_thread;
    int n = __atomic_load_n(&registered, __ATOMIC_ACQUIRE);
    if (n > REGISTRY)
        return (struct start *)pthread_self();
    unsigned long sp = (unsigned long)__builtin_frame_address(0);
    for (int i = n - 1; i >= 0; i--) {
        struct start *st = __atomic_load_n(&registry[i], __ATOMIC_ACQUIRE);
        if (st && (on(sp, st->stack_lo, st->stack_hi) || on(sp, st->alt_lo, st->alt_hi)))
            return st;
    }
    return &main_thread;
}

void __tb_note_altstack(unsigned long lo, unsigned long hi)
{
    struct start *st = (struct start *)pthread_self();
    if (st != &main_thread)
        note_foreign_stack(lo, hi);
    st->alt_lo = lo;
    st->alt_hi = hi;
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (attr && attr->__inherit == PTHREAD_EXPLICIT_SCHED && attr->__policy != SCHED_OTHER)
        return ENOTSUP;
    struct start *st = calloc(1, sizeof *st);
    if (!st)
        return EAGAIN;
    long lo = 0;
    long top = thread_stack_top(attr, &lo);
    if (top < 0)
        return (int)-top;
    st->stack_lo = (unsigned long)lo;
    st->stack_hi = (unsigned long)top + 16;
    if (attr && attr->__stack_addr)
        note_foreign_stack(st->stack_lo, st->stack_hi);
    register_thread(st);
    st->fn = fn;
    st->arg = arg;
    st->ret = 0;
    st->detached = attr && attr->__detach == PTHREAD_CREATE_DETACHED;
    /* A new thread starts with cancellation enabled and deferred. */
    long tid = tb_sys3(TB_SPAWN_THREAD, __tb_thread_entry, top, st);
    if (tid < 0)
        return (int)-tid;
    __atomic_store_n(&st->tid, tid, __ATOMIC_SEQ_CST);
    *t = (pthread_t)st;
    return 0;
}

int pthread_join(pthread_t t, void **ret)
{
    struct start *st = (struct start *)t;
    if (t == pthread_self())
        return EDEADLK;
    if (__atomic_load_n(&st->detached, __ATOMIC_SEQ_CST))
        return EINVAL;
    /* A cancellation point; never EINTR (a handler that ran is waited
     * past). */
    long r;
    do {
        struct start *me = __tb_cancel_enter(0);
        r = tb_sys1(TB_THREAD_JOIN, st->tid);
        __tb_cancel_leave(me);
    } while (r == -EINTR);
    if (r < 0)
        return (int)-r;
    if (ret)
        *ret = st->ret;
    return 0;
}

pthread_t pthread_self(void)
{
    long tid = tb_sys0(TB_GETTID);
    struct start *st = self_slots[(unsigned long)tid % SELF_SLOTS];
    if (st && st->tid == tid)
        return (pthread_t)st;
    main_thread.tid = tid;
    return (pthread_t)&main_thread;
}

long __tb_pthread_tid(pthread_t t) { return ((struct start *)t)->tid; }

int pthread_equal(pthread_t a, pthread_t b) { return a == b; }

void **__tb_thread_keys(void) { return ((struct start *)pthread_self())->keys; }

/* A detached thread cannot be joined. Nothing is reclaimed early: every
 * thread's stack and record stay until the process exits. */
int pthread_detach(pthread_t t)
{
    int was = __atomic_exchange_n(&((struct start *)t)->detached, 1, __ATOMIC_SEQ_CST);
    return was ? EINVAL : 0;
}

void __tb_run_cleanups(struct start *st);

/* The cleanup handlers (innermost first), then the key destructors. */
void pthread_exit(void *ret)
{
    __tb_run_cleanups(__tb_self());
    struct start *st = (struct start *)pthread_self();
    st->ret = ret;
    __tb_run_key_destructors(st->keys);
    tb_sys1(TB_THREAD_EXIT, 0);
    for (;;) {
    }
}

/* <testbed.h> */
#include <string.h>
#include <testbed.h>

unsigned long __tb_start_arg(void);

unsigned long tb_arg(void) { return __tb_start_arg(); }

pid_t tb_spawn(const char *name, uid_t uid, unsigned long arg)
{
    return (pid_t)__tb_ret(tb_sys4(TB_SPAWN_PROCESS, name, strlen(name), uid, arg));
}

int tb_wait(pid_t pid) { return (int)__tb_ret(tb_sys1(TB_WAIT_PROCESS, pid)); }

void *tb_shm(unsigned long key, unsigned long len)
{
    long r = __tb_ret(tb_sys2(TB_SHM_MAP, key, len));
    return r == -1 ? (void *)0 : (void *)r;
}

void *tb_map(unsigned long len)
{
    long r = __tb_ret(tb_sys1(TB_MMAP_ANON, len));
    return r == -1 ? (void *)0 : (void *)r;
}

unsigned long tb_syscall_count(void) { return (unsigned long)tb_sys0(TB_SYSCALL_COUNT); }

int tb_catch(int sig, int on) { return (int)__tb_ret(tb_sys2(TB_SIGCATCH, sig, on)); }

long tb_ipc_probe(long op, long a, long b) { return tb_sys3(TB_IPC_PROBE, op, a, b); }
