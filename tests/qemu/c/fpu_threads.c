/* FP/SIMD state survives preemption: threads run long floating-point
 * loops (long enough to be preempted many times) whose results must equal
 * the same loop run alone. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define THREADS 3

static double work(double seed, long n)
{
    double a = seed, b = 1.0 / (seed + 3.0), acc = 0.0;
    for (long i = 0; i < n; i++) {
        a = a * 1.0000001 + b;
        b = b * 0.9999999 - a * 1e-9;
        acc += a * b + (double)(i & 7) * 0.125;
    }
    return acc;
}

static long iterations;
static double expected[THREADS];

static void *thread_main(void *arg)
{
    long id = (long)arg;
    double got = work((double)(id + 1), iterations);
    return (void *)(intptr_t)(got == expected[id]);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void)
{
    /* Size the loop so one run spans several ticks (10 ms each). */
    iterations = 20000;
    for (;;) {
        uint64_t t0 = now_ns();
        volatile double sink = work(1.0, iterations);
        (void)sink;
        if (now_ns() - t0 >= 40000000u || iterations >= (1L << 26))
            break;
        iterations *= 2;
    }
    for (long i = 0; i < THREADS; i++)
        expected[i] = work((double)(i + 1), iterations);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) {
        if (pthread_create(&t[i], NULL, thread_main, (void *)i) != 0) {
            printf("pthread_create failed\n");
            return 1;
        }
    }
    /* The main thread computes too, interleaved with the others. */
    int bad = work(1.0, iterations) != expected[0];
    for (long i = 0; i < THREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        if (ret != (void *)1) {
            printf("thread %ld: FP result differs\n", i);
            bad = 1;
        }
    }
    if (bad)
        return 1;
    printf("FP state across preemption: ok (%ld iterations per thread)\n", iterations);
    return 0;
}
