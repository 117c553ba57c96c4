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

unsigned long long rb_shim_hosted_syscalls(void);

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

/* Syscalls the shim made during the last uncontended loops. */
static unsigned long long loop_syscalls;

static double uncontended(const struct impl *m, long iters)
{
    double r[TRIALS];
    sem_t s;
    m->init(&s, 0, 1);
    unsigned long long sc0 = rb_shim_hosted_syscalls();
    for (int t = 0; t < TRIALS; t++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) {
            m->wait(&s);
            m->post(&s);
        }
        r[t] = (now_ns() - t0) / iters;
    }
    loop_syscalls = rb_shim_hosted_syscalls() - sc0;
    m->destroy(&s);
    return median(r, TRIALS);
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

static double pingpong(const struct impl *m, long rounds)
{
    double r[TRIALS];
    pp_impl = m;
    pp_rounds = rounds;
    for (int t = 0; t < TRIALS; t++) {
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
        r[t] = (now_ns() - t0) / rounds / 1000.0;
        m->destroy(&ping);
        m->destroy(&pong);
    }
    return median(r, TRIALS);
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? atol(argv[1]) : 5000000;
    long rounds = argc > 2 ? atol(argv[2]) : 20000;
    struct impl shim = {"relibc-shim", sem_init, sem_wait, sem_post, sem_destroy};
    struct impl glibc = {"glibc", dlsym(RTLD_NEXT, "sem_init"), dlsym(RTLD_NEXT, "sem_wait"),
                         dlsym(RTLD_NEXT, "sem_post"), dlsym(RTLD_NEXT, "sem_destroy")};
    if (!glibc.init || !glibc.wait || !glibc.post || !glibc.destroy || glibc.wait == sem_wait) {
        fprintf(stderr, "glibc's semaphores not found\n");
        return 1;
    }
    sem_t warm;
    sem_init(&warm, 0, 0); /* the hosted kernel starts on the first call */

    double us = uncontended(&shim, iters);
    unsigned long long sc = loop_syscalls;
    double ug = uncontended(&glibc, iters);
    printf("uncontended sem_wait+sem_post: shim %.2f ns, glibc %.2f ns, shim/glibc %.2f "
           "(%ld pairs x %d trials; shim syscalls meanwhile: %llu)\n",
           us, ug, us / ug, iters, TRIALS, sc);
    double ps = pingpong(&shim, rounds);
    double pg = pingpong(&glibc, rounds);
    printf("ping-pong round trip (2 threads): shim %.2f us, glibc %.2f us, shim/glibc %.2f "
           "(%ld rounds x %d trials; shim = hosted kernel's futex)\n",
           ps, pg, ps / pg, rounds, TRIALS);
    return sc == 0 ? 0 : 2;
}
