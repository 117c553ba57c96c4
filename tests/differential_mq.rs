//! POSIX message queues, differential: proptest-generated sequences of
//! mq_open / mq_timedsend / mq_timedreceive (nonblocking, timed, blocking
//! with a thread) / mq_getsetattr / mq_notify / dup / close / mq_unlink,
//! with three users (uid 1000 and 1001 sharing group 1000; uid 1002 in its
//! own), random names, flags, modes, attributes, sizes and priorities, run
//! against the host Linux and against our subsystem; every result, errno,
//! attribute, received byte and priority, and every notification signal
//! (signo, si_code, si_uid, sigev_value; si_pid as non-zero) must agree.
//!
//! The Linux side of each case runs in a forked child in a fresh IPC
//! namespace (`unshare(CLONE_NEWIPC)`, which needs root, as CI runs): the
//! namespace, and every queue in it, dies with the child, so nothing is
//! left behind, and the default limits hold. The child blocks the
//! notification signal in every thread, so a notification stays pending
//! until the sequence asks for it (`sigtimedwait`). Each operation runs on
//! a thread of its own that took the actor's real and effective ids with
//! raw syscalls (one thread only), so RLIMIT_MSGQUEUE is charged per user
//! as on ours. Root is not an actor: here it lacks CAP_SYS_RESOURCE, so
//! Linux holds it to msg_max where ours lets uid 0 pass (tests/mq.rs).
//! Expected divergences: none are generated (the EFAULT-without-loss rule
//! is proved in tests/mq.rs).

mod common;
mod mqc;

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::kernel::{sig_bit, Credentials, Kernel};

const ACTORS: [(u32, u32); 3] = [(1000, 1000), (1001, 1000), (1002, 1002)];
const NAMES: [&str; 3] = ["/dq0", "/dq1", "/dq2"];
/// The signal that ends a blocked call (EINTR).
const INTR: i32 = libc::SIGUSR1;
/// The notification signal.
const NOTE: i32 = libc::SIGUSR2;

type Out = Result<Vec<i64>, i32>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timed {
    /// mq_send / mq_receive (no timeout).
    No,
    /// An absolute timeout in the past (ETIMEDOUT if it would block).
    Past,
    /// tv_nsec out of range (EINVAL).
    BadNsec,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Note {
    Null,
    None,
    Signal(u64),
    BadSigno,
}

#[derive(Clone, Copy, Debug)]
enum Then {
    Send { d: u8, len: usize, prio: u32 },
    Recv { d: u8, size: usize },
    Signal,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Open {
        who: u8,
        name: u8,
        acc: u8,
        creat: bool,
        excl: bool,
        nonblock: bool,
        mode: u32,
        attr: Option<(i64, i64)>,
    },
    Unlink {
        who: u8,
        name: u8,
    },
    Send {
        d: u8,
        len: usize,
        prio: u32,
        timed: Timed,
    },
    Recv {
        d: u8,
        size: usize,
        timed: Timed,
    },
    SetAttr {
        d: u8,
        flags: Option<i64>,
    },
    Notify {
        who: u8,
        d: u8,
        how: Note,
    },
    TakeNote,
    Dup {
        d: u8,
    },
    Close {
        d: u8,
    },
    BlockRecv {
        d: u8,
        size: usize,
        then: Then,
    },
    BlockSend {
        d: u8,
        len: usize,
        prio: u32,
        then: Then,
    },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0),
        Just(16),
        Just(63),
        Just(64),
        Just(8192),
        Just(9000)
    ]
}

fn len() -> impl Strategy<Value = usize> {
    prop_oneof![0..=17usize, Just(64), Just(65), Just(8192)]
}

fn prio() -> impl Strategy<Value = u32> {
    prop_oneof![0..4u32, Just(31), Just(32767), Just(32768)]
}

/// A plain call never sleeps: it is timed with a past deadline (or a
/// bad one); `Timed::No` is for the blocking operations only.
fn timed() -> impl Strategy<Value = Timed> {
    prop_oneof![
        6 => Just(Timed::Past),
        1 => Just(Timed::BadNsec)
    ]
}

fn attr() -> impl Strategy<Value = Option<(i64, i64)>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some((0, 16))),
        1 => Just(Some((2, 0))),
        1 => Just(Some((-1, 16))),
        3 => Just(Some((1, 16))),
        3 => Just(Some((2, 64))),
        1 => Just(Some((10, 8192))),
        1 => Just(Some((11, 16))),
        1 => Just(Some((1, 8193))),
    ]
}

fn then() -> impl Strategy<Value = Then> {
    prop_oneof![
        (0..6u8, len(), prio()).prop_map(|(d, len, prio)| Then::Send { d, len, prio }),
        (0..6u8, size()).prop_map(|(d, size)| Then::Recv { d, size }),
        Just(Then::Signal),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let open = (
        (0..3u8, 0..3u8, prop_oneof![4 => 0..3u8, 1 => Just(3u8)]),
        (
            prop::bool::weighted(0.7),
            any::<bool>(),
            prop::bool::weighted(0.2),
        ),
        prop_oneof![
            Just(0o600),
            Just(0o644),
            Just(0o660),
            Just(0o666),
            Just(0o400),
            Just(0o200)
        ],
        attr(),
    )
        .prop_map(
            |((who, name, acc), (creat, excl, nonblock), mode, attr)| Op::Open {
                who,
                name,
                acc,
                creat,
                excl: excl && creat,
                nonblock,
                mode,
                attr,
            },
        );
    let note = prop_oneof![
        Just(Note::Null),
        Just(Note::None),
        (0..3u64).prop_map(Note::Signal),
        Just(Note::BadSigno)
    ];
    prop_oneof![
        5 => open,
        1 => (0..3u8, 0..3u8).prop_map(|(who, name)| Op::Unlink { who, name }),
        6 => (0..6u8, len(), prio(), timed()).prop_map(|(d, len, prio, timed)| Op::Send { d, len, prio, timed }),
        5 => (0..6u8, size(), timed()).prop_map(|(d, size, timed)| Op::Recv { d, size, timed }),
        2 => (0..6u8, prop_oneof![Just(None), Just(Some(0)), Just(Some(0o4000)), Just(Some(0o4001))])
            .prop_map(|(d, flags)| Op::SetAttr { d, flags }),
        2 => (0..3u8, 0..6u8, note).prop_map(|(who, d, how)| Op::Notify { who, d, how }),
        1 => Just(Op::TakeNote),
        1 => (0..6u8).prop_map(|d| Op::Dup { d }),
        1 => (0..6u8).prop_map(|d| Op::Close { d }),
        1 => (0..6u8, size(), then()).prop_map(|(d, size, then)| Op::BlockRecv { d, size, then }),
        1 => (0..6u8, len(), prio(), then()).prop_map(|(d, len, prio, then)| Op::BlockSend { d, len, prio, then }),
    ]
}

fn text(len: usize, salt: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ salt).collect()
}

fn received(n: usize, prio: u32, bytes: &[u8]) -> Vec<i64> {
    let sum = bytes
        .iter()
        .fold(0i64, |a, &b| a.wrapping_mul(31).wrapping_add(i64::from(b)));
    vec![n as i64, i64::from(prio), sum]
}

/// A blocking call's story: whether it slept, what the follow-up gave,
/// and how the call ended.
fn story(slept: bool, then: Out, ended: Out) -> Out {
    let mut v = vec![i64::from(slept)];
    match then {
        Ok(w) => v.extend(w),
        Err(e) => v.extend([-1, i64::from(e)]),
    }
    match ended {
        Ok(w) => v.extend(w),
        Err(e) => v.extend([-1, i64::from(e)]),
    }
    Ok(v)
}

/// The descriptor slot `d` names among the open ones (None: no such fd,
/// which both sides answer with a closed fd number).
fn pick(fds: &[Option<i64>], d: u8) -> Option<usize> {
    if fds.is_empty() {
        None
    } else {
        Some(d as usize % fds.len())
    }
}

// ---------------------------------------------------------------- Linux

mod linux {
    use super::*;

    fn ret(r: i64) -> Result<i64, i32> {
        if r == -1 {
            Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
        } else {
            Ok(r)
        }
    }

    extern "C" fn on_intr(_: libc::c_int) {}

    /// The calling thread takes actor `who`'s real and effective ids (raw
    /// syscalls: this thread only).
    fn become_actor(who: u8) {
        let (uid, gid) = ACTORS[who as usize];
        // SAFETY: credential syscalls on the calling thread.
        unsafe {
            assert_eq!(
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
                0
            );
            assert_eq!(libc::syscall(libc::SYS_setresgid, gid, gid, -1), 0);
            assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, -1), 0);
        }
    }

    fn as_actor<R: Send>(who: u8, f: impl FnOnce() -> R + Send) -> R {
        std::thread::scope(|s| {
            s.spawn(|| {
                become_actor(who);
                f()
            })
            .join()
            .expect("actor thread")
        })
    }

    fn timeout(t: Timed) -> Option<libc::timespec> {
        match t {
            Timed::No => None,
            Timed::Past => Some(libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            }),
            Timed::BadNsec => Some(libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000_000,
            }),
        }
    }

    fn ts_ptr(t: &Option<libc::timespec>) -> *const libc::timespec {
        t.as_ref().map_or(std::ptr::null(), |t| t as *const _)
    }

    pub fn send(fd: i64, len: usize, prio: u32, t: Timed) -> Out {
        let body = text(len, 1);
        let ts = timeout(t);
        // SAFETY: body has len bytes; ts is null or a valid timespec.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mq_timedsend,
                fd,
                body.as_ptr(),
                len,
                prio,
                ts_ptr(&ts),
            )
        };
        ret(r).map(|v| vec![v])
    }

    pub fn recv(fd: i64, size: usize, t: Timed) -> Out {
        let mut buf = vec![0u8; size];
        let mut prio = 0u32;
        let ts = timeout(t);
        // SAFETY: buf has size bytes; prio and ts are valid.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mq_timedreceive,
                fd,
                buf.as_mut_ptr(),
                size,
                &mut prio,
                ts_ptr(&ts),
            )
        };
        let n = ret(r)? as usize;
        Ok(received(n, prio, &buf[..n]))
    }

    fn getsetattr(fd: i64, flags: Option<i64>) -> Out {
        // SAFETY: plain data.
        let mut new: libc::mq_attr = unsafe { std::mem::zeroed() };
        // SAFETY: plain data.
        let mut old: libc::mq_attr = unsafe { std::mem::zeroed() };
        let np = match flags {
            Some(f) => {
                new.mq_flags = f;
                &new as *const libc::mq_attr
            }
            None => std::ptr::null(),
        };
        // SAFETY: np is null or valid, old is valid.
        ret(unsafe { libc::syscall(libc::SYS_mq_getsetattr, fd, np, &mut old) })?;
        Ok(vec![
            old.mq_flags,
            old.mq_maxmsg,
            old.mq_msgsize,
            old.mq_curmsgs,
        ])
    }

    fn notify(fd: i64, how: Note) -> Out {
        // SAFETY: plain data.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        let p = match how {
            Note::Null => std::ptr::null(),
            Note::None => {
                ev.sigev_notify = libc::SIGEV_NONE;
                &ev as *const libc::sigevent
            }
            Note::Signal(v) => {
                ev.sigev_notify = libc::SIGEV_SIGNAL;
                ev.sigev_signo = NOTE;
                ev.sigev_value = libc::sigval {
                    sival_ptr: v as usize as *mut libc::c_void,
                };
                &ev as *const libc::sigevent
            }
            Note::BadSigno => {
                ev.sigev_notify = libc::SIGEV_SIGNAL;
                ev.sigev_signo = 65;
                &ev as *const libc::sigevent
            }
        };
        // SAFETY: p is null or a valid sigevent.
        ret(unsafe { libc::syscall(libc::SYS_mq_notify, fd, p) }).map(|v| vec![v])
    }

    fn take_note() -> Out {
        // SAFETY: plain data.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: plain data, filled by sigtimedwait.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid pointers.
        let r = unsafe {
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, NOTE);
            libc::sigtimedwait(&set, &mut info, &zero)
        };
        let signo = ret(r.into())?;
        // SAFETY: a queued SI_MESGQ signal carries pid, uid and value.
        let (pid, uid, value) = unsafe {
            (
                info.si_pid(),
                info.si_uid(),
                info.si_value().sival_ptr as u64,
            )
        };
        Ok(vec![
            signo,
            i64::from(info.si_code),
            i64::from(pid != 0),
            i64::from(uid),
            value as i64,
        ])
    }

    fn sleeping_in(tid: i32, nr: libc::c_long) -> bool {
        let dir = format!("/proc/self/task/{tid}");
        let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|s| s.split_whitespace().next());
        let call = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
        state == Some("S") && call.split_whitespace().next() == Some(&nr.to_string())
    }

    pub struct Linux {
        fds: Vec<Option<i64>>,
    }

    impl Linux {
        fn fd(&self, d: u8) -> i64 {
            pick(&self.fds, d).and_then(|i| self.fds[i]).unwrap_or(900)
        }

        fn then(&self, then: Then, h: &std::thread::JoinHandle<Out>) -> Out {
            match then {
                Then::Send { d, len, prio } => {
                    let fd = self.fd(d);
                    as_actor(0, || send(fd, len, prio, Timed::Past))
                }
                Then::Recv { d, size } => {
                    let fd = self.fd(d);
                    as_actor(0, || recv(fd, size, Timed::Past))
                }
                Then::Signal => {
                    if !h.is_finished() {
                        use std::os::unix::thread::JoinHandleExt;
                        // SAFETY: not joined yet: the id is valid.
                        unsafe { libc::pthread_kill(h.as_pthread_t(), INTR) };
                    }
                    Ok(vec![])
                }
            }
        }

        fn blocked(
            &self,
            nr: libc::c_long,
            call: impl FnOnce() -> Out + Send + 'static,
            then: Then,
        ) -> Out {
            let (tx, rx) = std::sync::mpsc::channel();
            let h = std::thread::spawn(move || {
                become_actor(0);
                // SAFETY: gettid has no preconditions.
                let _ = tx.send(unsafe { libc::gettid() });
                call()
            });
            let tid = rx.recv().expect("tid");
            let start = Instant::now();
            let slept = loop {
                if sleeping_in(tid, nr) {
                    break true;
                }
                if h.is_finished() {
                    break false;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "never slept or ended"
                );
                std::thread::sleep(Duration::from_micros(200));
            };
            let after = self.then(then, &h);
            // Give a woken call time to leave its sleep before ending a
            // still-blocked one with a signal.
            let start = Instant::now();
            while !h.is_finished()
                && !sleeping_in(tid, nr)
                && start.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            if !h.is_finished() {
                use std::os::unix::thread::JoinHandleExt;
                // SAFETY: not joined yet: the id is valid.
                unsafe { libc::pthread_kill(h.as_pthread_t(), INTR) };
            }
            story(slept, after, h.join().expect("blocked thread"))
        }

        pub fn apply(&mut self, op: &Op) -> Out {
            match *op {
                Op::Open {
                    who,
                    name,
                    acc,
                    creat,
                    excl,
                    nonblock,
                    mode,
                    attr,
                } => {
                    let mut flags = i32::from(acc);
                    if creat {
                        flags |= libc::O_CREAT;
                    }
                    if excl {
                        flags |= libc::O_EXCL;
                    }
                    if nonblock {
                        flags |= libc::O_NONBLOCK;
                    }
                    let r = as_actor(who, || {
                        // SAFETY: plain data.
                        let mut a: libc::mq_attr = unsafe { std::mem::zeroed() };
                        let ap = match attr.filter(|_| creat) {
                            Some((m, s)) => {
                                a.mq_maxmsg = m;
                                a.mq_msgsize = s;
                                &a as *const libc::mq_attr
                            }
                            None => std::ptr::null(),
                        };
                        let cname = std::ffi::CString::new(NAMES[name as usize]).expect("name");
                        // SAFETY: valid name and attr pointers. glibc's
                        // wrapper, as C callers see it (it strips the '/').
                        ret(unsafe { libc::mq_open(cname.as_ptr(), flags, mode, ap) }.into())
                    });
                    let fd = r?;
                    self.fds.push(Some(fd));
                    Ok(vec![0])
                }
                Op::Unlink { who, name } => as_actor(who, || {
                    let cname = std::ffi::CString::new(NAMES[name as usize]).expect("name");
                    // SAFETY: a valid name. glibc's wrapper, which turns
                    // the kernel's EPERM (the sticky mqueue root) into the
                    // EACCES POSIX specifies, as ours answers.
                    ret(unsafe { libc::mq_unlink(cname.as_ptr()) }.into()).map(|v| vec![v])
                }),
                Op::Send {
                    d,
                    len,
                    prio,
                    timed,
                } => {
                    let fd = self.fd(d);
                    as_actor(0, || send(fd, len, prio, timed))
                }
                Op::Recv { d, size, timed } => {
                    let fd = self.fd(d);
                    as_actor(0, || recv(fd, size, timed))
                }
                Op::SetAttr { d, flags } => getsetattr(self.fd(d), flags),
                Op::Notify { who, d, how } => {
                    let fd = self.fd(d);
                    as_actor(who, || notify(fd, how))
                }
                Op::TakeNote => take_note(),
                Op::Dup { d } => {
                    let fd = self.fd(d);
                    // SAFETY: dup of any number is safe.
                    let r = ret(unsafe { libc::dup(fd as i32) }.into())?;
                    self.fds.push(Some(r));
                    Ok(vec![0])
                }
                Op::Close { d } => {
                    let Some(i) = pick(&self.fds, d) else {
                        return Err(libc::EBADF);
                    };
                    let Some(fd) = self.fds[i].take() else {
                        return Err(libc::EBADF);
                    };
                    // SAFETY: our own fd.
                    ret(unsafe { libc::close(fd as i32) }.into()).map(|v| vec![v])
                }
                Op::BlockRecv { d, size, then } => {
                    let fd = self.fd(d);
                    self.blocked(
                        libc::SYS_mq_timedreceive,
                        move || recv(fd, size, Timed::No),
                        then,
                    )
                }
                Op::BlockSend { d, len, prio, then } => {
                    let fd = self.fd(d);
                    self.blocked(
                        libc::SYS_mq_timedsend,
                        move || send(fd, len, prio, Timed::No),
                        then,
                    )
                }
            }
        }
    }

    /// Runs `ops` in a forked child in a fresh IPC namespace; returns
    /// every outcome.
    pub fn run(ops: &[Op]) -> Result<Vec<Out>, String> {
        let mut pipe = [0i32; 2];
        // SAFETY: a valid array of two ints.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0);
        // SAFETY: the child only runs the sequence and exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            let code = child(ops, pipe[1]);
            // SAFETY: leave without running the parent's atexit hooks.
            unsafe { libc::_exit(code) };
        }
        // SAFETY: our end of the pipe.
        unsafe { libc::close(pipe[1]) };
        let mut raw = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            // SAFETY: chunk is writable.
            let n = unsafe { libc::read(pipe[0], chunk.as_mut_ptr().cast(), chunk.len()) };
            if n <= 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n as usize]);
        }
        let mut status = 0;
        // SAFETY: our child, our pipe.
        unsafe {
            libc::close(pipe[0]);
            libc::waitpid(pid, &mut status, 0);
        }
        match status {
            0 => Ok(decode(&raw)),
            s if libc::WIFEXITED(s) && libc::WEXITSTATUS(s) == 2 => {
                Err("unshare(CLONE_NEWIPC) failed: the differential needs root".into())
            }
            s => Err(format!("linux child failed: status {s:#x}")),
        }
    }

    fn child(ops: &[Op], out: i32) -> i32 {
        // SAFETY: single-threaded child: namespace, mask, handler, umask.
        unsafe {
            if libc::unshare(libc::CLONE_NEWIPC) != 0 {
                return 2;
            }
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, NOTE);
            libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_intr as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(INTR, &sa, std::ptr::null_mut());
            libc::umask(0o022);
        }
        let mut l = Linux { fds: Vec::new() };
        let outs: Vec<Out> = ops.iter().map(|op| l.apply(op)).collect();
        let raw = encode(&outs);
        let mut done = 0;
        while done < raw.len() {
            // SAFETY: raw is readable.
            let n = unsafe { libc::write(out, raw[done..].as_ptr().cast(), raw.len() - done) };
            if n <= 0 {
                return 3;
            }
            done += n as usize;
        }
        0
    }
}

fn encode(outs: &[Out]) -> Vec<u8> {
    let mut w: Vec<i64> = Vec::new();
    for o in outs {
        match o {
            Ok(v) => {
                w.push(0);
                w.push(v.len() as i64);
                w.extend(v);
            }
            Err(e) => w.extend([1, i64::from(*e)]),
        }
    }
    w.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn decode(raw: &[u8]) -> Vec<Out> {
    let w: Vec<i64> = raw
        .chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    let mut outs = Vec::new();
    let mut i = 0;
    while i + 1 < w.len() {
        if w[i] == 0 {
            let n = w[i + 1] as usize;
            outs.push(Ok(w[i + 2..i + 2 + n].to_vec()));
            i += 2 + n;
        } else {
            outs.push(Err(w[i + 1] as i32));
            i += 2;
        }
    }
    outs
}

// ---------------------------------------------------------------- ours

mod ours {
    use super::*;
    use mqc::*;

    pub struct Ours {
        pub k: Arc<HostedKernel>,
        proc: Arc<Process>,
        fds: Vec<Option<i64>>,
    }

    fn creds(who: u8) -> Credentials {
        let (uid, gid) = ACTORS[who as usize];
        Credentials::new(uid, gid)
    }

    fn one(r: Result<usize, i32>) -> Out {
        r.map(|v| vec![v as i64])
    }

    fn ts(k: &HostedKernel, t: Timed) -> usize {
        match t {
            Timed::No => 0,
            Timed::Past => common::timespec(k, 0, 0),
            Timed::BadNsec => common::timespec(k, 0, 1_000_000_000),
        }
    }

    fn send(k: &HostedKernel, fd: usize, len: usize, prio: u32, t: Timed) -> Out {
        let at = ts(k, t);
        one(timedsend(k, fd, &text(len, 1), prio as usize, at))
    }

    fn recv(k: &HostedKernel, fd: usize, size: usize, t: Timed) -> Out {
        let at = ts(k, t);
        timedreceive(k, fd, size, at).map(|(b, p)| received(b.len(), p, &b))
    }

    impl Ours {
        pub fn new() -> Self {
            let k = HostedKernel::new(ClockMode::Real);
            let proc = k.spawn_process(creds(0));
            proc.set_umask(0o022);
            Ours {
                k,
                proc,
                fds: Vec::new(),
            }
        }

        fn fd(&self, d: u8) -> usize {
            pick(&self.fds, d).and_then(|i| self.fds[i]).unwrap_or(900) as usize
        }

        /// Runs `f` as a task of the one process, as actor `who` (Linux's
        /// per-thread ids over one process), with the notification signal
        /// blocked.
        fn task<R: Send + 'static>(
            &self,
            who: u8,
            f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
        ) -> std::thread::JoinHandle<R> {
            self.proc.set_credentials(creds(who));
            let k = self.k.clone();
            self.k.spawn_task(&self.proc, move || {
                k.current().set_mask(sig_bit(NOTE as u32));
                f(&k)
            })
        }

        fn now<R: Send + 'static>(
            &self,
            who: u8,
            f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
        ) -> R {
            self.task(who, f).join().expect("actor task")
        }

        fn then(&self, then: Then) -> Out {
            match then {
                Then::Send { d, len, prio } => {
                    let fd = self.fd(d);
                    self.now(0, move |k| send(k, fd, len, prio, Timed::Past))
                }
                Then::Recv { d, size } => {
                    let fd = self.fd(d);
                    self.now(0, move |k| recv(k, fd, size, Timed::Past))
                }
                Then::Signal => {
                    self.k.send_signal(&self.proc, INTR as u32);
                    Ok(vec![])
                }
            }
        }

        fn blocked(
            &self,
            call: impl FnOnce(&HostedKernel) -> Out + Send + 'static,
            then: Then,
        ) -> Out {
            let h = self.task(0, call);
            let start = Instant::now();
            let slept = loop {
                if self.k.parked_tasks() > 0 {
                    break true;
                }
                if h.is_finished() {
                    break false;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "never slept or ended"
                );
                std::thread::sleep(Duration::from_micros(200));
            };
            let after = self.then(then);
            let start = Instant::now();
            while !h.is_finished()
                && self.k.parked_tasks() == 0
                && start.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            if !h.is_finished() {
                self.k.send_signal(&self.proc, INTR as u32);
            }
            let ended = h.join().expect("blocked task");
            self.proc.take_signal_all(INTR as u32);
            story(slept, after, ended)
        }

        pub fn apply(&mut self, op: &Op) -> Out {
            match *op {
                Op::Open {
                    who,
                    name,
                    acc,
                    creat,
                    excl,
                    nonblock,
                    mode,
                    attr,
                } => {
                    let mut flags = usize::from(acc);
                    if creat {
                        flags |= CREAT;
                    }
                    if excl {
                        flags |= EXCL;
                    }
                    if nonblock {
                        flags |= NONBLOCK;
                    }
                    let attr = attr.filter(|_| creat);
                    let fd = self.now(who, move |k| {
                        open(k, NAMES[name as usize], flags, mode as usize, attr)
                    })?;
                    self.fds.push(Some(fd as i64));
                    Ok(vec![0])
                }
                Op::Unlink { who, name } => {
                    self.now(who, move |k| one(unlink(k, NAMES[name as usize])))
                }
                Op::Send {
                    d,
                    len,
                    prio,
                    timed,
                } => {
                    let fd = self.fd(d);
                    self.now(0, move |k| send(k, fd, len, prio, timed))
                }
                Op::Recv { d, size, timed } => {
                    let fd = self.fd(d);
                    self.now(0, move |k| recv(k, fd, size, timed))
                }
                Op::SetAttr { d, flags } => {
                    let fd = self.fd(d);
                    self.now(0, move |k| getsetattr(k, fd, flags).map(|a| a.to_vec()))
                }
                Op::Notify { who, d, how } => {
                    let fd = self.fd(d);
                    let ev = match how {
                        Note::Null => None,
                        Note::None => Some((1, 0, 0)),
                        Note::Signal(v) => Some((0, NOTE, v)),
                        Note::BadSigno => Some((0, 65, 0)),
                    };
                    self.now(who, move |k| one(notify(k, fd, ev)))
                }
                Op::TakeNote => match self.proc.take_signal(sig_bit(NOTE as u32)) {
                    Some(i) => Ok(vec![
                        i64::from(i.signo),
                        i64::from(i.code),
                        i64::from(i.pid != 0),
                        i64::from(i.uid),
                        i.ptr as i64,
                    ]),
                    None => Err(libc::EAGAIN),
                },
                Op::Dup { d } => {
                    let fd = self.fd(d);
                    let r = self.now(0, move |k| k.dup(fd)).map_err(|e| e.errno)?;
                    self.fds.push(Some(r as i64));
                    Ok(vec![0])
                }
                Op::Close { d } => {
                    let Some(i) = pick(&self.fds, d) else {
                        return Err(libc::EBADF);
                    };
                    let Some(fd) = self.fds[i].take() else {
                        return Err(libc::EBADF);
                    };
                    let fd = fd as usize;
                    self.now(0, move |k| k.close(fd))
                        .map(|()| vec![0])
                        .map_err(|e| e.errno)
                }
                Op::BlockRecv { d, size, then } => {
                    let fd = self.fd(d);
                    self.blocked(move |k| recv(k, fd, size, Timed::No), then)
                }
                Op::BlockSend { d, len, prio, then } => {
                    let fd = self.fd(d);
                    self.blocked(move |k| send(k, fd, len, prio, Timed::No), then)
                }
            }
        }

        /// Closes everything and checks that the accounting is back to zero.
        pub fn finish(&self) -> Result<(), String> {
            self.proc.fds().clear();
            self.k.ipc().mqueues.clear();
            let left = self.k.ipc().acct.outstanding();
            if left.is_zero() {
                Ok(())
            } else {
                Err(format!("accounting did not return to zero: {left:?}"))
            }
        }
    }
}

fn run_case(ops: Vec<Op>) -> Result<(), String> {
    let want = linux::run(&ops)?;
    let mut mine = ours::Ours::new();
    for (i, op) in ops.iter().enumerate() {
        let got = mine.apply(op);
        let w = want.get(i).cloned().unwrap_or(Err(-1));
        if w != got {
            return Err(format!(
                "step {i}: {op:?}\n  linux: {w:?}\n  ours:  {got:?}\n  sequence: {:?}",
                &ops[..=i]
            ));
        }
    }
    mine.finish()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn mq_sequences_agree_with_linux(ops in proptest::collection::vec(op(), 1..24)) {
        let r = run_case(ops);
        prop_assert!(r.is_ok(), "{}", r.err().unwrap_or_default());
    }
}

#[test]
fn fixed_cases_agree_with_linux() {
    let create = |who, name, attr| Op::Open {
        who,
        name,
        acc: 2,
        creat: true,
        excl: false,
        nonblock: false,
        mode: 0o666,
        attr,
    };
    let cases = vec![
        // Priority order, a receiver blocked and handed a message, the
        // notification from another user's send.
        vec![
            create(0, 0, Some((2, 64))),
            Op::Notify {
                who: 0,
                d: 0,
                how: Note::Signal(7),
            },
            Op::Send {
                d: 0,
                len: 3,
                prio: 1,
                timed: Timed::Past,
            },
            Op::TakeNote,
            Op::Send {
                d: 0,
                len: 5,
                prio: 9,
                timed: Timed::Past,
            },
            Op::Recv {
                d: 0,
                size: 64,
                timed: Timed::Past,
            },
            Op::Recv {
                d: 0,
                size: 64,
                timed: Timed::Past,
            },
            Op::Notify {
                who: 1,
                d: 0,
                how: Note::Signal(8),
            },
            Op::BlockRecv {
                d: 0,
                size: 64,
                then: Then::Send {
                    d: 0,
                    len: 4,
                    prio: 2,
                },
            },
            Op::TakeNote,
            Op::Send {
                d: 0,
                len: 1,
                prio: 0,
                timed: Timed::Past,
            },
            Op::TakeNote,
        ],
        // A blocked sender freed by a receive; EINTR; ETIMEDOUT; EINVAL.
        vec![
            create(1, 1, Some((1, 16))),
            Op::Send {
                d: 0,
                len: 16,
                prio: 3,
                timed: Timed::Past,
            },
            Op::BlockSend {
                d: 0,
                len: 2,
                prio: 4,
                then: Then::Recv { d: 0, size: 16 },
            },
            Op::Recv {
                d: 0,
                size: 16,
                timed: Timed::Past,
            },
            Op::BlockRecv {
                d: 0,
                size: 16,
                then: Then::Signal,
            },
            Op::Recv {
                d: 0,
                size: 16,
                timed: Timed::Past,
            },
            Op::Send {
                d: 0,
                len: 1,
                prio: 0,
                timed: Timed::BadNsec,
            },
            Op::Send {
                d: 0,
                len: 17,
                prio: 0,
                timed: Timed::Past,
            },
            Op::Send {
                d: 0,
                len: 1,
                prio: 32768,
                timed: Timed::Past,
            },
        ],
        // Permissions across users, unlink while open, the budget.
        vec![
            Op::Open {
                who: 0,
                name: 2,
                acc: 2,
                creat: true,
                excl: true,
                nonblock: true,
                mode: 0o640,
                attr: None,
            },
            Op::Open {
                who: 1,
                name: 2,
                acc: 0,
                creat: false,
                excl: false,
                nonblock: false,
                mode: 0,
                attr: None,
            },
            Op::Open {
                who: 1,
                name: 2,
                acc: 1,
                creat: false,
                excl: false,
                nonblock: false,
                mode: 0,
                attr: None,
            },
            Op::Open {
                who: 2,
                name: 2,
                acc: 0,
                creat: false,
                excl: false,
                nonblock: false,
                mode: 0,
                attr: None,
            },
            Op::Unlink { who: 1, name: 2 },
            Op::Unlink { who: 0, name: 2 },
            Op::Send {
                d: 0,
                len: 8,
                prio: 0,
                timed: Timed::Past,
            },
            Op::Recv {
                d: 1,
                size: 8192,
                timed: Timed::Past,
            },
            Op::Open {
                who: 0,
                name: 2,
                acc: 3,
                creat: true,
                excl: false,
                nonblock: false,
                mode: 0o600,
                attr: None,
            },
            Op::Send {
                d: 2,
                len: 1,
                prio: 0,
                timed: Timed::Past,
            },
        ],
    ];
    for ops in cases {
        if let Err(e) = run_case(ops) {
            panic!("{e}");
        }
    }
}
