/* A signal sent to a thread running on another CPU acts at once (the
 * wake-up IPI), not at that CPU's next tick.
 *
 * The target thread spins in user mode without a system call until its
 * SIGUSR1 handler has run; the main thread, on the other CPU, sends the
 * signal with pthread_kill once the target is spinning. The target records
 * CPU_INFO 2 (how many times a CPU switched into it) before and after: if
 * the handler ran and the count did not move, the signal was delivered
 * without the target leaving its CPU, which only an interrupt other than
 * the tick can do (every tick switches the running task out and in, so a
 * signal noticed at a tick always moves the count). A tick may still fall
 * into a stretch (under TCG on a loaded host a descheduled virtual CPU
 * often resumes with its tick due too), so up to ATTEMPTS stretches are
 * tried; one proof passes.
 * With one CPU online it reports that it needs two and passes (SKIP).
 * Prints the kill-to-handler time on the hardware clock (a figure, not a
 * verdict). Testbed-only (CPU_INFO). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <testbed.h>
#include <time.h>

#define CPU_INFO 48
#define ATTEMPTS 200
#define SPIN 50000000L
#define CLOCK_HW 4 /* CLOCK_MONOTONIC_RAW: the hardware counter */

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

static long armed, handled, finished, proved_at;
static long sent_ns, got_ns;

static long cpu_info(long which) { return tb_syscall6(CPU_INFO, which, 0, 0, 0, 0, 0); }

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_HW, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void on_usr1(int sig)
{
    (void)sig;
    STORE(&got_ns, now_ns());
    STORE(&handled, LOAD(&armed));
}

static void *target(void *arg)
{
    (void)arg;
    for (long a = 1; a <= ATTEMPTS; a++) {
        long s0 = cpu_info(2);
        STORE(&armed, a);
        for (long i = 0; i < SPIN && LOAD(&handled) != a; i++)
            ;
        long s1 = cpu_info(2);
        if (LOAD(&handled) == a && s0 == s1) {
            STORE(&proved_at, a);
            break;
        }
        /* The handler may still be due (at a tick): wait for it, so each
         * stretch has its own signal. */
        while (LOAD(&handled) != a)
            sched_yield();
    }
    STORE(&finished, 1);
    return NULL;
}

int main(void)
{
    long cpus = cpu_info(1);
    if (cpus < 2) {
        printf("SKIP: needs 2 CPUs, %ld online\n", cpus);
        return cpus < 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, NULL) != 0) {
        printf("FAIL: sigaction\n");
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, target, NULL) != 0) {
        printf("FAIL: pthread_create\n");
        return 1;
    }
    long best = -1;
    for (long a = 1; a <= ATTEMPTS && !LOAD(&finished); a++) {
        while (LOAD(&armed) != a && !LOAD(&finished))
            ;
        if (LOAD(&finished))
            break;
        STORE(&sent_ns, now_ns());
        if (pthread_kill(t, SIGUSR1) != 0) {
            printf("FAIL: pthread_kill\n");
            return 1;
        }
        while (LOAD(&handled) != a)
            sched_yield();
        long took = LOAD(&got_ns) - LOAD(&sent_ns);
        if (best < 0 || took < best)
            best = took;
    }
    pthread_join(t, NULL);
    long at = LOAD(&proved_at);
    if (at == 0) {
        printf("smp_signal_ipi: FAIL: in %d stretches the handler never ran while the target "
               "stayed on its CPU (fastest kill-to-handler %ld ns)\n",
               ATTEMPTS, best);
        return 1;
    }
    printf("smp_signal_ipi: handled on the target's CPU without a switch in stretch %ld; "
           "fastest kill-to-handler %ld ns (hardware clock)\n",
           at, best);
    return 0;
}
