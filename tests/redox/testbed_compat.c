/* testbed.h over POSIX (relibc on Redox): a second process is a fork of
 * the first process running another program of its table, shared memory
 * is anonymous MAP_SHARED memory mapped before the fork. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rbt.h"
#include "testbed.h"

#define PAGE 4096UL
#define SHM_SLOTS 16

unsigned long rbt_arg;

static struct {
    unsigned long key;
    void *addr;
    unsigned long len;
} shm[SHM_SLOTS];

unsigned long tb_arg(void)
{
    return rbt_arg;
}

pid_t tb_spawn(const char *name, uid_t uid, unsigned long arg)
{
    const struct rbt_prog *p = rbt_find(name);
    if (!p || !p->main) {
        errno = ENOENT;
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (uid != getuid()) {
        if (setgid(uid) != 0 || setuid(uid) != 0) {
            printf("tb_spawn: setgid/setuid(%u) failed: errno %d\n", (unsigned)uid, errno);
            exit(126);
        }
    }
    rbt_arg = arg;
    exit(p->main());
}

int tb_wait(pid_t pid)
{
    int status;
    pid_t r;
    do
        r = waitpid(pid, &status, 0);
    while (r == -1 && errno == EINTR);
    if (r == -1)
        return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    errno = ECHILD;
    return -1;
}

void *tb_shm(unsigned long key, unsigned long len)
{
    int free_slot = -1;
    for (int i = 0; i < SHM_SLOTS; i++) {
        if (shm[i].addr && shm[i].key == key) {
            if (shm[i].len < len) {
                errno = EINVAL;
                return NULL;
            }
            return shm[i].addr;
        }
        if (!shm[i].addr && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        errno = ENOMEM;
        return NULL;
    }
    void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return NULL;
    shm[free_slot].key = key;
    shm[free_slot].addr = a;
    shm[free_slot].len = len;
    return a;
}

void *tb_map(unsigned long len)
{
    unsigned long pages = (len + PAGE - 1) / PAGE;
    unsigned char *a =
        mmap(NULL, (pages + 1) * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (a == MAP_FAILED)
        return NULL;
    if (munmap(a + pages * PAGE, PAGE) != 0)
        return NULL;
    return a;
}
