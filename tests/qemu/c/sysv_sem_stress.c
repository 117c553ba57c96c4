/* SysV semaphore stress across forked processes, with SEM_UNDO. A set of
 * three: [0] a lock (1), [1] a SEM_UNDO tally (0), [2] a plain tally (0).
 * 4 worker processes each do 300 times: take the lock (-1, SEM_UNDO),
 * add 1 to a plain counter in MAP_SHARED memory (yielding inside every
 * 8th time, so the others block in semop), then in one semop release the
 * lock (+1, SEM_UNDO) and add 1 to both tallies ([1] with SEM_UNDO).
 * A fifth process takes the lock with SEM_UNDO and exits holding it, so
 * the workers blocked behind it are released only by its undo. At the
 * end: the counter is exactly 1200, [0] is 1 (every undo of the lock
 * balanced), [1] is 0 (each worker's 300 undone at its exit), [2] is
 * 1200. Linux program. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stress.h"

#define WORKERS 4
#define ITERS 300

union semun {
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static int sid = -1;
static long *counter;

static void remove_set(void)
{
    if (sid >= 0)
        semctl(sid, 0, IPC_RMID);
}

static int op(struct sembuf *ops, size_t n)
{
    int r;
    do
        r = semop(sid, ops, n);
    while (r != 0 && errno == EINTR);
    return r;
}

static int work(void)
{
    int bad = 0;
    for (int i = 0; i < ITERS; i++) {
        struct sembuf take = {0, -1, SEM_UNDO};
        bad |= op(&take, 1) != 0;
        long v = *counter;
        if ((i & 7) == 0)
            sched_yield();
        *counter = v + 1;
        struct sembuf release[3] = {{0, 1, SEM_UNDO}, {1, 1, SEM_UNDO}, {2, 1, 0}};
        bad |= op(release, 3) != 0;
    }
    return bad;
}

static int hold_and_exit(void)
{
    struct sembuf take = {0, -1, SEM_UNDO};
    if (op(&take, 1) != 0)
        return 1;
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    return 0; /* exits holding the lock: its undo gives it back */
}

int main(void)
{
    stress_watchdog("sysv_sem_stress");
    counter = mmap(NULL, sizeof *counter, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(counter != MAP_FAILED);
    sid = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
    CHECK(sid >= 0);
    if (counter == MAP_FAILED || sid < 0)
        return stress_end();
    stress_cleanup = remove_set;
    CHECK(semctl(sid, 0, SETVAL, (union semun){.val = 1}) == 0);

    stress_set_phase("workers");
    pid_t holder = stress_fork("sysv_sem_stress holder");
    CHECK(holder >= 0);
    if (holder == 0)
        _exit(hold_and_exit());
    pid_t w[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        w[i] = stress_fork("sysv_sem_stress worker");
        CHECK(w[i] >= 0);
        if (w[i] == 0)
            _exit(work());
    }
    int st = -1;
    CHECK(waitpid(holder, &st, 0) == holder);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (int i = 0; i < WORKERS; i++) {
        st = -1;
        CHECK(waitpid(w[i], &st, 0) == w[i]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    CHECK(*counter == WORKERS * ITERS);
    CHECK(semctl(sid, 0, GETVAL) == 1);
    CHECK(semctl(sid, 1, GETVAL) == 0);
    CHECK(semctl(sid, 2, GETVAL) == WORKERS * ITERS);
    CHECK(semctl(sid, 0, GETNCNT) == 0);
    CHECK(semctl(sid, 0, IPC_RMID) == 0);
    sid = -1;
    return stress_end();
}
