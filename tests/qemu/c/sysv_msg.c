/* SysV message queues from C (sys/msg.h): receive by type (msgtyp > 0,
 * < 0, 0, MSG_EXCEPT), E2BIG and MSG_NOERROR, IPC_NOWAIT (EAGAIN on a full
 * queue, ENOMSG on an empty one), a receiver and a sender blocked in one
 * thread and released by another, IPC_RMID waking a blocked receiver with
 * EIDRM, IPC_STAT / IPC_SET / IPC_INFO / MSG_INFO / MSG_STAT_ANY, and
 * EFAULT for every pointer argument with nothing lost.
 *
 * One source, three runs: in the QEMU testbed over relibc-shim; on the
 * host over the shim's hosted kernel (tests/shim_c.rs, -DRB_SHIM_HOSTED);
 * and on the host's Linux with glibc (tests/shim_c.rs), which is the
 * measurement the other two are held to. The one difference, Linux
 * removing a message before its copy to a bad buffer fails, is checked
 * as each kernel does it (LINUX_KERNEL). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <stdlib.h>
#include <sys/mman.h>
#else
#include <testbed.h>
#endif
#if defined(RB_SHIM_HOSTED)
#include "hosted.h"
#endif

#if defined(__linux__) && !defined(RB_SHIM_HOSTED)
#define LINUX_KERNEL 1
#else
#define LINUX_KERNEL 0
#endif

#include "page_hole.h"
#define TEXT 64

struct msg {
    long mtype;
    char mtext[TEXT];
};

static int failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            printf("line %d: CHECK failed: %s (errno %d)\n", __LINE__, #cond, errno); \
            failures++;                                                              \
        }                                                                            \
    } while (0)

/* `call` returns -1 with errno `e`. */
#define CHECK_ERR(call, e)                                                              \
    do {                                                                                \
        errno = 0;                                                                      \
        long r_ = (long)(call);                                                         \
        if (r_ != -1 || errno != (e)) {                                                 \
            printf("line %d: %s: got %ld errno %d, want errno %d\n", __LINE__, #call, r_, \
                   errno, (e));                                                         \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

static int send_text(int id, long type, const char *text, int flags)
{
    struct msg m;
    m.mtype = type;
    size_t n = strlen(text);
    memcpy(m.mtext, text, n);
    return msgsnd(id, &m, n, flags);
}

/* Receives with `msgtyp`/`flags` and checks the type and first byte. */
static void expect(int line, int id, long msgtyp, int flags, long type, char first)
{
    struct msg m;
    memset(&m, 0, sizeof m);
    ssize_t n = msgrcv(id, &m, TEXT, msgtyp, flags | IPC_NOWAIT);
    if (n < 1 || m.mtype != type || m.mtext[0] != first) {
        printf("line %d: msgrcv(%ld, %#x): got %ld type %ld '%c' errno %d, want type %ld '%c'\n",
               line, msgtyp, flags, (long)n, m.mtype, m.mtext[0] ? m.mtext[0] : '?', errno,
               type, first);
        failures++;
    }
}

static struct msqid_ds stat_of(int id)
{
    struct msqid_ds ds;
    memset(&ds, 0, sizeof ds);
    CHECK(msgctl(id, IPC_STAT, &ds) == 0);
    return ds;
}

/* ---- a peer thread that blocks, and a way to know it has ------------- */

struct peer {
    int id;
    long msgtyp;
    int send; /* 1: msgsnd `text`; 0: msgrcv */
    const char *text;
    volatile int tid;
    long result;
    int err;
    struct msg got;
};

static void *peer_main(void *arg)
{
    struct peer *p = arg;
    __atomic_store_n(&p->tid, gettid(), __ATOMIC_SEQ_CST);
    errno = 0;
    if (p->send)
        p->result = send_text(p->id, 1, p->text, 0);
    else
        p->result = msgrcv(p->id, &p->got, TEXT, p->msgtyp, 0);
    p->err = errno;
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec d = {0, ms * 1000 * 1000};
    nanosleep(&d, NULL);
}

/* Returns once the peer sleeps in the kernel: Linux's task state 'S', the
 * hosted kernel's count of parked tasks; in the testbed (one CPU) a pause
 * lets the peer run until it blocks. */
static void wait_blocked(struct peer *p)
{
    while (__atomic_load_n(&p->tid, __ATOMIC_SEQ_CST) == 0)
        pause_ms(1);
#if LINUX_KERNEL
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", p->tid);
    for (int i = 0; i < 5000; i++) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = 0;
        char *state = strrchr(buf, ')');
        if (state && state[1] == ' ' && state[2] == 'S')
            return;
        pause_ms(1);
    }
    printf("peer never blocked\n");
    failures++;
#elif defined(RB_SHIM_HOSTED)
    CHECK(rb_wait_parked(1));
#else
    pause_ms(50);
#endif
}

static void start_peer(struct peer *p, pthread_t *t)
{
    CHECK(pthread_create(t, NULL, peer_main, p) == 0);
    wait_blocked(p);
}

static void typed_receive(int id)
{
    CHECK(send_text(id, 3, "a", 0) == 0);
    CHECK(send_text(id, 1, "b", 0) == 0);
    CHECK(send_text(id, 2, "c", 0) == 0);
    CHECK(send_text(id, 3, "d", 0) == 0);
    CHECK(send_text(id, 1, "e", 0) == 0);
    expect(__LINE__, id, 2, 0, 2, 'c');          /* the first of type 2 */
    expect(__LINE__, id, 3, MSG_EXCEPT, 1, 'b'); /* the first not of type 3 */
    expect(__LINE__, id, -2, 0, 1, 'e');         /* the first of the lowest type <= 2 */
    expect(__LINE__, id, 0, 0, 3, 'a');          /* the first */
    expect(__LINE__, id, -5, 0, 3, 'd');
    struct msg m;
    CHECK_ERR(msgrcv(id, &m, TEXT, 0, IPC_NOWAIT), ENOMSG);
    CHECK_ERR(send_text(id, 0, "x", 0), EINVAL);  /* mtype >= 1 */
    CHECK_ERR(send_text(id, -1, "x", 0), EINVAL);
}

static void too_big(int id)
{
    CHECK(send_text(id, 5, "hello world", 0) == 0);
    struct msg m;
    memset(&m, 0, sizeof m);
    CHECK_ERR(msgrcv(id, &m, 4, 0, IPC_NOWAIT), E2BIG);
    CHECK(stat_of(id).msg_qnum == 1); /* still queued */
    CHECK(msgrcv(id, &m, 4, 0, IPC_NOWAIT | MSG_NOERROR) == 4);
    CHECK(m.mtype == 5 && memcmp(m.mtext, "hell", 4) == 0 && m.mtext[4] == 0);
    CHECK(stat_of(id).msg_qnum == 0);
}

static void stat_and_set(int id)
{
    struct msqid_ds ds = stat_of(id);
    CHECK((ds.msg_perm.mode & 0777) == 0600);
    CHECK(ds.msg_perm.uid == geteuid() && ds.msg_perm.cuid == geteuid());
    CHECK(ds.msg_perm.gid == getegid() && ds.msg_perm.cgid == getegid());
    CHECK(ds.msg_qbytes == 16384);
    CHECK(ds.msg_ctime > 0 && ds.msg_stime > 0 && ds.msg_rtime > 0);
#if !defined(RB_SHIM_HOSTED)
    CHECK(ds.msg_lspid == getpid() && ds.msg_lrpid == getpid());
#endif
    /* IPC_SET: mode (low 9 bits) and a lower msg_qbytes. */
    ds.msg_perm.mode = 0640 | 01000;
    ds.msg_qbytes = 16;
    CHECK(msgctl(id, IPC_SET, &ds) == 0);
    ds = stat_of(id);
    CHECK((ds.msg_perm.mode & 07777) == 0640);
    CHECK(ds.msg_qbytes == 16);
    /* Full: 10 + 10 > 16 bytes. */
    CHECK(send_text(id, 1, "0123456789", IPC_NOWAIT) == 0);
    CHECK_ERR(send_text(id, 1, "0123456789", IPC_NOWAIT), EAGAIN);
    ds = stat_of(id);
    CHECK(ds.msg_qnum == 1 && ds.msg_cbytes == 10);
    struct msg m;
    CHECK(msgrcv(id, &m, TEXT, 0, IPC_NOWAIT) == 10);
    /* msg_qbytes past msgmnb needs privilege: root in Red Bear (the
     * testbed runs as root); on the host's Linux CAP_SYS_RESOURCE, which
     * root in the test sandbox lacks (measured: EPERM). */
    ds.msg_qbytes = 16384 + 1;
    if (geteuid() == 0 && !LINUX_KERNEL)
        CHECK(msgctl(id, IPC_SET, &ds) == 0);
    else
        CHECK_ERR(msgctl(id, IPC_SET, &ds), EPERM);
    ds.msg_qbytes = 64;
    CHECK(msgctl(id, IPC_SET, &ds) == 0);
    CHECK_ERR(msgctl(id, 999, &ds), EINVAL);
}

static void info(int id)
{
    struct msginfo mi;
    memset(&mi, 0, sizeof mi);
    int max = msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
    CHECK(max >= 0);
    CHECK(mi.msgmax == 8192 && mi.msgmnb == 16384 && mi.msgmni == 32000);
    memset(&mi, 0, sizeof mi);
    max = msgctl(0, MSG_INFO, (struct msqid_ds *)&mi);
    CHECK(max >= 0 && mi.msgpool >= 1); /* queues in use */
    /* Our queue is at some index <= max, found by MSG_STAT_ANY. */
    int found = 0;
    for (int i = 0; i <= max && !found; i++) {
        struct msqid_ds ds;
        found = msgctl(i, MSG_STAT_ANY, &ds) == id;
    }
    CHECK(found);
    /* Too long for msgmax. */
    static struct {
        long mtype;
        char mtext[8192 + 1];
    } big;
    big.mtype = 1;
    CHECK_ERR(msgsnd(id, &big, 8192 + 1, IPC_NOWAIT), EINVAL);
}

static void blocking(int id)
{
    /* A receiver of type 7 blocks; a type 6 message passes it by, the
     * type 7 one is handed to it. */
    struct peer r = {.id = id, .msgtyp = 7};
    pthread_t t;
    start_peer(&r, &t);
    CHECK(send_text(id, 6, "six", 0) == 0);
    CHECK(send_text(id, 7, "seven", 0) == 0);
    pthread_join(t, NULL);
    CHECK(r.result == 5 && r.got.mtype == 7 && memcmp(r.got.mtext, "seven", 5) == 0);
    expect(__LINE__, id, 0, 0, 6, 's');

    /* A sender blocks on a full queue until a receive makes room. */
    struct msqid_ds ds = stat_of(id);
    ds.msg_qbytes = 16;
    CHECK(msgctl(id, IPC_SET, &ds) == 0);
    CHECK(send_text(id, 2, "0123456789", 0) == 0);
    struct peer s = {.id = id, .send = 1, .text = "abcdefghij"};
    start_peer(&s, &t);
    CHECK(stat_of(id).msg_qnum == 1);
    expect(__LINE__, id, 0, 0, 2, '0');
    pthread_join(t, NULL);
    CHECK(s.result == 0);
    expect(__LINE__, id, 0, 0, 1, 'a');
}

static void efault(int id, unsigned char *page)
{
    struct msg m;
    /* msgsnd: nothing is queued. */
    CHECK_ERR(msgsnd(id, NULL, 4, IPC_NOWAIT), EFAULT);
    if (page) {
        long *straddle = (long *)(page + PAGE - 16); /* type and 8 bytes mapped */
        *straddle = 1;
        CHECK_ERR(msgsnd(id, straddle, 32, IPC_NOWAIT), EFAULT);
    }
    CHECK(stat_of(id).msg_qnum == 0);
    /* msgrcv: Linux has removed the message by the time its copy fails;
     * Red Bear keeps it. */
    CHECK(send_text(id, 4, "kept", 0) == 0);
    CHECK_ERR(msgrcv(id, NULL, TEXT, 0, IPC_NOWAIT), EFAULT);
    CHECK(stat_of(id).msg_qnum == (LINUX_KERNEL ? 0 : 1));
    if (page) {
        if (LINUX_KERNEL)
            CHECK(send_text(id, 4, "kept", 0) == 0);
        /* The type fits in the mapped page, the text does not. */
        CHECK_ERR(msgrcv(id, page + PAGE - 8, TEXT, 0, IPC_NOWAIT), EFAULT);
        CHECK(stat_of(id).msg_qnum == (LINUX_KERNEL ? 0 : 1));
    }
    if (!LINUX_KERNEL)
        expect(__LINE__, id, 0, 0, 4, 'k');
    CHECK_ERR(msgrcv(id, &m, TEXT, 0, IPC_NOWAIT), ENOMSG);
    /* msgctl: IPC_STAT, IPC_SET, IPC_INFO, MSG_STAT_ANY. */
    struct msqid_ds before = stat_of(id);
    CHECK_ERR(msgctl(id, IPC_STAT, NULL), EFAULT);
    CHECK_ERR(msgctl(id, IPC_SET, NULL), EFAULT);
    if (page)
        CHECK_ERR(msgctl(id, IPC_SET, (struct msqid_ds *)(page + PAGE - 60)), EFAULT);
    CHECK_ERR(msgctl(0, IPC_INFO, NULL), EFAULT);
    CHECK_ERR(msgctl(0, MSG_INFO, NULL), EFAULT);
    struct msqid_ds after = stat_of(id);
    CHECK(after.msg_perm.mode == before.msg_perm.mode && after.msg_qbytes == before.msg_qbytes);
}

static void removal(void)
{
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(id >= 0);
    struct peer r = {.id = id, .msgtyp = 0};
    pthread_t t;
    start_peer(&r, &t);
    CHECK(msgctl(id, IPC_RMID, NULL) == 0);
    pthread_join(t, NULL);
    CHECK(r.result == -1 && r.err == EIDRM);
    /* The id is gone. */
    CHECK_ERR(send_text(id, 1, "x", IPC_NOWAIT), EINVAL);
    CHECK_ERR(msgctl(id, IPC_RMID, NULL), EINVAL);
}

static void keys(void)
{
    /* A key nobody else uses (the host's namespace is shared). */
    key_t key = (key_t)(0x5e000000 | (getpid() & 0xffff) << 8);
    int id = -1;
    for (int i = 0; i < 256 && id < 0; i++) {
        id = msgget(++key, IPC_CREAT | IPC_EXCL | 0600);
        if (id < 0 && errno != EEXIST)
            break;
    }
    CHECK(id >= 0);
    CHECK(msgget(key, 0) == id);
    CHECK_ERR(msgget(key, IPC_CREAT | IPC_EXCL | 0600), EEXIST);
    CHECK(msgctl(id, IPC_RMID, NULL) == 0);
    CHECK_ERR(msgget(key, 0), ENOENT);
}

int main(void)
{
#if defined(RB_SHIM_HOSTED)
    /* The hosted process takes the host's ids, which the checks read. */
    rb_shim_hosted_set_creds(geteuid(), getegid());
#endif
    int id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    if (id < 0) {
        printf("msgget: errno %d\n", errno);
        return 1;
    }
    unsigned char *page = map_page_before_hole();
    CHECK(page != NULL);
    typed_receive(id);
    too_big(id);
    stat_and_set(id);
    info(id);
    blocking(id);
    efault(id, page);
    CHECK(msgctl(id, IPC_RMID, NULL) == 0);
    removal();
    keys();
    if (failures)
        printf("sysv_msg: %d checks failed\n", failures);
    else
        printf("sysv_msg from C: ok\n");
    return failures ? 1 : 0;
}
