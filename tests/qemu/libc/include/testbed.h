#ifndef _TESTBED_H
#define _TESTBED_H
/* Testbed extensions for C test programs that need more than one process
 * (there is no fork): run an embedded program as a child, wait for it,
 * share memory by key. Not part of any libc. */
#include <sys/types.h>

/* The argument this process was started with (0 for the runner's start). */
unsigned long tb_arg(void);
/* Starts embedded program `name` with uid = gid = `uid` and argument
 * `arg`; returns its pid, or -1 with errno. */
pid_t tb_spawn(const char *name, uid_t uid, unsigned long arg);
/* Waits for child `pid`; returns its exit status (128 + signal when
 * killed), or -1 with errno. */
int tb_wait(pid_t pid);
/* Maps the testbed-wide shared region `key` (zeroed on first use). */
void *tb_shm(unsigned long key, unsigned long len);
/* Catch `sig` (on != 0): it then interrupts blocking calls with EINTR
 * and is consumed, as if an empty handler ran; on = 0 restores the
 * default action. */
int tb_catch(int sig, int on);
/* `len` bytes of fresh zeroed pages (MMAP_ANON), always followed by an
 * unmapped page (for EFAULT tests); NULL with errno on failure. */
void *tb_map(unsigned long len);
/* IPC_PROBE (testbed-abi): the test-only probe of redbear-ipc's
 * per-process fork and exit hooks; the raw result (-errno on failure). */
long tb_ipc_probe(long op, long a, long b);
/* System calls this process has made so far (this one included). */
unsigned long tb_syscall_count(void);
/* System call `n` with six arguments; the raw result (-errno on failure,
 * errno untouched: the testbed's errno costs a system call to find). */
long tb_syscall6(long n, long a, long b, long c, long d, long e, long f);
#endif
