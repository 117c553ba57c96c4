/* Internal: a thread's record (pthread_t points at it). */
#ifndef TB_THREAD_H
#define TB_THREAD_H
#include <pthread.h>

struct start {
    void *(*fn)(void *);
    void *arg;
    void *ret;
    long tid;
    int detached; /* pthread_join is EINVAL, pthread_detach again too */
    /* Cancellation (pthread_cancel.c): the state and type of this
     * thread, a request, and whether it is inside a cancellation point
     * (with the mutex a condition wait gives up, relocked before it
     * acts). */
    int cancel_disabled;
    int cancel_async;
    int cancel_pending;
    int in_cancel_point;
    pthread_mutex_t *cancel_mutex;
    struct __tb_cleanup *cleanup; /* pthread_cleanup_push, innermost first */
    /* Where the thread runs: its stack and its alternate signal stack
     * (sigaltstack), for __tb_self. */
    unsigned long stack_lo, stack_hi, alt_lo, alt_hi;
    void *keys[PTHREAD_KEYS_MAX]; /* pthread_setspecific values */
    int err;                      /* errno */
};

/* The calling thread's record, found by its stack pointer with no
 * system call (the cancellation state, cleanup handlers): a thread of
 * pthread_create by its stack or alternate stack, else the main thread.
 * pthread_self finds it by thread id. */
struct start *__tb_self(void);
/* sigaltstack: the calling thread's alternate stack, for __tb_self. */
void __tb_note_altstack(unsigned long lo, unsigned long hi);

/* Around a blocking call that is a cancellation point: enter acts on a
 * pending request (after relocking `m` if given) and lets the SIGCANCEL
 * handler act until leave. */
struct start *__tb_cancel_enter(pthread_mutex_t *m);
void __tb_cancel_leave(struct start *st);
#endif

/* A blocking system call `expr` as a cancellation point. */
#define TB_CANCEL_POINT(expr)                                                                      \
    ({                                                                                             \
        struct start *__cp = __tb_cancel_enter(0);                                                 \
        long __cp_r = (expr);                                                                      \
        __tb_cancel_leave(__cp);                                                                   \
        __cp_r;                                                                                    \
    })
