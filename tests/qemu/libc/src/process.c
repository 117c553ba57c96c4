/* fork, exec, waitpid/wait, pipe/pipe2 and anonymous mmap over the
 * testbed's FORK, EXEC, WAITPID, PIPE2, MMAP_ANON and SHM_MAP calls. */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall.h"
#include "thread.h"

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
    return (pid_t)__tb_ret(TB_CANCEL_POINT(tb_sys3(TB_WAITPID, (long)pid, status, options)));
}

pid_t wait(int *status) { return waitpid(-1, status, 0); }

int pipe2(int fds[2], int flags) { return (int)__tb_ret(tb_sys2(TB_PIPE2, fds, flags)); }

int pipe(int fds[2]) { return pipe2(fds, 0); }

/* MAP_SHARED of a shm object: PROT_READ or read-write. */
static void *map_fd(size_t len, int prot, int flags, int fd, off_t off)
{
    if ((prot & ~(PROT_READ | PROT_WRITE)) || !(prot & PROT_READ)) {
        errno = ENOTSUP;
        return MAP_FAILED;
    }
    if (!!(flags & MAP_SHARED) == !!(flags & MAP_PRIVATE)) {
        errno = EINVAL;
        return MAP_FAILED;
    }
    if (flags & MAP_PRIVATE) {
        errno = ENOTSUP;
        return MAP_FAILED;
    }
    long r = __tb_ret(__tb_syscall(TB_MMAP_FD, fd, (long)len, (prot & PROT_WRITE) != 0, off, 0, 0));
    return r == -1 ? MAP_FAILED : (void *)r;
}

/* A MAP_SHARED region is a testbed shared region under a key no other
 * mapping uses (this pid and a counter). */
static unsigned long shared_maps;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    (void)addr;
    if (flags & MAP_FIXED) {
        errno = ENODEV;
        return MAP_FAILED;
    }
    if (!(flags & MAP_ANONYMOUS))
        return map_fd(len, prot, flags, fd, off);
    /* Anonymous pages are mapped read-write: other protections are
     * refused, not silently widened. */
    if (prot != (PROT_READ | PROT_WRITE)) {
        errno = ENOTSUP;
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

/* shm_open: glibc's name rules (leading slashes skipped; an empty rest
 * or another slash is EINVAL; more than NAME_MAX bytes ENAMETOOLONG,
 * which glibc gives up to 259 bytes and EINVAL above). */
static int shm_name(const char *name, const char **rest, size_t *len)
{
    while (*name == '/')
        name++;
    size_t n = strlen(name);
    if (n == 0 || strchr(name, '/')) {
        errno = EINVAL;
        return -1;
    }
    if (n > 255) {
        errno = ENAMETOOLONG;
        return -1;
    }
    *rest = name;
    *len = n;
    return 0;
}

int shm_open(const char *name, int oflag, mode_t mode)
{
    const char *n;
    size_t len;
    if (shm_name(name, &n, &len) < 0)
        return -1;
    return (int)__tb_ret(tb_sys4(TB_SHM_OPEN, n, len, oflag, mode));
}

int shm_unlink(const char *name)
{
    const char *n;
    size_t len;
    if (shm_name(name, &n, &len) < 0)
        return -1;
    return (int)__tb_ret(tb_sys2(TB_SHM_UNLINK, n, len));
}

int ftruncate(int fd, off_t len) { return (int)__tb_ret(tb_sys2(TB_FTRUNCATE, fd, len)); }

int fstat(int fd, struct stat *st) { return (int)__tb_ret(tb_sys2(TB_FSTAT, fd, st)); }

int stat(const char *path, struct stat *st)
{
    return (int)__tb_ret(tb_sys3(TB_STAT, path, strlen(path), st));
}
