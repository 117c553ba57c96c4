/* fork, exec, waitpid/wait, pipe/pipe2 and anonymous mmap over the
 * testbed's FORK, EXEC, WAITPID, PIPE2, MMAP_ANON and SHM_MAP calls. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall.h"

pid_t fork(void) { return (pid_t)__tb_ret(tb_sys0(TB_FORK)); }

int execv(const char *path, char *const argv[])
{
    return (int)__tb_ret(tb_sys3(TB_EXEC, path, strlen(path), argv));
}

/* No PATH to search: every program is in the archive. */
int execvp(const char *file, char *const argv[]) { return execv(file, argv); }

/* Most arguments execl takes (the kernel's own limit is 256). */
#define EXECL_MAX 256

static int execl_common(const char *path, const char *arg, va_list ap)
{
    char *argv[EXECL_MAX + 1];
    int n = 0;
    for (const char *a = arg; a; a = va_arg(ap, const char *)) {
        if (n == EXECL_MAX) {
            errno = E2BIG;
            return -1;
        }
        argv[n++] = (char *)a;
    }
    argv[n] = 0;
    return execv(path, argv);
}

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int r = execl_common(path, arg, ap);
    va_end(ap);
    return r;
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    va_start(ap, arg);
    int r = execl_common(file, arg, ap);
    va_end(ap);
    return r;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
    return (pid_t)__tb_ret(tb_sys3(TB_WAITPID, (long)pid, status, options));
}

pid_t wait(int *status) { return waitpid(-1, status, 0); }

int pipe2(int fds[2], int flags) { return (int)__tb_ret(tb_sys2(TB_PIPE2, fds, flags)); }

int pipe(int fds[2]) { return pipe2(fds, 0); }

/* A MAP_SHARED region is a testbed shared region under a key no other
 * mapping uses (this pid and a counter). */
static unsigned long shared_maps;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    (void)addr;
    /* Pages are mapped read-write: other protections are refused, not
     * silently widened. */
    if (prot != (PROT_READ | PROT_WRITE)) {
        errno = ENOTSUP;
        return MAP_FAILED;
    }
    if (!(flags & MAP_ANONYMOUS) || (flags & MAP_FIXED)) {
        errno = ENODEV;
        return MAP_FAILED;
    }
    if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE) || off != 0 || (fd != -1 && fd != 0)) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    long r;
    if (flags & MAP_SHARED) {
        unsigned long key = 0x6d6d000000000000UL | ((unsigned long)getpid() << 20) | shared_maps++;
        r = __tb_ret(tb_sys2(TB_SHM_MAP, key, len));
    } else {
        r = __tb_ret(tb_sys1(TB_MMAP_ANON, len));
    }
    return r == -1 ? MAP_FAILED : (void *)r;
}

int munmap(void *addr, size_t len) { return (int)__tb_ret(tb_sys2(TB_MUNMAP, addr, len)); }
