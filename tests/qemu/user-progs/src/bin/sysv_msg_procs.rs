//! SysV message queues across processes and uids: typed receive order,
//! permission by mode (EACCES, EPERM), a blocked receiver in another
//! process handed its message, EIDRM for a receiver and a sender blocked
//! when the queue is removed, EINTR for both when a caught signal comes.
#![no_std]
#![no_main]

#[path = "../sysv.rs"]
mod sysv;

use redbear_ipc::syscall::abi::{IPC_NOWAIT, MSG_EXCEPT};
use sysv::*;
use user_rt::{check, println, sys};

const CHILD_UID: u32 = 1000;
const SIGUSR1: usize = 10;

/// Child roles, in the low byte of the argument; the queue id above it.
const READER: usize = 1;
const BLOCKED_READER: usize = 2;
const BLOCKED_SENDER: usize = 3;
const CAUGHT_READER: usize = 4;
const STRANGER: usize = 5;
const REMOVED_READER: usize = 6;

fn arg(role: usize, id: i32) -> usize {
    role | (id as usize) << 8
}

fn child(role: usize, id: i32) -> bool {
    match role {
        READER => {
            // Typed receive order as seen from another process.
            let mut ok = check(
                "type 3 except",
                recv_first(id, 3, IPC_NOWAIT | MSG_EXCEPT),
                Ok((1, b'b')),
            );
            ok &= check("lowest <= 2", recv_first(id, -2, IPC_NOWAIT), Ok((1, b'e')));
            ok &= check("type 3", recv_first(id, 3, IPC_NOWAIT), Ok((3, b'a')));
            ok &= check("first", recv_first(id, 0, IPC_NOWAIT), Ok((2, b'c')));
            ok &= check("first", recv_first(id, 0, IPC_NOWAIT), Ok((3, b'd')));
            ok &= check("empty", recv_first(id, 0, IPC_NOWAIT), Err(ENOMSG));
            ok &= check("reply", msgsnd(id, 9, b"done", 0), Ok(0));
            ok
        }
        BLOCKED_READER => check(
            "handed over",
            msgrcv(id, TEXT_MAX, 7, 0).map(|g| (g.mtype, g.len, g.text[0])),
            Ok((7, 7, b'f')),
        ),
        REMOVED_READER => check(
            "removed under the reader",
            msgrcv(id, 8, 7, 0).map(|_| ()),
            Err(EIDRM),
        ),
        BLOCKED_SENDER => check("blocked sender", msgsnd(id, 1, b"xx", 0), Err(EIDRM)),
        CAUGHT_READER => {
            let mut ok = check("sigcatch", sys::sigcatch(SIGUSR1, true), Ok(0));
            ok &= check(
                "interrupted receive",
                msgrcv(id, 8, 0, 0).map(|_| ()),
                Err(EINTR),
            );
            ok &= check("interrupted send", msgsnd(id, 1, b"toolong", 0), Err(EINTR));
            ok
        }
        STRANGER => {
            let mut ok = check("stat 0600", stat(id).map(|_| ()), Err(EACCES));
            ok &= check("send 0600", msgsnd(id, 1, b"x", IPC_NOWAIT), Err(EACCES));
            ok &= check("rmid by stranger", rmid(id), Err(EPERM));
            ok
        }
        _ => false,
    }
}

fn spawn(role: usize, id: i32) -> Option<usize> {
    sys::spawn_process("sysv_msg_procs", CHILD_UID, arg(role, id)).ok()
}

fn main(a: usize) -> i32 {
    if a != 0 {
        return if child(a & 0xff, (a >> 8) as i32) {
            0
        } else {
            1
        };
    }
    let mut ok = true;
    // 1. Permissions: a 0600 queue of root's is closed to uid 1000.
    let Ok(private) = msgget(IPC_PRIVATE, 0o600) else {
        return 2;
    };
    let Some(p) = spawn(STRANGER, private) else {
        return 3;
    };
    ok &= check("stranger", sys::wait_process(p), Ok(0));
    ok &= check("rmid private", rmid(private), Ok(0));

    // 2. Typed order read by another process, after IPC_SET opens it.
    let Ok(q) = msgget(IPC_PRIVATE, 0o600) else {
        return 4;
    };
    for (t, text) in [(3, b"a"), (1, b"b"), (2, b"c"), (3, b"d"), (1, b"e")] {
        ok &= check("send", msgsnd(q, t, text, 0), Ok(0));
    }
    if let Ok(mut ds) = stat(q) {
        ds.perm.mode = 0o666;
        ok &= check("IPC_SET 0666", set(q, &ds), Ok(0));
    }
    let Some(p) = spawn(READER, q) else { return 5 };
    ok &= check("reader", sys::wait_process(p), Ok(0));
    if let Ok(ds) = stat(q) {
        ok &= check(
            "lrpid and lspid are the reader's",
            (ds.lrpid as usize, ds.lspid as usize),
            (p, p),
        );
        ok &= check("qnum: the reply", ds.qnum, 1);
    }
    ok &= check(
        "reply from the reader",
        msgrcv(q, 8, 9, IPC_NOWAIT).map(|g| g.mtype),
        Ok(9),
    );

    // 3. Hand-off to a receiver blocked in another process.
    let Some(p) = spawn(BLOCKED_READER, q) else {
        return 6;
    };
    let_others_block();
    ok &= check(
        "send to the blocked reader",
        msgsnd(q, 7, b"for you", 0),
        Ok(0),
    );
    ok &= check("blocked reader", sys::wait_process(p), Ok(0));

    // 4. EIDRM for a blocked receiver and a blocked sender.
    if let Ok(mut ds) = stat(q) {
        ds.qbytes = 2;
        ok &= check("qbytes 2", set(q, &ds), Ok(0));
    }
    ok &= check("fill", msgsnd(q, 1, b"xx", 0), Ok(0));
    let Some(r) = spawn(REMOVED_READER, q) else {
        return 7;
    };
    let Some(s) = spawn(BLOCKED_SENDER, q) else {
        return 8;
    };
    let_others_block();
    ok &= check("rmid under waiters", rmid(q), Ok(0));
    ok &= check("reader got EIDRM", sys::wait_process(r), Ok(0));
    ok &= check("sender got EIDRM", sys::wait_process(s), Ok(0));
    ok &= check("stale id", msgsnd(q, 1, b"x", IPC_NOWAIT), Err(EINVAL));

    // 5. EINTR for a blocked receiver, then a blocked sender.
    let Ok(q) = msgget(IPC_PRIVATE, 0o666) else {
        return 9;
    };
    if let Ok(mut ds) = stat(q) {
        ds.qbytes = 4;
        ok &= check("qbytes 4", set(q, &ds), Ok(0));
    }
    let Some(c) = spawn(CAUGHT_READER, q) else {
        return 10;
    };
    let_others_block();
    ok &= check("signal the reader", sys::kill(c, SIGUSR1), Ok(0));
    let_others_block();
    ok &= check("signal the sender", sys::kill(c, SIGUSR1), Ok(0));
    ok &= check("caught child", sys::wait_process(c), Ok(0));
    ok &= check("nothing queued", stat(q).map(|d| d.qnum), Ok(0));
    ok &= check("rmid", rmid(q), Ok(0));
    if ok {
        println!("sysv msg across processes: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
