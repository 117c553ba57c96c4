/* Wakes racing short timed waits: several threads make many futex waits
 * of 0.1-2 ms on one word that never changes while another thread wakes
 * one waiter at a time as fast as it can, so wakes keep arriving while a
 * waiter's timeout fires, while it leaves the queue, and just after it
 * left and blocked somewhere else. On Redox the adapter's `unpark` must
 * wake a context only while it is parked in the futex table (block
 * reason "redbear-ipc"): a late one keeps its permit for the next park
 * and must not cut another Redox wait short. So:
 *   - every wake the kernel counted (its return value) is exactly one
 *     wait that returned 0: a waiter dequeued by a wake never reports
 *     ETIMEDOUT (a lost wake) and no wait returns 0 without one;
 *   - no wait returns anything but 0 or ETIMEDOUT (the word never
 *     changes, no signal is sent: EAGAIN or EINTR would be stray);
 *   - between two waits each waiter blocks elsewhere, in poll() on a pipe
 *     nobody writes and in nanosleep: poll returns 0 and nanosleep 0
 *     (a stray unpark reaching them would show as an early or failed
 *     return: poll's 0 is checked, nanosleep's remaining time is not a
 *     timing assertion but its return value);
 *   - no hang (the runner's alarm is the bound).
 * For SYS_FUTEX (absolute deadlines), SYS_RB_FUTEX (relative timeouts)
 * and SYS_RB_FUTEX shared on a MAP_SHARED word. Redox only in what it
 * exercises; compiles unchanged against glibc on Linux (-lpthread). */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../qemu/c/check.h"
#include "../futex_os.h"

#define WAITERS 3
#define ROUNDS 600

static enum fx_kind kind;
static uint32_t *word;
static int quiet_pipe[2];
/* Counters shared by the threads, through the compilers' __atomic
 * builtins (relibc's <stdatomic.h> does not take C11 _Atomic types). */
static int waiters_left;
static long woken_by_waits, timed_out, stray, elsewhere_bad;
#define ADD(x, n) __atomic_fetch_add(&(x), (n), __ATOMIC_SEQ_CST)
#define GET(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define SET(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static void *waiter(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ROUNDS; i++) {
        /* 0.1 ms .. 2 ms, a different mix per thread. */
        long ns = 100000L + ((i * 7 + id * 13) % 20) * 100000L;
        int r = fx_wait(kind, word, 0, ns);
        if (r == 0)
            ADD(woken_by_waits, 1);
        else if (r == ETIMEDOUT)
            ADD(timed_out, 1);
        else {
            if (ADD(stray, 1) < 5)
                printf("futex_unpark_race: %s wait returned %d\n", fx_name[kind], r);
        }
        if (i % 4 == 0) {
            struct pollfd p = {quiet_pipe[0], POLLIN, 0};
            int n = poll(&p, 1, 1);
            if (n != 0 && ADD(elsewhere_bad, 1) < 5)
                printf("futex_unpark_race: poll on a silent pipe returned %d (errno %d)\n", n,
                       errno);
        } else if (i % 4 == 2) {
            struct timespec d = {0, 50 * 1000};
            int n = nanosleep(&d, NULL);
            if (n != 0 && ADD(elsewhere_bad, 1) < 5)
                printf("futex_unpark_race: nanosleep returned %d (errno %d)\n", n, errno);
        }
    }
    ADD(waiters_left, -1);
    return NULL;
}

static void run(enum fx_kind k)
{
    kind = k;
    SET(waiters_left, WAITERS);
    SET(woken_by_waits, 0);
    SET(timed_out, 0);
    SET(stray, 0);
    SET(elsewhere_bad, 0);
    pthread_t t[WAITERS];
    for (long i = 0; i < WAITERS; i++)
        CHECK(pthread_create(&t[i], NULL, waiter, (void *)i) == 0);
    long woken_by_wakes = 0, wake_errors = 0, calls = 0;
    while (GET(waiters_left) > 0) {
        long n = fx_wake(kind, word, 1);
        calls++;
        if (n > 0)
            woken_by_wakes += n;
        else if (n < 0)
            wake_errors++;
        if (calls % 64 == 0)
            sched_yield();
    }
    for (int i = 0; i < WAITERS; i++)
        CHECK(pthread_join(t[i], NULL) == 0);
    /* Nobody waits any more: a wake now must find no one. */
    long late = fx_wake(kind, word, WAITERS);
    long w0 = GET(woken_by_waits);
    int ok = woken_by_wakes == w0 && late == 0 && wake_errors == 0 && GET(stray) == 0 &&
             GET(elsewhere_bad) == 0 &&
             w0 + GET(timed_out) == (long)WAITERS * ROUNDS;
    printf("futex_unpark_race: %-19s %d waits: %ld woken (wakes counted %ld, %ld wake calls), %ld "
           "timed out, %ld stray, %ld bad elsewhere, late wake %ld: %s\n",
           fx_name[kind], WAITERS * ROUNDS, w0, woken_by_wakes, calls, GET(timed_out),
           GET(stray), GET(elsewhere_bad), late, ok ? "ok" : "FAILED");
    CHECK(woken_by_wakes == w0);
    CHECK(late == 0);
    CHECK(wake_errors == 0);
    CHECK(GET(stray) == 0);
    CHECK(GET(elsewhere_bad) == 0);
    CHECK(w0 + GET(timed_out) == (long)WAITERS * ROUNDS);
}

int main(void)
{
    CHECK(pipe(quiet_pipe) == 0);
    static uint32_t private_word;
    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(shared != MAP_FAILED);
    word = &private_word;
    run(FX_SYS);
    run(FX_RB);
    if (shared != MAP_FAILED) {
        word = shared;
        run(FX_RB_SHARED);
        run(FX_SYS);
    }
    printf("futex_unpark_race: %s\n", failures ? "FAILED" : "all cases passed");
    return failures ? 1 : 0;
}
