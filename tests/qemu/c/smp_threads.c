/* Two threads of one address space run at the same time on two CPUs.
 *
 * Each thread increments its own shared counter without a system call and
 * watches the other's. A thread proves concurrency when, within one
 * stretch of user code during which no CPU switched into it (CPU_INFO 2,
 * the count of switches into the calling thread, is the same before and
 * after, and so is its CPU), it sees the other's counter advance by
 * THRESHOLD. On one CPU that can never happen: the other thread only
 * advances while this one is off the CPU, and every tick switches this one
 * out and in again (the count moves). So a pass means both ran at once.
 * Each thread must prove it; with one CPU online the program reports that
 * it needs two and passes without a verdict (SKIP). Testbed-only (the CPU
 * count and switch count are the testbed's CPU_INFO call). */
#include <pthread.h>
#include <stdio.h>
#include <testbed.h>
#include <time.h>

#define CPU_INFO 48
#define THRESHOLD 1000
#define SPIN 4000000L
/* Stretches are tried for this long (clock time), at least MIN_ATTEMPTS:
 * on a loaded host one virtual CPU may get no host time for a while, and
 * then both threads take turns on the other. */
#define TRY_NS 5000000000LL
#define MIN_ATTEMPTS 50

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

static long counter[2];
static int ready;
static int proved[2];
static long proof_cpu[2] = {-1, -1};
static long tries[2];

static long cpu_info(long which) { return tb_syscall6(CPU_INFO, which, 0, 0, 0, 0, 0); }

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *spinner(void *arg)
{
    long me = (long)arg, other = 1 - me;
    ADD(&ready, 1);
    while (LOAD(&ready) < 2)
        ADD(&counter[me], 1);
    /* Keep counting until both proved (the other needs to see us move). */
    long long until = now_ns() + TRY_NS;
    for (long a = 0; (a < MIN_ATTEMPTS || now_ns() < until) && !(LOAD(&proved[0]) && LOAD(&proved[1]));
         a++) {
        long s0 = cpu_info(2), cpu0 = cpu_info(0);
        long c0 = LOAD(&counter[other]);
        int seen = 0;
        for (long i = 0; i < SPIN; i++) {
            ADD(&counter[me], 1);
            if (LOAD(&counter[other]) - c0 >= THRESHOLD) {
                seen = 1;
                break;
            }
        }
        long s1 = cpu_info(2), cpu1 = cpu_info(0);
        tries[me] = a + 1;
        if (seen && s0 == s1 && cpu0 == cpu1 && !LOAD(&proved[me])) {
            proof_cpu[me] = cpu0;
            STORE(&proved[me], 1);
        }
    }
    return NULL;
}

int main(void)
{
    long cpus = cpu_info(1);
    if (cpus < 0) {
        printf("FAIL: CPU_INFO(1) = %ld\n", cpus);
        return 1;
    }
    if (cpus < 2) {
        printf("SKIP: needs 2 CPUs, %ld online\n", cpus);
        return 0;
    }
    if (cpu_info(4) != -22) {
        printf("FAIL: CPU_INFO(4) is not EINVAL\n");
        return 1;
    }
    pthread_t t[2];
    for (long i = 0; i < 2; i++) {
        if (pthread_create(&t[i], NULL, spinner, (void *)i) != 0) {
            printf("FAIL: pthread_create\n");
            return 1;
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    int ok = 1;
    for (int i = 0; i < 2; i++) {
        printf("thread %d: %s after %ld stretches (CPU %ld), counted %ld\n", i,
               proved[i] ? "saw the other move while on its CPU" : "never saw the other move",
               tries[i], proof_cpu[i], counter[i]);
        ok &= proved[i];
    }
    printf(ok ? "smp_threads: ran at the same time on %ld CPUs\n"
              : "smp_threads: FAIL (%ld CPUs online)\n",
           cpus);
    return !ok;
}
