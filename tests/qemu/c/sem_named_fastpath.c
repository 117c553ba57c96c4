/* The named-semaphore fast path across processes: relibc-shim maps the
 * semaphore's kernel page at sem_open (SYS_RB_SEM_MAP), so uncontended
 * sem_post/sem_wait on a named semaphore make no system call, in the
 * parent and in a forked child (which shares the mapping); a wait with
 * nothing to take sleeps in the kernel and a post from the other process
 * wakes it (one futex key for the page in both processes). The testbed
 * counts each process's system calls around the operations. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/wait.h>
#include <testbed.h>
#include <time.h>
#include <unistd.h>

#define N 1000

static int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int main(void)
{
    sem_unlink("/rb_nfast");
    sem_unlink("/rb_nback");
    sem_t *a = sem_open("/rb_nfast", O_CREAT | O_EXCL, 0600, 0);
    sem_t *back = sem_open("/rb_nback", O_CREAT | O_EXCL, 0600, 0);
    if (a == SEM_FAILED || back == SEM_FAILED)
        return 1;
    int v;
    unsigned long before = tb_syscall_count();
    for (int i = 0; i < N; i++) {
        if (sem_post(a) != 0 || sem_wait(a) != 0)
            return 2;
        if (sem_post(a) != 0 || sem_trywait(a) != 0)
            return 3;
    }
    if (sem_getvalue(a, &v) != 0 || v != 0)
        return 4;
    unsigned long used = tb_syscall_count() - before - 1;
    if (used != 0) {
        printf("%d uncontended named post/wait pairs made %lu system calls\n", 2 * N, used);
        return 5;
    }
    /* N units for the child, which takes them and posts N back. */
    for (int i = 0; i < N; i++)
        if (sem_post(a) != 0)
            return 6;
    pid_t child = fork();
    if (child < 0)
        return 7;
    if (child == 0) {
        unsigned long b = tb_syscall_count();
        for (int i = 0; i < N; i++)
            if (sem_wait(a) != 0 || sem_post(back) != 0)
                _exit(20);
        unsigned long c = tb_syscall_count() - b - 1;
        if (c != 0) {
            printf("child: %d uncontended ops made %lu system calls\n", 2 * N, c);
            _exit(21);
        }
        _exit(0);
    }
    int st = wait_child(child);
    if (st != 0) {
        printf("child exited %d\n", st);
        return 8;
    }
    before = tb_syscall_count();
    for (int i = 0; i < N; i++)
        if (sem_trywait(back) != 0)
            return 9;
    used = tb_syscall_count() - before - 1;
    if (used != 0 || sem_trywait(back) != -1 || errno != EAGAIN)
        return 10;
    if (sem_getvalue(a, &v) != 0 || v != 0)
        return 11;

    /* Contended across processes: the parent sleeps, the child's post
     * wakes it. */
    child = fork();
    if (child < 0)
        return 12;
    if (child == 0) {
        struct timespec d = {0, 20 * 1000 * 1000};
        nanosleep(&d, NULL);
        _exit(sem_post(a) == 0 ? 0 : 30);
    }
    before = tb_syscall_count();
    if (sem_wait(a) != 0)
        return 13;
    unsigned long contended = tb_syscall_count() - before - 1;
    if (wait_child(child) != 0)
        return 14;
    if (contended == 0) {
        printf("a blocking named sem_wait made no system call\n");
        return 15;
    }
    /* And the other way: the child sleeps, the parent wakes it. */
    child = fork();
    if (child < 0)
        return 16;
    if (child == 0)
        _exit(sem_wait(back) == 0 ? 0 : 40);
    struct timespec d = {0, 20 * 1000 * 1000};
    nanosleep(&d, NULL);
    if (sem_post(back) != 0 || wait_child(child) != 0)
        return 17;

    /* Unlinked while open and mapped: still a working semaphore. */
    if (sem_unlink("/rb_nfast") != 0 || sem_unlink("/rb_nback") != 0)
        return 18;
    if (sem_post(a) != 0 || sem_wait(a) != 0)
        return 19;
    if (sem_close(a) != 0 || sem_close(back) != 0)
        return 22;
    printf("named semaphore fast path: ok (0 syscalls for %d uncontended ops in each process, %lu for a blocked wait)\n",
           4 * N, contended);
    return 0;
}
