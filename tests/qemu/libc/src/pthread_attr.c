/* <pthread.h> thread attributes and <sched.h> priority ranges, with
 * glibc's defaults and checks. pthread_create (posix.c) honours the stack
 * size or the caller's stack, the guard size and the detach state. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>

int pthread_attr_init(pthread_attr_t *a)
{
    a->__stack_size = 0;
    a->__stack_addr = 0;
    a->__guard_size = 4096; /* glibc: one page */
    a->__detach = PTHREAD_CREATE_JOINABLE;
    a->__scope = PTHREAD_SCOPE_SYSTEM;
    a->__inherit = PTHREAD_INHERIT_SCHED;
    a->__policy = SCHED_OTHER;
    a->__priority = 0;
    return 0;
}

int pthread_attr_destroy(pthread_attr_t *a)
{
    (void)a;
    return 0;
}

int pthread_attr_setstacksize(pthread_attr_t *a, size_t size)
{
    if (size < PTHREAD_STACK_MIN)
        return EINVAL;
    a->__stack_size = size;
    return 0;
}

int pthread_attr_getstacksize(const pthread_attr_t *a, size_t *size)
{
    *size = a->__stack_size ? a->__stack_size : 128 * 1024;
    return 0;
}

int pthread_attr_setdetachstate(pthread_attr_t *a, int state)
{
    if (state != PTHREAD_CREATE_JOINABLE && state != PTHREAD_CREATE_DETACHED)
        return EINVAL;
    a->__detach = state;
    return 0;
}

int pthread_attr_getdetachstate(const pthread_attr_t *a, int *state)
{
    *state = a->__detach;
    return 0;
}

/* Any size is accepted (0 too); pthread_create leaves that much, rounded
 * up to pages, unmapped below a stack it allocates (none below a
 * caller's stack, as POSIX says). */
int pthread_attr_setguardsize(pthread_attr_t *a, size_t size)
{
    a->__guard_size = size;
    return 0;
}

int pthread_attr_getguardsize(const pthread_attr_t *a, size_t *size)
{
    *size = a->__guard_size;
    return 0;
}

int pthread_attr_setstack(pthread_attr_t *a, void *addr, size_t size)
{
    if (size < PTHREAD_STACK_MIN)
        return EINVAL;
    a->__stack_addr = addr;
    a->__stack_size = size;
    return 0;
}

int pthread_attr_getstack(const pthread_attr_t *a, void **addr, size_t *size)
{
    *addr = a->__stack_addr;
    *size = a->__stack_size;
    return 0;
}

int pthread_attr_setscope(pthread_attr_t *a, int scope)
{
    if (scope == PTHREAD_SCOPE_PROCESS)
        return ENOTSUP;
    if (scope != PTHREAD_SCOPE_SYSTEM)
        return EINVAL;
    a->__scope = scope;
    return 0;
}

int pthread_attr_getscope(const pthread_attr_t *a, int *scope)
{
    *scope = a->__scope;
    return 0;
}

int pthread_attr_setinheritsched(pthread_attr_t *a, int inherit)
{
    if (inherit != PTHREAD_INHERIT_SCHED && inherit != PTHREAD_EXPLICIT_SCHED)
        return EINVAL;
    a->__inherit = inherit;
    return 0;
}

int pthread_attr_getinheritsched(const pthread_attr_t *a, int *inherit)
{
    *inherit = a->__inherit;
    return 0;
}

int sched_get_priority_min(int policy)
{
    if (policy == SCHED_OTHER)
        return 0;
    if (policy == SCHED_FIFO || policy == SCHED_RR)
        return 1;
    errno = EINVAL;
    return -1;
}

int sched_get_priority_max(int policy)
{
    if (policy == SCHED_OTHER)
        return 0;
    if (policy == SCHED_FIFO || policy == SCHED_RR)
        return 99;
    errno = EINVAL;
    return -1;
}

int pthread_attr_setschedpolicy(pthread_attr_t *a, int policy)
{
    if (policy != SCHED_OTHER && policy != SCHED_FIFO && policy != SCHED_RR)
        return EINVAL;
    a->__policy = policy;
    return 0;
}

int pthread_attr_getschedpolicy(const pthread_attr_t *a, int *policy)
{
    *policy = a->__policy;
    return 0;
}

/* glibc checks the priority against the attribute's current policy. */
int pthread_attr_setschedparam(pthread_attr_t *a, const struct sched_param *param)
{
    int p = param->sched_priority;
    if (p < sched_get_priority_min(a->__policy) || p > sched_get_priority_max(a->__policy))
        return EINVAL;
    a->__priority = p;
    return 0;
}

int pthread_attr_getschedparam(const pthread_attr_t *a, struct sched_param *param)
{
    param->sched_priority = a->__priority;
    return 0;
}

int pthread_getschedparam(pthread_t t, int *policy, struct sched_param *param)
{
    (void)t;
    *policy = SCHED_OTHER;
    param->sched_priority = 0;
    return 0;
}
