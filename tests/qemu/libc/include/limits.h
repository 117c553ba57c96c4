#ifndef _TB_LIMITS_H
#define _TB_LIMITS_H
/* clang's own <limits.h> (the integer limits) plus the POSIX names. */
#include_next <limits.h>
#define NAME_MAX 255
#define PATH_MAX 4096
#define NGROUPS_MAX 32
#define PTHREAD_KEYS_MAX 128
#define PTHREAD_DESTRUCTOR_ITERATIONS 4
#define PTHREAD_STACK_MIN 16384
#define SEM_NSEMS_MAX 256
#define MQ_PRIO_MAX 32768
#define SSIZE_MAX __LONG_MAX__
#endif
