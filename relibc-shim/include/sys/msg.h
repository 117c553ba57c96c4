/* sys/msg.h: SysV message queues over Red Bear IPC (relibc-shim).
 * struct msqid_ds is glibc's LP64 layout on x86_64 and aarch64 (120
 * bytes), the kernel ABI's; every pointer goes to the kernel unchanged,
 * so a bad one is EFAULT. MSG_EXCEPT, MSG_COPY, MSG_STAT, MSG_INFO,
 * MSG_STAT_ANY and struct msginfo are defined whether or not _GNU_SOURCE
 * is; struct msgbuf only with _GNU_SOURCE, as in glibc (programs often
 * define their own). */
#ifndef _SYS_MSG_H
#define _SYS_MSG_H 1

#include <stddef.h>
#include <sys/ipc.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MSG_NOERROR 010000
#define MSG_EXCEPT 020000
#define MSG_COPY 040000

#define MSG_STAT 11
#define MSG_INFO 12
#define MSG_STAT_ANY 13

typedef unsigned long int msgqnum_t;
typedef unsigned long int msglen_t;

struct msqid_ds {
    struct ipc_perm msg_perm;        /* offset 0 */
    time_t msg_stime;                /* 48: last msgsnd */
    time_t msg_rtime;                /* 56: last msgrcv */
    time_t msg_ctime;                /* 64: creation or last IPC_SET */
    unsigned long int __msg_cbytes;  /* 72: bytes queued */
    msgqnum_t msg_qnum;              /* 80: messages queued */
    msglen_t msg_qbytes;             /* 88: most bytes the queue holds */
    pid_t msg_lspid;                 /* 96: last sender */
    pid_t msg_lrpid;                 /* 100: last receiver */
    unsigned long int __glibc_reserved4;
    unsigned long int __glibc_reserved5;
};
#define msg_cbytes __msg_cbytes

/* IPC_INFO and MSG_INFO fill this (passed as a struct msqid_ds *). */
struct msginfo {
    int msgpool;
    int msgmap;
    int msgmax;
    int msgmnb;
    int msgmni;
    int msgssz;
    int msgtql;
    unsigned short int msgseg;
};

#ifdef _GNU_SOURCE
/* The conventional message layout: a long type, then the text. */
struct msgbuf {
    long int mtype;
    char mtext[1];
};
#endif

int msgget(key_t key, int msgflg);
int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long int msgtyp, int msgflg);
int msgctl(int msqid, int cmd, struct msqid_ds *buf);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_MSG_H */
