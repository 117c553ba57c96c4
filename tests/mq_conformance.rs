//! POSIX message queues: cases re-expressed from LTP's mq_* tests, the
//! Open POSIX Test Suite's conformance/interfaces/mq_* and gVisor's
//! mq_test.cc (our own code, each named after the case), plus Linux
//! behaviours those suites rely on. Each case runs through `dispatch` on
//! the hosted kernel and, in the same test, on the host Linux (a fresh
//! IPC namespace, uid 1000), and the results must agree.

mod common;
mod conform;
mod mqc;

use std::ffi::CString;

use common::{timespec, Env};
use conform::{agree, lx, on_linux, ours};
use mqc::*;
use redbear_ipc::hosted::ClockMode;

const SIGEV_NONE: i32 = 1;

fn env() -> Env {
    Env::new(ClockMode::Virtual)
}

/// 1 for a descriptor, else minus the errno (fd numbers differ).
fn fd_ok(r: i64) -> i64 {
    if r >= 0 {
        1
    } else {
        r
    }
}

/// The Linux calls, raw where glibc would get in the way.
mod host {
    use super::*;

    pub fn open(name: &str, oflag: i32, mode: u32, attr: Option<(i64, i64)>) -> i64 {
        let n = CString::new(name).unwrap_or_default();
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

    pub fn unlink(name: &str) -> i64 {
        let n = CString::new(name).unwrap_or_default();
        // SAFETY: a valid name.
        lx(i64::from(unsafe { libc::mq_unlink(n.as_ptr()) }))
    }

    pub fn send(fd: i64, msg: &[u8], prio: u32, ts: Option<(i64, i64)>) -> i64 {
        let t = ts.map(|(s, n)| libc::timespec {
            tv_sec: s,
            tv_nsec: n,
        });
        let tp = t.as_ref().map_or(std::ptr::null(), |t| t as *const _);
        // SAFETY: valid buffer and timespec pointers (or null).
        let r = unsafe {
            libc::syscall(
                libc::SYS_mq_timedsend,
                fd,
                msg.as_ptr(),
                msg.len(),
                prio,
                tp,
            )
        };
        lx(r)
    }

    /// [length, priority] or [-errno].
    pub fn recv(fd: i64, len: usize, ts: Option<(i64, i64)>) -> Vec<i64> {
        let mut buf = vec![0u8; len.max(1)];
        let mut prio = 0u32;
        let t = ts.map(|(s, n)| libc::timespec {
            tv_sec: s,
            tv_nsec: n,
        });
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

    /// curmsgs, or minus the errno.
    pub fn curmsgs(fd: i64) -> i64 {
        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: a valid attribute buffer.
        let r = unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, 0usize, &mut a) };
        match lx(r) {
            0 => a.mq_curmsgs,
            e => e,
        }
    }

    pub fn notify_none(fd: i64, register: bool) -> i64 {
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

    pub fn close(fd: i64) -> i64 {
        // SAFETY: closing a descriptor this child owns.
        lx(i64::from(unsafe { libc::close(fd as i32) }))
    }

    pub fn dup(fd: i64) -> i64 {
        // SAFETY: duplicating a descriptor this child owns.
        lx(i64::from(unsafe { libc::dup(fd as i32) }))
    }
}

fn recv_ours(r: Result<(Vec<u8>, u32), i32>) -> Vec<i64> {
    match r {
        Ok((b, p)) => vec![b.len() as i64, i64::from(p)],
        Err(e) => vec![-i64::from(e)],
    }
}

fn curmsgs_ours(r: Result<[i64; 4], i32>) -> i64 {
    match r {
        Ok(a) => a[3],
        Err(e) => -i64::from(e),
    }
}

/// LTP mq_timedsend01 / mq_timedreceive01 (the EAGAIN cases): a full
/// queue refuses a nonblocking send with EAGAIN even with a past deadline,
/// an empty one a nonblocking receive; a bad tv_nsec is still EINVAL.
#[test]
fn ltp_mq_timedsend_eagain_full_queue_nonblock() {
    let linux = on_linux(|| {
        let o = libc::O_RDWR | libc::O_CREAT | libc::O_NONBLOCK;
        let fd = host::open("/cf1", o, 0o600, Some((1, 16)));
        let mut v = vec![fd_ok(fd), host::send(fd, b"a", 0, None)];
        v.push(host::send(fd, b"b", 0, None));
        v.push(host::send(fd, b"b", 0, Some((0, 0))));
        v.push(host::send(fd, b"b", 0, Some((0, 1_000_000_000))));
        v.extend(host::recv(fd, 16, None));
        v.extend(host::recv(fd, 16, None));
        v.extend(host::recv(fd, 16, Some((0, 0))));
        v.extend(host::recv(fd, 16, Some((0, -1))));
        v.push(host::close(fd));
        v.push(host::unlink("/cf1"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf1", RDWR | CREAT | NONBLOCK, 0o600, Some((1, 16)));
    let f = fd.unwrap_or(999);
    let mut v = vec![fd_ok(ours(fd)), ours(send(k, f, b"a", 0))];
    v.push(ours(send(k, f, b"b", 0)));
    v.push(ours(timedsend(k, f, b"b", 0, timespec(k, 0, 0))));
    v.push(ours(timedsend(
        k,
        f,
        b"b",
        0,
        timespec(k, 0, 1_000_000_000),
    )));
    v.extend(recv_ours(receive(k, f, 16)));
    v.extend(recv_ours(receive(k, f, 16)));
    v.extend(recv_ours(timedreceive(k, f, 16, timespec(k, 0, 0))));
    v.extend(recv_ours(timedreceive(k, f, 16, timespec(k, 0, -1))));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf1")));
    agree("full queue, nonblocking", linux, v);
}

/// LTP mq_timedsend01 / mq_timedreceive01 (the blocking ETIMEDOUT and
/// EINVAL cases): on a blocking descriptor a past deadline is ETIMEDOUT,
/// tv_nsec -1 or 10^9 EINVAL, for a full send and an empty receive.
#[test]
fn ltp_mq_timedsend_etimedout_and_einval_timeouts() {
    let linux = on_linux(|| {
        let fd = host::open("/cf2", libc::O_RDWR | libc::O_CREAT, 0o600, Some((1, 8)));
        let mut v = vec![fd_ok(fd)];
        v.extend(host::recv(fd, 8, Some((0, 0))));
        v.extend(host::recv(fd, 8, Some((0, 1_000_000_000))));
        v.push(host::send(fd, b"x", 1, None));
        v.push(host::send(fd, b"y", 1, Some((0, 0))));
        v.push(host::send(fd, b"y", 1, Some((0, -1))));
        v.push(host::send(fd, b"y", 1, Some((-1, 0))));
        v.push(host::curmsgs(fd));
        v.push(host::close(fd));
        v.push(host::unlink("/cf2"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf2", RDWR | CREAT, 0o600, Some((1, 8)));
    let f = fd.unwrap_or(999);
    let mut v = vec![fd_ok(ours(fd))];
    v.extend(recv_ours(timedreceive(k, f, 8, timespec(k, 0, 0))));
    v.extend(recv_ours(timedreceive(
        k,
        f,
        8,
        timespec(k, 0, 1_000_000_000),
    )));
    v.push(ours(send(k, f, b"x", 1)));
    v.push(ours(timedsend(k, f, b"y", 1, timespec(k, 0, 0))));
    v.push(ours(timedsend(k, f, b"y", 1, timespec(k, 0, -1))));
    v.push(ours(timedsend(k, f, b"y", 1, timespec(k, -1, 0))));
    v.push(curmsgs_ours(getattr(k, f)));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf2")));
    agree("blocking deadlines", linux, v);
}

/// Open POSIX Test Suite mq_receive/7-1 and LTP mq_timedreceive01's
/// EMSGSIZE: a buffer shorter than mq_msgsize is refused even for a short
/// message, and the message stays queued.
#[test]
fn opts_mq_receive_emsgsize_leaves_the_message_queued() {
    let linux = on_linux(|| {
        let fd = host::open("/cf3", libc::O_RDWR | libc::O_CREAT, 0o600, Some((2, 16)));
        let mut v = vec![fd_ok(fd), host::send(fd, b"z", 3, None)];
        v.extend(host::recv(fd, 15, None));
        v.push(host::curmsgs(fd));
        v.extend(host::recv(fd, 1 << 16, None));
        v.push(host::curmsgs(fd));
        v.push(host::close(fd));
        v.push(host::unlink("/cf3"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf3", RDWR | CREAT, 0o600, Some((2, 16)));
    let f = fd.unwrap_or(999);
    let mut v = vec![fd_ok(ours(fd)), ours(send(k, f, b"z", 3))];
    v.extend(recv_ours(receive(k, f, 15)));
    v.push(curmsgs_ours(getattr(k, f)));
    v.extend(recv_ours(receive(k, f, 1 << 16)));
    v.push(curmsgs_ours(getattr(k, f)));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf3")));
    agree("short receive buffer", linux, v);
}

/// Open POSIX Test Suite mq_send/4-1 and 5-1 (priorities at the bound):
/// a zero-length message at MQ_PRIO_MAX - 1 goes through and comes back
/// with its priority; MQ_PRIO_MAX is EINVAL; a message of exactly
/// mq_msgsize fits, one byte more is EMSGSIZE.
#[test]
fn opts_mq_send_zero_length_and_bounds() {
    let linux = on_linux(|| {
        let fd = host::open("/cf4", libc::O_RDWR | libc::O_CREAT, 0o600, Some((3, 4)));
        let mut v = vec![fd_ok(fd)];
        v.push(host::send(fd, b"", 32767, None));
        v.push(host::send(fd, b"", 32768, None));
        v.push(host::send(fd, b"abcd", 1, None));
        v.push(host::send(fd, b"abcde", 1, None));
        v.extend(host::recv(fd, 4, None));
        v.extend(host::recv(fd, 4, None));
        v.push(host::close(fd));
        v.push(host::unlink("/cf4"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf4", RDWR | CREAT, 0o600, Some((3, 4)));
    let f = fd.unwrap_or(999);
    let mut v = vec![fd_ok(ours(fd))];
    v.push(ours(send(k, f, b"", 32767)));
    v.push(ours(send(k, f, b"", 32768)));
    v.push(ours(send(k, f, b"abcd", 1)));
    v.push(ours(send(k, f, b"abcde", 1)));
    v.extend(recv_ours(receive(k, f, 4)));
    v.extend(recv_ours(receive(k, f, 4)));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf4")));
    agree("zero length and bounds", linux, v);
}

/// Open POSIX Test Suite mq_open (O_EXCL without O_CREAT, attributes at
/// the unprivileged ceilings, NULL attributes) and mq_unlink/2-1 (after
/// mq_unlink the name is free for a new, distinct queue while the old one
/// lives on through its descriptor).
#[test]
fn opts_mq_unlink_name_reusable_while_the_old_queue_is_open() {
    let linux = on_linux(|| {
        let c = libc::O_RDWR | libc::O_CREAT;
        let mut v = vec![host::open("/cf5", libc::O_RDWR | libc::O_EXCL, 0, None)];
        let a = host::open("/cf5", c, 0o600, Some((10, 8192)));
        v.push(fd_ok(a));
        v.push(fd_ok(host::open("/cf5", c, 0o600, Some((10, 8193)))));
        v.push(fd_ok(host::open("/cf6", c, 0o600, Some((11, 1)))));
        let x = host::open("/cf5", libc::O_RDWR | libc::O_EXCL, 0, None);
        v.push(fd_ok(x));
        v.push(host::send(a, b"old", 0, None));
        v.push(host::unlink("/cf5"));
        v.push(host::open("/cf5", libc::O_RDWR, 0, None));
        let b = host::open("/cf5", c | libc::O_EXCL, 0o600, None);
        v.push(fd_ok(b));
        v.push(host::curmsgs(b));
        v.push(host::curmsgs(x));
        v.extend(host::recv(a, 8192, None));
        for f in [a, b, x] {
            v.push(host::close(f));
        }
        v.push(host::unlink("/cf5"));
        v.push(host::unlink("/cf5"));
        v
    });
    let e = env();
    let k = &e.k;
    let mut v = vec![ours(open(k, "/cf5", RDWR | EXCL, 0, None))];
    let a = open(k, "/cf5", RDWR | CREAT, 0o600, Some((10, 8192)));
    v.push(fd_ok(ours(a)));
    v.push(fd_ok(ours(open(
        k,
        "/cf5",
        RDWR | CREAT,
        0o600,
        Some((10, 8193)),
    ))));
    v.push(fd_ok(ours(open(
        k,
        "/cf6",
        RDWR | CREAT,
        0o600,
        Some((11, 1)),
    ))));
    let x = open(k, "/cf5", RDWR | EXCL, 0, None);
    v.push(fd_ok(ours(x)));
    let (a, x) = (a.unwrap_or(999), x.unwrap_or(999));
    v.push(ours(send(k, a, b"old", 0)));
    v.push(ours(unlink(k, "/cf5")));
    v.push(ours(open(k, "/cf5", RDWR, 0, None)));
    let b = open(k, "/cf5", RDWR | CREAT | EXCL, 0o600, None);
    v.push(fd_ok(ours(b)));
    let b = b.unwrap_or(999);
    v.push(curmsgs_ours(getattr(k, b)));
    v.push(curmsgs_ours(getattr(k, x)));
    v.extend(recv_ours(receive(k, a, 8192)));
    for f in [a, b, x] {
        v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    }
    v.push(ours(unlink(k, "/cf5")));
    v.push(ours(unlink(k, "/cf5")));
    agree("unlink and reuse", linux, v);
}

/// LTP mq_notify01 (EBUSY) and the Open POSIX Test Suite's mq_notify/3-1
/// and 8-1: a second registration is EBUSY even from the registering
/// process itself; NULL unregisters (and is harmless when nothing is
/// registered); after it fires the queue is free to register again.
#[test]
fn ltp_mq_notify_ebusy_for_a_second_registration() {
    let linux = on_linux(|| {
        let fd = host::open("/cf7", libc::O_RDWR | libc::O_CREAT, 0o600, Some((2, 8)));
        let mut v = vec![fd_ok(fd)];
        v.push(host::notify_none(fd, true));
        v.push(host::notify_none(fd, true));
        v.push(host::notify_none(fd, false));
        v.push(host::notify_none(fd, false));
        v.push(host::notify_none(fd, true));
        v.push(host::send(fd, b"m", 0, None));
        v.push(host::notify_none(fd, true));
        v.push(host::notify_none(fd, true));
        v.push(host::close(fd));
        v.push(host::unlink("/cf7"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf7", RDWR | CREAT, 0o600, Some((2, 8)));
    let f = fd.unwrap_or(999);
    let none = Some((SIGEV_NONE, 0, 0));
    let mut v = vec![fd_ok(ours(fd))];
    v.push(ours(notify(k, f, none)));
    v.push(ours(notify(k, f, none)));
    v.push(ours(notify(k, f, None)));
    v.push(ours(notify(k, f, None)));
    v.push(ours(notify(k, f, none)));
    v.push(ours(send(k, f, b"m", 0)));
    v.push(ours(notify(k, f, none)));
    v.push(ours(notify(k, f, none)));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf7")));
    agree("notify EBUSY", linux, v);
}

/// Linux ends a registration when the registering process closes any
/// descriptor of the queue (its flush hook), not only the registering
/// one: a dup's close, or another open's close, ends it. The suites rely
/// on it when they close and re-register (LTP mq_notify02).
#[test]
fn ltp_mq_notify_registration_ends_on_close_of_any_owner_descriptor() {
    let linux = on_linux(|| {
        let fd = host::open("/cf8", libc::O_RDWR | libc::O_CREAT, 0o600, Some((2, 8)));
        let d = host::dup(fd);
        let o = host::open("/cf8", libc::O_RDONLY, 0, None);
        let mut v = vec![fd_ok(fd), fd_ok(d), fd_ok(o)];
        v.push(host::notify_none(fd, true));
        v.push(host::close(d));
        v.push(host::notify_none(fd, true));
        v.push(host::close(o));
        v.push(host::notify_none(fd, true));
        v.push(host::notify_none(fd, true));
        v.push(host::close(fd));
        v.push(host::unlink("/cf8"));
        v
    });
    let e = env();
    let k = &e.k;
    let fd = open(k, "/cf8", RDWR | CREAT, 0o600, Some((2, 8)));
    let f = fd.unwrap_or(999);
    let d = e.k.dup(f).map_err(|x| x.errno);
    let o = open(k, "/cf8", RDONLY, 0, None);
    let none = Some((SIGEV_NONE, 0, 0));
    let mut v = vec![fd_ok(ours(fd)), fd_ok(ours(d)), fd_ok(ours(o))];
    v.push(ours(notify(k, f, none)));
    v.push(ours(
        e.k.close(d.unwrap_or(999)).map(|_| 0).map_err(|x| x.errno),
    ));
    v.push(ours(notify(k, f, none)));
    v.push(ours(
        e.k.close(o.unwrap_or(999)).map(|_| 0).map_err(|x| x.errno),
    ));
    v.push(ours(notify(k, f, none)));
    v.push(ours(notify(k, f, none)));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf8")));
    agree("registration and close", linux, v);
}

/// gVisor mq_test.cc (names and modes): "/." and "/.." and a name with a
/// trailing slash are refused as Linux's mqueue filesystem refuses them;
/// a queue created with mode 0400 opens O_RDWR for its creator on
/// creation, but a later O_RDWR or O_WRONLY open is EACCES and O_RDONLY
/// works.
#[test]
fn gvisor_mq_open_special_names_and_creation_mode() {
    let linux = on_linux(|| {
        let c = libc::O_RDWR | libc::O_CREAT;
        let mut v = vec![];
        for n in ["/.", "/..", "/a/", "//"] {
            v.push(fd_ok(host::open(n, c, 0o600, None)));
            v.push(host::unlink(n));
        }
        let dots = host::open("/...", c, 0o600, None);
        v.extend([fd_ok(dots), host::close(dots), host::unlink("/...")]);
        let fd = host::open("/cf9", c, 0o400, None);
        v.push(fd_ok(fd));
        v.push(fd_ok(host::open("/cf9", libc::O_RDWR, 0, None)));
        v.push(fd_ok(host::open("/cf9", libc::O_WRONLY, 0, None)));
        let r = host::open("/cf9", libc::O_RDONLY, 0, None);
        v.push(fd_ok(r));
        v.push(host::send(fd, b"w", 0, None));
        v.push(host::close(r));
        v.push(host::close(fd));
        v.push(host::unlink("/cf9"));
        v
    });
    let e = env();
    let k = &e.k;
    let mut v = vec![];
    for n in ["/.", "/..", "/a/", "//"] {
        v.push(fd_ok(ours(open(k, n, RDWR | CREAT, 0o600, None))));
        v.push(ours(unlink(k, n)));
    }
    let dots = open(k, "/...", RDWR | CREAT, 0o600, None);
    v.push(fd_ok(ours(dots)));
    v.push(ours(
        e.k.close(dots.unwrap_or(999))
            .map(|_| 0)
            .map_err(|x| x.errno),
    ));
    v.push(ours(unlink(k, "/...")));
    let fd = open(k, "/cf9", RDWR | CREAT, 0o400, None);
    v.push(fd_ok(ours(fd)));
    v.push(fd_ok(ours(open(k, "/cf9", RDWR, 0, None))));
    v.push(fd_ok(ours(open(k, "/cf9", WRONLY, 0, None))));
    let r = open(k, "/cf9", RDONLY, 0, None);
    v.push(fd_ok(ours(r)));
    let f = fd.unwrap_or(999);
    v.push(ours(send(k, f, b"w", 0)));
    v.push(ours(
        e.k.close(r.unwrap_or(999)).map(|_| 0).map_err(|x| x.errno),
    ));
    v.push(ours(e.k.close(f).map(|_| 0).map_err(|x| x.errno)));
    v.push(ours(unlink(k, "/cf9")));
    agree("names and modes", linux, v);
}
