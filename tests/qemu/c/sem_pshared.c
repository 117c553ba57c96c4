/* A process-shared unnamed semaphore (sem_init pshared = 1) in memory
 * shared by two processes: ping-pong through relibc-shim's fast paths and
 * the kernel's shared futex keys. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <testbed.h>

#define ROUNDS 200

struct shared {
    sem_t ping, pong;
    int counter;
};

int main(void)
{
    struct shared *sh = tb_shm(0x5e3c0001, sizeof(struct shared));
    if (!sh) {
        printf("tb_shm failed: %d\n", errno);
        return 1;
    }
    if (tb_arg() == 1) {
        for (int i = 0; i < ROUNDS; i++) {
            if (sem_wait(&sh->ping) != 0)
                return 2;
            sh->counter++;
            if (sem_post(&sh->pong) != 0)
                return 3;
        }
        return 0;
    }
    if (sem_init(&sh->ping, 1, 0) != 0 || sem_init(&sh->pong, 1, 0) != 0) {
        printf("sem_init: %d\n", errno);
        return 4;
    }
    pid_t child = tb_spawn("sem_pshared", 1000, 1);
    if (child < 0) {
        printf("tb_spawn: %d\n", errno);
        return 5;
    }
    for (int i = 0; i < ROUNDS; i++) {
        sem_post(&sh->ping);
        if (sem_wait(&sh->pong) != 0)
            return 6;
        if (sh->counter != i + 1) {
            printf("round %d: counter %d\n", i, sh->counter);
            return 7;
        }
    }
    int status = tb_wait(child);
    if (status != 0) {
        printf("child status %d\n", status);
        return 8;
    }
    printf("process-shared semaphore ping-pong: ok (%d rounds)\n", ROUNDS);
    return 0;
}
