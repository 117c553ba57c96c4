/* sys/ipc.h: struct ipc_perm is the kernel ABI's 48-byte layout, the
 * constants are the kernel's, and the shim's ftok gives the keys glibc's
 * ftok gives (found with dlsym(RTLD_NEXT): the program's own `ftok` is
 * the shim's) for the same files and project ids, including its errors. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/stat.h>

#include "check.h"

long long rb_shim_sysv_abi(int what);

_Static_assert(sizeof(struct ipc_perm) == 48, "ipc_perm is 48 bytes");
_Static_assert(offsetof(struct ipc_perm, __key) == 0, "key at 0");
_Static_assert(offsetof(struct ipc_perm, uid) == 4, "uid at 4");
_Static_assert(offsetof(struct ipc_perm, gid) == 8, "gid at 8");
_Static_assert(offsetof(struct ipc_perm, cuid) == 12, "cuid at 12");
_Static_assert(offsetof(struct ipc_perm, cgid) == 16, "cgid at 16");
_Static_assert(offsetof(struct ipc_perm, mode) == 20, "mode at 20");
_Static_assert(sizeof(((struct ipc_perm *)0)->mode) == 4, "mode is 32 bits");
_Static_assert(offsetof(struct ipc_perm, __seq) == 24, "seq at 24");

typedef key_t (*ftok_fn)(const char *, int);

int main(int argc, char **argv)
{
    (void)argc;
    CHECK(rb_shim_sysv_abi(0) == (long long)sizeof(struct ipc_perm));
    CHECK(rb_shim_sysv_abi(1) == IPC_CREAT);
    CHECK(rb_shim_sysv_abi(2) == IPC_EXCL);
    CHECK(rb_shim_sysv_abi(3) == IPC_NOWAIT);
    CHECK(rb_shim_sysv_abi(4) == IPC_RMID);
    CHECK(rb_shim_sysv_abi(5) == IPC_SET);
    CHECK(rb_shim_sysv_abi(6) == IPC_STAT);
    CHECK(rb_shim_sysv_abi(7) == IPC_INFO);
    CHECK(rb_shim_sysv_abi(8) == IPC_PRIVATE);
    CHECK(rb_shim_sysv_abi(99) == -1);

    ftok_fn glibc_ftok = (ftok_fn)dlsym(RTLD_NEXT, "ftok");
    CHECK(glibc_ftok != NULL);
    CHECK(glibc_ftok != ftok);

    const char *paths[] = {argv[0], "/", "/tmp", "/dev/null", "/proc/self", "."};
    const int ids[] = {0, 1, 'a', 0x7f, 0x80, 0xff, 0x1ff, -1, 0x12345678};
    int compared = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        struct stat st;
        if (stat(paths[p], &st) != 0)
            continue;
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            key_t ours = ftok(paths[p], ids[i]);
            key_t theirs = glibc_ftok(paths[p], ids[i]);
            if (ours != theirs) {
                fprintf(stderr, "ftok(%s, %#x): shim %#x, glibc %#x\n", paths[p], ids[i],
                        (unsigned)ours, (unsigned)theirs);
                return 1;
            }
            key_t want = (key_t)((st.st_ino & 0xffff) | ((st.st_dev & 0xff) << 16) |
                                 ((unsigned)(ids[i] & 0xff) << 24));
            CHECK(ours == want);
            compared++;
        }
    }
    CHECK(compared >= 9);

    /* A missing file: -1 with stat's errno, in both. */
    CHECK_ERR(ftok("/nonexistent/rb-ftok", 1), ENOENT);
    CHECK_ERR(glibc_ftok("/nonexistent/rb-ftok", 1), ENOENT);
    CHECK_ERR(ftok("", 1), ENOENT);
    CHECK_ERR(glibc_ftok("", 1), ENOENT);
    return 0;
}
