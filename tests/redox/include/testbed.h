#ifndef _TESTBED_H
#define _TESTBED_H
/* The testbed's extensions (tests/qemu/libc/include/testbed.h), provided
 * on a real Redox system by tests/redox/testbed_compat.c over POSIX calls
 * of relibc, for the programs ci/redox-run links into its first process.
 * Only the calls listed here exist; a program that uses another one (such
 * as tb_syscall_count, a per-process syscall counter only the testbed
 * kernel keeps) is skipped by ci/redox-run with that name as the reason. */
#include <sys/types.h>

/* The argument this process was started with (0 for the runner's start). */
unsigned long tb_arg(void);
/* Runs program `name` (linked into the same image) in a forked child with
 * uid = gid = `uid` (when it differs from the caller's) and argument
 * `arg`; returns its pid, or -1 with errno. */
pid_t tb_spawn(const char *name, uid_t uid, unsigned long arg);
/* Waits for child `pid`; returns its exit status (128 + signal when
 * killed), or -1 with errno. */
int tb_wait(pid_t pid);
/* The shared region `key` (anonymous MAP_SHARED memory, zeroed on first
 * use); a forked child finds the mapping its parent made for the key. */
void *tb_shm(unsigned long key, unsigned long len);
/* `len` bytes of fresh zeroed pages, followed by an unmapped page (for
 * EFAULT tests); NULL with errno on failure. */
void *tb_map(unsigned long len);
#endif
