/* sys/ipc.h: the SysV IPC basics over Red Bear IPC (relibc-shim).
 * Values and struct ipc_perm are Linux's (glibc's LP64 layout, 48 bytes),
 * which is the kernel ABI's: the shim passes structs through unchanged.
 * IPC_INFO is defined unconditionally (glibc: _GNU_SOURCE only). */
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
    key_t __key;
    uid_t uid;
    gid_t gid;
    uid_t cuid;
    gid_t cgid;
    unsigned short int mode;
    unsigned short int __pad1;
    unsigned short int __seq;
    unsigned short int __pad2;
    unsigned long int __unused1;
    unsigned long int __unused2;
};

/* The key of `pathname` (which must exist) and the low 8 bits of
 * `proj_id`, as glibc computes it: st_ino's low 16 bits, st_dev's low 8
 * bits, then proj_id. -1 with errno from stat() if it cannot be stat'ed. */
key_t ftok(const char *pathname, int proj_id);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_IPC_H */
