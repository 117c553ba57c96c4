//! SysV message queues: cases re-expressed from LTP's ipc/msgget, msgsnd,
//! msgrcv and msgctl tests and gVisor's msgqueue.cc (our own code, each
//! named after the case). Each case is written once over `Msg` and runs
//! through `dispatch` on the hosted kernel and, in the same test, on the
//! host Linux (a fresh IPC namespace, uid 1000, so the default limits
//! hold); the results must agree.

mod common;
mod conform;
mod sysv;

use common::Env;
use conform::{agree, lx, on_linux, ours};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{
    IPC_INFO, IPC_NOWAIT, IPC_SET, IPC_STAT, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT,
    MSG_STAT_ANY,
};
use redbear_ipc::syscall::numbers::*;

const CREAT: u32 = 0o1000;
const EXCL: u32 = 0o2000;
const NOWAIT: u32 = IPC_NOWAIT;
/// Room for a msqid_ds (120 bytes) or a msginfo (32).
type CtlBuf = [u8; 120];

/// The calls a case makes, raw so that sizes and flags pass unchanged;
/// every result is the value or minus the errno.
trait Msg {
    fn msgget(&mut self, key: i32, flags: u32) -> i64;
    fn msgsnd(&mut self, id: i64, mtype: i64, text: &[u8], flags: u32) -> i64;
    /// msgsnd of a 16-byte buffer claiming `size` bytes, IPC_NOWAIT.
    fn msgsnd_size(&mut self, id: i64, size: usize) -> i64;
    /// [mtype, length] or [-errno]; a `size` over 64 KiB must be refused
    /// before the buffer is touched.
    fn msgrcv(&mut self, id: i64, size: usize, msgtyp: i64, flags: u32) -> Vec<i64>;
    fn ctl(&mut self, id: i64, cmd: i32, buf: &mut CtlBuf) -> i64;
    fn rmid(&mut self, id: i64) -> i64;
}

/// 1 for an id, else minus the errno (ids differ between the two sides).
fn id_ok(r: i64) -> i64 {
    if r >= 0 {
        1
    } else {
        r
    }
}

/// The buffer a receive of `size` bytes gets: big enough for any size
/// the kernels accept here.
fn rcv_buf(size: usize) -> usize {
    8 + size.min(1 << 16)
}

/// Runs `case` on Linux and on ours and compares.
fn both(name: &str, case: fn(&mut dyn Msg) -> Vec<i64>) {
    let linux = on_linux(|| case(&mut Host));
    let e = Env::new(ClockMode::Virtual);
    let mine = case(&mut Ours(&e));
    agree(name, linux, mine);
}

/// msqid_ds' msg_qbytes, msg_qnum and msg_cbytes at their ABI offsets.
fn counters(buf: &CtlBuf) -> [i64; 3] {
    let at = |o: usize| i64::from_ne_bytes(buf[o..o + 8].try_into().unwrap_or([0; 8]));
    [at(88), at(80), at(72)]
}

fn set_qbytes(buf: &mut CtlBuf, q: u64) {
    buf[88..96].copy_from_slice(&q.to_ne_bytes());
}

/// A msginfo's eight fields.
fn msginfo(b: &CtlBuf) -> Vec<i64> {
    let int = |i: usize| i32::from_ne_bytes(b[i * 4..i * 4 + 4].try_into().unwrap_or([0; 4]));
    let mut w: Vec<i64> = (0..7).map(|i| i64::from(int(i))).collect();
    w.push(i64::from(u16::from_ne_bytes([b[28], b[29]])));
    w
}

/// The host Linux.
struct Host;

impl Msg for Host {
    fn msgget(&mut self, key: i32, flags: u32) -> i64 {
        // SAFETY: no pointers.
        lx(unsafe { libc::syscall(libc::SYS_msgget, key, flags) })
    }

    fn msgsnd(&mut self, id: i64, mtype: i64, text: &[u8], flags: u32) -> i64 {
        let mut buf = mtype.to_ne_bytes().to_vec();
        buf.extend_from_slice(text);
        // SAFETY: `buf` holds the type and `text.len()` bytes.
        lx(unsafe { libc::syscall(libc::SYS_msgsnd, id, buf.as_ptr(), text.len(), flags) })
    }

    fn msgsnd_size(&mut self, id: i64, size: usize) -> i64 {
        let buf = [1u8; 16];
        // SAFETY: the sizes used are refused before the buffer is read.
        lx(unsafe { libc::syscall(libc::SYS_msgsnd, id, buf.as_ptr(), size, NOWAIT) })
    }

    fn msgrcv(&mut self, id: i64, size: usize, msgtyp: i64, flags: u32) -> Vec<i64> {
        let mut buf = vec![0u8; rcv_buf(size)];
        // SAFETY: `buf` holds the type and `size` bytes whenever the
        // kernel accepts `size` (the huge sizes here are refused first).
        let r =
            unsafe { libc::syscall(libc::SYS_msgrcv, id, buf.as_mut_ptr(), size, msgtyp, flags) };
        match lx(r) {
            n if n >= 0 => vec![i64::from_ne_bytes(buf[..8].try_into().unwrap_or([0; 8])), n],
            e => vec![e],
        }
    }

    fn ctl(&mut self, id: i64, cmd: i32, buf: &mut CtlBuf) -> i64 {
        // SAFETY: `buf` is as large as msqid_ds (and msginfo).
        lx(unsafe { libc::syscall(libc::SYS_msgctl, id, cmd, buf.as_mut_ptr()) })
    }

    fn rmid(&mut self, id: i64) -> i64 {
        // SAFETY: IPC_RMID reads no buffer.
        lx(unsafe { libc::syscall(libc::SYS_msgctl, id, 0, 0usize) })
    }
}

/// Ours, through `dispatch` on the hosted kernel.
struct Ours<'a>(&'a Env);

/// An id or int as the shim passes it: sign-extended.
fn int(v: i64) -> usize {
    v as isize as usize
}

impl Ours<'_> {
    fn call(&self, nr: usize, args: &[usize]) -> i64 {
        ours(sysv::call(&self.0.k, nr, args))
    }
}

impl Msg for Ours<'_> {
    fn msgget(&mut self, key: i32, flags: u32) -> i64 {
        self.call(SYS_RB_MSGGET, &[int(key.into()), flags as usize])
    }

    fn msgsnd(&mut self, id: i64, mtype: i64, text: &[u8], flags: u32) -> i64 {
        let at = sysv::msgbuf(&self.0.k, mtype, text);
        self.call(SYS_RB_MSGSND, &[int(id), at, text.len(), flags as usize])
    }

    fn msgsnd_size(&mut self, id: i64, size: usize) -> i64 {
        let at = sysv::msgbuf(&self.0.k, 1, &[1; 8]);
        self.call(SYS_RB_MSGSND, &[int(id), at, size, NOWAIT as usize])
    }

    fn msgrcv(&mut self, id: i64, size: usize, msgtyp: i64, flags: u32) -> Vec<i64> {
        let k = &self.0.k;
        let at = k.alloc_private(rcv_buf(size));
        let r = self.call(
            SYS_RB_MSGRCV,
            &[int(id), at, size, int(msgtyp), flags as usize],
        );
        if r < 0 {
            return vec![r];
        }
        let mut t = [0u8; 8];
        k.read_user(at, &mut t).expect("readable");
        vec![i64::from_ne_bytes(t), r]
    }

    fn ctl(&mut self, id: i64, cmd: i32, buf: &mut CtlBuf) -> i64 {
        let k = &self.0.k;
        let at = k.alloc_private(buf.len());
        k.write_user(at, buf).expect("writable");
        let r = self.call(SYS_RB_MSGCTL, &[int(id), int(cmd.into()), at]);
        k.read_user(at, buf).expect("readable");
        r
    }

    fn rmid(&mut self, id: i64) -> i64 {
        self.call(SYS_RB_MSGCTL, &[int(id), 0, 0])
    }
}

/// LTP msgrcv (EINVAL for a negative msgsz and a bad id) and msgsnd (a
/// size over msgmax or "negative" is EINVAL, 8192 bytes fit): checks that
/// come before the queue is looked at.
#[test]
fn ltp_msgrcv_einval_negative_msgsz_and_msgsnd_sizes() {
    both("sizes", |q| {
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.extend(q.msgrcv(id, usize::MAX, 0, NOWAIT));
        v.extend(q.msgrcv(id, 1 << 63, 0, NOWAIT));
        v.extend(q.msgrcv(-1, 8, 0, NOWAIT));
        v.extend([q.msgsnd_size(id, 8193), q.msgsnd_size(id, usize::MAX)]);
        v.push(q.msgsnd(id, 1, &[7; 8192], NOWAIT));
        v.push(q.msgsnd(-1, 1, b"x", NOWAIT));
        v.extend(q.msgrcv(id, 8192, 0, NOWAIT));
        v.push(q.rmid(id));
        v
    });
}

/// gVisor msgqueue.cc's MSG_EXCEPT and negative-type cases: MSG_EXCEPT
/// with msgtyp 0 is "any" (the first message); a negative msgtyp takes
/// the first message of the lowest type <= |msgtyp| (LONG_MIN as
/// LONG_MAX); mtype LONG_MAX travels.
#[test]
fn gvisor_msgqueue_msgrcv_except_and_lowest_type() {
    both("selectors", |q| {
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
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        for (n, t) in types.iter().enumerate() {
            v.push(q.msgsnd(id, *t, &vec![1; n], NOWAIT));
        }
        for (t, f) in sels {
            v.extend(q.msgrcv(id, 64, t, f | NOWAIT));
        }
        v.push(q.rmid(id));
        v
    });
}

/// gVisor msgqueue.cc's MSG_COPY cases: EINVAL without IPC_NOWAIT and
/// with MSG_EXCEPT; by index, removing nothing; ENOMSG past the end; E2BIG
/// for a short buffer; and with MSG_NOERROR and a short buffer, Linux's
/// copy fails EINVAL rather than truncating.
#[test]
fn gvisor_msgqueue_msg_copy() {
    both("MSG_COPY", |q| {
        let cases: [(usize, i64, u32); 7] = [
            (64, 0, MSG_COPY),
            (64, 0, MSG_COPY | NOWAIT | MSG_EXCEPT),
            (64, 1, MSG_COPY | NOWAIT),
            (64, 0, MSG_COPY | NOWAIT),
            (64, 2, MSG_COPY | NOWAIT),
            (2, 1, MSG_COPY | NOWAIT),
            (2, 1, MSG_COPY | NOWAIT | MSG_NOERROR),
        ];
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.push(q.msgsnd(id, 4, b"a", NOWAIT));
        v.push(q.msgsnd(id, 9, b"bbbb", NOWAIT));
        for (size, index, f) in cases {
            v.extend(q.msgrcv(id, size, index, f));
        }
        let mut ds = [0u8; 120];
        v.push(q.ctl(id, IPC_STAT, &mut ds));
        v.extend(counters(&ds));
        v.push(q.rmid(id));
        v
    });
}

/// LTP msgctl (EPERM for an unprivileged owner raising msg_qbytes above
/// msgmnb, EINVAL for a bad command, IPC_STAT / IPC_RMID / msgsnd on a
/// removed id EINVAL) and gVisor msgqueue.cc's full-queue case with
/// zero-length messages (each counts against msg_qbytes as one message).
#[test]
fn ltp_msgctl_eperm_qbytes_above_msgmnb_and_removed_ids() {
    both("qbytes and removed ids", |q| {
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        let mut ds = [0u8; 120];
        for n in [16385u64, 16384, 2] {
            q.ctl(id, IPC_STAT, &mut ds);
            set_qbytes(&mut ds, n);
            v.push(q.ctl(id, IPC_SET, &mut ds));
        }
        v.push(q.ctl(id, 99, &mut ds));
        for _ in 0..3 {
            v.push(q.msgsnd(id, 1, b"", NOWAIT));
        }
        v.push(q.ctl(id, IPC_STAT, &mut ds));
        v.extend(counters(&ds));
        v.extend(q.msgrcv(id, 0, 0, NOWAIT));
        v.extend([q.msgsnd(id, 1, b"xy", NOWAIT), q.msgsnd(id, 1, b"", NOWAIT)]);
        v.extend([q.rmid(id), q.ctl(id, IPC_STAT, &mut ds), q.rmid(id)]);
        v.push(q.msgsnd(id, 1, b"x", NOWAIT));
        v
    });
}

/// LTP msgget (EACCES, EEXIST, ENOENT): an existing key opens with flags
/// 0 whatever its mode, but any requested permission the mode denies is
/// EACCES, with IPC_CREAT too; IPC_CREAT|IPC_EXCL is EEXIST first; the
/// owner may still remove it, after which the key is ENOENT.
#[test]
fn ltp_msgget_eacces_eexist_enoent() {
    both("msgget", |q| {
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
        let mut v = vec![q.msgget(key, 0o600)];
        let id = q.msgget(key, CREAT);
        v.push(id_ok(id));
        for f in flags {
            let r = q.msgget(key, f);
            v.push(if r == id { 1 } else { r });
        }
        let mut ds = [0u8; 120];
        v.extend([q.ctl(id, IPC_STAT, &mut ds), q.msgsnd(id, 1, b"x", NOWAIT)]);
        v.extend([q.rmid(id), q.msgget(key, 0)]);
        v
    });
}

/// LTP msgctl's IPC_INFO / MSG_INFO cases and gVisor msgqueue.cc's
/// MsgInfo: IPC_INFO gives the limits (msgpool, msgmap, msgmax, msgmnb,
/// msgmni, msgssz, msgtql, msgseg); MSG_INFO the usage (queues, messages
/// and bytes in msgpool, msgmap and msgtql); both return the highest
/// index in use.
#[test]
fn ltp_msgctl_ipc_info_and_msg_info() {
    both("info", |q| {
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        v.push(q.msgsnd(id, 1, b"abc", NOWAIT));
        v.push(q.msgsnd(id, 2, b"defg", NOWAIT));
        for cmd in [IPC_INFO, MSG_INFO] {
            let mut b = [0u8; 120];
            v.push(q.ctl(0, cmd, &mut b));
            v.extend(msginfo(&b));
        }
        v.push(q.rmid(id));
        v
    });
}

/// LTP msgrcv (E2BIG keeps the message; MSG_NOERROR truncates and
/// removes it; ENOMSG for a type not queued with IPC_NOWAIT).
#[test]
fn ltp_msgrcv_e2big_noerror_enomsg() {
    both("E2BIG", |q| {
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id), q.msgsnd(id, 3, b"hello", NOWAIT)];
        v.extend(q.msgrcv(id, 4, 0, NOWAIT));
        v.extend(q.msgrcv(id, 8, 4, NOWAIT));
        v.extend(q.msgrcv(id, 4, 3, NOWAIT | MSG_NOERROR));
        v.extend(q.msgrcv(id, 8, 0, NOWAIT));
        v.push(q.rmid(id));
        v
    });
}

/// gVisor msgqueue.cc's full-queue case by bytes: with msg_qbytes 10, a
/// nonblocking send that would pass 10 queued bytes is EAGAIN and one
/// that fits goes through; the counters say so.
#[test]
fn gvisor_msgqueue_msgsnd_eagain_full_by_bytes() {
    both("full by bytes", |q| {
        let id = q.msgget(0, CREAT | 0o600);
        let mut v = vec![id_ok(id)];
        let mut ds = [0u8; 120];
        q.ctl(id, IPC_STAT, &mut ds);
        set_qbytes(&mut ds, 10);
        v.push(q.ctl(id, IPC_SET, &mut ds));
        v.push(q.msgsnd(id, 1, &[1; 8], NOWAIT));
        v.push(q.msgsnd(id, 1, &[1; 3], NOWAIT));
        v.push(q.msgsnd(id, 1, &[1; 2], NOWAIT));
        v.push(q.msgsnd(id, 1, &[], NOWAIT));
        v.push(q.msgsnd(id, 1, &[1; 11], NOWAIT));
        v.push(q.ctl(id, IPC_STAT, &mut ds));
        v.extend(counters(&ds));
        v.push(q.rmid(id));
        v
    });
}

/// LTP msgctl's MSG_STAT / MSG_STAT_ANY cases: an index gives the id of
/// the queue there; an unused index is EINVAL; MSG_STAT needs read
/// permission (EACCES on a 0000 queue), MSG_STAT_ANY does not.
#[test]
fn ltp_msgctl_msg_stat_and_msg_stat_any_by_index() {
    both("MSG_STAT", |q| {
        let a = q.msgget(0, CREAT | 0o600);
        let b = q.msgget(0, CREAT);
        let mut v = vec![id_ok(a), id_ok(b)];
        let mut ds = [0u8; 120];
        for (index, cmd) in [
            (0, MSG_STAT),
            (1, MSG_STAT),
            (1, MSG_STAT_ANY),
            (2, MSG_STAT_ANY),
        ] {
            let r = q.ctl(index, cmd, &mut ds);
            v.push(match r {
                r if r == a => 100,
                r if r == b => 101,
                r => r,
            });
        }
        v.extend([q.rmid(a), q.ctl(0, MSG_STAT_ANY, &mut ds), q.rmid(b)]);
        v
    });
}
