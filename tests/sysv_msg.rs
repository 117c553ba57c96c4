//! SysV message queues through `dispatch` on the hosted kernel: every
//! selector, the msqid_ds counters, the queue-full rule, IPC_SET /
//! IPC_RMID rules, the permission matrix, blocking (hand-off, EIDRM,
//! EINTR), EFAULT without loss, limits, and the *_STAT / *_INFO listing.
//! Cases re-expressed from LTP's msgget/msgsnd/msgrcv/msgctl tests and
//! gVisor's msgqueue_test.cc are marked with their origin.

mod common;
mod sysv;

use std::collections::VecDeque;
use std::sync::Arc;
use std::thread::JoinHandle;

use common::Env;
use proptest::prelude::*;
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::sysv::ids::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE, SEQ_MULTIPLIER};
use redbear_ipc::ipc::sysv::limits::{self, MSGMAX, MSGMNB, MSGMNI};
use redbear_ipc::ipc::sysv::msg::index::{Message, MessageIndex, Selector};
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::*;
use redbear_ipc::syscall::numbers::*;
use sysv::*;

const NOWAIT: u32 = IPC_NOWAIT;
const ROOT: Credentials = Credentials::new(0, 0);

fn env() -> Env {
    Env::new(ClockMode::Virtual)
}

fn leak_free(k: &HostedKernel) {
    assert_eq!(k.ipc().sysv.msg.queues(), 0, "every queue removed");
    assert_eq!(k.ipc().sysv.msg.queued(), (0, 0), "no message bytes held");
}

#[test]
fn abi_layouts_are_linuxs() {
    use std::mem::{offset_of, size_of};
    assert_eq!(size_of::<libc::ipc_perm>(), IPC_PERM_SIZE);
    assert_eq!(size_of::<libc::msqid_ds>(), MSQID_DS_SIZE);
    assert_eq!(offset_of!(libc::ipc_perm, mode), 20);
    assert_eq!(offset_of!(libc::ipc_perm, __seq), 24);
    assert_eq!(offset_of!(libc::msqid_ds, msg_stime), 48);
    assert_eq!(offset_of!(libc::msqid_ds, msg_qnum), 80);
    assert_eq!(offset_of!(libc::msqid_ds, msg_qbytes), 88);
    assert_eq!(offset_of!(libc::msqid_ds, msg_lspid), 96);
    assert_eq!(offset_of!(libc::msqid_ds, msg_lrpid), 100);
    let ds = MsqidDs {
        perm: IpcPermAbi {
            key: -5,
            uid: 1,
            gid: 2,
            cuid: 3,
            cgid: 4,
            mode: 0o640,
            seq: 7,
        },
        stime: 10,
        rtime: 11,
        ctime: 12,
        cbytes: 13,
        qnum: 14,
        qbytes: 15,
        lspid: 16,
        lrpid: 17,
    };
    let raw = ds.encode();
    // SAFETY: msqid_ds is plain data of exactly these 120 bytes.
    let c: libc::msqid_ds = unsafe { std::ptr::read_unaligned(raw.as_ptr().cast()) };
    assert_eq!(c.msg_perm.__key, -5);
    assert_eq!((c.msg_perm.uid, c.msg_perm.gid), (1, 2));
    assert_eq!((c.msg_perm.cuid, c.msg_perm.cgid), (3, 4));
    assert_eq!((c.msg_perm.mode, c.msg_perm.__seq), (0o640, 7));
    assert_eq!((c.msg_stime, c.msg_rtime, c.msg_ctime), (10, 11, 12));
    assert_eq!((c.msg_qnum, c.msg_qbytes), (14, 15));
    assert_eq!((c.msg_lspid, c.msg_lrpid), (16, 17));
    assert_eq!(MsqidDs::decode(&raw), ds);
}

#[test]
fn every_selector_takes_the_right_message_in_order() {
    // LTP msgrcv07 (MSG_EXCEPT, msgtyp < 0) and gVisor's type tests.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    for (t, text) in [(3, "a"), (1, "b"), (2, "c"), (3, "d"), (1, "e"), (5, "f")] {
        msgsnd(&e.k, id, t, text.as_bytes(), 0).unwrap();
    }
    let got = |typ, flags| msgrcv(&e.k, id, 16, typ, flags | NOWAIT).map(|(t, b)| (t, b[0]));
    assert_eq!(got(3, MSG_EXCEPT), Ok((1, b'b')));
    assert_eq!(got(-2, 0), Ok((1, b'e')), "lowest type <= 2 first");
    assert_eq!(got(3, 0), Ok((3, b'a')));
    assert_eq!(
        got(0, MSG_EXCEPT),
        Ok((2, b'c')),
        "msgtyp 0 ignores MSG_EXCEPT"
    );
    assert_eq!(
        got(-4, MSG_EXCEPT),
        Ok((3, b'd')),
        "msgtyp < 0 ignores MSG_EXCEPT"
    );
    assert_eq!(got(-4, 0), Err(ENOMSG));
    assert_eq!(got(4, 0), Err(ENOMSG));
    assert_eq!(got(5, MSG_EXCEPT), Err(ENOMSG));
    assert_eq!(
        got(i64::MIN, 0),
        Ok((5, b'f')),
        "LONG_MIN reads as LONG_MAX"
    );
    assert_eq!(got(0, 0), Err(ENOMSG));
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn e2big_noerror_truncates_and_a_zero_length_message_works() {
    // LTP msgrcv02 (E2BIG), msgrcv08/gVisor (MSG_NOERROR truncation).
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    msgsnd(&e.k, id, 1, b"hello world", 0).unwrap();
    assert_eq!(msgrcv(&e.k, id, 5, 0, NOWAIT), Err(E2BIG));
    assert_eq!(stat(&e.k, id).unwrap().qnum, 1, "E2BIG leaves it queued");
    assert_eq!(
        msgrcv(&e.k, id, 5, 0, NOWAIT | MSG_NOERROR),
        Ok((1, b"hello".to_vec()))
    );
    assert_eq!(stat(&e.k, id).unwrap().qnum, 0, "the rest is discarded");
    msgsnd(&e.k, id, 9, b"", 0).unwrap();
    assert_eq!(msgrcv(&e.k, id, 0, 9, NOWAIT), Ok((9, vec![])));
    rmid(&e.k, id).unwrap();
}

#[test]
fn msgsnd_rejects_bad_type_size_and_id() {
    // LTP msgsnd02: EINVAL for mtype < 1, size > msgmax, negative id.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    assert_eq!(msgsnd(&e.k, id, 0, b"x", 0), Err(EINVAL));
    assert_eq!(msgsnd(&e.k, id, -1, b"x", 0), Err(EINVAL));
    assert_eq!(msgsnd(&e.k, -1, 1, b"x", 0), Err(EINVAL));
    assert_eq!(msgsnd(&e.k, id + 1, 1, b"x", 0), Err(EINVAL));
    let max = vec![7u8; MSGMAX as usize];
    assert_eq!(msgsnd(&e.k, id, 1, &max, NOWAIT), Ok(()));
    let over = vec![7u8; MSGMAX as usize + 1];
    assert_eq!(msgsnd(&e.k, id, 1, &over, NOWAIT), Err(EINVAL));
    let buf = msgbuf(&e.k, 1, b"x");
    assert_eq!(
        call(&e.k, SYS_RB_MSGSND, &[int(id), buf, usize::MAX, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        call(&e.k, SYS_RB_MSGSND, &[1 << 40, buf, 1, 0]),
        Err(EINVAL),
        "an id outside int"
    );
    assert_eq!(stat(&e.k, id).unwrap().qnum, 1);
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn efault_for_every_pointer_and_nothing_is_lost() {
    // LTP msgsnd02/msgrcv02/msgctl EFAULT cases; the receive keeps the
    // message (Linux would have removed it).
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let bad = 0x10usize;
    assert_eq!(
        call(&e.k, SYS_RB_MSGSND, &[int(id), bad, 4, 0]),
        Err(EFAULT)
    );
    // The type is readable but the text is not.
    let short = e.k.alloc_private(8);
    e.k.write_user(short, &1i64.to_ne_bytes()).unwrap();
    assert_eq!(
        call(&e.k, SYS_RB_MSGSND, &[int(id), short, 4096, 0]),
        Err(EFAULT)
    );
    msgsnd(&e.k, id, 4, b"first", 0).unwrap();
    msgsnd(&e.k, id, 4, b"second", 0).unwrap();
    assert_eq!(
        call(&e.k, SYS_RB_MSGRCV, &[int(id), bad, 64, 0, NOWAIT as usize]),
        Err(EFAULT)
    );
    let ds = stat(&e.k, id).unwrap();
    assert_eq!((ds.qnum, ds.cbytes), (2, 11), "nothing was taken");
    assert_eq!(msgrcv(&e.k, id, 64, 4, NOWAIT), Ok((4, b"first".to_vec())));
    for cmd in [IPC_STAT, IPC_SET, IPC_INFO, MSG_INFO, MSG_STAT] {
        let target = if cmd == MSG_STAT { 0 } else { id };
        assert_eq!(
            call(&e.k, SYS_RB_MSGCTL, &[int(target), int(cmd), bad]),
            Err(EFAULT),
            "cmd {cmd}"
        );
    }
    assert_eq!(
        stat(&e.k, id).unwrap().qbytes,
        MSGMNB as u64,
        "failed SET changed nothing"
    );
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn msqid_ds_counters_and_times() {
    // LTP msgctl01 / gVisor: fields after create, send and receive.
    let e = env();
    e.k.set_realtime(1_000 * 1_000_000_000);
    let id = msgget(&e.k, 0x5eed, IPC_CREAT | 0o640).unwrap();
    let ds = stat(&e.k, id).unwrap();
    assert_eq!(ds.perm.key, 0x5eed);
    assert_eq!(
        (ds.perm.uid, ds.perm.gid, ds.perm.cuid, ds.perm.cgid),
        (1000, 1000, 1000, 1000)
    );
    assert_eq!(ds.perm.mode, 0o640);
    assert_eq!(ds.perm.seq as i32, id / SEQ_MULTIPLIER as i32);
    assert_eq!((ds.stime, ds.rtime, ds.ctime), (0, 0, 1000));
    assert_eq!((ds.qnum, ds.cbytes, ds.qbytes), (0, 0, MSGMNB as u64));
    assert_eq!((ds.lspid, ds.lrpid), (0, 0));
    e.k.set_realtime(2_000 * 1_000_000_000);
    msgsnd(&e.k, id, 1, b"abc", 0).unwrap();
    msgsnd(&e.k, id, 2, b"de", 0).unwrap();
    let ds = stat(&e.k, id).unwrap();
    assert_eq!((ds.qnum, ds.cbytes, ds.stime, ds.rtime), (2, 5, 2000, 0));
    assert_eq!(ds.lspid, e.proc.pid());
    let other = e.k.spawn_process(Credentials::new(1000, 1000));
    let k = e.k.clone();
    e.k.spawn_task(&other, move || {
        k.set_realtime(3_000 * 1_000_000_000);
        msgrcv(&k, id, 8, 2, NOWAIT).unwrap();
    })
    .join()
    .unwrap();
    let ds = stat(&e.k, id).unwrap();
    assert_eq!(
        (ds.qnum, ds.cbytes, ds.rtime, ds.lrpid),
        (1, 3, 3000, other.pid())
    );
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn queue_full_counts_bytes_and_messages() {
    // The rule: full when cbytes + size > qbytes or qnum + 1 > qbytes.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 10;
    set(&e.k, id, &ds).unwrap();
    msgsnd(&e.k, id, 1, &[0; 6], NOWAIT).unwrap();
    assert_eq!(msgsnd(&e.k, id, 1, &[0; 5], NOWAIT), Err(EAGAIN));
    msgsnd(&e.k, id, 1, &[0; 4], NOWAIT).unwrap();
    assert_eq!(msgsnd(&e.k, id, 1, &[0; 1], NOWAIT), Err(EAGAIN));
    msgsnd(&e.k, id, 1, &[], NOWAIT).unwrap();
    rmid(&e.k, id).unwrap();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 2;
    set(&e.k, id, &ds).unwrap();
    msgsnd(&e.k, id, 1, &[], NOWAIT).unwrap();
    msgsnd(&e.k, id, 1, &[], NOWAIT).unwrap();
    assert_eq!(
        msgsnd(&e.k, id, 1, &[], NOWAIT),
        Err(EAGAIN),
        "qnum + 1 > qbytes"
    );
    ds.qbytes = 0;
    set(&e.k, id, &ds).unwrap();
    msgrcv(&e.k, id, 0, 0, NOWAIT).unwrap();
    msgrcv(&e.k, id, 0, 0, NOWAIT).unwrap();
    assert_eq!(
        msgsnd(&e.k, id, 1, &[], NOWAIT),
        Err(EAGAIN),
        "qbytes 0 takes nothing"
    );
    rmid(&e.k, id).unwrap();
}

#[test]
fn msgget_keys_flags_and_stale_ids() {
    // LTP msgget01..03, gVisor's msgqueue key tests.
    let e = env();
    assert_eq!(msgget(&e.k, 77, 0o600), Err(ENOENT));
    let id = msgget(&e.k, 77, IPC_CREAT | 0o600).unwrap();
    assert_eq!(msgget(&e.k, 77, 0), Ok(id));
    assert_eq!(msgget(&e.k, 77, IPC_CREAT | IPC_EXCL), Err(EEXIST));
    let p1 = msgget(&e.k, IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0o600).unwrap();
    let p2 = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    assert!(p1 != p2 && p1 != id);
    assert_eq!(
        call(&e.k, SYS_RB_MSGGET, &[1 << 33, 0]),
        Err(EINVAL),
        "key outside int"
    );
    msgsnd(&e.k, id, 1, b"old", 0).unwrap();
    rmid(&e.k, id).unwrap();
    assert_eq!(msgsnd(&e.k, id, 1, b"x", 0), Err(EINVAL));
    assert_eq!(msgrcv(&e.k, id, 8, 0, NOWAIT), Err(EINVAL));
    assert_eq!(stat(&e.k, id).map(drop), Err(EINVAL));
    assert_eq!(rmid(&e.k, id), Err(EINVAL));
    let again = msgget(&e.k, 77, IPC_CREAT | 0o600).unwrap();
    assert_ne!(again, id);
    assert_eq!(stat(&e.k, again).unwrap().qnum, 0, "the new queue is empty");
    for q in [again, p1, p2] {
        rmid(&e.k, q).unwrap();
    }
    leak_free(&e.k);
}

#[test]
fn limits_are_settable_by_the_privileged_only() {
    // msgmni (ENOSPC), msgmax (EINVAL past it), msgmnb (new queues'
    // qbytes and the unprivileged IPC_SET ceiling), through the one set
    // of limits the accounting keeps.
    let e = env();
    let acct = &e.k.ipc().acct;
    let mut lim = limits::get(acct);
    assert_eq!(
        (lim.msgmni, lim.msgmax, lim.msgmnb),
        (MSGMNI, MSGMAX, MSGMNB)
    );
    lim.msgmni = 2;
    lim.msgmax = 16;
    lim.msgmnb = 64;
    assert_eq!(
        limits::set(acct, &e.k.credentials(), lim).map_err(|e| e.errno),
        Err(EPERM)
    );
    limits::set(acct, &ROOT, lim).unwrap();
    let a = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let b = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    assert_eq!(msgget(&e.k, IPC_PRIVATE, 0o600), Err(ENOSPC));
    assert_eq!(msgsnd(&e.k, a, 1, &[0; 16], NOWAIT), Ok(()));
    assert_eq!(msgsnd(&e.k, a, 1, &[0; 17], NOWAIT), Err(EINVAL));
    let mut ds = stat(&e.k, a).unwrap();
    assert_eq!(ds.qbytes, 64);
    ds.qbytes = 65;
    assert_eq!(
        set(&e.k, a, &ds),
        Err(EPERM),
        "above msgmnb needs privilege"
    );
    ds.qbytes = 64;
    assert_eq!(set(&e.k, a, &ds), Ok(()));
    let (info, _) = e.k.ipc().sysv.msg.info(&*e.k, false);
    assert_eq!((info.msgmni, info.msgmax, info.msgmnb), (2, 16, 64));
    // The /proc/sys/kernel file view of the same values.
    let mut out = [0; 4];
    assert_eq!(limits::Tunable::MsgMax.read(acct, &mut out), 1);
    assert_eq!(out[0], 16);
    limits::Tunable::MsgMax.write(acct, &ROOT, &[17]).unwrap();
    assert_eq!(msgsnd(&e.k, b, 1, &[0; 17], NOWAIT), Ok(()));
    rmid(&e.k, a).unwrap();
    rmid(&e.k, b).unwrap();
    leak_free(&e.k);
}

#[test]
fn queues_and_queued_bytes_are_charged_to_the_creator_and_refunded() {
    use redbear_ipc::ipc::common::limits::{ObjectKind, Resource};
    use redbear_ipc::ipc::sysv::msg::MSG_BOOKKEEPING;
    let e = env();
    let acct = e.k.ipc().acct.clone();
    let me = e.k.credentials().euid;
    let queues = |uid| acct.usage(uid).objects[ObjectKind::MsgQueue as usize];
    let bytes = |uid| acct.usage(uid).amounts[Resource::MsgBytes as usize];
    let a = msgget(&e.k, IPC_PRIVATE, 0o666).unwrap();
    let b = msgget(&e.k, IPC_PRIVATE, 0o666).unwrap();
    assert_eq!(queues(me), 2);
    // The queues' own memory, then each message's text and bookkeeping.
    let base = bytes(me);
    assert!(base > 0);
    msgsnd(&e.k, a, 1, &[1; 100], NOWAIT).unwrap();
    msgsnd(&e.k, b, 1, &[1; 10], NOWAIT).unwrap();
    assert_eq!(bytes(me), base + 110 + 2 * MSG_BOOKKEEPING);
    // Another user's message on my queue is charged to me, the creator.
    let other = Credentials::new(2000, 2000);
    as_user(&e.k, other, move |k| msgsnd(k, a, 2, &[2; 50], NOWAIT)).unwrap();
    assert_eq!(bytes(me), base + 160 + 3 * MSG_BOOKKEEPING);
    assert!(acct.usage(2000).is_zero());
    assert_eq!(msgrcv(&e.k, a, 200, 0, NOWAIT).map(|g| g.1.len()), Ok(100));
    assert_eq!(bytes(me), base + 60 + 2 * MSG_BOOKKEEPING);
    // A receive whose copy fails puts the message back, charge and all.
    let bad = call(&e.k, SYS_RB_MSGRCV, &[int(a), 8, 200, 0, NOWAIT as usize]);
    assert_eq!(bad, Err(EFAULT));
    assert_eq!(bytes(me), base + 60 + 2 * MSG_BOOKKEEPING);
    // Past the user's limit: ENOMEM, blocking or not, nothing queued.
    let mut l = acct.limits();
    l.per_user_amounts[Resource::MsgBytes as usize] = base + 60 + 3 * MSG_BOOKKEEPING + 99;
    acct.set_limits(&ROOT, l).unwrap();
    assert_eq!(msgsnd(&e.k, b, 1, &[3; 100], NOWAIT), Err(ENOMEM));
    assert_eq!(msgsnd(&e.k, b, 1, &[3; 100], 0), Err(ENOMEM));
    assert_eq!(stat(&e.k, b).unwrap().qnum, 1);
    // msgget too: a third queue does not fit.
    assert_eq!(msgget(&e.k, IPC_PRIVATE, 0o600), Err(ENOMEM));
    assert_eq!(msgsnd(&e.k, b, 1, &[3; 99], NOWAIT), Ok(()));
    // Root's message on my queue is charged to me too: refused alike.
    let root_send = as_user(&e.k, ROOT, move |k| msgsnd(k, b, 1, &[3; 10], NOWAIT));
    assert_eq!(root_send, Err(ENOMEM));
    // Another user, under the same per-user limit, is not affected by
    // my usage.
    let theirs = as_user(&e.k, other, move |k| {
        let q = msgget(k, IPC_PRIVATE, 0o600)?;
        msgsnd(k, q, 1, &[4; 100], NOWAIT)?;
        rmid(k, q)
    });
    assert_eq!(theirs, Ok(()));
    // Removal refunds the messages at once, and the queue when freed.
    rmid(&e.k, a).unwrap();
    assert_eq!(queues(me), 1);
    assert_eq!(bytes(me), base / 2 + 10 + 99 + 2 * MSG_BOOKKEEPING);
    rmid(&e.k, b).unwrap();
    assert!(acct.usage(me).is_zero(), "{:?}", acct.usage(me));
    leak_free(&e.k);
}

#[test]
fn ipc_set_rules() {
    // LTP msgctl02/msgctl04/msgctl09: IPC_SET by owner, creator, others.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o666).unwrap();
    let mut ds = stat(&e.k, id).unwrap();
    ds.perm.uid = 2000;
    ds.perm.gid = 3000;
    ds.perm.mode = 0o7604;
    ds.perm.cuid = 1;
    set(&e.k, id, &ds).unwrap();
    let now = stat(&e.k, id).unwrap();
    assert_eq!(
        (now.perm.uid, now.perm.gid, now.perm.mode),
        (2000, 3000, 0o604)
    );
    assert_eq!(
        (now.perm.cuid, now.perm.cgid),
        (1000, 1000),
        "creator is fixed"
    );
    // The creator still controls it; a stranger does not.
    let stranger = e.k.spawn_process(Credentials::new(1500, 1500));
    let (k, d) = (e.k.clone(), now);
    let r =
        e.k.spawn_task(&stranger, move || (set(&k, id, &d), rmid(&k, id)))
            .join()
            .unwrap();
    assert_eq!(r, (Err(EPERM), Err(EPERM)));
    let mut bad = now;
    bad.perm.uid = u32::MAX;
    assert_eq!(set(&e.k, id, &bad), Err(EINVAL));
    bad = now;
    bad.qbytes = 1 << 31;
    assert_eq!(set(&e.k, id, &bad), Err(EINVAL), "qbytes past INT_MAX");
    assert_eq!(stat(&e.k, id).unwrap(), now, "failed sets changed nothing");
    assert_eq!(
        call(&e.k, SYS_RB_MSGCTL, &[int(id), 99, 0]),
        Err(EINVAL),
        "unknown command"
    );
    assert_eq!(
        call(&e.k, SYS_RB_MSGCTL, &[int(id), int(-1), 0]),
        Err(EINVAL)
    );
    rmid(&e.k, id).unwrap();
}

/// Runs `f` as a task of a new process with `creds`.
fn as_user<R: Send + 'static>(
    k: &Arc<HostedKernel>,
    creds: Credentials,
    f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
) -> R {
    let p = k.spawn_process(creds);
    let k2 = k.clone();
    k.spawn_task(&p, move || f(&k2)).join().unwrap()
}

#[test]
fn permission_matrix_owner_group_other_privileged() {
    // mode 0640 owned by 1000:100: owner rw, group r, other nothing.
    let e = Env::with_creds(ClockMode::Virtual, Credentials::new(1000, 100));
    let id = msgget(&e.k, 0x1234, IPC_CREAT | 0o640).unwrap();
    msgsnd(&e.k, id, 1, b"m", 0).unwrap();
    let classes = [
        (
            "owner",
            Credentials::new(1000, 999),
            (Ok(()), Ok(()), Ok(id), Ok(id)),
        ),
        (
            "group",
            Credentials::new(1001, 100),
            (Err(EACCES), Ok(()), Err(EACCES), Ok(id)),
        ),
        (
            "other",
            Credentials::new(1002, 101),
            (Err(EACCES), Err(EACCES), Err(EACCES), Err(EACCES)),
        ),
        ("root", ROOT, (Ok(()), Ok(()), Ok(id), Ok(id))),
    ];
    for (name, creds, want) in classes {
        let got = as_user(&e.k, creds, move |k| {
            let send = msgsnd(k, id, 1, b"x", NOWAIT);
            let stat = super_stat(k, id);
            let get_rw = msgget(k, 0x1234, 0o600);
            let get_r = msgget(k, 0x1234, 0o040);
            (send, stat, get_rw, get_r)
        });
        assert_eq!(got, want, "{name}");
        // Receiving needs read: drain what the class sent, if it could.
        let recv = as_user(&e.k, creds, move |k| msgrcv(k, id, 8, 0, NOWAIT).map(drop));
        assert_eq!(recv, want.1, "{name} receive");
        if want.0.is_ok() && want.1.is_err() {
            msgrcv(&e.k, id, 8, 0, NOWAIT).unwrap();
        }
    }
    // msgget asking nothing succeeds for anyone (Linux: no bits requested).
    assert_eq!(
        as_user(&e.k, Credentials::new(1002, 101), move |k| msgget(
            k, 0x1234, 0
        )),
        Ok(id)
    );
    // MSG_STAT needs read; MSG_STAT_ANY does not.
    let index = id % SEQ_MULTIPLIER as i32;
    let other = as_user(&e.k, Credentials::new(1002, 101), move |k| {
        (
            stat_cmd(k, index, MSG_STAT).map(|r| r.0),
            stat_cmd(k, index, MSG_STAT_ANY).map(|r| r.0),
        )
    });
    assert_eq!(other, (Err(EACCES), Ok(id as usize)));
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

fn super_stat(k: &HostedKernel, id: i32) -> Result<(), i32> {
    stat(k, id).map(drop)
}

#[test]
fn msg_copy_reads_by_position_and_removes_nothing() {
    // LTP msgrcv (MSG_COPY), gVisor MsgCopy tests.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    for (t, text) in [(2, &b"zero"[..]), (1, b"one"), (2, b"two!!")] {
        msgsnd(&e.k, id, t, text, 0).unwrap();
    }
    let copy = |n: i64, size, flags| msgrcv(&e.k, id, size, n, MSG_COPY | flags);
    assert_eq!(copy(0, 8, 0), Err(EINVAL), "MSG_COPY needs IPC_NOWAIT");
    assert_eq!(copy(0, 8, NOWAIT | MSG_EXCEPT), Err(EINVAL));
    assert_eq!(copy(1, 8, NOWAIT), Ok((1, b"one".to_vec())));
    assert_eq!(copy(2, 8, NOWAIT), Ok((2, b"two!!".to_vec())));
    assert_eq!(copy(0, 8, NOWAIT), Ok((2, b"zero".to_vec())));
    assert_eq!(copy(3, 8, NOWAIT), Err(ENOMSG));
    assert_eq!(copy(-1, 8, NOWAIT), Err(ENOMSG));
    assert_eq!(copy(2, 3, NOWAIT), Err(E2BIG));
    assert_eq!(
        copy(2, 3, NOWAIT | MSG_NOERROR),
        Err(EINVAL),
        "Linux's copy buffer is msgsz"
    );
    assert_eq!(stat(&e.k, id).unwrap().qnum, 3);
    assert_eq!(stat(&e.k, id).unwrap().lrpid, 0, "a copy is not a receive");
    rmid(&e.k, id).unwrap();
}

#[test]
fn ipcs_listing_through_info_and_stat() {
    // An `ipcs -q` built from MSG_INFO and MSG_STAT_ANY only.
    let e = env();
    let ids: Vec<i32> = (0..5)
        .map(|i| msgget(&e.k, 100 + i, IPC_CREAT | 0o600).unwrap())
        .collect();
    rmid(&e.k, ids[1]).unwrap();
    msgsnd(&e.k, ids[4], 1, b"1234", 0).unwrap();
    let at = e.k.alloc_private(MSGINFO_SIZE);
    let max = call(&e.k, SYS_RB_MSGCTL, &[0, int(MSG_INFO), at]).unwrap();
    let mut raw = [0u8; MSGINFO_SIZE];
    e.k.read_user(at, &mut raw).unwrap();
    let word = |raw: &[u8], i: usize| i32::from_ne_bytes(raw[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!(
        (word(&raw, 0), word(&raw, 1), word(&raw, 6)),
        (4, 1, 4),
        "queues, messages, bytes"
    );
    assert_eq!(max, 4);
    let mut listed = Vec::new();
    for index in 0..=max as i32 {
        if let Ok((id, ds)) = stat_cmd(&e.k, index, MSG_STAT_ANY) {
            listed.push((id as i32, ds.perm.key, ds.qnum));
        }
    }
    assert_eq!(
        listed,
        vec![
            (ids[0], 100, 0),
            (ids[2], 102, 0),
            (ids[3], 103, 0),
            (ids[4], 104, 1)
        ]
    );
    let at = e.k.alloc_private(MSGINFO_SIZE);
    call(&e.k, SYS_RB_MSGCTL, &[0, int(IPC_INFO), at]).unwrap();
    e.k.read_user(at, &mut raw).unwrap();
    assert_eq!(
        (0..7).map(|i| word(&raw, i)).collect::<Vec<_>>(),
        [512000, 16384, 8192, 16384, 32000, 16, 16384],
        "Linux's IPC_INFO values"
    );
    assert_eq!(u16::from_ne_bytes([raw[28], raw[29]]), 0xffff);
    for id in [ids[0], ids[2], ids[3], ids[4]] {
        rmid(&e.k, id).unwrap();
    }
    assert_eq!(call(&e.k, SYS_RB_MSGCTL, &[0, int(MSG_INFO), at]), Ok(0));
    leak_free(&e.k);
}

type Received = Result<(i64, Vec<u8>), i32>;
type Blocked<R> = (Arc<redbear_ipc::hosted::Process>, JoinHandle<R>);

/// A receiver blocked in its own process (so a signal reaches only it).
fn blocked_receiver(e: &Env, id: i32, size: usize, msgtyp: i64, flags: u32) -> Blocked<Received> {
    let p = e.k.spawn_process(Credentials::new(1000, 1000));
    let k = e.k.clone();
    let h =
        e.k.spawn_task(&p, move || msgrcv(&k, id, size, msgtyp, flags));
    (p, h)
}

fn blocked_sender(e: &Env, id: i32, mtype: i64, len: usize) -> Blocked<Result<(), i32>> {
    let p = e.k.spawn_process(Credentials::new(1000, 1000));
    let k = e.k.clone();
    let h = e.k.spawn_task(&p, move || {
        msgsnd(&k, id, mtype, &vec![mtype as u8; len], 0)
    });
    (p, h)
}

#[test]
fn a_send_hands_off_to_the_first_matching_receiver_only() {
    // Pipelined send: the type-2 receiver gets the type-2 message, the
    // type-1 receiver stays asleep (no herd), nothing is queued.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let (_p1, r1) = blocked_receiver(&e, id, 16, 1, 0);
    assert!(wait_blocked(&e.k, id, 1, 0));
    let (_p2, r2) = blocked_receiver(&e, id, 16, 2, 0);
    // r3 (msgtyp -5) matches type 2 too: it must block after r2, or the
    // type-2 message is rightly handed to r3 and r2 waits forever.
    assert!(wait_blocked(&e.k, id, 2, 0));
    let (_p3, r3) = blocked_receiver(&e, id, 16, -5, 0);
    assert!(wait_blocked(&e.k, id, 3, 0));
    msgsnd(&e.k, id, 2, b"two", 0).unwrap();
    assert_eq!(r2.join().unwrap(), Ok((2, b"two".to_vec())));
    assert!(wait_blocked(&e.k, id, 2, 0), "the others still wait");
    let ds = stat(&e.k, id).unwrap();
    assert_eq!(ds.qnum, 0, "handed over, never queued");
    assert_ne!(ds.lrpid, 0);
    msgsnd(&e.k, id, 1, b"one", 0).unwrap();
    assert_eq!(
        r1.join().unwrap(),
        Ok((1, b"one".to_vec())),
        "first in arrival order"
    );
    msgsnd(&e.k, id, 4, b"four", 0).unwrap();
    assert_eq!(r3.join().unwrap(), Ok((4, b"four".to_vec())));
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn a_hand_off_too_big_for_a_receiver_fails_it_e2big_and_moves_on() {
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let (_p1, small) = blocked_receiver(&e, id, 2, 0, 0);
    assert!(wait_blocked(&e.k, id, 1, 0));
    let (_p2, big) = blocked_receiver(&e, id, 64, 0, 0);
    assert!(wait_blocked(&e.k, id, 2, 0));
    msgsnd(&e.k, id, 3, b"long text", 0).unwrap();
    assert_eq!(small.join().unwrap(), Err(E2BIG));
    assert_eq!(big.join().unwrap(), Ok((3, b"long text".to_vec())));
    // With MSG_NOERROR the small receiver takes it truncated.
    let (_p3, trunc) = blocked_receiver(&e, id, 2, 0, MSG_NOERROR);
    assert!(wait_blocked(&e.k, id, 1, 0));
    msgsnd(&e.k, id, 3, b"long text", 0).unwrap();
    assert_eq!(trunc.join().unwrap(), Ok((3, b"lo".to_vec())));
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn removal_fails_blocked_receivers_and_senders_eidrm() {
    // LTP msgrcv05/msgsnd06 (EIDRM), gVisor's "removed while blocked".
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let (_p1, r) = blocked_receiver(&e, id, 8, 7, 0);
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 4;
    set(&e.k, id, &ds).unwrap();
    msgsnd(&e.k, id, 1, b"full", 0).unwrap();
    let (_p2, s) = blocked_sender(&e, id, 1, 1);
    assert!(wait_blocked(&e.k, id, 1, 1));
    rmid(&e.k, id).unwrap();
    assert_eq!(r.join().unwrap(), Err(EIDRM));
    assert_eq!(s.join().unwrap(), Err(EIDRM));
    leak_free(&e.k);
}

#[test]
fn a_signal_interrupts_blocked_callers_with_eintr() {
    // LTP msgrcv04/msgsnd05 (EINTR), never restarted.
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let (p1, r) = blocked_receiver(&e, id, 8, 0, 0);
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 1;
    set(&e.k, id, &ds).unwrap();
    msgsnd(&e.k, id, 1, b"x", 0).unwrap();
    // The receiver took that one; the queue is empty again but the next
    // 2-byte message does not fit qbytes 1.
    assert_eq!(r.join().unwrap(), Ok((1, b"x".to_vec())));
    let (p1b, r) = blocked_receiver(&e, id, 8, 9, 0);
    let (p2, s) = blocked_sender(&e, id, 1, 2);
    assert!(wait_blocked(&e.k, id, 1, 1));
    e.k.send_signal(&p1b, 10);
    assert_eq!(r.join().unwrap(), Err(EINTR));
    assert!(wait_blocked(&e.k, id, 0, 1), "the sender still waits");
    e.k.send_signal(&p2, 10);
    assert_eq!(s.join().unwrap(), Err(EINTR));
    assert_eq!(
        stat(&e.k, id).unwrap().qnum,
        0,
        "the interrupted send queued nothing"
    );
    drop(p1);
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn a_receive_wakes_the_senders_that_now_fit() {
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 10;
    set(&e.k, id, &ds).unwrap();
    msgsnd(&e.k, id, 1, &[1; 10], 0).unwrap();
    let (_a, big) = blocked_sender(&e, id, 2, 8);
    assert!(wait_blocked(&e.k, id, 0, 1));
    let (_b, small) = blocked_sender(&e, id, 3, 2);
    assert!(wait_blocked(&e.k, id, 0, 2));
    // Free 10 bytes: both fit together (8 + 2), both send.
    msgrcv(&e.k, id, 16, 1, NOWAIT).unwrap();
    assert_eq!(big.join().unwrap(), Ok(()));
    assert_eq!(small.join().unwrap(), Ok(()));
    let ds = stat(&e.k, id).unwrap();
    assert_eq!((ds.qnum, ds.cbytes), (2, 10));
    // Now a 6-byte sender waits; freeing 2 bytes is not enough for it.
    let (_c, six) = blocked_sender(&e, id, 4, 6);
    assert!(wait_blocked(&e.k, id, 0, 1));
    msgrcv(&e.k, id, 16, 3, NOWAIT).unwrap();
    assert!(wait_blocked(&e.k, id, 0, 1), "2 free bytes do not wake it");
    msgrcv(&e.k, id, 16, 2, NOWAIT).unwrap();
    assert_eq!(six.join().unwrap(), Ok(()));
    // Raising qbytes with IPC_SET wakes a waiting sender too.
    let (_d, more) = blocked_sender(&e, id, 5, 8);
    assert!(wait_blocked(&e.k, id, 0, 1));
    let mut ds = stat(&e.k, id).unwrap();
    ds.qbytes = 14;
    set(&e.k, id, &ds).unwrap();
    assert_eq!(more.join().unwrap(), Ok(()));
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[test]
fn ipc_set_makes_blocked_receivers_check_permission_again() {
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o666).unwrap();
    let other = e.k.spawn_process(Credentials::new(1500, 1500));
    let k = e.k.clone();
    let r = e.k.spawn_task(&other, move || msgrcv(&k, id, 8, 0, 0));
    assert!(wait_blocked(&e.k, id, 1, 0));
    let mut ds = stat(&e.k, id).unwrap();
    ds.perm.mode = 0o600;
    set(&e.k, id, &ds).unwrap();
    assert_eq!(r.join().unwrap(), Err(EACCES));
    rmid(&e.k, id).unwrap();
}

#[test]
fn a_failed_copy_after_a_hand_off_puts_the_message_back() {
    let e = env();
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    let p = e.k.spawn_process(Credentials::new(1000, 1000));
    let k = e.k.clone();
    // A receiver whose buffer is unmapped.
    let r = e.k.spawn_task(&p, move || {
        call(&k, SYS_RB_MSGRCV, &[int(id), 0x10, 64, 0, 0])
    });
    assert!(wait_blocked(&e.k, id, 1, 0));
    msgsnd(&e.k, id, 6, b"keep me", 0).unwrap();
    assert_eq!(r.join().unwrap(), Err(EFAULT));
    assert_eq!(
        msgrcv(&e.k, id, 64, 0, NOWAIT),
        Ok((6, b"keep me".to_vec()))
    );
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}

#[derive(Clone, Debug)]
enum IndexOp {
    Send(i64, u8),
    Recv(i64, bool),
    Copy(usize),
}

fn index_op() -> impl Strategy<Value = IndexOp> {
    prop_oneof![
        3 => (1..6i64, 0..4u8).prop_map(|(t, len)| IndexOp::Send(t, len)),
        3 => (-7..7i64, any::<bool>()).prop_map(|(t, x)| IndexOp::Recv(t, x)),
        1 => (0..8usize).prop_map(IndexOp::Copy),
    ]
}

/// Linux's find_msg over a plain list: the reference the index must equal.
fn naive_find(model: &VecDeque<(i64, u64, u8)>, msgtyp: i64, except: bool) -> Option<usize> {
    if msgtyp < 0 {
        let bound = if msgtyp == i64::MIN {
            i64::MAX
        } else {
            -msgtyp
        };
        let mut best: Option<usize> = None;
        for (i, m) in model.iter().enumerate() {
            if m.0 <= bound && best.is_none_or(|b| m.0 < model[b].0) {
                best = Some(i);
            }
        }
        return best;
    }
    model.iter().position(|m| match (msgtyp, except) {
        (0, _) => true,
        (t, false) => m.0 == t,
        (t, true) => m.0 != t,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn the_index_agrees_with_a_naive_queue(ops in proptest::collection::vec(index_op(), 1..120)) {
        let mut ix = MessageIndex::default();
        let mut model: VecDeque<(i64, u64, u8)> = VecDeque::new();
        for op in ops {
            match op {
                IndexOp::Send(t, len) => {
                    let seq = ix.stamp();
                    ix.push(Message { mtype: t, seq, text: vec![len; len as usize].into_boxed_slice() });
                    model.push_back((t, seq, len));
                }
                IndexOp::Recv(t, except) => {
                    let want = naive_find(&model, t, except).map(|i| model.remove(i).unwrap_or((0, 0, 0)));
                    let got = ix.find(Selector::new(t, except)).and_then(|f| ix.take(f.mtype));
                    prop_assert_eq!(got.map(|m| (m.mtype, m.seq, m.text.len() as u8)), want);
                }
                IndexOp::Copy(n) => {
                    let want = model.get(n).map(|m| (m.0, m.2 as usize));
                    let got = ix.nth(n).map(|(t, text)| (t, text.len()));
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(ix.len(), model.len());
            prop_assert_eq!(ix.bytes(), model.iter().map(|m| m.2 as usize).sum::<usize>());
        }
    }
}

#[test]
fn int_registers_take_sign_or_zero_extension_and_refuse_wider_values() {
    let e = env();
    let wide = (1usize << 32) + 5;
    assert_eq!(
        call(&e.k, SYS_RB_MSGGET, &[wide, (IPC_CREAT | 0o600) as usize]),
        Err(EINVAL)
    );
    assert_eq!(e.k.ipc().sysv.msg.queues(), 0, "nothing was created");
    let id = msgget(&e.k, IPC_PRIVATE, 0o600).unwrap();
    // msgflg zero-extended: IPC_NOWAIT still read.
    let at = msgbuf(&e.k, 1, b"x");
    let zext_nowait = IPC_NOWAIT as usize;
    assert_eq!(
        call(&e.k, SYS_RB_MSGRCV, &[int(id), at, 8, 0, zext_nowait]),
        Err(ENOMSG)
    );
    // A negative id, sign- or zero-extended: EINVAL either way.
    for neg in [int(-1), 0xffff_ffff] {
        assert_eq!(call(&e.k, SYS_RB_MSGSND, &[neg, at, 1, 0]), Err(EINVAL));
    }
    assert_eq!(
        call(&e.k, SYS_RB_MSGCTL, &[int(id), wide, 0]),
        Err(EINVAL),
        "a command wider than an int"
    );
    // msgsz past LONG_MAX is a negative long: EINVAL.
    assert_eq!(
        call(
            &e.k,
            SYS_RB_MSGRCV,
            &[int(id), at, usize::MAX, 0, zext_nowait]
        ),
        Err(EINVAL)
    );
    rmid(&e.k, id).unwrap();
    leak_free(&e.k);
}
