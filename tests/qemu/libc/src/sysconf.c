/* sysconf: the testbed's own limits (tests/qemu/README.md), Linux's
 * _SC_ numbers; EINVAL for a name it does not know. */
#include <errno.h>
#include <unistd.h>

#include "syscall.h"

long sysconf(int name)
{
    switch (name) {
    case _SC_CLK_TCK:
        return 100; /* the testbed's tick, and glibc's answer */
    case _SC_NGROUPS_MAX:
        return 32; /* SETGROUPS' limit */
    case _SC_OPEN_MAX:
        return 256; /* fd numbers per process */
    case _SC_PAGESIZE:
        return 4096;
    case _SC_RTSIG_MAX:
        return 31; /* SIGRTMIN 34 .. SIGRTMAX 64 */
    case _SC_SIGQUEUE_MAX:
        return 128; /* queued realtime signals per process */
    case _SC_SEM_NSEMS_MAX:
        return -1; /* no limit of its own, as glibc reports */
    case _SC_SEM_VALUE_MAX:
        return 2147483647;
    case _SC_MQ_PRIO_MAX:
        return 32768; /* redbear-ipc's MQ_PRIO_MAX */
    case _SC_MQ_OPEN_MAX:
    case _SC_THREAD_THREADS_MAX:
        return -1; /* no limit of its own, as glibc reports */
    case _SC_ARG_MAX:
        return 32768; /* EXEC's limit on argument bytes */
    case _SC_THREAD_KEYS_MAX:
        return 128; /* PTHREAD_KEYS_MAX */
    case _SC_THREAD_STACK_MIN:
        return 16384; /* PTHREAD_STACK_MIN */
    case _SC_THREAD_DESTRUCTOR_ITERATIONS:
        return 4;
    case _SC_NPROCESSORS_CONF:
    case _SC_NPROCESSORS_ONLN:
        /* Every CPU QEMU gives the testbed is started (CPU_INFO 1). */
        return __tb_ret(tb_sys1(TB_CPU_INFO, 1));
    case _SC_VERSION:
    case _SC_REALTIME_SIGNALS:
    case _SC_SEMAPHORES:
    case _SC_THREADS:
    case _SC_THREAD_PROCESS_SHARED:
    case _SC_CLOCK_SELECTION:
    case _SC_MONOTONIC_CLOCK:
    case _SC_TIMEOUTS:
    case _SC_MESSAGE_PASSING:
    case _SC_THREAD_ATTR_STACKSIZE:
    case _SC_THREAD_ATTR_STACKADDR:
    case _SC_SHARED_MEMORY_OBJECTS:
        return 200809L;
    default:
        errno = EINVAL;
        return -1;
    }
}
