#ifndef _SYS_MMAN_H
#define _SYS_MMAN_H
#include <sys/types.h>
/* Anonymous read-write mappings (another prot is ENOTSUP; no mprotect):
 * MAP_PRIVATE ones are fresh private pages, MAP_SHARED ones stay shared
 * with forked children. MAP_SHARED of a shm_open fd, PROT_READ or
 * PROT_READ | PROT_WRITE, maps the object's pages (shared with every
 * process that maps them); it covers the pages the object had then (a
 * page past them faults with SIGSEGV, Linux's SIGBUS). MAP_PRIVATE of a
 * fd is ENOTSUP. munmap removes pages (a later access faults); private
 * memory returns when the process exits, a shm object's when its test
 * ends. */
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_ANON MAP_ANONYMOUS
#define MAP_FAILED ((void *)-1)
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int munmap(void *addr, size_t len);
/* A name is "/name" (leading slashes skipped; empty or another '/':
 * EINVAL; longer than NAME_MAX: ENAMETOOLONG). The fd is FD_CLOEXEC; ftruncate sizes
 * the object (up to 16 MiB, then EFBIG); fstat gives its mode and size;
 * read and write on it are EINVAL (Linux reads and writes it). */
int shm_open(const char *name, int oflag, mode_t mode);
int shm_unlink(const char *name);
#endif
