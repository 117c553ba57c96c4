/* shm_open, ftruncate and mmap of a named shared memory object, written
 * for Linux (it also builds and passes unchanged with glibc:
 * tests/posix_c_glibc.rs).
 * - O_CREAT | O_EXCL makes it (the fd FD_CLOEXEC, fstat: S_IFREG, the
 *   mode less the umask, size 0); again EEXIST; ENOENT without O_CREAT;
 *   EINVAL for "/" and "/a/b", ENAMETOOLONG for a name one byte past
 *   NAME_MAX;
 * - ftruncate sets the size fstat reports; EINVAL for a negative size,
 *   through a read-only fd, and for a pipe;
 * - mmap(MAP_SHARED): a read-write mapping and a read-only one of a
 *   second open see the same bytes, at an offset too; EACCES for a write
 *   mapping of the read-only fd, EINVAL for an unaligned offset, ENODEV
 *   for a pipe;
 * - a forked child writes through the inherited mapping and through one
 *   of its own open of the name; the parent sees both;
 * - another program (this one exec'd with "reader") opens the name, checks
 *   the bytes and answers through them;
 * - shrinking and growing again leaves zeros past the cut;
 * - a child with another uid is refused a 0644 object for writing
 *   (EACCES) and its unlink (EACCES), and may open it read-only;
 * - O_TRUNC empties it; after shm_unlink the name is gone (ENOENT, and
 *   ENOENT for a second unlink) while the fd and the mapping still work;
 * - on the testbed only (Linux's tmpfs limits are others): ftruncate
 *   above 16 MiB is EFBIG, and a test's 257th object ENOSPC, unlinked
 *   ones counted (their memory stays until the test ends). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "posix_check.h"

#define SIZE (3 * 4096 + 100)

static int reader(const char *name)
{
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return 10;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size != SIZE)
        return 11;
    unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return 12;
    for (int i = 0; i < SIZE; i++)
        if (m[i] != (unsigned char)(i * 7))
            return 13;
    m[SIZE - 1] = 0xee; /* the answer */
    return 0;
}

static int wait_status(pid_t pid)
{
    int st = -1;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "reader") == 0)
        return reader(argv[2]);

    char name[64];
    snprintf(name, sizeof name, "/posix_shm_%d", (int)getpid());
    mode_t old_mask = umask(022);
    long page = sysconf(_SC_PAGESIZE);

    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0666);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == 0644 && st.st_size == 0);
    CHECK(st.st_uid == geteuid());
    CHECK(shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600) == -1 && errno == EEXIST);
    CHECK(shm_open("/posix_shm_no_such_name", O_RDWR, 0) == -1 && errno == ENOENT);
    CHECK(shm_open("/", O_CREAT | O_RDWR, 0600) == -1 && errno == EINVAL);
    CHECK(shm_open("/a/b", O_CREAT | O_RDWR, 0600) == -1 && errno == EINVAL);
    char longname[NAME_MAX + 3]; /* "/", NAME_MAX + 1 bytes, NUL */
    memset(longname, 'a', sizeof longname);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    CHECK(shm_open(longname, O_CREAT | O_RDWR, 0600) == -1 && errno == ENAMETOOLONG);

    CHECK(ftruncate(fd, SIZE) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE);
    CHECK(ftruncate(fd, -1) == -1 && errno == EINVAL);
    int ro = shm_open(name, O_RDONLY, 0);
    CHECK(ro >= 0);
    CHECK(ftruncate(ro, 4096) == -1 && errno == EINVAL);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(ftruncate(p[1], 4096) == -1 && errno == EINVAL);

    unsigned char *m = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED)
        return 1;
    for (int i = 0; i < SIZE; i++)
        CHECK(m[i] == 0);
    for (int i = 0; i < SIZE; i++)
        m[i] = (unsigned char)(i * 7);
    const unsigned char *r = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, ro, 0);
    CHECK(r != MAP_FAILED && r != m);
    CHECK(memcmp(r, m, SIZE) == 0);
    const unsigned char *r1 = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, ro, page);
    CHECK(r1 != MAP_FAILED && memcmp(r1, m + page, (size_t)page) == 0);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 100) == MAP_FAILED && errno == EINVAL);
    CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, p[0], 0) == MAP_FAILED && errno == ENODEV);

    /* A forked child: the inherited mapping and its own open. */
    pid_t c = fork();
    if (c == 0) {
        m[0] = 0xa1;
        int f2 = shm_open(name, O_RDWR, 0);
        unsigned char *m2 = f2 < 0 ? MAP_FAILED : mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, f2, 0);
        if (m2 == MAP_FAILED)
            _exit(20);
        m2[1] = 0xa2;
        _exit(m2[0] == 0xa1 ? 0 : 21);
    }
    CHECK(c > 0 && wait_status(c) == 0);
    CHECK(m[0] == 0xa1 && m[1] == 0xa2 && r[0] == 0xa1);
    m[0] = 0;
    m[1] = 7;

    /* Another program opens it by name. */
    c = fork();
    if (c == 0) {
        execl(argv[0], argv[0], "reader", name, (char *)NULL);
        _exit(30);
    }
    CHECK(c > 0 && wait_status(c) == 0);
    CHECK(m[SIZE - 1] == 0xee);

    /* Shrink, write past the cut through the old mapping's first page,
     * grow again: zeros past the cut. */
    CHECK(ftruncate(fd, 100) == 0);
    CHECK(fstat(fd, &st) == 0 && st.st_size == 100);
    CHECK(ftruncate(fd, 2 * page) == 0);
    unsigned char *g = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(g != MAP_FAILED);
    if (g != MAP_FAILED) {
        CHECK(g[0] == 0 && g[99] == (unsigned char)(99 * 7));
        int zero = 1;
        for (long i = 100; i < 2 * page; i++)
            zero &= g[i] == 0;
        CHECK(zero);
        CHECK(munmap(g, 2 * (size_t)page) == 0);
    }

    /* Another uid: the 0644 mode's others bits. */
    c = fork();
    if (c == 0) {
        if (setuid(1000) != 0)
            _exit(40);
        if (shm_open(name, O_RDWR, 0) != -1 || errno != EACCES)
            _exit(41);
        if (shm_unlink(name) != -1 || errno != EACCES)
            _exit(42);
        _exit(shm_open(name, O_RDONLY, 0) >= 0 ? 0 : 43);
    }
    CHECK(c > 0 && wait_status(c) == 0);

#ifndef __linux__
    CHECK(ftruncate(fd, 16 * 1024 * 1024 + 1) == -1 && errno == EFBIG);
    {
        /* This program made one object: 255 more fit. */
        char n2[64];
        int made = 0, err = 0;
        for (int i = 0; i < 300; i++) {
            snprintf(n2, sizeof n2, "/posix_shm_many_%d", i);
            int f = shm_open(n2, O_CREAT | O_EXCL | O_RDWR, 0600);
            if (f < 0) {
                err = errno;
                break;
            }
            made++;
            CHECK(close(f) == 0 && shm_unlink(n2) == 0);
        }
        CHECK(made == 255 && err == ENOSPC);
    }
#endif

    /* O_TRUNC, then unlink. */
    int t = shm_open(name, O_RDWR | O_TRUNC, 0);
    CHECK(t >= 0 && fstat(t, &st) == 0 && st.st_size == 0);
    CHECK(ftruncate(t, 4096) == 0);
    unsigned char *u = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, t, 0);
    CHECK(u != MAP_FAILED);
    CHECK(shm_unlink(name) == 0);
    CHECK(shm_open(name, O_RDWR, 0) == -1 && errno == ENOENT);
    CHECK(shm_unlink(name) == -1 && errno == ENOENT);
    if (u != MAP_FAILED) {
        u[5] = 42;
        CHECK(u[5] == 42);
    }
    CHECK(fstat(t, &st) == 0 && st.st_size == 4096);
    umask(old_mask);

    if (failures)
        return 1;
    printf("posix_shm: all cases passed\n");
    return 0;
}
