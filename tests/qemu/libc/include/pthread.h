#ifndef _PTHREAD_H
#define _PTHREAD_H
#include <sched.h>
#include <sys/types.h>
#include <time.h>
typedef unsigned long pthread_t;
typedef struct {
    unsigned long __stack_size; /* 0: the default */
    void *__stack_addr;         /* pthread_attr_setstack's lowest address, or 0 */
    unsigned long __guard_size;
    int __detach;
    int __scope;
    int __inherit;
    int __policy;
    int __priority;
} pthread_attr_t;
#define PTHREAD_CREATE_JOINABLE 0
#define PTHREAD_CREATE_DETACHED 1
#define PTHREAD_SCOPE_SYSTEM 0
#define PTHREAD_SCOPE_PROCESS 1
#define PTHREAD_INHERIT_SCHED 0
#define PTHREAD_EXPLICIT_SCHED 1

/* Mutexes and condition variables over redbear-ipc's futex (private, or
 * keyed by the memory when process-shared). Sizes as glibc's on LP64. */
typedef struct {
    int __state; /* 0 free, 1 locked, 2 locked with waiters */
    int __type;
    int __pshared;
    int __owner;
    int __count;
    int __pad[5];
} pthread_mutex_t;
typedef struct {
    int __type;
    int __pshared;
} pthread_mutexattr_t;
typedef struct {
    unsigned __seq;
    int __clock;
    int __pshared;
    int __pad[9];
} pthread_cond_t;
typedef struct {
    int __clock;
    int __pshared;
} pthread_condattr_t;
typedef int pthread_once_t;
typedef unsigned pthread_key_t;

#define PTHREAD_MUTEX_NORMAL 0
#define PTHREAD_MUTEX_RECURSIVE 1
#define PTHREAD_MUTEX_ERRORCHECK 2
#define PTHREAD_MUTEX_DEFAULT PTHREAD_MUTEX_NORMAL
#define PTHREAD_PROCESS_PRIVATE 0
#define PTHREAD_PROCESS_SHARED 1
#define PTHREAD_MUTEX_INITIALIZER {0, 0, 0, 0, 0, {0}}
#define PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP {0, PTHREAD_MUTEX_RECURSIVE, 0, 0, 0, {0}}
#define PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP {0, PTHREAD_MUTEX_ERRORCHECK, 0, 0, 0, {0}}
#define PTHREAD_COND_INITIALIZER {0, 0, 0, {0}}
#define PTHREAD_ONCE_INIT 0
#define PTHREAD_KEYS_MAX 128
#define PTHREAD_CANCEL_ENABLE 0
#define PTHREAD_CANCEL_DISABLE 1
#define PTHREAD_CANCEL_DEFERRED 0
#define PTHREAD_CANCEL_ASYNCHRONOUS 1

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int pthread_join(pthread_t t, void **ret);
int pthread_detach(pthread_t t);
pthread_t pthread_self(void);
int pthread_equal(pthread_t a, pthread_t b);
void pthread_exit(void *ret) __attribute__((noreturn));
int pthread_attr_init(pthread_attr_t *a);
int pthread_attr_destroy(pthread_attr_t *a);
int pthread_attr_setstacksize(pthread_attr_t *a, size_t size);
int pthread_attr_getstacksize(const pthread_attr_t *a, size_t *size);
int pthread_attr_setdetachstate(pthread_attr_t *a, int state);
int pthread_attr_getdetachstate(const pthread_attr_t *a, int *state);
int pthread_attr_setguardsize(pthread_attr_t *a, size_t size);
int pthread_attr_getguardsize(const pthread_attr_t *a, size_t *size);
int pthread_attr_setstack(pthread_attr_t *a, void *addr, size_t size);
int pthread_attr_getstack(const pthread_attr_t *a, void **addr, size_t *size);
/* Scheduling: every thread is SCHED_OTHER with priority 0 (the kernel
 * has one round-robin class). PTHREAD_SCOPE_PROCESS is ENOTSUP (as on
 * Linux); pthread_create with PTHREAD_EXPLICIT_SCHED and a policy other
 * than SCHED_OTHER is ENOTSUP (Linux runs it, or EPERM without the
 * privilege). */
int pthread_attr_setscope(pthread_attr_t *a, int scope);
int pthread_attr_getscope(const pthread_attr_t *a, int *scope);
int pthread_attr_setinheritsched(pthread_attr_t *a, int inherit);
int pthread_attr_getinheritsched(const pthread_attr_t *a, int *inherit);
int pthread_attr_setschedpolicy(pthread_attr_t *a, int policy);
int pthread_attr_getschedpolicy(const pthread_attr_t *a, int *policy);
int pthread_attr_setschedparam(pthread_attr_t *a, const struct sched_param *param);
int pthread_attr_getschedparam(const pthread_attr_t *a, struct sched_param *param);
int pthread_getschedparam(pthread_t t, int *policy, struct sched_param *param);

int pthread_mutexattr_init(pthread_mutexattr_t *a);
int pthread_mutexattr_destroy(pthread_mutexattr_t *a);
int pthread_mutexattr_settype(pthread_mutexattr_t *a, int type);
int pthread_mutexattr_gettype(const pthread_mutexattr_t *a, int *type);
int pthread_mutexattr_setpshared(pthread_mutexattr_t *a, int pshared);
int pthread_mutexattr_getpshared(const pthread_mutexattr_t *a, int *pshared);
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a);
int pthread_mutex_destroy(pthread_mutex_t *m);
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_trylock(pthread_mutex_t *m);
int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime);
int pthread_mutex_unlock(pthread_mutex_t *m);

int pthread_condattr_init(pthread_condattr_t *a);
int pthread_condattr_destroy(pthread_condattr_t *a);
int pthread_condattr_setclock(pthread_condattr_t *a, clockid_t clock);
int pthread_condattr_getclock(const pthread_condattr_t *a, clockid_t *clock);
int pthread_condattr_setpshared(pthread_condattr_t *a, int pshared);
int pthread_condattr_getpshared(const pthread_condattr_t *a, int *pshared);
int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a);
int pthread_cond_destroy(pthread_cond_t *c);
int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *abstime);
int pthread_cond_signal(pthread_cond_t *c);
int pthread_cond_broadcast(pthread_cond_t *c);

int pthread_once(pthread_once_t *once, void (*fn)(void));
int pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int pthread_key_delete(pthread_key_t key);
void *pthread_getspecific(pthread_key_t key);
int pthread_setspecific(pthread_key_t key, const void *value);
/* Cancellation: per thread, deferred by default. A request acts at a
 * cancellation point (pthread_testcancel, pthread_join,
 * pthread_cond_wait/timedwait, sleep/usleep/nanosleep, read, write,
 * poll, waitpid/wait, pause, sigsuspend, sigwait/sigwaitinfo/
 * sigtimedwait, sem_wait/sem_timedwait) or, asynchronously, at once; the
 * thread then runs its cleanup handlers and key destructors and ends
 * with PTHREAD_CANCELED. Delivered by signal 32 (glibc's SIGCANCEL, so
 * sigaction refuses it and sigfillset leaves it out). */
#define PTHREAD_CANCELED ((void *)-1)
int pthread_cancel(pthread_t t);
void pthread_testcancel(void);
int pthread_setcancelstate(int state, int *old);
int pthread_setcanceltype(int type, int *old);

struct __tb_cleanup {
    void (*__fn)(void *);
    void *__arg;
    struct __tb_cleanup *__prev;
};
void __tb_cleanup_push(struct __tb_cleanup *c, void (*fn)(void *), void *arg);
void __tb_cleanup_pop(struct __tb_cleanup *c, int execute);
/* As glibc's: a pair opens and closes one block in one function. */
#define pthread_cleanup_push(fn, arg)                                                              \
    do {                                                                                           \
        struct __tb_cleanup __tb_cleanup_frame;                                                    \
        __tb_cleanup_push(&__tb_cleanup_frame, (fn), (arg));
#define pthread_cleanup_pop(execute)                                                               \
        __tb_cleanup_pop(&__tb_cleanup_frame, (execute));                                          \
    } while (0)
#endif
