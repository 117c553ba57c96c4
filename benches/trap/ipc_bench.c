/* ipc_bench: the cost of each IPC operation through a real trap, from C.
 *
 * One source, compiled twice (ci/bench): against static glibc, where it
 * runs as /init of an initramfs under Debian's Linux kernel, and against
 * the QEMU testbed's libc plus relibc-shim, where it runs on our testbed.
 * Each operation runs in a loop between two reads of the guest's counter
 * (rdtsc on x86_64, CNTVCT_EL0 scaled by CNTFRQ_EL0 to nanoseconds on
 * aarch64). Under QEMU `-icount shift=0` both advance by exactly one per
 * executed instruction, so the figures are instruction counts per
 * operation (the loop and the call into libc included) and the same on
 * every run. Elsewhere (on a host, `ipc_bench quick`) they are cycles or
 * nanoseconds and only show that the program runs.
 *
 * Output, one line per row, nothing else starts with RBBENCH:
 *   RBBENCH_BEGIN <os> <arch>
 *   RBBENCH <row> <per-op> <syscalls per op x100, or - where not counted>
 *   RBBENCH_FAIL <row> <what>
 *   RBBENCH_END <failures>
 * Every row is the minimum over BATCHES batches (a periodic timer tick
 * lands in some batch; the minimum leaves it out).
 *
 * A family adds rows by adding one function to `rows[]` at the bottom:
 * set up, call measure() once per row with an operation `int op(void *)`
 * (0 = done, -1 = failed), tear down. Its system call wrappers go in the
 * two OS sections below. */
#if defined(__linux__)
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/sem.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* ipc_curves.c includes this file with IPC_CURVES defined: the same
 * harness, the scaling curves instead of the table's rows. A wrapper of
 * another name defines PROG_NAME (the testbed spawns a curve's process
 * by it). */
#ifndef PROG_NAME
#ifdef IPC_CURVES
#define PROG_NAME "ipc_curves"
#else
#define PROG_NAME "ipc_bench"
#endif
#endif

/* ---- OS layer: the calls glibc has and the testbed libc does not -------- */
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#define OS_NAME "linux"
/* The os_* calls return the result, or -errno. */
static long neg_errno(long r) { return r < 0 ? -errno : r; }
static long os_futex_wait(uint32_t *w, uint32_t v)
{
    return neg_errno(syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0));
}
static long os_futex_wake(uint32_t *w, int n)
{
    return neg_errno(syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0));
}
static long os_null_call(void) { return syscall(SYS_getpid); }
/* Linux has no per-process system call counter. */
static long os_syscalls(void) { return -1; }
static long os_msgget(void) { return neg_errno(msgget(IPC_PRIVATE, IPC_CREAT | 0600)); }
static long os_msgsnd(int id, const void *m, size_t len)
{
    return neg_errno(msgsnd(id, m, len, IPC_NOWAIT));
}
static long os_msgrcv(int id, void *m, size_t len, long type)
{
    return neg_errno(msgrcv(id, m, len, type, IPC_NOWAIT));
}
static long os_msgrm(int id) { return neg_errno(msgctl(id, IPC_RMID, NULL)); }
/* msg_qbytes of queue `id` to `n` (above msgmnb: privileged only). */
static long os_msgqbytes(int id, unsigned long n)
{
    struct msqid_ds ds;
    if (msgctl(id, IPC_STAT, &ds) != 0)
        return -errno;
    ds.msg_qbytes = n;
    return neg_errno(msgctl(id, IPC_SET, &ds));
}

/* A second process running `child(owner)` (fork), and its exit status;
 * `role` is for the testbed, which starts the program again. */
static long os_spawn(int (*child)(long), long owner, int role)
{
    (void)role;
    pid_t pid = fork();
    if (pid == 0)
        _exit(child(owner) == 0 ? 0 : 1);
    return pid;
}
static int os_wait(long pid)
{
    int st;
    return waitpid((pid_t)pid, &st, 0) == (pid_t)pid && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
/* The role this process was started in: always the main one (fork runs
 * the child's function directly). */
static long os_role(void) { return 0; }

/* As /init of an initramfs: a console, /dev/shm for sem_open. */
static void os_init(void)
{
    if (getpid() != 1)
        return;
    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    int fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    mkdir("/dev/shm", 01777);
    mount("tmpfs", "/dev/shm", "tmpfs", 0, NULL);
#ifdef IPC_CURVES
    /* 10 000 threads and descriptors, 5000 message queues: the defaults
     * at 1 GiB (threads-max 8192, RLIMIT_NOFILE 1024, RLIMIT_MSGQUEUE
     * 819 200 bytes) are below that; root may raise them. */
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, NULL);
    int tm = open("/proc/sys/kernel/threads-max", O_WRONLY);
    if (tm < 0 || write(tm, "40000\n", 6) != 6)
        printf("RBBENCH_FAIL init threads-max (errno %d)\n", errno);
    if (tm >= 0)
        close(tm);
    struct rlimit files = {20000, 20000}, mqb = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_NOFILE, &files) != 0 || setrlimit(RLIMIT_MSGQUEUE, &mqb) != 0)
        printf("RBBENCH_FAIL init setrlimit (errno %d)\n", errno);
#endif
}
static void os_done(void)
{
    if (getpid() == 1) {
        fflush(stdout);
        sync();
        reboot(RB_AUTOBOOT); /* QEMU runs with -no-reboot: it exits */
    }
}
#else /* the QEMU testbed: relibc-shim and the testbed libc */
#include <testbed.h>
#define OS_NAME "redbear"
/* redbear-ipc's numbers (src/syscall/numbers.rs) and flags. */
enum {
    RB_FUTEX_WAIT = 4000,
    RB_FUTEX_WAKE = 4001,
    RB_MSGGET = 4032,
    RB_MSGSND = 4033,
    RB_MSGRCV = 4034,
    RB_MSGCTL = 4035,
};
#define RB_IPC_PRIVATE 0L
#define RB_IPC_CREAT 01000
#define RB_IPC_NOWAIT 04000
#define RB_IPC_RMID 0
#define RB_IPC_SET 1
#define RB_IPC_STAT 2
#define RB_BITSET_ANY 0xffffffffL
/* Raw calls: the result or -errno, errno untouched (finding the
 * testbed libc's errno is itself a system call). */
static long rb(long n, long a, long b, long c, long d, long e)
{
    return tb_syscall6(n, a, b, c, d, e, 0);
}
static long os_futex_wait(uint32_t *w, uint32_t v)
{
    return rb(RB_FUTEX_WAIT, (long)w, (long)v, 0, 0, RB_BITSET_ANY);
}
static long os_futex_wake(uint32_t *w, int n)
{
    return rb(RB_FUTEX_WAKE, (long)w, (long)n, 0, RB_BITSET_ANY, 0);
}
static long os_null_call(void) { return getpid(); }
static long os_syscalls(void) { return (long)tb_syscall_count(); }
static long os_msgget(void) { return rb(RB_MSGGET, RB_IPC_PRIVATE, RB_IPC_CREAT | 0600, 0, 0, 0); }
static long os_msgsnd(int id, const void *m, size_t len)
{
    return rb(RB_MSGSND, id, (long)m, (long)len, RB_IPC_NOWAIT, 0);
}
static long os_msgrcv(int id, void *m, size_t len, long type)
{
    return rb(RB_MSGRCV, id, (long)m, (long)len, type, RB_IPC_NOWAIT);
}
static long os_msgrm(int id) { return rb(RB_MSGCTL, id, RB_IPC_RMID, 0, 0, 0); }
/* msg_qbytes (offset 88 of the 120-byte msqid_ds) of queue `id` to `n`. */
static long os_msgqbytes(int id, unsigned long n)
{
    unsigned long ds[15];
    long r = rb(RB_MSGCTL, id, RB_IPC_STAT, (long)ds, 0, 0);
    if (r != 0)
        return r;
    ds[11] = n;
    return rb(RB_MSGCTL, id, RB_IPC_SET, (long)ds, 0, 0);
}
/* A second process: this program again, told its role and owner by its
 * argument (`owner << 8 | role`); see main. */
static long os_spawn(int (*child)(long), long owner, int role)
{
    (void)child;
    return tb_spawn(PROG_NAME, 0, (unsigned long)owner << 8 | (unsigned long)role);
}
static int os_wait(long pid) { return tb_wait((pid_t)pid); }
static long os_role(void) { return (long)tb_arg(); }
static void os_init(void) {}
static void os_done(void) {}
#endif

/* ---- the counter -------------------------------------------------------- */
static inline uint64_t counter(void)
{
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
    return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
    uint64_t c;
    __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(c)::"memory");
    return c;
#else
#error "unsupported architecture"
#endif
}

/* Counter ticks to instructions (nanoseconds of the icount clock). */
static uint64_t ticks_to_units(uint64_t ticks)
{
#if defined(__aarch64__)
    uint64_t f;
    __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
    return f ? ticks * 1000000000ull / f : ticks;
#else
    return ticks;
#endif
}

#if defined(__x86_64__)
#define ARCH_NAME "x86_64"
#else
#define ARCH_NAME "aarch64"
#endif

/* ---- the harness -------------------------------------------------------- */
#define BATCHES_FULL 5
static int quick;     /* `ipc_bench quick`: a few iterations, one batch */
static int failures;

static unsigned iters(unsigned full) { return quick ? 3 : full; }
static unsigned batches(void) { return quick ? 1 : BATCHES_FULL; }
static unsigned warmup(unsigned n) { return n / 10 + 1; }
/* How many times measure() will call an operation with `n` iterations
 * (a partner thread mirrors exactly that many). */
static unsigned total_ops(unsigned n) { return warmup(n) + batches() * n; }

static void fail(const char *row, const char *what)
{
    printf("RBBENCH_FAIL %s %s (errno %d)\n", row, what, errno);
    failures++;
}

typedef int (*op_fn)(void *);

/* Runs `op` warmup(n) times, then `batches()` batches of `n`; prints the
 * smallest batch's cost per operation and its system calls per operation
 * (x100, where the OS counts them). */
static void measure(const char *row, op_fn op, void *arg, unsigned n)
{
    for (unsigned i = 0; i < warmup(n); i++)
        if (op(arg) != 0) {
            fail(row, "warm-up operation failed");
            return;
        }
    uint64_t best = UINT64_MAX;
    long best_sys = -1;
    for (unsigned b = 0; b < batches(); b++) {
        long s0 = os_syscalls();
        uint64_t t0 = counter();
        for (unsigned i = 0; i < n; i++)
            if (op(arg) != 0) {
                fail(row, "operation failed");
                return;
            }
        uint64_t t1 = counter();
        long s1 = os_syscalls();
        if (t1 - t0 < best) {
            best = t1 - t0;
            /* the second count is itself a system call */
            best_sys = s0 < 0 ? -1 : s1 - s0 - 1;
        }
    }
    uint64_t per = (ticks_to_units(best) + n / 2) / n;
    if (best_sys < 0)
        printf("RBBENCH %s %llu -\n", row, (unsigned long long)per);
    else
        printf("RBBENCH %s %llu %ld\n", row, (unsigned long long)per, best_sys * 100 / (long)n);
}

/* A partner thread that runs `step` `count` times (for ping-pongs). */
struct partner {
    pthread_t t;
    op_fn step;
    void *arg;
    unsigned count;
    int status;
};
static void *partner_main(void *p)
{
    struct partner *pt = p;
    for (unsigned i = 0; i < pt->count; i++)
        if (pt->step(pt->arg) != 0) {
            pt->status = -1;
            break;
        }
    return NULL;
}
static int partner_start(struct partner *pt, op_fn step, void *arg, unsigned count)
{
    pt->step = step;
    pt->arg = arg;
    pt->count = count;
    pt->status = 0;
    return pthread_create(&pt->t, NULL, partner_main, pt);
}
static int partner_join(struct partner *pt)
{
    return pthread_join(pt->t, NULL) == 0 ? pt->status : -1;
}
/* A round trip `op` against a partner thread that runs `step` as many
 * times as measure() runs `op`. */
static void measure_pingpong(const char *row, op_fn op, op_fn step, unsigned n)
{
    struct partner p;
    if (partner_start(&p, step, NULL, total_ops(n)) != 0) {
        fail(row, "pthread_create");
        return;
    }
    measure(row, op, NULL, n);
    if (partner_join(&p) != 0)
        fail(row, "partner failed");
}

/* ---- rows: null call ---------------------------------------------------- */
static int op_null(void *a)
{
    (void)a;
    return os_null_call() > 0 ? 0 : -1;
}
static void rows_null(void) { measure("null_getpid", op_null, NULL, iters(2000)); }

/* ---- rows: futex -------------------------------------------------------- */
static uint32_t fword;
static int op_futex_wake(void *a)
{
    (void)a;
    return os_futex_wake(&fword, 1) == 0 ? 0 : -1;
}
static int op_futex_wait_eagain(void *a)
{
    (void)a;
    return os_futex_wait(&fword, 1) == -EAGAIN ? 0 : -1;
}
static uint32_t turn;
/* A futex wait that slept, or found the word changed, or was interrupted. */
static int futex_retry(long r) { return r >= 0 || r == -EAGAIN || r == -EINTR; }
/* One round trip: hand the turn over, sleep until it comes back. */
static int op_futex_pingpong(void *a)
{
    (void)a;
    __atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
    if (os_futex_wake(&turn, 1) < 0)
        return -1;
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) == 1)
        if (!futex_retry(os_futex_wait(&turn, 1)))
            return -1;
    return 0;
}
static int step_futex_pingpong(void *a)
{
    (void)a;
    while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) == 0)
        if (!futex_retry(os_futex_wait(&turn, 0)))
            return -1;
    __atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
    return os_futex_wake(&turn, 1) < 0 ? -1 : 0;
}
/* Waiters parked on keys of their own: a wake elsewhere must not pay for
 * them. Each sleeps until its word turns nonzero. */
#define PARKED_MAX 100
static uint32_t parked_word[PARKED_MAX];
static int step_park(void *a)
{
    uint32_t *w = a;
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
        if (!futex_retry(os_futex_wait(w, 0)))
            return -1;
    return 0;
}
static void rows_futex_parked(void)
{
    static struct partner parked[PARKED_MAX];
    static const unsigned sizes[] = {10, PARKED_MAX};
    unsigned started = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char row[48];
        snprintf(row, sizeof row, "futex_wake_nowaiter_%u_parked_elsewhere", sizes[s]);
        for (; started < sizes[s]; started++)
            if (partner_start(&parked[started], step_park, &parked_word[started], 1) != 0) {
                fail(row, "pthread_create");
                break;
            }
        if (started < sizes[s])
            break;
        /* let every new waiter reach its futex_wait */
        for (unsigned i = 0; i < 4; i++)
            sched_yield();
        measure(row, op_futex_wake, NULL, iters(2000));
    }
    for (unsigned i = 0; i < started; i++) {
        __atomic_store_n(&parked_word[i], 1, __ATOMIC_RELEASE);
        os_futex_wake(&parked_word[i], 1);
    }
    for (unsigned i = 0; i < started; i++)
        if (partner_join(&parked[i]) != 0)
            fail("futex_wake_nowaiter_parked_elsewhere", "a parked waiter failed");
}
static void rows_futex(void)
{
    fword = 0;
    measure("futex_wake_nowaiter", op_futex_wake, NULL, iters(2000));
    measure("futex_wait_eagain", op_futex_wait_eagain, NULL, iters(2000));
    turn = 0;
    measure_pingpong("futex_pingpong", op_futex_pingpong, step_futex_pingpong, iters(500));
}

/* ---- rows: POSIX semaphores --------------------------------------------- */
static int op_sem_post_wait(void *a)
{
    return sem_post(a) == 0 && sem_wait(a) == 0 ? 0 : -1;
}
static int op_sem_post_trywait(void *a)
{
    return sem_post(a) == 0 && sem_trywait(a) == 0 ? 0 : -1;
}
static sem_t ping, pong;
static int op_sem_pingpong(void *a)
{
    (void)a;
    return sem_post(&ping) == 0 && sem_wait(&pong) == 0 ? 0 : -1;
}
static int step_sem_pingpong(void *a)
{
    (void)a;
    return sem_wait(&ping) == 0 && sem_post(&pong) == 0 ? 0 : -1;
}
static void rows_sem(void)
{
    sem_t s;
    if (sem_init(&s, 0, 0) != 0) {
        fail("sem_post_wait", "sem_init");
        return;
    }
    measure("sem_post_wait", op_sem_post_wait, &s, iters(2000));
    measure("sem_post_trywait", op_sem_post_trywait, &s, iters(2000));
    sem_destroy(&s);

    if (sem_init(&ping, 0, 0) != 0 || sem_init(&pong, 0, 0) != 0) {
        fail("sem_pingpong", "sem_init");
        return;
    }
    measure_pingpong("sem_pingpong", op_sem_pingpong, step_sem_pingpong, iters(500));
    sem_destroy(&ping);
    sem_destroy(&pong);

    /* a name of this process' own: runs side by side do not collide */
    char name[32];
    snprintf(name, sizeof name, "/rbbench.%ld", (long)getpid());
    sem_unlink(name);
    sem_t *named = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
    if (named == SEM_FAILED) {
        fail("named_sem_post_wait", "sem_open");
        return;
    }
    measure("named_sem_post_wait", op_sem_post_wait, named, iters(2000));
    sem_close(named);
    sem_unlink(name);
}

/* A round trip between two processes over two named semaphores: this
 * process posts "a" and waits on "b"; its partner does the opposite. */
#define NAMED_PINGPONG_N 500
static sem_t *named_a, *named_b;
static void named_names(long owner, char *a, char *b, size_t len)
{
    snprintf(a, len, "/rbbench.%ld.a", owner);
    snprintf(b, len, "/rbbench.%ld.b", owner);
}
static int op_named_pingpong(void *x)
{
    (void)x;
    return sem_post(named_a) == 0 && sem_wait(named_b) == 0 ? 0 : -1;
}
/* The partner process' side. */
static int named_partner(long owner)
{
    char an[40], bn[40];
    named_names(owner, an, bn, sizeof an);
    sem_t *a = sem_open(an, 0), *b = sem_open(bn, 0);
    if (a == SEM_FAILED || b == SEM_FAILED)
        return -1;
    for (unsigned i = 0; i < total_ops(iters(NAMED_PINGPONG_N)); i++)
        if (sem_wait(a) != 0 || sem_post(b) != 0)
            return -1;
    sem_close(a);
    sem_close(b);
    return 0;
}
static void rows_named_pingpong(void)
{
    const char *row = "named_sem_pingpong_2proc";
    long owner = (long)getpid();
    char an[40], bn[40];
    named_names(owner, an, bn, sizeof an);
    sem_unlink(an);
    sem_unlink(bn);
    named_a = sem_open(an, O_CREAT | O_EXCL, 0600, 0);
    named_b = sem_open(bn, O_CREAT | O_EXCL, 0600, 0);
    long child = -1;
    if (named_a == SEM_FAILED || named_b == SEM_FAILED || (child = os_spawn(named_partner, owner, 1)) < 0)
        fail(row, "set-up");
    else {
        measure(row, op_named_pingpong, NULL, iters(NAMED_PINGPONG_N));
        if (os_wait(child) != 0)
            fail(row, "partner process failed");
    }
    if (named_a != SEM_FAILED)
        sem_close(named_a);
    if (named_b != SEM_FAILED)
        sem_close(named_b);
    sem_unlink(an);
    sem_unlink(bn);
}

/* Uncontended across two processes: this process posts "a", which the
 * partner will take, and takes units of "b", which the partner posted
 * beforehand; meanwhile the partner sleeps on "d" (another semaphore), so
 * neither "a" nor "b" has a waiter. Where a named semaphore's counter is
 * shared memory, no system call. "c" says the partner has filled "b". */
#define NAMED_SHARED_N 2000
static void named_shared_name(long owner, char which, char *out, size_t len)
{
    snprintf(out, len, "/rbbench.%ld.s%c", owner, which);
}
/* The partner: fills "b", posts "c", sleeps on "d" until the
 * measurement is over, then takes every unit of "a". */
static int named_filler(long owner)
{
    char n[4][40];
    sem_t *s[4];
    for (int i = 0; i < 4; i++) {
        named_shared_name(owner, (char)('a' + i), n[i], sizeof n[i]);
        if ((s[i] = sem_open(n[i], 0)) == SEM_FAILED)
            return -1;
    }
    unsigned total = total_ops(iters(NAMED_SHARED_N));
    for (unsigned i = 0; i < total; i++)
        if (sem_post(s[1]) != 0)
            return -1;
    if (sem_post(s[2]) != 0 || sem_wait(s[3]) != 0)
        return -1;
    for (unsigned i = 0; i < total; i++)
        if (sem_wait(s[0]) != 0)
            return -1;
    for (int i = 0; i < 4; i++)
        sem_close(s[i]);
    return 0;
}
static int op_named_shared(void *x)
{
    (void)x;
    return sem_post(named_a) == 0 && sem_wait(named_b) == 0 ? 0 : -1;
}
static void rows_named_shared(void)
{
    const char *row = "named_sem_post_wait_2proc";
    long owner = (long)getpid();
    char n[4][40];
    sem_t *s[4];
    int ok = 1;
    for (int i = 0; i < 4; i++) {
        named_shared_name(owner, (char)('a' + i), n[i], sizeof n[i]);
        sem_unlink(n[i]);
        s[i] = sem_open(n[i], O_CREAT | O_EXCL, 0600, 0);
        ok = ok && s[i] != SEM_FAILED;
    }
    named_a = s[0];
    named_b = s[1];
    long child = -1;
    if (!ok || (child = os_spawn(named_filler, owner, 2)) < 0)
        fail(row, "set-up");
    else if (sem_wait(s[2]) != 0)
        fail(row, "partner never filled");
    else {
        measure(row, op_named_shared, NULL, iters(NAMED_SHARED_N));
        if (sem_post(s[3]) != 0 || os_wait(child) != 0)
            fail(row, "partner process failed");
    }
    for (int i = 0; i < 4; i++) {
        if (s[i] != SEM_FAILED)
            sem_close(s[i]);
        sem_unlink(n[i]);
    }
}

/* ---- rows: eventfd and poll --------------------------------------------- */
static int op_eventfd_write_read(void *a)
{
    int fd = *(int *)a;
    uint64_t v = 1;
    return write(fd, &v, 8) == 8 && read(fd, &v, 8) == 8 && v == 1 ? 0 : -1;
}
static int efd_ping, efd_pong;
static int op_eventfd_pingpong(void *a)
{
    (void)a;
    uint64_t v = 1;
    return write(efd_ping, &v, 8) == 8 && read(efd_pong, &v, 8) == 8 ? 0 : -1;
}
static int step_eventfd_pingpong(void *a)
{
    (void)a;
    uint64_t v;
    return read(efd_ping, &v, 8) == 8 && write(efd_pong, &v, 8) == 8 ? 0 : -1;
}
#define POLL_MAX 256
static struct pollfd pfds[POLL_MAX];
static unsigned pfds_n;
static int op_poll(void *a)
{
    (void)a;
    return poll(pfds, pfds_n, 0) == 1 ? 0 : -1;
}
static void rows_eventfd(void)
{
    int fd = eventfd(0, 0);
    if (fd < 0) {
        fail("eventfd_write_read", "eventfd");
        return;
    }
    measure("eventfd_write_read", op_eventfd_write_read, &fd, iters(2000));
    close(fd);

    efd_ping = eventfd(0, 0);
    efd_pong = eventfd(0, 0);
    if (efd_ping < 0 || efd_pong < 0) {
        fail("eventfd_pingpong", "eventfd");
        return;
    }
    measure_pingpong("eventfd_pingpong", op_eventfd_pingpong, step_eventfd_pingpong, iters(500));
    close(efd_ping);
    close(efd_pong);

    /* poll over k eventfds, the last one readable */
    static const unsigned sizes[] = {1, 64, POLL_MAX};
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char row[32];
        snprintf(row, sizeof row, "poll_%u_fds", sizes[s]);
        pfds_n = 0;
        for (unsigned i = 0; i < sizes[s]; i++) {
            int e = eventfd(i + 1 == sizes[s] ? 1 : 0, 0);
            if (e < 0) {
                fail(row, "eventfd");
                break;
            }
            pfds[pfds_n].fd = e;
            pfds[pfds_n].events = POLLIN;
            pfds_n++;
        }
        if (pfds_n == sizes[s])
            measure(row, op_poll, NULL, iters(sizes[s] > 64 ? 200 : 1000));
        for (unsigned i = 0; i < pfds_n; i++)
            close(pfds[i].fd);
    }
}

/* ---- rows: timerfd ------------------------------------------------------ */
static int op_timerfd_gettime(void *a)
{
    struct itimerspec cur;
    return timerfd_gettime(*(int *)a, &cur) == 0 ? 0 : -1;
}
static int op_timerfd_arm_disarm(void *a)
{
    int fd = *(int *)a;
    struct itimerspec on = {{0, 0}, {1000, 0}}, off = {{0, 0}, {0, 0}};
    return timerfd_settime(fd, 0, &on, NULL) == 0 && timerfd_settime(fd, 0, &off, NULL) == 0 ? 0 : -1;
}
#define TIMERS_MAX 200
static void rows_timerfd(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    if (fd < 0) {
        fail("timerfd_gettime", "timerfd_create");
        return;
    }
    measure("timerfd_gettime", op_timerfd_gettime, &fd, iters(2000));
    /* Arming and disarming one timer while k others are armed (far in
     * the future): must not grow with k. */
    static int others[TIMERS_MAX];
    static const unsigned sizes[] = {0, 20, TIMERS_MAX};
    unsigned armed = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char row[40];
        snprintf(row, sizeof row, "timerfd_arm_disarm_%u_armed", sizes[s]);
        for (; armed < sizes[s]; armed++) {
            struct itimerspec far = {{0, 0}, {100000 + armed, 0}};
            others[armed] = timerfd_create(CLOCK_MONOTONIC, 0);
            if (others[armed] < 0 || timerfd_settime(others[armed], 0, &far, NULL) != 0) {
                fail(row, "arming the others");
                break;
            }
        }
        if (armed == sizes[s])
            measure(row, op_timerfd_arm_disarm, &fd, iters(1000));
    }
    for (unsigned i = 0; i < armed; i++)
        if (others[i] >= 0)
            close(others[i]);
    close(fd);
}

/* ---- rows: signalfd ----------------------------------------------------- */
static pid_t self;
static int op_signalfd(void *a)
{
    struct signalfd_siginfo si;
    if (kill(self, SIGUSR1) != 0)
        return -1;
    return read(*(int *)a, &si, sizeof si) == (long)sizeof si && si.ssi_signo == SIGUSR1 ? 0 : -1;
}
static void rows_signalfd(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        fail("kill_signalfd_read", "sigprocmask");
        return;
    }
    self = getpid();
    int fd = signalfd(-1, &set, 0);
    if (fd < 0) {
        fail("kill_signalfd_read", "signalfd");
        return;
    }
    measure("kill_signalfd_read", op_signalfd, &fd, iters(1000));
    close(fd);
}

/* ---- rows: SysV message queues ------------------------------------------ */
struct msg64 {
    long type;
    char text[64];
};
static int msq;
static int op_msg(void *a)
{
    struct msg64 m = {1, {0}};
    (void)a;
    return os_msgsnd(msq, &m, sizeof m.text) == 0 && os_msgrcv(msq, &m, sizeof m.text, 1) == 64 ? 0 : -1;
}
static void rows_msg(void)
{
    msq = os_msgget();
    if (msq < 0) {
        fail("msgsnd_msgrcv_64", "msgget");
        return;
    }
    measure("msgsnd_msgrcv_64", op_msg, NULL, iters(2000));
    /* The same pair, a typed receive, with k messages of another type
     * (empty ones) ahead. A queue holds at most msg_qbytes messages, so
     * it is raised to 100001 first (past msgmnb: the bench runs as root,
     * privileged on both kernels). */
    static const unsigned depths[] = {10, 100, 1000, 10000, 100000};
    if (!quick && os_msgqbytes(msq, 100001) != 0)
        fail("msgrcv_typed_100000_others", "raising msg_qbytes");
    unsigned queued = 0;
    for (unsigned d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        if (quick && d > 0)
            break;
        char row[40];
        snprintf(row, sizeof row, "msgrcv_typed_%u_others", depths[d]);
        struct msg64 other = {2, {0}};
        for (; queued < depths[d]; queued++)
            if (os_msgsnd(msq, &other, 0) != 0) {
                fail(row, "queueing the others");
                break;
            }
        if (queued == depths[d])
            measure(row, op_msg, NULL, iters(depths[d] >= 100000 ? 20 : depths[d] >= 1000 ? 100 : 1000));
    }
    os_msgrm(msq);
}
/* ---- rows: POSIX message queues ----------------------------------------- */
static mqd_t mq;
static char mq_buf[8192];
static int op_mq(void *a)
{
    size_t len = *(size_t *)a;
    unsigned prio = 0;
    if (mq_send(mq, mq_buf, len, 1) != 0)
        return -1;
    return mq_receive(mq, mq_buf, sizeof mq_buf, &prio) == (long)len && prio == 1 ? 0 : -1;
}
static void rows_mq(void)
{
    struct mq_attr attr = {0, 10, 8192, 0, {0}};
    mq_unlink("/rb-bench-mq");
    mq = mq_open("/rb-bench-mq", O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (mq < 0) {
        fail("mq_send_receive_64", "mq_open");
        return;
    }
    static size_t small = 64, large = 8192;
    measure("mq_send_receive_64", op_mq, &small, iters(2000));
    measure("mq_send_receive_8192", op_mq, &large, iters(1000));
    mq_close(mq);
    mq_unlink("/rb-bench-mq");
}

/* ---- rows: SysV semaphore sets ------------------------------------------ */
static int semset;
static int op_semop_two_calls(void *a)
{
    struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
    (void)a;
    return semop(semset, &up, 1) == 0 && semop(semset, &down, 1) == 0 ? 0 : -1;
}
static int op_semop_one_call(void *a)
{
    struct sembuf both[2] = {{0, 1, 0}, {0, -1, 0}};
    (void)a;
    return semop(semset, both, 2) == 0 ? 0 : -1;
}
static void rows_semop(void)
{
    semset = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (semset < 0) {
        fail("semop_up_down_two_calls", "semget");
        return;
    }
    measure("semop_up_down_two_calls", op_semop_two_calls, NULL, iters(2000));
    measure("semop_up_down_one_call", op_semop_one_call, NULL, iters(2000));
    semctl(semset, 0, IPC_RMID);
}

/* Wakes on a set of WAKE_NSEMS semaphores: the main thread posts
 * semaphore 0 and waits on semaphore 1 (the ack); a waiter blocked in
 * -1 on semaphore 0 is completed, posts the ack and waits again. With
 * one waiter, with WAKE_MANY waiters parked on the other semaphores of
 * the set (a wake must not pay for them), and with WAKE_MANY waiters all
 * on semaphore 0 (each post completes the first in line). Waiters end
 * when the set is removed (EIDRM). Stacks are small: the testbed maps
 * them eagerly. */
#define WAKE_NSEMS 250
#define WAKE_MANY 1000
static int wake_set = -1;
static pthread_t wakers[WAKE_MANY + 1];
static unsigned nwakers;
static void *wake_pingpong_main(void *a)
{
    struct sembuf down = {0, -1, 0}, ack = {1, 1, 0};
    (void)a;
    while (semop(wake_set, &down, 1) == 0 && semop(wake_set, &ack, 1) == 0) {
    }
    return NULL;
}
static void *wake_parked_main(void *a)
{
    struct sembuf down = {(unsigned short)(unsigned long)a, -1, 0};
    semop(wake_set, &down, 1);
    return NULL;
}
/* A thread with a 16 KiB stack (PTHREAD_STACK_MIN on both libcs). */
static int small_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 16384);
    int r = pthread_create(t, &at, fn, arg);
    pthread_attr_destroy(&at);
    return r;
}
static int wake_start(void *(*fn)(void *), unsigned long arg)
{
    int r = small_thread(&wakers[nwakers], fn, (void *)arg);
    if (r == 0)
        nwakers++;
    return r;
}
/* Yields until `n` callers wait to decrement semaphore `num`. */
static int wake_settle(unsigned short num, int n)
{
    for (unsigned i = 0; i < 1000000; i++) {
        int c = semctl(wake_set, num, GETNCNT);
        if (c < 0 || c > n)
            return -1;
        if (c == n)
            return 0;
        sched_yield();
    }
    return -1;
}
static int op_semop_wake(void *a)
{
    struct sembuf post = {0, 1, 0}, wait_ack = {1, -1, 0};
    (void)a;
    return semop(wake_set, &post, 1) == 0 && semop(wake_set, &wait_ack, 1) == 0 ? 0 : -1;
}
/* +1 then -1 on semaphore 1 in one call: no wake, no switch. */
static int op_semop_up_down_sem1(void *a)
{
    struct sembuf both[2] = {{1, 1, 0}, {1, -1, 0}};
    (void)a;
    return semop(wake_set, both, 2) == 0 ? 0 : -1;
}
/* Removes the set and joins every waiter. */
static void wake_end(void)
{
    semctl(wake_set, 0, IPC_RMID);
    for (unsigned i = 0; i < nwakers; i++)
        pthread_join(wakers[i], NULL);
    nwakers = 0;
    wake_set = -1;
}
static void rows_semop_wake(void)
{
    const char *one = "semop_wake_1_waiter_set_of_250";
    const char *parked = "semop_wake_1_waiter_1000_parked_elsewhere_in_set";
    const char *many = "semop_wake_1_of_1000_waiters_on_one_semaphore";
    unsigned many_n = quick ? 10 : WAKE_MANY;
    wake_set = semget(IPC_PRIVATE, WAKE_NSEMS, IPC_CREAT | 0600);
    if (wake_set < 0 || wake_start(wake_pingpong_main, 0) != 0 || wake_settle(0, 1) != 0) {
        fail(one, "set-up");
        wake_end();
        return;
    }
    measure(one, op_semop_wake, NULL, iters(1000));
    measure("semop_up_down_one_call_set_of_250", op_semop_up_down_sem1, NULL, iters(2000));
    for (unsigned i = 0; i < many_n; i++)
        if (wake_start(wake_parked_main, 2 + i % (WAKE_NSEMS - 2)) != 0) {
            fail(parked, "pthread_create");
            wake_end();
            return;
        }
    for (unsigned s = 2; s < WAKE_NSEMS; s++) {
        unsigned on = many_n / (WAKE_NSEMS - 2) + (s - 2 < many_n % (WAKE_NSEMS - 2));
        if (wake_settle((unsigned short)s, (int)on) != 0) {
            fail(parked, "waiters did not park");
            wake_end();
            return;
        }
    }
    measure(parked, op_semop_wake, NULL, iters(1000));
    measure("semop_up_down_one_call_1000_parked_elsewhere_in_set", op_semop_up_down_sem1, NULL,
            iters(2000));
    wake_end();
    wake_set = semget(IPC_PRIVATE, WAKE_NSEMS, IPC_CREAT | 0600);
    for (unsigned i = 0; i < many_n; i++)
        if (wake_set < 0 || wake_start(wake_pingpong_main, 0) != 0) {
            fail(many, "set-up");
            wake_end();
            return;
        }
    if (wake_settle(0, (int)many_n) != 0) {
        fail(many, "waiters did not block");
        wake_end();
        return;
    }
    measure(many, op_semop_wake, NULL, iters(2000));
    wake_end();
}

/* The 64-byte pair on a fresh queue while k other queues exist. */
static void rows_msg_queues(void)
{
    static int others[1000];
    static const unsigned sizes[] = {100, 1000};
    unsigned made = 0;
    for (unsigned s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        if (quick && s > 0)
            break;
        char row[40];
        snprintf(row, sizeof row, "msgsnd_msgrcv_64_%u_queues", sizes[s]);
        for (; made < sizes[s]; made++)
            if ((others[made] = (int)os_msgget()) < 0) {
                fail(row, "msgget");
                break;
            }
        if (made < sizes[s])
            break;
        msq = (int)os_msgget();
        if (msq < 0) {
            fail(row, "msgget");
            break;
        }
        measure(row, op_msg, NULL, iters(1000));
        os_msgrm(msq);
    }
    for (unsigned i = 0; i < made; i++)
        os_msgrm(others[i]);
}


/* ---- the scaling curves (ipc_curves) -------------------------------------
 * Each curve is one operation measured while K other things exist, for K
 * in curve_k; its rows are <curve>_<K>. Every curve runs in a child
 * process of its own (os_spawn), so that each starts from a fresh address
 * space: the testbed's libc never returns a joined thread's stack, and
 * three curves of 10 000 threads would not fit its memory otherwise. */
#define CURVE_MAX 10000
static const unsigned curve_k[] = {1, 10, 100, 1000, CURVE_MAX};
/* `quick` (the host test): K up to 100 only. */
#define CURVE_NK (quick ? 3u : (unsigned)(sizeof curve_k / sizeof curve_k[0]))
static pthread_t curve_thr[CURVE_MAX];
static uint32_t curve_word[CURVE_MAX];
static unsigned curve_nthr;
static unsigned curve_arrived;
static int curve_fds[CURVE_MAX];
static unsigned curve_nfds;
/* Fewer iterations where each costs more (10 000 tasks on the testbed). */
static unsigned curve_iters(unsigned k) { return iters(k >= 10000 ? 100 : k >= 1000 ? 200 : 500); }
static void curve_row(char *row, size_t len, const char *curve, unsigned k)
{
    snprintf(row, len, "%s_%u", curve, k);
}
/* Starts threads of `fn` (argument: the thread's index) until `n` run, and
 * yields until every one has said it arrived, then a few times more so the
 * last ones reach their wait. */
static int curve_threads(unsigned n, void *(*fn)(void *))
{
    for (; curve_nthr < n; curve_nthr++)
        if (small_thread(&curve_thr[curve_nthr], fn, (void *)(unsigned long)curve_nthr) != 0)
            return -1;
    for (unsigned i = 0; i < 100000 && __atomic_load_n(&curve_arrived, __ATOMIC_SEQ_CST) < n; i++)
        sched_yield();
    for (unsigned i = 0; i < 4; i++)
        sched_yield();
    return __atomic_load_n(&curve_arrived, __ATOMIC_SEQ_CST) == n ? 0 : -1;
}
static int curve_join(void)
{
    int bad = 0;
    for (unsigned i = 0; i < curve_nthr; i++) {
        void *r = NULL;
        bad |= pthread_join(curve_thr[i], &r) != 0 || r != NULL;
    }
    curve_nthr = 0;
    return bad ? -1 : 0;
}

/* A futex wake with nobody waiting on its word while K threads sleep on
 * K other words of the same process. */
static void *park_own_word(void *a)
{
    uint32_t *w = &curve_word[(unsigned long)a];
    __atomic_add_fetch(&curve_arrived, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
        if (!futex_retry(os_futex_wait(w, 0)))
            return (void *)1;
    return NULL;
}
static void curve_futex_parked(void)
{
    char row[64];
    fword = 0;
    for (unsigned i = 0; i < CURVE_NK; i++) {
        curve_row(row, sizeof row, "futex_wake_nowaiter_parked_elsewhere", curve_k[i]);
        if (curve_threads(curve_k[i], park_own_word) != 0) {
            fail(row, "waiters did not start");
            break;
        }
        measure(row, op_futex_wake, NULL, curve_iters(curve_k[i]));
    }
    for (unsigned i = 0; i < curve_nthr; i++) {
        __atomic_store_n(&curve_word[i], 1, __ATOMIC_RELEASE);
        os_futex_wake(&curve_word[i], 1);
    }
    if (curve_join() != 0)
        fail("futex_wake_nowaiter_parked_elsewhere", "a waiter failed");
}

/* A wake of the first of K waiters on one futex word, as a round trip:
 * the main thread adds a ticket, bumps the word and wakes one waiter,
 * then sleeps on the ack word; the waiter takes the ticket, wakes the
 * main thread and waits on the word again, at the back of the line. */
static uint32_t fw_gen, fw_ack, fw_stop;
static int fw_tickets;
static void *futex_one_word_main(void *a)
{
    (void)a;
    __atomic_add_fetch(&curve_arrived, 1, __ATOMIC_SEQ_CST);
    uint32_t v = __atomic_load_n(&fw_gen, __ATOMIC_SEQ_CST);
    for (;;) {
        int t = __atomic_load_n(&fw_tickets, __ATOMIC_SEQ_CST);
        while (t > 0 && !__atomic_compare_exchange_n(&fw_tickets, &t, t - 1, 0, __ATOMIC_SEQ_CST,
                                                     __ATOMIC_SEQ_CST)) {
        }
        if (t > 0) {
            __atomic_store_n(&fw_ack, 1, __ATOMIC_SEQ_CST);
            if (os_futex_wake(&fw_ack, 1) < 0)
                return (void *)1;
        }
        if (__atomic_load_n(&fw_stop, __ATOMIC_SEQ_CST))
            return NULL;
        if (!futex_retry(os_futex_wait(&fw_gen, v)))
            return (void *)1;
        v = __atomic_load_n(&fw_gen, __ATOMIC_SEQ_CST);
    }
}
static int op_futex_one_word(void *a)
{
    (void)a;
    __atomic_add_fetch(&fw_tickets, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&fw_gen, 1, __ATOMIC_SEQ_CST);
    if (os_futex_wake(&fw_gen, 1) < 0)
        return -1;
    while (__atomic_load_n(&fw_ack, __ATOMIC_SEQ_CST) == 0)
        if (!futex_retry(os_futex_wait(&fw_ack, 0)))
            return -1;
    __atomic_store_n(&fw_ack, 0, __ATOMIC_SEQ_CST);
    return 0;
}
static void curve_futex_one_word(void)
{
    char row[64];
    for (unsigned i = 0; i < CURVE_NK; i++) {
        curve_row(row, sizeof row, "futex_wake_1_of_waiters_on_one_word", curve_k[i]);
        if (curve_threads(curve_k[i], futex_one_word_main) != 0) {
            fail(row, "waiters did not start");
            break;
        }
        measure(row, op_futex_one_word, NULL, curve_iters(curve_k[i]));
    }
    __atomic_store_n(&fw_stop, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&fw_gen, 1, __ATOMIC_SEQ_CST);
    os_futex_wake(&fw_gen, 0x7fffffff);
    if (curve_join() != 0)
        fail("futex_wake_1_of_waiters_on_one_word", "a waiter failed");
}

/* The same round trip on a SysV set of 2 (semaphore 0 the line, 1 the
 * ack), as semop_wake_1_of_1000_waiters_on_one_semaphore. */
static void *sem_one_main(void *a)
{
    (void)a;
    __atomic_add_fetch(&curve_arrived, 1, __ATOMIC_SEQ_CST);
    return wake_pingpong_main(NULL);
}
static void curve_semop_one_sem(void)
{
    char row[64];
    wake_set = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (wake_set < 0) {
        fail("semop_wake_1_of_waiters_on_one_semaphore", "semget");
        return;
    }
    for (unsigned i = 0; i < CURVE_NK; i++) {
        curve_row(row, sizeof row, "semop_wake_1_of_waiters_on_one_semaphore", curve_k[i]);
        if (curve_threads(curve_k[i], sem_one_main) != 0 || wake_settle(0, (int)curve_k[i]) != 0) {
            fail(row, "waiters did not block");
            break;
        }
        measure(row, op_semop_wake, NULL, curve_iters(curve_k[i]));
    }
    semctl(wake_set, 0, IPC_RMID); /* every waiter ends with EIDRM */
    wake_set = -1;
    curve_join();
}

/* Descriptors of one family, K of them open (and, for timerfds, armed
 * far in the future), while one more is measured. */
static int curve_open_fds(unsigned n, int (*make)(unsigned))
{
    for (; curve_nfds < n; curve_nfds++)
        if ((curve_fds[curve_nfds] = make(curve_nfds)) < 0)
            return -1;
    return 0;
}
static void curve_close_fds(void)
{
    for (unsigned i = 0; i < curve_nfds; i++)
        close(curve_fds[i]);
    curve_nfds = 0;
}
static int make_armed_timerfd(unsigned i)
{
    struct itimerspec far = {{0, 0}, {100000 + i, 0}};
    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    if (fd >= 0 && timerfd_settime(fd, 0, &far, NULL) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}
static int make_eventfd(unsigned i)
{
    (void)i;
    return eventfd(0, 0);
}
static sigset_t usr1_set;
static int make_signalfd(unsigned i)
{
    (void)i;
    return signalfd(-1, &usr1_set, 0);
}
static void curve_fd_family(const char *curve, int (*make)(unsigned), int (*measured)(void), op_fn op)
{
    char row[64];
    for (unsigned i = 0; i < CURVE_NK; i++) {
        curve_row(row, sizeof row, curve, curve_k[i]);
        if (curve_open_fds(curve_k[i], make) != 0) {
            fail(row, "opening the others");
            break;
        }
        int fd = measured();
        if (fd < 0) {
            fail(row, "opening the measured one");
            break;
        }
        measure(row, op, &fd, curve_iters(curve_k[i]));
        close(fd);
    }
    curve_close_fds();
}
static int new_timerfd(void) { return timerfd_create(CLOCK_MONOTONIC, 0); }
static int new_eventfd(void) { return eventfd(0, 0); }
static int new_signalfd(void) { return signalfd(-1, &usr1_set, 0); }
static void curve_timerfd(void)
{
    curve_fd_family("timerfd_arm_disarm_armed", make_armed_timerfd, new_timerfd, op_timerfd_arm_disarm);
}
static void curve_eventfd(void)
{
    curve_fd_family("eventfd_write_read_others_open", make_eventfd, new_eventfd, op_eventfd_write_read);
}
static void curve_signalfd(void)
{
    sigemptyset(&usr1_set);
    sigaddset(&usr1_set, SIGUSR1);
    self = getpid();
    if (sigprocmask(SIG_BLOCK, &usr1_set, NULL) != 0) {
        fail("kill_signalfd_read_others_open", "sigprocmask");
        return;
    }
    curve_fd_family("kill_signalfd_read_others_open", make_signalfd, new_signalfd, op_signalfd);
}

/* SysV: the 64-byte pair on a fresh queue, and one-call semop +1/-1 on a
 * fresh set of 1, while K other queues or sets exist. */
static int curve_ids[CURVE_MAX];
static void curve_sysv(const char *curve, int queues)
{
    char row[64];
    unsigned made = 0;
    for (unsigned i = 0; i < CURVE_NK; i++) {
        curve_row(row, sizeof row, curve, curve_k[i]);
        for (; made < curve_k[i]; made++)
            if ((curve_ids[made] = queues ? (int)os_msgget() : semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0)
                break;
        if (made < curve_k[i]) {
            fail(row, "making the others");
            break;
        }
        if (queues) {
            if ((msq = (int)os_msgget()) < 0) {
                fail(row, "msgget");
                break;
            }
            measure(row, op_msg, NULL, curve_iters(curve_k[i]));
            os_msgrm(msq);
        } else {
            if ((semset = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0) {
                fail(row, "semget");
                break;
            }
            measure(row, op_semop_one_call, NULL, curve_iters(curve_k[i]));
            semctl(semset, 0, IPC_RMID);
        }
    }
    for (unsigned i = 0; i < made; i++)
        if (queues)
            os_msgrm(curve_ids[i]);
        else
            semctl(curve_ids[i], 0, IPC_RMID);
}
static void curve_msg(void) { curve_sysv("msgsnd_msgrcv_64_other_queues", 1); }
static void curve_sem(void) { curve_sysv("semop_up_down_one_call_other_sets", 0); }

/* POSIX mq: mq_send + mq_receive of 64 bytes on a queue of 1 x 64 while
 * K other such queues are open (named until the end). 5000 at most: our
 * RLIMIT_MSGQUEUE (819 200 bytes, 160 charged per queue of 1 x 64)
 * binds root and the testbed has no setrlimit. */
#define MQ_CURVE_MAX 5000
static mqd_t mq_others[MQ_CURVE_MAX];
static void mq_curve_name(unsigned i, char *out, size_t len)
{
    snprintf(out, len, "/rbc.%ld.%u", (long)getpid(), i);
}
static void curve_mq(void)
{
    static const unsigned ks[] = {1, 10, 100, 1000, MQ_CURVE_MAX};
    struct mq_attr attr = {0, 1, 64, 0, {0}};
    char row[64], name[48];
    unsigned made = 0;
    for (unsigned i = 0; i < (quick ? 3u : (unsigned)(sizeof ks / sizeof ks[0])); i++) {
        curve_row(row, sizeof row, "mq_send_receive_64_other_queues", ks[i]);
        for (; made < ks[i]; made++) {
            mq_curve_name(made, name, sizeof name);
            mq_unlink(name);
            if ((mq_others[made] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr)) < 0)
                break;
        }
        if (made < ks[i]) {
            fail(row, "opening the others");
            break;
        }
        mq_curve_name(MQ_CURVE_MAX + 1, name, sizeof name);
        mq_unlink(name);
        if ((mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr)) < 0) {
            fail(row, "mq_open");
            break;
        }
        static size_t small = 64, empty = 0;
        measure(row, op_mq, &small, curve_iters(ks[i]));
        /* The same pair with no text: ours then allocates nothing per
         * message (docs/performance.md, the memory table), which tells the
         * message's allocation apart from the rest of the pair. */
        curve_row(row, sizeof row, "mq_send_receive_0_other_queues", ks[i]);
        measure(row, op_mq, &empty, curve_iters(ks[i]));
        mq_close(mq);
        mq_unlink(name);
    }
    for (unsigned i = 0; i < made; i++) {
        mq_close(mq_others[i]);
        mq_curve_name(i, name, sizeof name);
        mq_unlink(name);
    }
}

/* POSIX mq by queue depth and by priorities in use: mq_send + mq_receive
 * of 64 bytes on one queue of 65 536 x 64 (HARD_MSGMAX, the most a queue
 * may hold: root may ask for it above msg_max on both systems; its 8.9 MB
 * pass the default RLIMIT_MSGQUEUE, raised above for Linux and by the
 * testbed's TESTBED_MQ_BYTES knob for ours) with K messages queued, K
 * kept through the measurement (steady state).
 * - mq_depth_same_prio: the K at priority 0, the pair at 0: FIFO, so the
 *   receive takes the oldest queued message and the sent one joins the
 *   back (the queue rotates);
 * - mq_depth_higher_prio: the K at priority 0, the pair at 1: the sent
 *   message is the one received;
 * - mq_prios_top: one message at each of priorities 0..K-1 (K <= 32 767,
 *   MQ_PRIO_MAX - 1), the pair at 32 767, above them all (a pair at a
 *   priority in the middle is not steady: its receive would take the
 *   top message instead). */
#define MQ_DEPTH_MAX 65535u
#define MQ_PRIOS_MAX 32767u
static const unsigned mq_depth_k[] = {1, 10, 100, 1000, 10000, MQ_DEPTH_MAX};
static const unsigned mq_prios_k[] = {1, 10, 100, 1000, 10000, MQ_PRIOS_MAX};
/* `quick` (the host test, unprivileged: msg_max 10): K = 1 on a queue of 10. */
#define MQ_NK (quick ? 1u : (unsigned)(sizeof mq_depth_k / sizeof mq_depth_k[0]))
static unsigned mq_pair_prio;
static int op_mq_at(void *a)
{
    (void)a;
    unsigned prio = 0;
    if (mq_send(mq, mq_buf, 64, mq_pair_prio) != 0)
        return -1;
    return mq_receive(mq, mq_buf, sizeof mq_buf, &prio) == 64 && prio == mq_pair_prio ? 0 : -1;
}
/* One curve on a fresh queue; `spread`: the i-th queued message at
 * priority i, else all at 0. */
static void curve_mq_queued(const char *curve, const unsigned *ks, int spread, unsigned pair_prio)
{
    struct mq_attr attr = {0, quick ? 10 : MQ_DEPTH_MAX + 1, 64, 0, {0}};
    char row[64], name[48];
    mq_curve_name(MQ_CURVE_MAX + 2, name, sizeof name);
    mq_unlink(name);
    if ((mq = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr)) < 0) {
        fail(curve, "mq_open of 65536 x 64");
        return;
    }
    mq_pair_prio = pair_prio;
    unsigned queued = 0;
    for (unsigned i = 0; i < MQ_NK; i++) {
        curve_row(row, sizeof row, curve, ks[i]);
        for (; queued < ks[i]; queued++)
            if (mq_send(mq, mq_buf, 64, spread ? queued : 0) != 0)
                break;
        struct mq_attr now;
        if (queued < ks[i] || mq_getattr(mq, &now) != 0 || now.mq_curmsgs != (long)ks[i]) {
            fail(row, "queueing the others");
            break;
        }
        measure(row, op_mq_at, NULL, curve_iters(ks[i]));
        if (mq_getattr(mq, &now) != 0 || now.mq_curmsgs != (long)ks[i])
            fail(row, "the depth moved");
    }
    mq_close(mq);
    mq_unlink(name);
}
static void curve_mq_depth(void)
{
    curve_mq_queued("mq_depth_same_prio", mq_depth_k, 0, 0);
    curve_mq_queued("mq_depth_higher_prio", mq_depth_k, 0, 1);
}
static void curve_mq_prios(void) { curve_mq_queued("mq_prios_top", mq_prios_k, 1, MQ_PRIOS_MAX); }

static void (*const all_curves[])(void) __attribute__((unused)) = {
    curve_futex_parked, curve_futex_one_word, curve_semop_one_sem, curve_timerfd,
    curve_eventfd,      curve_signalfd,       curve_msg,           curve_sem,
    curve_mq,           curve_mq_depth,       curve_mq_prios,
};
/* IPC_CURVE_ONLY (a list of curve functions) runs only those: a wrapper
 * that defines it and includes this file measures some curves without
 * the others' hour (how the signalfd and mq curves were re-measured,
 * docs/performance.md). */
#ifdef IPC_CURVE_ONLY
static void (*const curves[])(void) = {IPC_CURVE_ONLY};
#else
#define curves all_curves
#endif
#define CURVES (sizeof curves / sizeof curves[0])
/* Curve `i` in this (child) process; its exit status says if it failed. */
static int curve_child(long i)
{
    if (i < 0 || (unsigned long)i >= CURVES)
        return -1;
    curves[i]();
    fflush(stdout);
    return failures ? -1 : 0;
}
static void rows_curves(void)
{
    for (unsigned i = 0; i < CURVES; i++) {
        fflush(stdout);
        long pid = os_spawn(curve_child, (long)i, 3);
        if (pid < 0 || os_wait(pid) != 0)
            fail("curves", "a curve's process failed");
    }
}

/* ---- the table of rows: a family adds its function here ----------------- */
static void (*const rows[])(void) = {
    rows_null,     rows_futex,   rows_futex_parked, rows_sem,      rows_named_pingpong,
    rows_named_shared,
    rows_eventfd,  rows_timerfd, rows_signalfd,     rows_msg,      rows_msg_queues,
    rows_mq,       rows_semop,   rows_semop_wake,
};

#ifdef IPC_CURVES
#define CURVES_MODE 1
#else
#define CURVES_MODE 0
#endif

int main(int argc, char **argv)
{
    long role = os_role();
    if ((role & 0xff) == 1) /* the named-semaphore partner process */
        return named_partner(role >> 8) == 0 ? 0 : 1;
    if ((role & 0xff) == 2) /* the partner of the uncontended 2-process row */
        return named_filler(role >> 8) == 0 ? 0 : 1;
    if ((role & 0xff) == 3) /* one scaling curve (ipc_curves) */
        return curve_child(role >> 8) == 0 ? 0 : 1;
    os_init();
    quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    printf("RBBENCH_BEGIN %s %s\n", OS_NAME, ARCH_NAME);
    if (CURVES_MODE)
        rows_curves();
    else
        for (unsigned i = 0; i < sizeof rows / sizeof rows[0]; i++)
            rows[i]();
    printf("RBBENCH_END %d\n", failures);
    os_done();
    return failures ? 1 : 0;
}
