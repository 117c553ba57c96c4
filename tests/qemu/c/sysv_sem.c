/* SysV semaphore sets from C through relibc-shim: atomic multi-operation
 * semop, blocking between two threads, GETNCNT / GETZCNT of a blocked
 * caller, IPC_NOWAIT, semtimedop's timeout, IPC_RMID waking a waiter with
 * EIDRM, SETALL / GETALL, IPC_STAT, SEM_UNDO settled when a child process
 * exits, a second uid refused, and EFAULT for bad sops, timeout and semun
 * buffers. Written for Linux's <sys/sem.h>: it builds unchanged there. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <time.h>
/* The testbed (no __linux__) has processes through testbed.h. */
#ifndef __linux__
#define ON_TESTBED 1
#include <testbed.h>
#endif

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
    struct seminfo *__buf;
};

static int failures;
#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            printf("check failed: %s (line %d, errno %d)\n", #cond, __LINE__, errno); \
            failures++;                                                           \
        }                                                                         \
    } while (0)

struct waiter {
    int id;
    struct sembuf ops[2];
    size_t nops;
    int ret;
    int err;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    w->ret = semop(w->id, w->ops, w->nops);
    w->err = errno;
    return NULL;
}

/* Waits until `n` callers wait for semaphore `num` to grow (GETNCNT). */
static int wait_ncnt(int id, int num, int n)
{
    for (int i = 0; i < 100000; i++) {
        if (semctl(id, num, GETNCNT) == n)
            return 1;
        sched_yield();
    }
    return 0;
}

#ifdef ON_TESTBED
static int child(unsigned long arg)
{
    int id = (int)(arg >> 1);
    if (arg & 1) {
        /* As uid 1000 on root's 0600 set: refused. */
        struct sembuf up = {0, 1, IPC_NOWAIT};
        return semop(id, &up, 1) == -1 && errno == EACCES ? 0 : 1;
    }
    struct sembuf ups[2] = {{0, 2, SEM_UNDO}, {1, 1, SEM_UNDO}};
    return semop(id, ups, 2) == 0 ? 0 : 1;
}
#endif

int main(void)
{
#ifdef ON_TESTBED
    if (tb_arg() != 0)
        return child(tb_arg());
#endif
    CHECK(sizeof(struct sembuf) == 6);
    CHECK(sizeof(struct semid_ds) == 104);
    CHECK(sizeof(struct seminfo) == 40);

    int id = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(id >= 0);
    CHECK(semget(IPC_PRIVATE, 0, IPC_CREAT | 0600) == -1 && errno == EINVAL);

    /* Atomic: the third operation would block, so nothing applies. */
    struct sembuf up2[2] = {{0, 2, 0}, {1, 1, 0}};
    CHECK(semop(id, up2, 2) == 0);
    struct sembuf all3[3] = {{0, -1, 0}, {1, -1, 0}, {2, -1, IPC_NOWAIT}};
    CHECK(semop(id, all3, 3) == -1 && errno == EAGAIN);
    CHECK(semctl(id, 0, GETVAL) == 2 && semctl(id, 1, GETVAL) == 1);
    struct sembuf big = {0, 32767, 0};
    CHECK(semop(id, &big, 1) == -1 && errno == ERANGE);
    struct sembuf far = {3, 1, 0};
    CHECK(semop(id, &far, 1) == -1 && errno == EFBIG);

    /* SETALL / GETALL. */
    unsigned short set[3] = {0, 5, 0}, got[3] = {9, 9, 9};
    union semun a;
    a.array = set;
    CHECK(semctl(id, 0, SETALL, a) == 0);
    a.array = got;
    CHECK(semctl(id, 0, GETALL, a) == 0);
    CHECK(got[0] == 0 && got[1] == 5 && got[2] == 0);
    CHECK(semctl(id, 1, GETPID) > 0);

    /* Blocking between two threads, counted by GETNCNT. */
    struct waiter w = {.id = id, .ops = {{0, -1, 0}}, .nops = 1};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, wait_thread, &w) == 0);
    CHECK(wait_ncnt(id, 0, 1));
    CHECK(semctl(id, 0, GETZCNT) == 0);
    struct sembuf post = {0, 1, 0};
    CHECK(semop(id, &post, 1) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(w.ret == 0);
    CHECK(semctl(id, 0, GETVAL) == 0 && semctl(id, 0, GETNCNT) == 0);

    /* IPC_NOWAIT, and a timeout. */
    struct sembuf take = {0, -1, IPC_NOWAIT};
    CHECK(semop(id, &take, 1) == -1 && errno == EAGAIN);
    struct timespec ts = {0, 20000000};
    take.sem_flg = 0;
    CHECK(semtimedop(id, &take, 1, &ts) == -1 && errno == EAGAIN);

    /* IPC_STAT. */
    struct semid_ds ds;
    a.buf = &ds;
    CHECK(semctl(id, 0, IPC_STAT, a) == 0);
    CHECK(ds.sem_nsems == 3 && (ds.sem_perm.mode & 0777) == 0600);
    CHECK(ds.sem_otime != 0 && ds.sem_ctime != 0);

    /* EFAULT for bad pointers, from the kernel, not a crash. */
    CHECK(semop(id, (struct sembuf *)8, 1) == -1 && errno == EFAULT);
    CHECK(semtimedop(id, &take, 1, (const struct timespec *)8) == -1 && errno == EFAULT);
    a.buf = (struct semid_ds *)8;
    CHECK(semctl(id, 0, IPC_STAT, a) == -1 && errno == EFAULT);
    CHECK(semctl(id, 0, IPC_SET, a) == -1 && errno == EFAULT);
    a.array = (unsigned short *)8;
    CHECK(semctl(id, 0, GETALL, a) == -1 && errno == EFAULT);
    CHECK(semctl(id, 0, SETALL, a) == -1 && errno == EFAULT);
    CHECK(semctl(id, 1, GETVAL) == 5);

#ifdef ON_TESTBED
    /* SEM_UNDO: a child's adjustments are undone when it exits. */
    pid_t c = tb_spawn("sysv_sem", 0, (unsigned long)id << 1);
    CHECK(c > 0 && tb_wait(c) == 0);
    CHECK(semctl(id, 0, GETVAL) == 0 && semctl(id, 1, GETVAL) == 5);
    c = tb_spawn("sysv_sem", 1000, ((unsigned long)id << 1) | 1);
    CHECK(c > 0 && tb_wait(c) == 0);
#endif

    /* IPC_RMID wakes a blocked caller with EIDRM. */
    struct waiter r = {.id = id, .ops = {{2, -1, 0}, {0, 0, 0}}, .nops = 2};
    CHECK(pthread_create(&t, NULL, wait_thread, &r) == 0);
    CHECK(wait_ncnt(id, 2, 1));
    CHECK(semctl(id, 0, IPC_RMID) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(r.ret == -1 && r.err == EIDRM);
    CHECK(semctl(id, 0, GETVAL) == -1 && errno == EINVAL);

    if (failures)
        printf("%d checks failed\n", failures);
    return failures != 0;
}
