/* sys/ipc.h: the SysV IPC basics over Red Bear IPC (relibc-shim).
 * Values and struct ipc_perm are Linux's: glibc's layout on x86_64 and
 * aarch64 (48 bytes: mode is a mode_t at offset 20, __seq at 24), which
 * is the kernel ABI's, so the shim passes the structs through unchanged.
 * IPC_INFO is defined whether or not _GNU_SOURCE is. */
#ifndef _SYS_IPC_H
#define _SYS_IPC_H 1

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* glibc's <sys/types.h> hides key_t in strict ISO C mode. */
#ifndef __key_t_defined
typedef int key_t;
#define __key_t_defined 1
#endif

#define IPC_CREAT 01000
#define IPC_EXCL 02000
#define IPC_NOWAIT 04000

#define IPC_RMID 0
#define IPC_SET 1
#define IPC_STAT 2
#define IPC_INFO 3

#define IPC_PRIVATE ((key_t)0)

struct ipc_perm {
    key_t __key;                     /* offset 0 */
    uid_t uid;                       /* 4: owner */
    gid_t gid;                       /* 8 */
    uid_t cuid;                      /* 12: creator */
    gid_t cgid;                      /* 16 */
    mode_t mode;                     /* 20: the low 9 bits are the permissions */
    unsigned short int __seq;        /* 24 */
    unsigned short int __pad2;
    unsigned long int __glibc_reserved1;
    unsigned long int __glibc_reserved2;
};

/* The key of `pathname` (which must exist) and the low 8 bits of
 * `proj_id`, as glibc computes it: (st_ino & 0xffff) | (st_dev & 0xff) << 16
 * | (proj_id & 0xff) << 24. -1 with stat()'s errno if it cannot be
 * stat'ed. Needs the libc's stat(): absent on bare targets. */
key_t ftok(const char *pathname, int proj_id);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_IPC_H */
