/* semaphore.h: POSIX semaphores over Red Bear IPC (relibc-shim).
 *
 * sem_t has glibc's size and alignment on LP64 targets (32 bytes, aligned
 * as long); its contents are the shim's (src/sem.rs): an unnamed
 * semaphore's first 16 bytes are the kernel-visible words of docs/abi.md.
 * sem_clockwait is declared under _GNU_SOURCE, as glibc does (POSIX.1-2024
 * adds it), since clockid_t may not be visible otherwise. */
#ifndef _SEMAPHORE_H
#define _SEMAPHORE_H 1

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define __SIZEOF_SEM_T 32

typedef union {
    char __size[__SIZEOF_SEM_T];
    long int __align;
} sem_t;

/* The value sem_open returns on failure. */
#define SEM_FAILED ((sem_t *)0)

/* Also in <limits.h> on glibc, with the same value. */
#ifndef SEM_VALUE_MAX
#define SEM_VALUE_MAX (2147483647)
#endif

int sem_init(sem_t *sem, int pshared, unsigned int value);
int sem_destroy(sem_t *sem);
/* sem_open(name, oflag) or, with O_CREAT, sem_open(name, oflag, mode_t
 * mode, unsigned int value). */
sem_t *sem_open(const char *name, int oflag, ...);
int sem_close(sem_t *sem);
int sem_unlink(const char *name);
int sem_wait(sem_t *sem);
int sem_trywait(sem_t *sem);
int sem_timedwait(sem_t *__restrict sem, const struct timespec *__restrict abstime);
#if defined(_GNU_SOURCE) || defined(__redox__)
int sem_clockwait(sem_t *__restrict sem, clockid_t clock,
                  const struct timespec *__restrict abstime);
#endif
int sem_post(sem_t *sem);
int sem_getvalue(sem_t *__restrict sem, int *__restrict sval);

#ifdef __cplusplus
}
#endif

#endif /* _SEMAPHORE_H */
