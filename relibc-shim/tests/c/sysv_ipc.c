/* sys/ipc.h and sys/msg.h: struct ipc_perm, struct msqid_ds and struct
 * msginfo are the kernel ABI's layouts and the constants the kernel's;
 * the shim's ftok gives the keys glibc's ftok gives (found with
 * dlsym(RTLD_NEXT): the program's own `ftok` is the shim's) for the same
 * files and project ids, including its errors; a blocked msgrcv and
 * msgsnd end with EINTR when a signal comes. The rest of sys/msg.h runs
 * in tests/qemu/c/sysv_msg.c (here, in QEMU and on Linux). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>

#include "check.h"
#include "hosted.h"

long long rb_shim_sysv_abi(int what);
long long rb_shim_msg_abi(int what);

_Static_assert(sizeof(struct msqid_ds) == 120, "msqid_ds is 120 bytes");
_Static_assert(offsetof(struct msqid_ds, msg_stime) == 48, "stime at 48");
_Static_assert(offsetof(struct msqid_ds, msg_rtime) == 56, "rtime at 56");
_Static_assert(offsetof(struct msqid_ds, msg_ctime) == 64, "ctime at 64");
_Static_assert(offsetof(struct msqid_ds, msg_cbytes) == 72, "cbytes at 72");
_Static_assert(offsetof(struct msqid_ds, msg_qnum) == 80, "qnum at 80");
_Static_assert(offsetof(struct msqid_ds, msg_qbytes) == 88, "qbytes at 88");
_Static_assert(offsetof(struct msqid_ds, msg_lspid) == 96, "lspid at 96");
_Static_assert(offsetof(struct msqid_ds, msg_lrpid) == 100, "lrpid at 100");
_Static_assert(sizeof(struct msginfo) == 32, "msginfo is 32 bytes");
_Static_assert(offsetof(struct msginfo, msgseg) == 28, "msgseg at 28");
_Static_assert(offsetof(struct msgbuf, mtext) == 8, "text after a long");

struct blocked {
    int id;
    int send;
    long result;
    int err;
};

static void *block(void *arg)
{
    struct blocked *b = arg;
    struct {
        long mtype;
        char mtext[16];
    } m = {1, "0123456789abcdef"};
    errno = 0;
    b->result = b->send ? msgsnd(b->id, &m, 16, 0) : msgrcv(b->id, &m, 16, 0, 0);
    b->err = errno;
    return NULL;
}

/* A msgrcv (empty queue) or msgsnd (full queue) blocks until a signal:
 * -1/EINTR, not restarted, and the queue is as it was. */
static void interrupted(int send)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct msqid_ds ds;
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    ds.msg_qbytes = 16;
    CHECK(msgctl(id, IPC_SET, &ds) == 0);
    if (send) {
        struct {
            long mtype;
            char mtext[16];
        } full = {2, "fill"};
        CHECK(msgsnd(id, &full, 16, IPC_NOWAIT) == 0);
    }
    struct blocked b = {.id = id, .send = send};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, block, &b) == 0);
    CHECK(rb_wait_parked(1));
    rb_shim_hosted_raise(SIGUSR1);
    CHECK(pthread_join(t, NULL) == 0);
    rb_shim_hosted_take_signal(SIGUSR1);
    CHECK(b.result == -1 && b.err == EINTR);
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    CHECK(ds.msg_qnum == (send ? 1u : 0u));
    CHECK(msgctl(id, IPC_RMID, NULL) == 0);
}

_Static_assert(sizeof(struct ipc_perm) == 48, "ipc_perm is 48 bytes");
_Static_assert(offsetof(struct ipc_perm, __key) == 0, "key at 0");
_Static_assert(offsetof(struct ipc_perm, uid) == 4, "uid at 4");
_Static_assert(offsetof(struct ipc_perm, gid) == 8, "gid at 8");
_Static_assert(offsetof(struct ipc_perm, cuid) == 12, "cuid at 12");
_Static_assert(offsetof(struct ipc_perm, cgid) == 16, "cgid at 16");
_Static_assert(offsetof(struct ipc_perm, mode) == 20, "mode at 20");
_Static_assert(sizeof(((struct ipc_perm *)0)->mode) == 4, "mode is 32 bits");
_Static_assert(offsetof(struct ipc_perm, __seq) == 24, "seq at 24");

typedef key_t (*ftok_fn)(const char *, int);

int main(int argc, char **argv)
{
    (void)argc;
    CHECK(rb_shim_sysv_abi(0) == (long long)sizeof(struct ipc_perm));
    CHECK(rb_shim_sysv_abi(1) == IPC_CREAT);
    CHECK(rb_shim_sysv_abi(2) == IPC_EXCL);
    CHECK(rb_shim_sysv_abi(3) == IPC_NOWAIT);
    CHECK(rb_shim_sysv_abi(4) == IPC_RMID);
    CHECK(rb_shim_sysv_abi(5) == IPC_SET);
    CHECK(rb_shim_sysv_abi(6) == IPC_STAT);
    CHECK(rb_shim_sysv_abi(7) == IPC_INFO);
    CHECK(rb_shim_sysv_abi(8) == IPC_PRIVATE);
    CHECK(rb_shim_sysv_abi(99) == -1);
    CHECK(rb_shim_msg_abi(0) == (long long)sizeof(struct msqid_ds));
    CHECK(rb_shim_msg_abi(1) == (long long)sizeof(struct msginfo));
    CHECK(rb_shim_msg_abi(2) == MSG_NOERROR);
    CHECK(rb_shim_msg_abi(3) == MSG_EXCEPT);
    CHECK(rb_shim_msg_abi(4) == MSG_COPY);
    CHECK(rb_shim_msg_abi(5) == MSG_STAT);
    CHECK(rb_shim_msg_abi(6) == MSG_INFO);
    CHECK(rb_shim_msg_abi(7) == MSG_STAT_ANY);
    CHECK(rb_shim_msg_abi(8) == (long long)offsetof(struct msgbuf, mtext));
    CHECK(rb_shim_msg_abi(99) == -1);
    interrupted(0);
    interrupted(1);

    ftok_fn glibc_ftok = (ftok_fn)dlsym(RTLD_NEXT, "ftok");
    CHECK(glibc_ftok != NULL);
    CHECK(glibc_ftok != ftok);

    const char *paths[] = {argv[0], "/", "/tmp", "/dev/null", "/proc/self", "."};
    const int ids[] = {0, 1, 'a', 0x7f, 0x80, 0xff, 0x1ff, -1, 0x12345678};
    int compared = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        struct stat st;
        if (stat(paths[p], &st) != 0)
            continue;
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            key_t ours = ftok(paths[p], ids[i]);
            key_t theirs = glibc_ftok(paths[p], ids[i]);
            if (ours != theirs) {
                fprintf(stderr, "ftok(%s, %#x): shim %#x, glibc %#x\n", paths[p], ids[i],
                        (unsigned)ours, (unsigned)theirs);
                return 1;
            }
            key_t want = (key_t)((st.st_ino & 0xffff) | ((st.st_dev & 0xff) << 16) |
                                 ((unsigned)(ids[i] & 0xff) << 24));
            CHECK(ours == want);
            compared++;
        }
    }
    CHECK(compared >= 9);

    /* A missing file: -1 with stat's errno, in both. */
    CHECK_ERR(ftok("/nonexistent/rb-ftok", 1), ENOENT);
    CHECK_ERR(glibc_ftok("/nonexistent/rb-ftok", 1), ENOENT);
    CHECK_ERR(ftok("", 1), ENOENT);
    CHECK_ERR(glibc_ftok("", 1), ENOENT);
    return 0;
}
