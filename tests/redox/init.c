/* The first process of the Redox image ci/redox-run builds: runs every
 * program of its table as a forked child, waits for it and reports its
 * status on stdout (the serial line), one `RBT:` line per result, which
 * ci/redox-run turns into TAP. A program's own output is copied through
 * unchanged; only lines starting with `RBT:` count, and no test program
 * prints that prefix. If fork itself fails, the programs run one after
 * the other inside this process (said in a comment line), so a missing
 * process creation still leaves the IPC results readable. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rbt.h"

#ifndef RBT_TIMEOUT
#define RBT_TIMEOUT 120
#endif

const struct rbt_prog *rbt_find(const char *name)
{
    for (int i = 0; i < rbt_nprogs; i++)
        if (strcmp(rbt_progs[i].name, name) == 0)
            return &rbt_progs[i];
    return NULL;
}

/* -DRBT_NO_FORK (ci/redox-run --no-fork): run the programs inside this
 * process from the start, for systems whose fork does not work. */
#ifdef RBT_NO_FORK
static int in_process = 1;
#else
static int in_process;
#endif

/* Runs one program; returns its status as tb_wait reports it (0 = pass). */
static int run(const struct rbt_prog *p, int *err)
{
    *err = 0;
    fflush(NULL);
    if (!in_process) {
        pid_t pid = fork();
        if (pid == 0) {
            alarm(RBT_TIMEOUT);
            rbt_arg = 0;
            exit(p->main());
        }
        if (pid > 0) {
            /* The child's alarm is not enough: a program that sets alarms
             * of its own replaces it. So the first process bounds each
             * program too, and kills one still running after RBT_TIMEOUT
             * + 5 s (reported as 128 + SIGKILL). */
            int status;
            pid_t r;
            long waited_ms = 0;
            for (;;) {
                r = waitpid(pid, &status, WNOHANG);
                if (r != 0 && !(r == -1 && errno == EINTR))
                    break;
                if (r == 0 && waited_ms >= (RBT_TIMEOUT + 5) * 1000L) {
                    printf("RBT:# %s still running after %d s: killed\n", p->name, RBT_TIMEOUT + 5);
                    kill(pid, SIGKILL);
                    do
                        r = waitpid(pid, &status, 0);
                    while (r == -1 && errno == EINTR);
                    break;
                }
                struct timespec t = {0, 100 * 1000 * 1000};
                nanosleep(&t, NULL);
                waited_ms += 100;
            }
            if (r == -1) {
                *err = errno;
                return -1;
            }
            if (WIFEXITED(status))
                return WEXITSTATUS(status);
            if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
            return -1;
        }
        printf("RBT:# fork failed (errno %d): running the programs inside the first process\n", errno);
        in_process = 1;
    }
    rbt_arg = 0;
    return p->main();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* The CPUs the kernel runs (relibc reads Redox's sys:cpu), so a run
     * records how many QEMU's -smp gave it. */
    printf("RBT:# first process pid %d uid %d, %ld CPUs online\n", (int)getpid(), (int)getuid(),
           sysconf(_SC_NPROCESSORS_ONLN));
    for (int i = 0; i < rbt_nprogs; i++) {
        const struct rbt_prog *p = &rbt_progs[i];
        if (p->skip) {
            printf("RBT:ok %d - %s # SKIP %s\n", i + 1, p->name, p->skip);
            continue;
        }
        if (p->fail) {
            printf("RBT:not ok %d - %s # %s\n", i + 1, p->name, p->fail);
            continue;
        }
        printf("RBT:# start %s\n", p->name);
        int err;
        int st = run(p, &err);
        fflush(NULL);
        if (st == 0)
            printf("RBT:ok %d - %s\n", i + 1, p->name);
        else if (st < 0)
            printf("RBT:not ok %d - %s # waitpid failed (errno %d)\n", i + 1, p->name, err);
        else
            printf("RBT:not ok %d - %s # exit status %d\n", i + 1, p->name, st);
    }
    printf("RBT:1..%d\n", rbt_nprogs);
    printf("RBT:done\n");
    fflush(NULL);
    /* The first process must not exit; ci/redox-run stops QEMU on `done`. */
    for (;;) {
        struct timespec t = {3600, 0};
        nanosleep(&t, NULL);
    }
}
