/* pthread_cancel, per-thread cancellation state and type, cleanup
 * handlers. A request is a flag in the target's record and, when the
 * target has cancellation enabled, signal 32 (SIGCANCEL) to it: the
 * handler acts if the thread is asynchronous or inside a cancellation
 * point (between __tb_cancel_enter and __tb_cancel_leave), so a blocking
 * call there is interrupted; elsewhere it returns and the next
 * cancellation point acts. A request that arrives just as the blocking
 * call completes acts after it and its result is lost (glibc before 2.21
 * had the same window). The handler has SA_RESTART: a thread that does
 * not act on it (cancellation disabled later) has its restartable calls
 * re-issued. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "syscall.h"
#include "thread.h"

#define SIGCANCEL 32

int __tb_sigaction_raw(int sig, const struct sigaction *act, struct sigaction *old);

__attribute__((noreturn)) static void act(struct start *st)
{
    __atomic_store_n(&st->in_cancel_point, 0, __ATOMIC_SEQ_CST);
    /* No second act while the handlers run. */
    st->cancel_disabled = 1;
    pthread_mutex_t *m = st->cancel_mutex;
    st->cancel_mutex = 0;
    if (m)
        pthread_mutex_lock(m);
    pthread_exit(PTHREAD_CANCELED);
}

static int wants_act(const struct start *st)
{
    return __atomic_load_n(&st->cancel_pending, __ATOMIC_SEQ_CST) && !st->cancel_disabled;
}

static void on_sigcancel(int sig)
{
    (void)sig;
    struct start *st = __tb_self();
    if (wants_act(st) && (st->cancel_async || __atomic_load_n(&st->in_cancel_point, __ATOMIC_SEQ_CST)))
        act(st);
}

/* Set once, by the first pthread_cancel (read inline by the sem_wait
 * wrapper, libc/shim/sem_cancel.c). */
int __tb_cancel_ever;

static int install_handler(void)
{
    if (__atomic_load_n(&__tb_cancel_ever, __ATOMIC_ACQUIRE))
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigcancel;
    sa.sa_flags = SA_RESTART;
    if (__tb_sigaction_raw(SIGCANCEL, &sa, 0) < 0)
        return errno;
    __atomic_store_n(&__tb_cancel_ever, 1, __ATOMIC_RELEASE);
    return 0;
}

int pthread_cancel(pthread_t t)
{
    struct start *st = (struct start *)t;
    int r = install_handler();
    if (r)
        return r;
    __atomic_store_n(&st->cancel_pending, 1, __ATOMIC_SEQ_CST);
    /* A thread that has ended (not yet joined) is no error, as glibc. */
    if (!__atomic_load_n(&st->cancel_disabled, __ATOMIC_SEQ_CST))
        tb_sys2(TB_THREAD_KILL, st->tid, SIGCANCEL);
    return 0;
}

struct start *__tb_cancel_enter(pthread_mutex_t *m)
{
    struct start *st = __tb_self();
    st->cancel_mutex = m;
    __atomic_store_n(&st->in_cancel_point, 1, __ATOMIC_SEQ_CST);
    if (wants_act(st))
        act(st);
    return st;
}

void __tb_cancel_leave(struct start *st)
{
    __atomic_store_n(&st->in_cancel_point, 0, __ATOMIC_SEQ_CST);
    st->cancel_mutex = 0;
}

void pthread_testcancel(void)
{
    struct start *st = __tb_self();
    if (wants_act(st))
        act(st);
}

int pthread_setcancelstate(int state, int *old)
{
    if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
        return EINVAL;
    struct start *st = __tb_self();
    if (old)
        *old = st->cancel_disabled ? PTHREAD_CANCEL_DISABLE : PTHREAD_CANCEL_ENABLE;
    __atomic_store_n(&st->cancel_disabled, state == PTHREAD_CANCEL_DISABLE, __ATOMIC_SEQ_CST);
    return 0;
}

/* Becoming asynchronous with a request pending acts at once (as glibc). */
int pthread_setcanceltype(int type, int *old)
{
    if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
        return EINVAL;
    struct start *st = __tb_self();
    if (old)
        *old = st->cancel_async ? PTHREAD_CANCEL_ASYNCHRONOUS : PTHREAD_CANCEL_DEFERRED;
    st->cancel_async = type == PTHREAD_CANCEL_ASYNCHRONOUS;
    if (st->cancel_async && wants_act(st))
        act(st);
    return 0;
}

void __tb_cleanup_push(struct __tb_cleanup *c, void (*fn)(void *), void *arg)
{
    struct start *st = __tb_self();
    c->__fn = fn;
    c->__arg = arg;
    c->__prev = st->cleanup;
    st->cleanup = c;
}

void __tb_cleanup_pop(struct __tb_cleanup *c, int execute)
{
    __tb_self()->cleanup = c->__prev;
    if (execute)
        c->__fn(c->__arg);
}

/* pthread_exit: each handler is unlinked before it runs. */
void __tb_run_cleanups(struct start *st)
{
    while (st->cleanup) {
        struct __tb_cleanup *c = st->cleanup;
        st->cleanup = c->__prev;
        c->__fn(c->__arg);
    }
}
