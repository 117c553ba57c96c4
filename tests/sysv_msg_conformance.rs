//! SysV message queues: cases re-expressed from LTP's ipc/msgget, msgsnd,
//! msgrcv and msgctl tests and gVisor's msgqueue.cc (our own code, each
//! named after the case). Each case runs through `dispatch` on the hosted
//! kernel and, in the same test, on the host Linux (a fresh IPC
//! namespace, uid 1000, so the default limits hold), and the results must
//! agree.

mod common;
mod conform;
mod sysv;

use common::Env;
use conform::{agree, lx, on_linux, ours};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::syscall::abi::{
    IPC_INFO, IPC_NOWAIT, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR,
};
use redbear_ipc::syscall::numbers::*;
use sysv::*;

const CREAT: u32 = 0o1000;
const EXCL: u32 = 0o2000;
const NOWAIT: u32 = IPC_NOWAIT;

fn env() -> Env {
    Env::new(ClockMode::Virtual)
}

fn unit(r: Result<(), i32>) -> i64 {
    ours(r.map(|()| 0))
}

/// [mtype, length] or [-errno].
fn rcv_ours(r: Result<(i64, Vec<u8>), i32>) -> Vec<i64> {
    match r {
        Ok((t, b)) => vec![t, b.len() as i64],
        Err(e) => vec![-i64::from(e)],
    }
}

/// 1 for an id, else minus the errno (ids differ between the two sides).
fn id_ok(r: i64) -> i64 {
    if r >= 0 {
        1
    } else {
        r
    }
}

/// The Linux calls, raw so that sizes and flags pass unchanged.
mod host {
    use super::*;

    pub fn msgget(key: i32, flags: u32) -> i64 {
        // SAFETY: no pointers.
        lx(unsafe { libc::syscall(libc::SYS_msgget, key, flags) })
    }

    pub fn msgsnd(id: i64, mtype: i64, text: &[u8], flags: u32) -> i64 {
        let mut buf = mtype.to_ne_bytes().to_vec();
        buf.extend_from_slice(text);
        // SAFETY: `buf` holds the type and `text.len()` bytes.
        lx(unsafe { libc::syscall(libc::SYS_msgsnd, id, buf.as_ptr(), text.len(), flags) })
    }

    pub fn msgsnd_size(id: i64, size: usize) -> i64 {
        let buf = [1u8; 16];
        // SAFETY: the kernel refuses the size before reading the buffer.
        lx(unsafe { libc::syscall(libc::SYS_msgsnd, id, buf.as_ptr(), size, NOWAIT) })
    }

    /// [mtype, length] or [-errno]; `size` passes unchanged.
    pub fn msgrcv(id: i64, size: usize, msgtyp: i64, flags: u32) -> Vec<i64> {
        let mut buf = vec![0u8; 8 + size.min(1 << 16)];
        // SAFETY: `buf` holds the type and `size` bytes whenever the
        // kernel accepts `size` (the huge sizes here are refused first).
        let r =
            unsafe { libc::syscall(libc::SYS_msgrcv, id, buf.as_mut_ptr(), size, msgtyp, flags) };
        match lx(r) {
            n if n >= 0 => {
                let t = i64::from_ne_bytes(buf[..8].try_into().unwrap_or([0; 8]));
                vec![t, n]
            }
            e => vec![e],
        }
    }

    /// msgctl with a 120-byte buffer: the return value and the buffer.
    pub fn ctl(id: i64, cmd: i32, buf: &mut [u8; 120]) -> i64 {
        // SAFETY: `buf` is 120 bytes, the size of msqid_ds (and more
        // than msginfo's 32).
        lx(unsafe { libc::syscall(libc::SYS_msgctl, id, cmd, buf.as_mut_ptr()) })
    }

    pub fn rmid(id: i64) -> i64 {
        // SAFETY: IPC_RMID reads no buffer.
        lx(unsafe { libc::syscall(libc::SYS_msgctl, id, 0, 0usize) })
    }
}

/// msqid_ds' msg_qbytes, msg_qnum and msg_cbytes at their ABI offsets.
fn counters(buf: &[u8; 120]) -> [i64; 3] {
    let at = |o: usize| i64::from_ne_bytes(buf[o..o + 8].try_into().unwrap_or([0; 8]));
    [at(88), at(80), at(72)]
}

fn k_alloc(e: &Env, n: usize) -> usize {
    e.k.alloc_private(n)
}

fn ctl_ours(e: &Env, id: i64, cmd: i32, buf: &mut [u8; 120]) -> i64 {
    use redbear_ipc::kernel::Kernel;
    let at = e.k.alloc_private(120);
    e.k.write_user(at, buf).expect("writable");
    let r = call(&e.k, SYS_RB_MSGCTL, &[id as usize, int(cmd), at]);
    e.k.read_user(at, buf).expect("readable");
    ours(r)
}

/// LTP msgrcv (EINVAL for a negative msgsz and a bad id) and msgsnd (a
/// size over msgmax or "negative" is EINVAL, 8192 bytes fit): checks that
/// come before the queue is looked at, with IPC_NOWAIT or without.
#[test]
fn ltp_msgrcv_einval_negative_msgsz_and_msgsnd_sizes() {
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.extend(host::msgrcv(id, usize::MAX, 0, NOWAIT));
        v.extend(host::msgrcv(id, 1 << 63, 0, NOWAIT));
        v.extend(host::msgrcv(-1, 8, 0, NOWAIT));
        v.push(host::msgsnd_size(id, 8193));
        v.push(host::msgsnd_size(id, usize::MAX));
        v.push(host::msgsnd(id, 1, &[7; 8192], NOWAIT));
        v.push(host::msgsnd(-1, 1, b"x", NOWAIT));
        v.extend(host::msgrcv(id, 8192, 0, NOWAIT));
        v.push(host::rmid(id));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    let small = k_alloc(&e, 16);
    for size in [usize::MAX, 1 << 63] {
        let r = call(k, SYS_RB_MSGRCV, &[int(i), small, size, 0, NOWAIT as usize]);
        v.push(ours(r));
    }
    v.extend(rcv_ours(msgrcv(k, -1, 8, 0, NOWAIT)));
    let buf = msgbuf(k, 1, &[1; 16]);
    for size in [8193, usize::MAX] {
        v.push(ours(call(
            k,
            SYS_RB_MSGSND,
            &[int(i), buf, size, NOWAIT as usize],
        )));
    }
    v.push(unit(msgsnd(k, i, 1, &[7; 8192], NOWAIT)));
    v.push(unit(msgsnd(k, -1, 1, b"x", NOWAIT)));
    v.extend(rcv_ours(msgrcv(k, i, 8192, 0, NOWAIT)));
    v.push(unit(rmid(k, i)));
    agree("sizes", linux, v);
}

/// gVisor msgqueue.cc's MSG_EXCEPT and negative-type cases: MSG_EXCEPT
/// with msgtyp 0 is "any" (the first message); a negative msgtyp takes
/// the first message of the lowest type <= |msgtyp| (LONG_MIN as LONG_MAX);
/// mtype LONG_MAX travels.
#[test]
fn gvisor_msgqueue_msgrcv_except_and_lowest_type() {
    let types = [5i64, 3, 7, 3, i64::MAX, 2];
    let sels: [(i64, u32); 9] = [
        (0, MSG_EXCEPT),
        (-1, 0),
        (-4, 0),
        (3, MSG_EXCEPT),
        (i64::MIN, 0),
        (-6, 0),
        (i64::MAX, 0),
        (7, MSG_EXCEPT),
        (0, MSG_EXCEPT),
    ];
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        for (n, t) in types.iter().enumerate() {
            v.push(host::msgsnd(id, *t, &vec![1; n], NOWAIT));
        }
        for (t, f) in sels {
            v.extend(host::msgrcv(id, 64, t, f | NOWAIT));
        }
        v.push(host::rmid(id));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    for (n, t) in types.iter().enumerate() {
        v.push(unit(msgsnd(k, i, *t, &vec![1; n], NOWAIT)));
    }
    for (t, f) in sels {
        v.extend(rcv_ours(msgrcv(k, i, 64, t, f | NOWAIT)));
    }
    v.push(unit(rmid(k, i)));
    agree("selectors", linux, v);
}

/// gVisor msgqueue.cc's MSG_COPY cases: EINVAL without IPC_NOWAIT and
/// with MSG_EXCEPT; by index, removing nothing; ENOMSG past the end; E2BIG
/// for a short buffer; and with MSG_NOERROR and a short buffer, Linux's
/// copy fails EINVAL rather than truncating.
#[test]
fn gvisor_msgqueue_msg_copy() {
    let cases: [(usize, i64, u32); 7] = [
        (64, 0, MSG_COPY),
        (64, 0, MSG_COPY | NOWAIT | MSG_EXCEPT),
        (64, 1, MSG_COPY | NOWAIT),
        (64, 0, MSG_COPY | NOWAIT),
        (64, 2, MSG_COPY | NOWAIT),
        (2, 1, MSG_COPY | NOWAIT),
        (2, 1, MSG_COPY | NOWAIT | MSG_NOERROR),
    ];
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.push(host::msgsnd(id, 4, b"a", NOWAIT));
        v.push(host::msgsnd(id, 9, b"bbbb", NOWAIT));
        for (size, index, f) in cases {
            v.extend(host::msgrcv(id, size, index, f));
        }
        let mut ds = [0u8; 120];
        v.push(host::ctl(id, 2, &mut ds));
        v.extend(counters(&ds));
        v.push(host::rmid(id));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    v.push(unit(msgsnd(k, i, 4, b"a", NOWAIT)));
    v.push(unit(msgsnd(k, i, 9, b"bbbb", NOWAIT)));
    for (size, index, f) in cases {
        v.extend(rcv_ours(msgrcv(k, i, size, index, f)));
    }
    let mut ds = [0u8; 120];
    v.push(ctl_ours(&e, i64::from(i), 2, &mut ds));
    v.extend(counters(&ds));
    v.push(unit(rmid(k, i)));
    agree("MSG_COPY", linux, v);
}

/// LTP msgctl (EPERM for an unprivileged owner raising msg_qbytes above
/// msgmnb, EINVAL for a bad command, IPC_STAT / IPC_RMID / msgsnd on a
/// removed id EINVAL) and gVisor msgqueue.cc's full-queue case with
/// zero-length messages (each counts against msg_qbytes as one message).
#[test]
fn ltp_msgctl_eperm_qbytes_above_msgmnb_and_removed_ids() {
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        let mut ds = [0u8; 120];
        for q in [16385u64, 16384, 2] {
            host::ctl(id, 2, &mut ds);
            ds[88..96].copy_from_slice(&q.to_ne_bytes());
            v.push(host::ctl(id, 1, &mut ds));
        }
        v.push(host::ctl(id, 99, &mut ds));
        for _ in 0..3 {
            v.push(host::msgsnd(id, 1, b"", NOWAIT));
        }
        v.push(host::ctl(id, 2, &mut ds));
        v.extend(counters(&ds));
        v.extend(host::msgrcv(id, 0, 0, NOWAIT));
        v.push(host::msgsnd(id, 1, b"xy", NOWAIT));
        v.push(host::msgsnd(id, 1, b"", NOWAIT));
        v.push(host::rmid(id));
        v.push(host::ctl(id, 2, &mut ds));
        v.push(host::rmid(id));
        v.push(host::msgsnd(id, 1, b"x", NOWAIT));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let l = i64::from(i);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    let mut ds = [0u8; 120];
    for q in [16385u64, 16384, 2] {
        ctl_ours(&e, l, 2, &mut ds);
        ds[88..96].copy_from_slice(&q.to_ne_bytes());
        v.push(ctl_ours(&e, l, 1, &mut ds));
    }
    v.push(ctl_ours(&e, l, 99, &mut ds));
    for _ in 0..3 {
        v.push(unit(msgsnd(k, i, 1, b"", NOWAIT)));
    }
    v.push(ctl_ours(&e, l, 2, &mut ds));
    v.extend(counters(&ds));
    v.extend(rcv_ours(msgrcv(k, i, 0, 0, NOWAIT)));
    v.push(unit(msgsnd(k, i, 1, b"xy", NOWAIT)));
    v.push(unit(msgsnd(k, i, 1, b"", NOWAIT)));
    v.push(unit(rmid(k, i)));
    v.push(ctl_ours(&e, l, 2, &mut ds));
    v.push(unit(rmid(k, i)));
    v.push(unit(msgsnd(k, i, 1, b"x", NOWAIT)));
    agree("qbytes and removed ids", linux, v);
}

/// LTP msgget (EACCES, EEXIST, ENOENT): an existing key opens with flags
/// 0 whatever its mode, but any requested permission the mode denies is
/// EACCES, with IPC_CREAT too; IPC_CREAT|IPC_EXCL is EEXIST first; the
/// owner may still remove it, after which the key is ENOENT.
#[test]
fn ltp_msgget_eacces_eexist_enoent() {
    let key = 0x5eed;
    let flags = [
        0,
        0o400,
        0o200,
        CREAT | 0o600,
        CREAT | EXCL,
        CREAT | EXCL | 0o600,
        CREAT,
    ];
    let linux = on_linux(|| {
        let mut v = vec![host::msgget(key, 0o600)];
        let id = host::msgget(key, CREAT);
        v.push(id_ok(id));
        for f in flags {
            let r = host::msgget(key, f);
            v.push(if r == id { 1 } else { r });
        }
        let mut ds = [0u8; 120];
        v.push(host::ctl(id, 2, &mut ds));
        v.push(host::msgsnd(id, 1, b"x", NOWAIT));
        v.push(host::rmid(id));
        v.push(host::msgget(key, 0));
        v
    });
    let e = env();
    let k = &e.k;
    let mut v = vec![ours(msgget(k, key, 0o600).map(|x| x as usize))];
    let id = msgget(k, key, CREAT);
    v.push(id_ok(ours(id.map(|x| x as usize))));
    let i = id.unwrap_or(-1);
    for f in flags {
        v.push(match msgget(k, key, f) {
            Ok(x) if x == i => 1,
            r => ours(r.map(|x| x as usize)),
        });
    }
    let mut ds = [0u8; 120];
    v.push(ctl_ours(&e, i64::from(i), 2, &mut ds));
    v.push(unit(msgsnd(k, i, 1, b"x", NOWAIT)));
    v.push(unit(rmid(k, i)));
    v.push(ours(msgget(k, key, 0).map(|x| x as usize)));
    agree("msgget", linux, v);
}

/// LTP msgctl IPC_INFO / MSG_INFO cases and gVisor msgqueue.cc's
/// MsgInfo: IPC_INFO gives the limits (msgpool, msgmap, msgmax, msgmnb,
/// msgmni, msgssz, msgtql, msgseg); MSG_INFO the usage (queues, messages,
/// bytes in msgpool, msgmap, msgtql); both return the highest index in use.
#[test]
fn ltp_msgctl_ipc_info_and_msg_info() {
    let words = |b: &[u8; 120]| -> Vec<i64> {
        let mut w: Vec<i64> = (0..7)
            .map(|i| {
                i64::from(i32::from_ne_bytes(
                    b[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4]),
                ))
            })
            .collect();
        w.push(i64::from(u16::from_ne_bytes([b[28], b[29]])));
        w
    };
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.push(host::msgsnd(id, 1, b"abc", NOWAIT));
        v.push(host::msgsnd(id, 2, b"defg", NOWAIT));
        for cmd in [IPC_INFO, MSG_INFO] {
            let mut b = [0u8; 120];
            v.push(host::ctl(0, cmd, &mut b));
            v.extend(words(&b));
        }
        v.push(host::rmid(id));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    v.push(unit(msgsnd(k, i, 1, b"abc", NOWAIT)));
    v.push(unit(msgsnd(k, i, 2, b"defg", NOWAIT)));
    for cmd in [IPC_INFO, MSG_INFO] {
        let mut b = [0u8; 120];
        v.push(ctl_ours(&e, 0, cmd, &mut b));
        v.extend(words(&b));
    }
    v.push(unit(rmid(k, i)));
    agree("info", linux, v);
}

/// LTP msgrcv (E2BIG keeps the message; MSG_NOERROR truncates and
/// removes it; ENOMSG for a type not queued with IPC_NOWAIT).
#[test]
fn ltp_msgrcv_e2big_noerror_enomsg() {
    let linux = on_linux(|| {
        let id = host::msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id), host::msgsnd(id, 3, b"hello", NOWAIT)];
        v.extend(host::msgrcv(id, 4, 0, NOWAIT));
        v.extend(host::msgrcv(id, 8, 4, NOWAIT));
        v.extend(host::msgrcv(id, 4, 3, NOWAIT | MSG_NOERROR));
        v.extend(host::msgrcv(id, 8, 0, NOWAIT));
        v.push(host::rmid(id));
        v
    });
    let e = env();
    let k = &e.k;
    let id = msgget(k, 0, CREAT | 0o600);
    let i = id.unwrap_or(-1);
    let mut v = vec![id_ok(ours(id.map(|x| x as usize)))];
    v.push(unit(msgsnd(k, i, 3, b"hello", NOWAIT)));
    v.extend(rcv_ours(msgrcv(k, i, 4, 0, NOWAIT)));
    v.extend(rcv_ours(msgrcv(k, i, 8, 4, NOWAIT)));
    v.extend(rcv_ours(msgrcv(k, i, 4, 3, NOWAIT | MSG_NOERROR)));
    v.extend(rcv_ours(msgrcv(k, i, 8, 0, NOWAIT)));
    v.push(unit(rmid(k, i)));
    agree("E2BIG", linux, v);
}
