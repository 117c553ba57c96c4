//! POSIX message queues: cases re-expressed from LTP's mq_* tests, the
//! Open POSIX Test Suite's conformance/interfaces/mq_* and gVisor's
//! mq_test.cc (our own code, each named after the case), plus Linux
//! behaviours those suites rely on. Each case is written once over `Mq`
//! and runs through `dispatch` on the hosted kernel and, in the same test,
//! on the host Linux (a fresh IPC namespace, uid 1000); the results must
//! agree.

mod common;
mod conform;
mod mqc;

use std::ffi::CString;

use common::{timespec, Env};
use conform::{agree, lx, on_linux, ours};
use redbear_ipc::hosted::ClockMode;

use libc::{O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};

/// An absolute CLOCK_REALTIME deadline (seconds, nanoseconds).
type Deadline = Option<(i64, i64)>;

/// The calls a case makes; Linux's oflag bits; an fd is the side's own
/// number (a failed open's negative result passes on as a bad fd).
trait Mq {
    fn open(&mut self, name: &str, oflag: i32, mode: u32, attr: Option<(i64, i64)>) -> i64;
    fn unlink(&mut self, name: &str) -> i64;
    fn send(&mut self, fd: i64, msg: &[u8], prio: u32, ts: Deadline) -> i64;
    /// [length, priority] or [-errno].
    fn recv(&mut self, fd: i64, len: usize, ts: Deadline) -> Vec<i64>;
    /// mq_curmsgs, or minus the errno.
    fn curmsgs(&mut self, fd: i64) -> i64;
    /// mq_getsetattr: sets mq_flags to `new` if given; the old
    /// [flags, maxmsg, msgsize, curmsgs] or [-errno].
    fn getsetattr(&mut self, fd: i64, new: Option<i64>) -> Vec<i64>;
    /// mq_notify with SIGEV_NONE (`register`) or NULL.
    fn notify_none(&mut self, fd: i64, register: bool) -> i64;
    fn dup(&mut self, fd: i64) -> i64;
    fn close(&mut self, fd: i64) -> i64;
}

/// 1 for a descriptor, else minus the errno (fd numbers differ).
fn fd_ok(r: i64) -> i64 {
    if r >= 0 {
        1
    } else {
        r
    }
}

/// Runs `case` on Linux and on ours and compares.
fn both(name: &str, case: fn(&mut dyn Mq) -> Vec<i64>) {
    let linux = on_linux(|| case(&mut Host));
    let e = Env::new(ClockMode::Virtual);
    let mine = case(&mut Ours(&e));
    agree(name, linux, mine);
}

/// The host Linux, raw where glibc would get in the way.
struct Host;

fn c_timespec(ts: Deadline) -> Option<libc::timespec> {
    ts.map(|(s, n)| libc::timespec {
        tv_sec: s,
        tv_nsec: n,
    })
}

impl Mq for Host {
    fn open(&mut self, name: &str, oflag: i32, mode: u32, attr: Option<(i64, i64)>) -> i64 {
        let n = CString::new(name).unwrap_or_default();
        // SAFETY: mq_attr is plain integers.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        let p = match attr {
            Some((m, s)) => {
                a.mq_maxmsg = m;
                a.mq_msgsize = s;
                &mut a as *mut libc::mq_attr
            }
            None => std::ptr::null_mut(),
        };
        // SAFETY: a valid name and a valid or null attribute pointer.
        lx(i64::from(unsafe {
            libc::mq_open(n.as_ptr(), oflag, mode, p)
        }))
    }

    fn unlink(&mut self, name: &str) -> i64 {
        let n = CString::new(name).unwrap_or_default();
        // SAFETY: a valid name.
        lx(i64::from(unsafe { libc::mq_unlink(n.as_ptr()) }))
    }

    fn send(&mut self, fd: i64, msg: &[u8], prio: u32, ts: Deadline) -> i64 {
        let t = c_timespec(ts);
        let tp = t.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: valid buffer and timespec pointers (or null).
        lx(unsafe {
            libc::syscall(
                libc::SYS_mq_timedsend,
                fd,
                msg.as_ptr(),
                msg.len(),
                prio,
                tp,
            )
        })
    }

    fn recv(&mut self, fd: i64, len: usize, ts: Deadline) -> Vec<i64> {
        let mut buf = vec![0u8; len.max(1)];
        let mut prio = 0u32;
        let t = c_timespec(ts);
        let tp = t.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: valid buffer, priority and timespec pointers.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mq_timedreceive,
                fd,
                buf.as_mut_ptr(),
                len,
                &mut prio,
                tp,
            )
        };
        match lx(r) {
            n if n >= 0 => vec![n, i64::from(prio)],
            e => vec![e],
        }
    }

    fn curmsgs(&mut self, fd: i64) -> i64 {
        // SAFETY: mq_attr is plain integers.
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: a valid attribute buffer.
        let r = unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, 0usize, &mut a) };
        match lx(r) {
            0 => a.mq_curmsgs,
            e => e,
        }
    }

    fn getsetattr(&mut self, fd: i64, new: Option<i64>) -> Vec<i64> {
        // SAFETY: mq_attr is plain integers.
        let (mut old, mut n): (libc::mq_attr, libc::mq_attr) = unsafe { std::mem::zeroed() };
        let np = match new {
            Some(f) => {
                n.mq_flags = f;
                &n as *const libc::mq_attr
            }
            None => std::ptr::null(),
        };
        // SAFETY: valid attribute buffers (or null).
        let r = unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, np, &mut old) };
        match lx(r) {
            0 => vec![old.mq_flags, old.mq_maxmsg, old.mq_msgsize, old.mq_curmsgs],
            e => vec![e],
        }
    }

    fn notify_none(&mut self, fd: i64, register: bool) -> i64 {
        // SAFETY: sigevent is plain data.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_NONE;
        let p = if register {
            &ev as *const libc::sigevent
        } else {
            std::ptr::null()
        };
        // SAFETY: a valid sigevent or null.
        lx(unsafe { libc::syscall(libc::SYS_mq_notify, fd, p) })
    }

    fn dup(&mut self, fd: i64) -> i64 {
        // SAFETY: duplicating a descriptor this child owns.
        lx(i64::from(unsafe { libc::dup(fd as i32) }))
    }

    fn close(&mut self, fd: i64) -> i64 {
        // SAFETY: closing a descriptor this child owns.
        lx(i64::from(unsafe { libc::close(fd as i32) }))
    }
}

/// Ours, through `dispatch` on the hosted kernel.
struct Ours<'a>(&'a Env);

/// A side's fd as a register: a failed open's result is a bad fd.
fn reg(fd: i64) -> usize {
    usize::try_from(fd).unwrap_or(999)
}

fn oflag(o: i32) -> usize {
    let bits = [
        (O_CREAT, mqc::CREAT),
        (O_EXCL, mqc::EXCL),
        (O_NONBLOCK, mqc::NONBLOCK),
    ];
    let acc = (o & libc::O_ACCMODE) as usize;
    bits.iter()
        .filter(|(l, _)| o & l != 0)
        .fold(acc, |f, (_, ours)| f | ours)
}

impl Ours<'_> {
    fn at(&self, ts: Deadline) -> usize {
        ts.map_or(0, |(s, n)| timespec(&self.0.k, s, n))
    }
}

impl Mq for Ours<'_> {
    fn open(&mut self, name: &str, o: i32, mode: u32, attr: Option<(i64, i64)>) -> i64 {
        ours(mqc::open(&self.0.k, name, oflag(o), mode as usize, attr))
    }

    fn unlink(&mut self, name: &str) -> i64 {
        ours(mqc::unlink(&self.0.k, name))
    }

    fn send(&mut self, fd: i64, msg: &[u8], prio: u32, ts: Deadline) -> i64 {
        let at = self.at(ts);
        ours(mqc::timedsend(&self.0.k, reg(fd), msg, prio as usize, at))
    }

    fn recv(&mut self, fd: i64, len: usize, ts: Deadline) -> Vec<i64> {
        let at = self.at(ts);
        match mqc::timedreceive(&self.0.k, reg(fd), len, at) {
            Ok((b, p)) => vec![b.len() as i64, i64::from(p)],
            Err(e) => vec![-i64::from(e)],
        }
    }

    fn curmsgs(&mut self, fd: i64) -> i64 {
        match mqc::getattr(&self.0.k, reg(fd)) {
            Ok(a) => a[3],
            Err(e) => -i64::from(e),
        }
    }

    fn getsetattr(&mut self, fd: i64, new: Option<i64>) -> Vec<i64> {
        match mqc::getsetattr(&self.0.k, reg(fd), new) {
            Ok(a) => a.to_vec(),
            Err(e) => vec![-i64::from(e)],
        }
    }

    fn notify_none(&mut self, fd: i64, register: bool) -> i64 {
        let ev = register.then_some((libc::SIGEV_NONE, 0, 0));
        ours(mqc::notify(&self.0.k, reg(fd), ev))
    }

    fn dup(&mut self, fd: i64) -> i64 {
        ours(self.0.k.dup(reg(fd)).map_err(|x| x.errno))
    }

    fn close(&mut self, fd: i64) -> i64 {
        ours(self.0.k.close(reg(fd)).map(|()| 0).map_err(|x| x.errno))
    }
}

/// LTP mq_timedsend01 / mq_timedreceive01 (the EAGAIN cases): a full
/// queue refuses a nonblocking send with EAGAIN even with a past deadline,
/// an empty one a nonblocking receive; a bad tv_nsec is still EINVAL.
#[test]
fn ltp_mq_timedsend_eagain_full_queue_nonblock() {
    both("full queue, nonblocking", |q| {
        let fd = q.open("/cf1", O_RDWR | O_CREAT | O_NONBLOCK, 0o600, Some((1, 16)));
        let mut v = vec![fd_ok(fd), q.send(fd, b"a", 0, None)];
        v.push(q.send(fd, b"b", 0, None));
        v.push(q.send(fd, b"b", 0, Some((0, 0))));
        v.push(q.send(fd, b"b", 0, Some((0, 1_000_000_000))));
        v.extend(q.recv(fd, 16, None));
        v.extend(q.recv(fd, 16, None));
        v.extend(q.recv(fd, 16, Some((0, 0))));
        v.extend(q.recv(fd, 16, Some((0, -1))));
        v.extend([q.close(fd), q.unlink("/cf1")]);
        v
    });
}

/// LTP mq_timedsend01 / mq_timedreceive01 (the blocking ETIMEDOUT and
/// EINVAL cases): on a blocking descriptor a past deadline is ETIMEDOUT,
/// tv_nsec -1 or 10^9 and tv_sec -1 EINVAL, for a full send and an empty
/// receive.
#[test]
fn ltp_mq_timedsend_etimedout_and_einval_timeouts() {
    both("blocking deadlines", |q| {
        let fd = q.open("/cf2", O_RDWR | O_CREAT, 0o600, Some((1, 8)));
        let mut v = vec![fd_ok(fd)];
        v.extend(q.recv(fd, 8, Some((0, 0))));
        v.extend(q.recv(fd, 8, Some((0, 1_000_000_000))));
        v.push(q.send(fd, b"x", 1, None));
        v.push(q.send(fd, b"y", 1, Some((0, 0))));
        v.push(q.send(fd, b"y", 1, Some((0, -1))));
        v.push(q.send(fd, b"y", 1, Some((-1, 0))));
        v.extend([q.curmsgs(fd), q.close(fd), q.unlink("/cf2")]);
        v
    });
}

/// Open POSIX Test Suite mq_receive/7-1 and LTP mq_timedreceive01's
/// EMSGSIZE: a buffer shorter than mq_msgsize is refused even for a short
/// message, and the message stays queued.
#[test]
fn opts_mq_receive_emsgsize_leaves_the_message_queued() {
    both("short receive buffer", |q| {
        let fd = q.open("/cf3", O_RDWR | O_CREAT, 0o600, Some((2, 16)));
        let mut v = vec![fd_ok(fd), q.send(fd, b"z", 3, None)];
        v.extend(q.recv(fd, 15, None));
        v.push(q.curmsgs(fd));
        v.extend(q.recv(fd, 1 << 16, None));
        v.extend([q.curmsgs(fd), q.close(fd), q.unlink("/cf3")]);
        v
    });
}

/// Open POSIX Test Suite mq_send/4-1 and 5-1 (priorities at the bound):
/// a zero-length message at MQ_PRIO_MAX - 1 goes through and comes back
/// with its priority; MQ_PRIO_MAX is EINVAL; a message of exactly
/// mq_msgsize fits, one byte more is EMSGSIZE.
#[test]
fn opts_mq_send_zero_length_and_bounds() {
    both("zero length and bounds", |q| {
        let fd = q.open("/cf4", O_RDWR | O_CREAT, 0o600, Some((3, 4)));
        let mut v = vec![fd_ok(fd)];
        v.push(q.send(fd, b"", 32767, None));
        v.push(q.send(fd, b"", 32768, None));
        v.push(q.send(fd, b"abcd", 1, None));
        v.push(q.send(fd, b"abcde", 1, None));
        v.extend(q.recv(fd, 4, None));
        v.extend(q.recv(fd, 4, None));
        v.extend([q.close(fd), q.unlink("/cf4")]);
        v
    });
}

/// Open POSIX Test Suite mq_open (O_EXCL without O_CREAT, attributes at
/// the unprivileged ceilings, NULL attributes) and mq_unlink/2-1 (after
/// mq_unlink the name is free for a new, distinct queue while the old one
/// lives on through its descriptor).
#[test]
fn opts_mq_unlink_name_reusable_while_the_old_queue_is_open() {
    both("unlink and reuse", |q| {
        let c = O_RDWR | O_CREAT;
        let mut v = vec![q.open("/cf5", O_RDWR | O_EXCL, 0, None)];
        let a = q.open("/cf5", c, 0o600, Some((10, 8192)));
        v.push(fd_ok(a));
        v.push(fd_ok(q.open("/cf5", c, 0o600, Some((10, 8193)))));
        v.push(fd_ok(q.open("/cf6", c, 0o600, Some((11, 1)))));
        let x = q.open("/cf5", O_RDWR | O_EXCL, 0, None);
        v.push(fd_ok(x));
        v.push(q.send(a, b"old", 0, None));
        v.push(q.unlink("/cf5"));
        v.push(q.open("/cf5", O_RDWR, 0, None));
        let b = q.open("/cf5", c | O_EXCL, 0o600, None);
        v.extend([fd_ok(b), q.curmsgs(b), q.curmsgs(x)]);
        v.extend(q.recv(a, 8192, None));
        for f in [a, b, x] {
            v.push(q.close(f));
        }
        v.extend([q.unlink("/cf5"), q.unlink("/cf5")]);
        v
    });
}

/// LTP mq_notify01 (EBUSY) and the Open POSIX Test Suite's mq_notify/3-1
/// and 8-1: a second registration is EBUSY even from the registering
/// process itself; NULL unregisters (and is harmless when nothing is
/// registered); after it fires the queue is free to register again.
#[test]
fn ltp_mq_notify_ebusy_for_a_second_registration() {
    both("notify EBUSY", |q| {
        let fd = q.open("/cf7", O_RDWR | O_CREAT, 0o600, Some((2, 8)));
        let mut v = vec![fd_ok(fd)];
        for register in [true, true, false, false, true] {
            v.push(q.notify_none(fd, register));
        }
        v.push(q.send(fd, b"m", 0, None));
        v.extend([q.notify_none(fd, true), q.notify_none(fd, true)]);
        v.extend([q.close(fd), q.unlink("/cf7")]);
        v
    });
}

/// Linux ends a registration when the registering process closes any
/// descriptor of the queue (its flush hook), not only the registering
/// one: a dup's close, or another open's close, ends it. LTP mq_notify02
/// relies on it when it closes and registers again.
#[test]
fn ltp_mq_notify_registration_ends_on_close_of_any_owner_descriptor() {
    both("registration and close", |q| {
        let fd = q.open("/cf8", O_RDWR | O_CREAT, 0o600, Some((2, 8)));
        let d = q.dup(fd);
        let o = q.open("/cf8", O_RDONLY, 0, None);
        let mut v = vec![fd_ok(fd), fd_ok(d), fd_ok(o)];
        v.extend([q.notify_none(fd, true), q.close(d), q.notify_none(fd, true)]);
        v.extend([q.close(o), q.notify_none(fd, true), q.notify_none(fd, true)]);
        v.extend([q.close(fd), q.unlink("/cf8")]);
        v
    });
}

/// gVisor mq_test.cc (names and modes): "/." and "/.." and names with a
/// trailing or doubled slash are refused as Linux's mqueue filesystem
/// refuses them ("/..." is a name); a queue created with mode 0400 opens
/// O_RDWR for its creator on creation, but a later O_RDWR or O_WRONLY
/// open is EACCES and O_RDONLY works.
#[test]
fn gvisor_mq_open_special_names_and_creation_mode() {
    both("names and modes", |q| {
        let c = O_RDWR | O_CREAT;
        let mut v = vec![];
        for n in ["/.", "/..", "/a/", "//"] {
            v.extend([fd_ok(q.open(n, c, 0o600, None)), q.unlink(n)]);
        }
        let dots = q.open("/...", c, 0o600, None);
        v.extend([fd_ok(dots), q.close(dots), q.unlink("/...")]);
        let fd = q.open("/cf9", c, 0o400, None);
        v.push(fd_ok(fd));
        v.push(fd_ok(q.open("/cf9", O_RDWR, 0, None)));
        v.push(fd_ok(q.open("/cf9", O_WRONLY, 0, None)));
        let r = q.open("/cf9", O_RDONLY, 0, None);
        v.extend([fd_ok(r), q.send(fd, b"w", 0, None)]);
        v.extend([q.close(r), q.close(fd), q.unlink("/cf9")]);
        v
    });
}

/// Open POSIX Test Suite mq_setattr/1-1, 1-2 and 5-1, mq_getattr/2-1:
/// only O_NONBLOCK changes (per open description, a second open keeps its
/// own), the old attributes come back, mq_maxmsg / mq_msgsize /
/// mq_curmsgs in the new ones are ignored, any other flag bit is EINVAL,
/// and the change takes effect at once (EAGAIN on an empty queue).
#[test]
fn opts_mq_setattr_changes_only_o_nonblock() {
    both("setattr", |q| {
        let fd = q.open("/cfa", O_RDWR | O_CREAT | O_NONBLOCK, 0o600, Some((3, 32)));
        let other = q.open("/cfa", O_RDONLY, 0, None);
        let mut v = vec![fd_ok(fd), fd_ok(other), q.send(fd, b"s", 0, None)];
        let nb = i64::from(O_NONBLOCK);
        v.extend(q.getsetattr(fd, Some(0)));
        v.extend(q.getsetattr(fd, Some(nb | i64::from(O_RDWR))));
        v.extend(q.getsetattr(fd, Some(1 << 40)));
        v.extend(q.getsetattr(fd, Some(nb)));
        v.extend(q.getsetattr(fd, None));
        v.extend(q.getsetattr(other, None));
        v.extend(q.recv(other, 32, None));
        v.extend(q.recv(fd, 32, None));
        v.extend(q.getsetattr(-1, None));
        v.extend([q.close(other), q.close(fd), q.unlink("/cfa")]);
        v
    });
}
