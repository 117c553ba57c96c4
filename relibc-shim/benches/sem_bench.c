/* relibc-shim vs glibc, same program, same run (benches/run.sh):
 * 1. uncontended sem_wait+sem_post pairs: ns per pair, the ratio, and the
 *    syscalls the shim made meanwhile (the hosted backend counts them);
 * 2. contended ping-pong between two threads: round trip in us.
 * glibc's functions come from dlsym(RTLD_NEXT): the shim's definitions in
 * this executable take the plain names. Both are called through function
 * pointers so the call cost is the same. Medians of several trials. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <string.h>

#ifdef RB_NATIVE_LAYOUT
/* The shim built without the hosted backend (words inline in sem_t, as on
 * Red Bear). Only the uncontended pairs run: they must not enter a kernel
 * (on Linux our syscall numbers would fail with ENOSYS, and the returns
 * are checked). sem_init is the kernel's: here its 16 bytes are written
 * as SYS_RB_SEM_INIT writes them (value, nwaiters 0, flags 0). */
static unsigned long long rb_shim_hosted_syscalls(void) { return 0; }
static int native_init(sem_t *s, int pshared, unsigned value)
{
    (void)pshared;
    memset(s, 0, sizeof *s);
    memcpy(s, &value, sizeof value);
    return 0;
}
#define SHIM_INIT native_init
/* The host's precompiled core (stable toolchain, no build-std) names
 * Rust's unwinding personality; the shim is built with panic=abort and
 * never unwinds, so nothing calls it. */
void rust_eh_personality(void) { abort(); }
#else
unsigned long long rb_shim_hosted_syscalls(void);
#define SHIM_INIT sem_init
#endif

static int failures;

struct impl {
    const char *name;
    int (*init)(sem_t *, int, unsigned);
    int (*wait)(sem_t *);
    int (*post)(sem_t *);
    int (*destroy)(sem_t *);
};

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#define TRIALS 7

static double median(double *v, int n)
{
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

/* Syscalls the shim made during its uncontended loops. */
static unsigned long long loop_syscalls;

static double pairs(const struct impl *m, sem_t *s, long iters)
{
    double t0 = now_ns();
    for (long i = 0; i < iters; i++) {
        failures |= m->wait(s);
        failures |= m->post(s);
    }
    return (now_ns() - t0) / iters;
}

/* Trials alternate between the two so that load from elsewhere on the
 * machine falls on both alike. */
static void uncontended(const struct impl *a, const struct impl *b, long iters, double *ra,
                        double *rb)
{
    double va[TRIALS], vb[TRIALS];
    sem_t sa, sb;
    a->init(&sa, 0, 1);
    b->init(&sb, 0, 1);
    for (int t = 0; t < TRIALS; t++) {
        unsigned long long sc0 = rb_shim_hosted_syscalls();
        va[t] = pairs(a, &sa, iters);
        loop_syscalls += rb_shim_hosted_syscalls() - sc0;
        vb[t] = pairs(b, &sb, iters);
    }
    a->destroy(&sa);
    b->destroy(&sb);
    *ra = median(va, TRIALS);
    *rb = median(vb, TRIALS);
}

static const struct impl *pp_impl;
static sem_t ping, pong;
static long pp_rounds;

static void *ponger(void *arg)
{
    (void)arg;
    for (long i = 0; i < pp_rounds; i++) {
        pp_impl->wait(&ping);
        pp_impl->post(&pong);
    }
    return NULL;
}

static double pingpong_once(const struct impl *m, long rounds)
{
    pp_impl = m;
    pp_rounds = rounds;
    m->init(&ping, 0, 0);
    m->init(&pong, 0, 0);
    pthread_t th;
    double t0 = now_ns();
    pthread_create(&th, NULL, ponger, NULL);
    for (long i = 0; i < rounds; i++) {
        m->post(&ping);
        m->wait(&pong);
    }
    pthread_join(th, NULL);
    double us = (now_ns() - t0) / rounds / 1000.0;
    m->destroy(&ping);
    m->destroy(&pong);
    return us;
}

static void pingpong(const struct impl *a, const struct impl *b, long rounds, double *ra,
                     double *rb)
{
    double va[TRIALS], vb[TRIALS];
    for (int t = 0; t < TRIALS; t++) {
        va[t] = pingpong_once(a, rounds);
        vb[t] = pingpong_once(b, rounds);
    }
    *ra = median(va, TRIALS);
    *rb = median(vb, TRIALS);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 5000000;
    long rounds = argc > 2 ? atol(argv[2]) : 20000;
    struct impl shim = {"relibc-shim", SHIM_INIT, sem_wait, sem_post, sem_destroy};
    struct impl glibc = {"glibc", dlsym(RTLD_NEXT, "sem_init"), dlsym(RTLD_NEXT, "sem_wait"),
                         dlsym(RTLD_NEXT, "sem_post"), dlsym(RTLD_NEXT, "sem_destroy")};
    if (!glibc.init || !glibc.wait || !glibc.post || !glibc.destroy || glibc.wait == sem_wait) {
        fprintf(stderr, "glibc's semaphores not found\n");
        return 1;
    }
    sem_t warm;
    SHIM_INIT(&warm, 0, 0); /* the hosted kernel starts on the first call */
#ifdef RB_NATIVE_LAYOUT
    const char *layout = "native layout";
#else
    const char *layout = "hosted backend";
#endif

    double us, ug;
    uncontended(&shim, &glibc, iters, &us, &ug);
    unsigned long long sc = loop_syscalls;
    printf("uncontended sem_wait+sem_post (%s): shim %.2f ns, glibc %.2f ns, shim/glibc %.2f "
           "(%ld pairs x %d trials; shim syscalls meanwhile: %llu)\n",
           layout, us, ug, us / ug, iters, TRIALS, sc);
    if (failures) {
        fprintf(stderr, "a sem_wait or sem_post failed\n");
        return 3;
    }
#ifdef RB_NATIVE_LAYOUT
    return 0;
#endif
    double ps, pg;
    pingpong(&shim, &glibc, rounds, &ps, &pg);
    printf("ping-pong round trip (2 threads): shim %.2f us, glibc %.2f us, shim/glibc %.2f "
           "(%ld rounds x %d trials; shim = hosted kernel's futex)\n",
           ps, pg, ps / pg, rounds, TRIALS);
    return sc == 0 ? 0 : 2;
}
