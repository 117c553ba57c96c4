/* sys/msg.h: SysV message queues over Red Bear IPC (relibc-shim).
 * struct msqid_ds is Linux's LP64 layout (120 bytes), the kernel ABI's;
 * every pointer goes to the kernel unchanged, so a bad one is EFAULT.
 * The Linux-only names (MSG_EXCEPT, MSG_COPY, MSG_STAT, MSG_INFO,
 * MSG_STAT_ANY, struct msginfo, struct msgbuf) are defined whether or not
 * _GNU_SOURCE is, so Linux programs compile unchanged. */
#ifndef _SYS_MSG_H
#define _SYS_MSG_H 1

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
    struct ipc_perm msg_perm;
    time_t msg_stime;
    time_t msg_rtime;
    time_t msg_ctime;
    unsigned long int __msg_cbytes;
    msgqnum_t msg_qnum;
    msglen_t msg_qbytes;
    pid_t msg_lspid;
    pid_t msg_lrpid;
    unsigned long int __glibc_reserved4;
    unsigned long int __glibc_reserved5;
};
#define msg_cbytes __msg_cbytes

/* IPC_INFO / MSG_INFO fill this (cast to struct msqid_ds *). */
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

/* The conventional message layout: a long type, then the text. */
struct msgbuf {
    long int mtype;
    char mtext[1];
};

int msgget(key_t key, int msgflg);
int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long int msgtyp, int msgflg);
int msgctl(int msqid, int cmd, struct msqid_ds *buf);

#ifdef __cplusplus
}
#endif

#endif /* _SYS_MSG_H */
