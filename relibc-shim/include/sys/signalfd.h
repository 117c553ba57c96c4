/* sys/signalfd.h: signalfd over Red Bear IPC (relibc-shim).
 * struct signalfd_siginfo is Linux's (128 bytes). SFD_NONBLOCK and
 * SFD_CLOEXEC are libc's O_NONBLOCK and O_CLOEXEC (Linux's, or relibc's
 * on Redox). */
#ifndef _SYS_SIGNALFD_H
#define _SYS_SIGNALFD_H 1

#include <signal.h>
#include <stdint.h>
#if defined(__GLIBC__)
/* POSIX's sigset_t, which glibc's <signal.h> hides in strict ISO C mode. */
#include <bits/types/sigset_t.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__redox__)
#define SFD_NONBLOCK 0x40000
#define SFD_CLOEXEC 0x1000000
#else
#define SFD_NONBLOCK 04000
#define SFD_CLOEXEC 02000000
#endif

struct signalfd_siginfo {
    uint32_t ssi_signo;
    int32_t ssi_errno;
    int32_t ssi_code;
    uint32_t ssi_pid;
    uint32_t ssi_uid;
    int32_t ssi_fd;
    uint32_t ssi_tid;
    uint32_t ssi_band;
    uint32_t ssi_overrun;
    uint32_t ssi_trapno;
    int32_t ssi_status;
    int32_t ssi_int;
    uint64_t ssi_ptr;
    uint64_t ssi_utime;
    uint64_t ssi_stime;
    uint64_t ssi_addr;
    uint16_t ssi_addr_lsb;
    uint16_t __pad2;
    int32_t ssi_syscall;
    uint64_t ssi_call_addr;
    uint32_t ssi_arch;
    uint8_t __pad[28];
};

int signalfd(int fd, const sigset_t *mask, int flags);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_SIGNALFD_H */
