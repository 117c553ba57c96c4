/* SysV message queue stress across forked processes. The queue's
 * msg_qbytes is lowered to 8 messages' worth, so senders block. 3 sender
 * processes send 400 messages each (mtype = sender + 1); 3 receiver
 * processes receive until a stop message (mtype 4, sent once per
 * receiver after every sender has exited): two with msgtyp 0 (FIFO), one
 * with msgtyp -4 (lowest type first). In MAP_SHARED memory the receivers
 * count every message: each is received exactly once, each receiver sees
 * each sender's messages in order, and the queue ends empty.
 * Linux program. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stress.h"

#define SENDERS 3
#define RECEIVERS 3
#define MESSAGES 400
#define STOP_TYPE (SENDERS + 1)

struct message {
    long mtype;
    int seq;
    int pad;
};
#define TEXT (sizeof(struct message) - sizeof(long))

struct shared {
    unsigned char seen[SENDERS][MESSAGES];
    long disorder, bad, received;
};

static int qid = -1;
static struct shared *sh;

static void remove_queue(void)
{
    if (qid >= 0)
        msgctl(qid, IPC_RMID, NULL);
}

static int send_all(int id)
{
    int bad = 0;
    for (int i = 0; i < MESSAGES; i++) {
        struct message m = {id + 1, i, 0};
        bad |= msgsnd(qid, &m, TEXT, 0) != 0;
    }
    return bad;
}

static int receive_all(long msgtyp)
{
    int last[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        last[i] = -1;
    for (;;) {
        struct message m;
        ssize_t n = msgrcv(qid, &m, TEXT, msgtyp, 0);
        if (n != (ssize_t)TEXT) {
            ADD(&sh->bad, 1);
            if (n < 0 && errno != EINTR)
                return 1;
            continue;
        }
        if (m.mtype == STOP_TYPE)
            return 0;
        int s = (int)m.mtype - 1;
        if (s < 0 || s >= SENDERS || m.seq < 0 || m.seq >= MESSAGES) {
            ADD(&sh->bad, 1);
            continue;
        }
        __atomic_add_fetch(&sh->seen[s][m.seq], 1, __ATOMIC_SEQ_CST);
        if (m.seq <= last[s])
            ADD(&sh->disorder, 1);
        last[s] = m.seq;
        ADD(&sh->received, 1);
    }
}

int main(void)
{
    stress_watchdog("sysv_msg_stress");
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED);
    qid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(qid >= 0);
    if (sh == MAP_FAILED || qid < 0)
        return stress_end();
    stress_cleanup = remove_queue;
    struct msqid_ds ds;
    CHECK(msgctl(qid, IPC_STAT, &ds) == 0);
    ds.msg_qbytes = 8 * TEXT;
    CHECK(msgctl(qid, IPC_SET, &ds) == 0);

    stress_set_phase("send/receive");
    pid_t receivers[RECEIVERS], senders[SENDERS];
    for (int i = 0; i < RECEIVERS; i++) {
        receivers[i] = stress_fork("sysv_msg_stress receiver");
        CHECK(receivers[i] >= 0);
        if (receivers[i] == 0)
            _exit(receive_all(i == RECEIVERS - 1 ? -STOP_TYPE : 0));
    }
    for (int i = 0; i < SENDERS; i++) {
        senders[i] = stress_fork("sysv_msg_stress sender");
        CHECK(senders[i] >= 0);
        if (senders[i] == 0)
            _exit(send_all(i));
    }
    for (int i = 0; i < SENDERS; i++) {
        int st = -1;
        CHECK(waitpid(senders[i], &st, 0) == senders[i]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    stress_set_phase("stop");
    for (int i = 0; i < RECEIVERS; i++) {
        struct message stop = {STOP_TYPE, 0, 0};
        CHECK(msgsnd(qid, &stop, TEXT, 0) == 0);
    }
    for (int i = 0; i < RECEIVERS; i++) {
        int st = -1;
        CHECK(waitpid(receivers[i], &st, 0) == receivers[i]);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    long once = 0;
    for (int s = 0; s < SENDERS; s++)
        for (int k = 0; k < MESSAGES; k++)
            once += sh->seen[s][k] == 1;
    CHECK(once == SENDERS * MESSAGES);
    CHECK(sh->received == SENDERS * MESSAGES);
    CHECK(sh->disorder == 0);
    CHECK(sh->bad == 0);
    CHECK(msgctl(qid, IPC_STAT, &ds) == 0 && ds.msg_qnum == 0);
    CHECK(msgctl(qid, IPC_RMID, NULL) == 0);
    qid = -1;
    return stress_end();
}
