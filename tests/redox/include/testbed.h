/* The testbed's header itself (its declarations are the contract); on
 * Redox, tests/redox/testbed_compat.c defines tb_arg, tb_spawn, tb_wait,
 * tb_shm and tb_map over POSIX. A program that calls another one (such as
 * tb_syscall_count, a per-process syscall counter only the testbed kernel
 * keeps) is skipped by ci/redox-run with that name as the reason.
 * tb_spawn runs program `name` of the same image in a forked child after
 * setgid/setuid (only when `uid` differs); tb_shm is anonymous MAP_SHARED
 * memory that a forked child finds by key. */
#include "../../qemu/libc/include/testbed.h"
