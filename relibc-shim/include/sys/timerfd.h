/* sys/timerfd.h: timerfd over Red Bear IPC (relibc-shim). TFD_NONBLOCK and
 * TFD_CLOEXEC are libc's O_NONBLOCK and O_CLOEXEC (Linux's, or relibc's on
 * Redox); TFD_TIMER_* are Linux's. */
#ifndef _SYS_TIMERFD_H
#define _SYS_TIMERFD_H 1

#include <time.h>
#if defined(__GLIBC__)
/* POSIX types that glibc's <time.h> hides in strict ISO C mode. */
#include <bits/types/clockid_t.h>
#include <bits/types/struct_itimerspec.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define TFD_TIMER_ABSTIME 1
#define TFD_TIMER_CANCEL_ON_SET 2
#if defined(__redox__)
#define TFD_NONBLOCK 0x40000
#define TFD_CLOEXEC 0x1000000
#else
#define TFD_NONBLOCK 04000
#define TFD_CLOEXEC 02000000
#endif

int timerfd_create(clockid_t clockid, int flags);
int timerfd_settime(int fd, int flags, const struct itimerspec *new_value,
                    struct itimerspec *old_value);
int timerfd_gettime(int fd, struct itimerspec *curr_value);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_TIMERFD_H */
