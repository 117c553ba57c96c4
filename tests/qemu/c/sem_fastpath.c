/* relibc-shim's uncontended semaphore operations never enter the kernel:
 * the testbed counts this process' system calls around them. Contended
 * ones do (a blocked sem_wait must sleep in the kernel). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <testbed.h>

#define N 1000

static sem_t gate;

static void *poster(void *arg)
{
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    sem_post(&gate);
    return arg;
}

int main(void)
{
    sem_t s;
    int v;
    if (sem_init(&s, 0, 0) != 0)
        return 1;
    unsigned long before = tb_syscall_count();
    for (int i = 0; i < N; i++) {
        if (sem_post(&s) != 0 || sem_trywait(&s) != 0)
            return 2;
        if (sem_post(&s) != 0 || sem_wait(&s) != 0)
            return 3;
    }
    if (sem_getvalue(&s, &v) != 0 || v != 0)
        return 4;
    unsigned long used = tb_syscall_count() - before - 1;
    if (used != 0) {
        printf("%d uncontended post/wait pairs made %lu system calls (want 0)\n", 2 * N, used);
        return 5;
    }
    /* Contended: the waiter must sleep in the kernel until the post. */
    if (sem_init(&gate, 0, 0) != 0)
        return 6;
    pthread_t t;
    if (pthread_create(&t, NULL, poster, NULL) != 0)
        return 7;
    before = tb_syscall_count();
    if (sem_wait(&gate) != 0)
        return 8;
    unsigned long contended = tb_syscall_count() - before - 1;
    pthread_join(t, NULL);
    if (contended == 0) {
        printf("a blocking sem_wait made no system call\n");
        return 9;
    }
    printf("semaphore fast path: ok (0 syscalls for %d uncontended ops, %lu for a blocked wait)\n",
           4 * N, contended);
    return 0;
}
