/* <pthread.h> mutexes, condition variables, once and keys, over redbear-ipc's futex (private futexes
 * keyed by this address space, process-shared ones by the memory). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "syscall.h"
#include "thread.h"

/* redbear-ipc's futex calls and flags (src/syscall/numbers.rs, abi.rs). */
#define RB_FUTEX_WAIT 4000
#define RB_FUTEX_WAKE 4001
#define FX_SHARED 1L
#define FX_REALTIME 2L
#define FX_ABSOLUTE 4L
#define ALL_BITS 0xffffffffL

static long futex_wait(void *word, int expected, const struct timespec *ts, long flags)
{
    return __tb_syscall(RB_FUTEX_WAIT, (long)word, (unsigned)expected, (long)ts, flags, ALL_BITS, 0);
}

static void futex_wake(void *word, int n, long flags)
{
    __tb_syscall(RB_FUTEX_WAKE, (long)word, n, flags, ALL_BITS, 0, 0);
}

static int bad_time(const struct timespec *ts)
{
    return ts && (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L || ts->tv_sec < 0);
}

/* --- mutexes: 0 free, 1 locked, 2 locked and maybe waited for ------------ */

static long mutex_flags(const pthread_mutex_t *m) { return m->__pshared ? FX_SHARED : 0; }

/* Takes the word; `abstime` (CLOCK_REALTIME) bounds the wait. */
static int lock_word(pthread_mutex_t *m, const struct timespec *abstime)
{
    int c = 0;
    if (__atomic_compare_exchange_n(&m->__state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    if (bad_time(abstime))
        return EINVAL;
    if (c != 2)
        c = __atomic_exchange_n(&m->__state, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        long flags = mutex_flags(m) | (abstime ? FX_REALTIME | FX_ABSOLUTE : 0);
        if (futex_wait(&m->__state, 2, abstime, flags) == -ETIMEDOUT)
            return ETIMEDOUT;
        c = __atomic_exchange_n(&m->__state, 2, __ATOMIC_ACQUIRE);
    }
    return 0;
}

static void unlock_word(pthread_mutex_t *m)
{
    if (__atomic_exchange_n(&m->__state, 0, __ATOMIC_RELEASE) == 2)
        futex_wake(&m->__state, 1, mutex_flags(m));
}

static int owner_of(const pthread_mutex_t *m) { return __atomic_load_n(&m->__owner, __ATOMIC_RELAXED); }

static int lock(pthread_mutex_t *m, const struct timespec *abstime, int try)
{
    int me = 0;
    if (m->__type != PTHREAD_MUTEX_NORMAL) {
        me = gettid();
        if (owner_of(m) == me) {
            if (m->__type != PTHREAD_MUTEX_RECURSIVE)
                return try ? EBUSY : EDEADLK;
            m->__count++;
            return 0;
        }
    }
    int r;
    if (try) {
        int c = 0;
        r = __atomic_compare_exchange_n(&m->__state, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
                ? 0
                : EBUSY;
    } else {
        r = lock_word(m, abstime);
    }
    if (r == 0 && m->__type != PTHREAD_MUTEX_NORMAL) {
        __atomic_store_n(&m->__owner, me, __ATOMIC_RELAXED);
        m->__count = 1;
    }
    return r;
}

int pthread_mutex_lock(pthread_mutex_t *m) { return lock(m, 0, 0); }
int pthread_mutex_trylock(pthread_mutex_t *m) { return lock(m, 0, 1); }
int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t) { return lock(m, t, 0); }

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (m->__type != PTHREAD_MUTEX_NORMAL) {
        if (owner_of(m) != gettid())
            return EPERM;
        if (m->__type == PTHREAD_MUTEX_RECURSIVE && --m->__count > 0)
            return 0;
        __atomic_store_n(&m->__owner, 0, __ATOMIC_RELAXED);
    }
    unlock_word(m);
    return 0;
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    *m = fresh;
    if (a) {
        m->__type = a->__type;
        m->__pshared = a->__pshared;
    }
    return 0;
}

int pthread_mutex_destroy(pthread_mutex_t *m) { return __atomic_load_n(&m->__state, __ATOMIC_RELAXED) ? EBUSY : 0; }

int pthread_mutexattr_init(pthread_mutexattr_t *a)
{
    a->__type = PTHREAD_MUTEX_DEFAULT;
    a->__pshared = PTHREAD_PROCESS_PRIVATE;
    return 0;
}

int pthread_mutexattr_destroy(pthread_mutexattr_t *a)
{
    (void)a;
    return 0;
}

int pthread_mutexattr_settype(pthread_mutexattr_t *a, int type)
{
    if (type < PTHREAD_MUTEX_NORMAL || type > PTHREAD_MUTEX_ERRORCHECK)
        return EINVAL;
    a->__type = type;
    return 0;
}

int pthread_mutexattr_gettype(const pthread_mutexattr_t *a, int *type)
{
    *type = a->__type;
    return 0;
}

int pthread_mutexattr_setpshared(pthread_mutexattr_t *a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    a->__pshared = pshared;
    return 0;
}

int pthread_mutexattr_getpshared(const pthread_mutexattr_t *a, int *pshared)
{
    *pshared = a->__pshared;
    return 0;
}

/* --- condition variables: a sequence word the waiters sleep on --------- */

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    pthread_cond_t fresh = PTHREAD_COND_INITIALIZER;
    *c = fresh;
    if (a) {
        c->__clock = a->__clock;
        c->__pshared = a->__pshared;
    }
    return 0;
}

int pthread_cond_destroy(pthread_cond_t *c)
{
    (void)c;
    return 0;
}

static long cond_flags(const pthread_cond_t *c) { return c->__pshared ? FX_SHARED : 0; }

/* A wait ends on a signal or broadcast after it began, at the timeout,
 * or spuriously (a handler ran): POSIX allows that, never EINTR. */
int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime)
{
    if (bad_time(abstime))
        return EINVAL;
    unsigned seq = __atomic_load_n(&c->__seq, __ATOMIC_ACQUIRE);
    int r = pthread_mutex_unlock(m);
    if (r)
        return r;
    long flags = cond_flags(c);
    if (abstime)
        flags |= FX_ABSOLUTE | (c->__clock == CLOCK_REALTIME ? FX_REALTIME : 0);
    /* A cancellation point: acting relocks the mutex first. */
    struct start *st = __tb_cancel_enter(m);
    long w = futex_wait(&c->__seq, (int)seq, abstime, flags);
    __tb_cancel_leave(st);
    pthread_mutex_lock(m);
    return w == -ETIMEDOUT ? ETIMEDOUT : 0;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) { return pthread_cond_timedwait(c, m, 0); }

int pthread_cond_signal(pthread_cond_t *c)
{
    __atomic_fetch_add(&c->__seq, 1, __ATOMIC_RELEASE);
    futex_wake(&c->__seq, 1, cond_flags(c));
    return 0;
}

int pthread_cond_broadcast(pthread_cond_t *c)
{
    __atomic_fetch_add(&c->__seq, 1, __ATOMIC_RELEASE);
    futex_wake(&c->__seq, INT_MAX, cond_flags(c));
    return 0;
}

int pthread_condattr_init(pthread_condattr_t *a)
{
    a->__clock = CLOCK_REALTIME;
    a->__pshared = PTHREAD_PROCESS_PRIVATE;
    return 0;
}

int pthread_condattr_destroy(pthread_condattr_t *a)
{
    (void)a;
    return 0;
}

int pthread_condattr_setclock(pthread_condattr_t *a, clockid_t clock)
{
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
        return EINVAL;
    a->__clock = clock;
    return 0;
}

int pthread_condattr_getclock(const pthread_condattr_t *a, clockid_t *clock)
{
    *clock = a->__clock;
    return 0;
}

int pthread_condattr_setpshared(pthread_condattr_t *a, int pshared)
{
    if (pshared != PTHREAD_PROCESS_PRIVATE && pshared != PTHREAD_PROCESS_SHARED)
        return EINVAL;
    a->__pshared = pshared;
    return 0;
}

int pthread_condattr_getpshared(const pthread_condattr_t *a, int *pshared)
{
    *pshared = a->__pshared;
    return 0;
}

/* --- once: 0 not run, 1 running, 2 done --------------------------------- */

int pthread_once(pthread_once_t *once, void (*fn)(void))
{
    if (__atomic_load_n(once, __ATOMIC_ACQUIRE) == 2)
        return 0;
    int zero = 0;
    if (__atomic_compare_exchange_n(once, &zero, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
        fn();
        __atomic_store_n(once, 2, __ATOMIC_RELEASE);
        futex_wake(once, INT_MAX, 0);
        return 0;
    }
    while (__atomic_load_n(once, __ATOMIC_ACQUIRE) != 2)
        futex_wait(once, 1, 0, 0);
    return 0;
}

/* --- thread-specific data: the values live in each thread's record ------ */

void **__tb_thread_keys(void);
static int key_used[PTHREAD_KEYS_MAX];
static void (*key_dtor[PTHREAD_KEYS_MAX])(void *);

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
    for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
        int zero = 0;
        if (__atomic_compare_exchange_n(&key_used[k], &zero, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
            key_dtor[k] = destructor;
            *key = k;
            return 0;
        }
    }
    return EAGAIN;
}

int pthread_key_delete(pthread_key_t key)
{
    if (key >= PTHREAD_KEYS_MAX || !key_used[key])
        return EINVAL;
    key_dtor[key] = 0;
    __atomic_store_n(&key_used[key], 0, __ATOMIC_SEQ_CST);
    return 0;
}

void *pthread_getspecific(pthread_key_t key)
{
    return key < PTHREAD_KEYS_MAX ? __tb_thread_keys()[key] : 0;
}

int pthread_setspecific(pthread_key_t key, const void *value)
{
    if (key >= PTHREAD_KEYS_MAX || !key_used[key])
        return EINVAL;
    __tb_thread_keys()[key] = (void *)value;
    return 0;
}

/* At a thread's end: the destructors of its non-null values, up to
 * PTHREAD_DESTRUCTOR_ITERATIONS (4) rounds, as POSIX asks. */
void __tb_run_key_destructors(void **keys)
{
    for (int round = 0; round < 4; round++) {
        int ran = 0;
        for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
            void *v = keys[k];
            if (v && key_dtor[k]) {
                keys[k] = 0;
                key_dtor[k](v);
                ran = 1;
            }
        }
        if (!ran)
            return;
    }
}
