/* sys/eventfd.h: eventfd over Red Bear IPC (relibc-shim). The flag values
 * are libc's: EFD_NONBLOCK and EFD_CLOEXEC are O_NONBLOCK and O_CLOEXEC
 * (Linux's, or relibc's on Redox). */
#ifndef _SYS_EVENTFD_H
#define _SYS_EVENTFD_H 1

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t eventfd_t;

#define EFD_SEMAPHORE 1
#if defined(__redox__)
#define EFD_NONBLOCK 0x40000
#define EFD_CLOEXEC 0x1000000
#else
#define EFD_NONBLOCK 04000
#define EFD_CLOEXEC 02000000
#endif

int eventfd(unsigned int initval, int flags);
int eventfd_read(int fd, eventfd_t *value);
int eventfd_write(int fd, eventfd_t value);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_EVENTFD_H */
