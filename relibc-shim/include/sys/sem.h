/* sys/sem.h: SysV semaphore sets over Red Bear IPC (relibc-shim).
 * struct sembuf is 6 bytes; struct semid_ds is 104 bytes, Linux's x86_64
 * layout (glibc's), on both x86_64 and aarch64: it is the kernel ABI's,
 * so every pointer goes to the kernel unchanged and a bad one is EFAULT.
 * union semun is the caller's to define, as POSIX says; semctl's fourth
 * argument is read only for the commands that use it. SEM_STAT,
 * SEM_INFO, SEM_STAT_ANY and struct seminfo are defined whether or not
 * _GNU_SOURCE is. */
#ifndef _SYS_SEM_H
#define _SYS_SEM_H 1

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sem_flg: undo the operation when the process exits. */
#define SEM_UNDO 0x1000

/* semctl commands. */
#define GETPID 11
#define GETVAL 12
#define GETALL 13
#define GETNCNT 14
#define GETZCNT 15
#define SETVAL 16
#define SETALL 17
#define SEM_STAT 18
#define SEM_INFO 19
#define SEM_STAT_ANY 20

/* Limits as Linux reports them (IPC_INFO reads the ones in force). */
#define SEMMNI 32000
#define SEMMSL 32000
#define SEMMNS (SEMMNI * SEMMSL)
#define SEMOPM 500
#define SEMVMX 32767
#define SEMAEM SEMVMX

struct sembuf {
    unsigned short int sem_num;      /* offset 0: index in the set */
    short int sem_op;                /* 2: > 0 add, < 0 take, 0 wait for zero */
    short int sem_flg;               /* 4: IPC_NOWAIT, SEM_UNDO */
};

struct semid_ds {
    struct ipc_perm sem_perm;        /* offset 0 */
    time_t sem_otime;                /* 48: last semop */
    unsigned long int __sem_otime_high;
    time_t sem_ctime;                /* 64: creation or last change */
    unsigned long int __sem_ctime_high;
    unsigned long int sem_nsems;     /* 80: semaphores in the set */
    unsigned long int __glibc_reserved3;
    unsigned long int __glibc_reserved4;
};

/* IPC_INFO and SEM_INFO fill this (passed as semun's __buf). */
struct seminfo {
    int semmap;
    int semmni;
    int semmns;
    int semmnu;
    int semmsl;
    int semopm;
    int semume;
    int semusz;
    int semvmx;
    int semaem;
};

int semget(key_t key, int nsems, int semflg);
int semop(int semid, struct sembuf *sops, size_t nsops);
int semctl(int semid, int semnum, int cmd, ...);

#ifdef _GNU_SOURCE
struct timespec;
/* semop with a relative timeout on CLOCK_MONOTONIC: EAGAIN when it passes. */
int semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *timeout);
#endif

#ifdef __cplusplus
}
#endif

#endif /* _SYS_SEM_H */
