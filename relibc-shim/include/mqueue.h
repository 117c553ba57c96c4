/* mqueue.h: POSIX message queues over Red Bear IPC (relibc-shim).
 *
 * mqd_t is an int file descriptor (as Linux's): poll, dup, close and
 * close-on-exec work on it as on any fd; mq_close is close. struct
 * mq_attr is Linux's 64-bit layout (64 bytes). The caller's pointers go
 * to the kernel unchanged, so bad ones are EFAULT. mq_notify supports
 * SIGEV_SIGNAL, SIGEV_NONE and SIGEV_THREAD (a helper thread per process
 * starts a detached thread per notification; sigev_notify is read by the
 * shim, as glibc does). */
#ifndef _MQUEUE_H
#define _MQUEUE_H 1

#include <fcntl.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int mqd_t;

struct mq_attr {
    long mq_flags;   /* O_NONBLOCK or 0 */
    long mq_maxmsg;  /* most messages */
    long mq_msgsize; /* largest message */
    long mq_curmsgs; /* messages queued now */
    long __pad[4];
};

/* From <signal.h>, where the C library defines it. */
struct sigevent;

/* mq_open(name, oflag) or, with O_CREAT, mq_open(name, oflag, mode_t
 * mode, struct mq_attr *attr). */
mqd_t mq_open(const char *name, int oflag, ...);
int mq_close(mqd_t mqdes);
int mq_unlink(const char *name);
int mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio);
int mq_timedsend(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
                 const struct timespec *abs_timeout);
ssize_t mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio);
ssize_t mq_timedreceive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
                        const struct timespec *abs_timeout);
int mq_getattr(mqd_t mqdes, struct mq_attr *attr);
int mq_setattr(mqd_t mqdes, const struct mq_attr *newattr, struct mq_attr *oldattr);
int mq_notify(mqd_t mqdes, const struct sigevent *sevp);

#ifdef __cplusplus
}
#endif

#endif /* _MQUEUE_H */
