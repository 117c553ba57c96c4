//! Named POSIX semaphores with several users, differential: proptest
//! sequences of sem_open (modes, O_CREAT, O_EXCL, each actor with its own
//! umask), post / trywait / getvalue through a fresh open, sem_unlink, and
//! a sem_wait of one actor that another actor's post wakes (or that is
//! interrupted when the poster may not post), by four actors (root; uid 1000 and 1001 sharing group 1000; uid 1002
//! alone), against glibc + Linux and against our subsystem; every result
//! and errno compared.
//!
//! On Linux each step runs in a forked child with the actor's ids and
//! umask (`diff::users`); on our side, as a task of the actor's process.
//! Measured on Linux 6.x with glibc 2.36 (as root without
//! CAP_SYS_RESOURCE but with CAP_SETUID, CAP_DAC_OVERRIDE, CAP_FOWNER):
//! an existing semaphore opens only with read and write permission
//! (EACCES otherwise, also with O_CREAT), O_CREAT|O_EXCL on an existing
//! name is EEXIST whoever asks, the creator's umask is taken from the
//! mode, only the owner (or root) may sem_unlink (glibc turns the sticky
//! /dev/shm's EPERM into EACCES), and root opens and unlinks anything.

mod common;
mod diff;

use std::ffi::CString;

use common::{sys, user_bytes};
use diff::block::sleeping_at;
use diff::users::{linux_as, Actors, LinuxChild, ACTORS};
use diff::{last_errno, libc_outcome, Outcome};
use proptest::prelude::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const NAMES: u8 = 2;
const MODES: [u32; 8] = [0o600, 0o640, 0o660, 0o666, 0o606, 0o604, 0o644, 0];
const UMASKS: [u32; 4] = [0o022, 0o077, 0, 0o002];

/// What a step does once the semaphore is open.
#[derive(Clone, Copy, Debug)]
enum Then {
    /// Report the value.
    GetValue,
    Post,
    TryWait,
    /// sem_wait (only in `Op::WaitPosted`, where someone ends it).
    Wait,
}

/// sem_open as `who`, then `then` on it, then sem_close.
#[derive(Clone, Copy, Debug)]
struct Open {
    who: usize,
    umask: usize,
    name: u8,
    create: bool,
    excl: bool,
    mode: usize,
    value: u32,
    then: Then,
}

impl Open {
    fn oflag(&self) -> OpenFlags {
        let mut oflag = OpenFlags::empty();
        oflag.set(OpenFlags::CREATE, self.create);
        oflag.set(OpenFlags::EXCLUSIVE, self.excl);
        oflag
    }
}

impl Open {
    /// A plain open of an existing name by `who`, then `then`.
    fn existing(who: usize, name: u8, then: Then) -> Self {
        Open {
            who,
            umask: 0,
            name,
            create: false,
            excl: false,
            mode: 0,
            value: 0,
            then,
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Open(Open),
    Unlink {
        who: usize,
        name: u8,
    },
    /// `waiter` opens `name` and sleeps in sem_wait (when the value is 0);
    /// `poster` opens it and posts; a waiter nobody posted for is
    /// interrupted (EINTR). Recorded: whether it slept, and both results.
    WaitPosted {
        waiter: usize,
        poster: usize,
        name: u8,
    },
}

/// A WaitPosted step's story as one number.
fn story(slept: bool, posted: Outcome, waited: Outcome) -> Outcome {
    let enc = |o: Outcome| match o {
        Ok(v) => v,
        Err(e) => 100 + i64::from(e),
    };
    Ok(i64::from(slept) * 1_000_000 + enc(posted) * 1000 + enc(waited))
}

/// The signal that ends a waiter nobody posted for (a handler without
/// SA_RESTART on Linux).
const INTERRUPT: i32 = libc::SIGUSR1;

/// Polls `done` for up to 10 s; whether it held.
fn within_cap(mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while !done() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    true
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..ACTORS.len();
    let then = prop_oneof![Just(Then::GetValue), Just(Then::Post), Just(Then::TryWait)];
    prop_oneof![
        6 => (who.clone(), 0..UMASKS.len(), 0..NAMES, any::<bool>(), any::<bool>(), 0..MODES.len(), 0..3u32, then)
            .prop_map(|(who, umask, name, create, excl, mode, value, then)| Op::Open(Open {
                who, umask, name, create, excl, mode, value, then,
            })),
        1 => (who.clone(), 0..NAMES).prop_map(|(who, name)| Op::Unlink { who, name }),
        2 => (who.clone(), who, 0..NAMES)
            .prop_map(|(waiter, poster, name)| Op::WaitPosted { waiter, poster, name }),
    ]
}

/// A name unique to this process and case.
fn name(run: u64, n: u8) -> String {
    format!("/rbipc-users-{}-{run}-{n}", std::process::id())
}

/// Linux: `o` in a forked child; `then` on the open semaphore.
fn linux_open(run: u64, o: Open) -> LinuxChild {
    let (uid, gid) = ACTORS[o.who];
    let c = CString::new(name(run, o.name)).expect("no NUL");
    let oflag = if o.create { libc::O_CREAT } else { 0 } | if o.excl { libc::O_EXCL } else { 0 };
    LinuxChild::spawn(uid, gid, UMASKS[o.umask], || {
        // SAFETY: a valid name; the handle is used and closed here.
        unsafe {
            let s = libc::sem_open(c.as_ptr(), oflag, MODES[o.mode] as libc::c_uint, o.value);
            if s == libc::SEM_FAILED {
                return Err(last_errno());
            }
            let r = match o.then {
                Then::GetValue => {
                    let mut v = -1;
                    libc_outcome(libc::sem_getvalue(s, &mut v).into()).map(|_| v.into())
                }
                Then::Post => libc_outcome(libc::sem_post(s).into()),
                Then::TryWait => libc_outcome(libc::sem_trywait(s).into()),
                Then::Wait => libc_outcome(libc::sem_wait(s).into()),
            };
            libc::sem_close(s);
            r
        }
    })
}

fn linux_apply(run: u64, op: &Op) -> Outcome {
    match *op {
        Op::Open(o) => linux_open(run, o).wait(),
        Op::WaitPosted {
            waiter,
            poster,
            name: n,
        } => {
            diff::block::install_handler();
            let child = linux_open(run, Open::existing(waiter, n, Then::Wait));
            let dir = format!("/proc/{}", child.pid);
            within_cap(|| sleeping_at(&dir, libc::SYS_futex) || child.finished());
            let slept = !child.finished();
            let posted = linux_open(run, Open::existing(poster, n, Then::Post)).wait();
            if posted.is_err() || !within_cap(|| child.finished()) {
                // SAFETY: our own child, which has not been reaped.
                unsafe { libc::kill(child.pid, INTERRUPT) };
            }
            story(slept, posted, child.wait())
        }
        Op::Unlink { who, name: n } => {
            let (uid, gid) = ACTORS[who];
            let c = CString::new(name(run, n)).expect("no NUL");
            // SAFETY: a valid name.
            linux_as(uid, gid, 0o022, || {
                libc_outcome(unsafe { libc::sem_unlink(c.as_ptr()) }.into())
            })
        }
    }
}

fn call(k: &HostedKernel, nr: usize, args: &[usize]) -> Outcome {
    sys(k, nr, args).map(|v| v as i64)
}

/// Ours: `o` as a task of the actor's process; `then` on the open fd.
fn our_open(k: &HostedKernel, run: u64, o: Open) -> Outcome {
    let (p, len) = user_bytes(k, name(run, o.name).as_bytes());
    let fd = call(
        k,
        SYS_RB_SEM_OPEN,
        &[
            p,
            len,
            o.oflag().bits(),
            MODES[o.mode] as usize,
            o.value as usize,
            FD_SLOT_ANY,
        ],
    )? as usize;
    let by_fd = |nr: usize, f: SemFlags| call(k, nr, &[fd, (SemFlags::REF_FD | f).bits()]);
    let r = match o.then {
        Then::GetValue => by_fd(SYS_RB_SEM_GETVALUE, SemFlags::empty()),
        Then::Post => by_fd(SYS_RB_SEM_POST, SemFlags::empty()),
        Then::TryWait => by_fd(SYS_RB_SEM_WAIT, SemFlags::TRY),
        Then::Wait => by_fd(SYS_RB_SEM_WAIT, SemFlags::empty()),
    };
    k.close(fd).expect("our own fd");
    r
}

fn ours_apply(a: &Actors, run: u64, op: &Op) -> Outcome {
    match *op {
        Op::Open(o) => a.run(o.who, UMASKS[o.umask], move |k| our_open(k, run, o)),
        Op::WaitPosted {
            waiter,
            poster,
            name: n,
        } => {
            let wait = Open::existing(waiter, n, Then::Wait);
            let (task, h) = a.spawn(waiter, 0, move |k| our_open(k, run, wait));
            within_cap(|| task.is_parked() || h.is_finished());
            let slept = !h.is_finished();
            let post = Open::existing(poster, n, Then::Post);
            let posted = a.run(poster, 0, move |k| our_open(k, run, post));
            if posted.is_err() || !within_cap(|| h.is_finished()) {
                a.k.send_signal(a.process(waiter), INTERRUPT as u32);
            }
            let waited = h.join().expect("waiter task");
            a.process(waiter).take_signal_all(INTERRUPT as u32);
            story(slept, posted, waited)
        }
        Op::Unlink { who, name: n } => a.run(who, 0o022, move |k| {
            let (p, len) = user_bytes(k, name(run, n).as_bytes());
            call(k, SYS_RB_SEM_UNLINK, &[p, len])
        }),
    }
}

static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn run_case(ops: &[Op]) -> Result<(), String> {
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ours = Actors::new(ClockMode::Virtual);
    let mut verdict = Ok(());
    for (i, op) in ops.iter().enumerate() {
        let want = linux_apply(run, op);
        let got = ours_apply(&ours, run, op);
        if want != got {
            verdict = Err(format!(
                "step {i}: {op:?}\n  linux: {}\n  ours:  {}\n  sequence: {:?}",
                diff::show(&want),
                diff::show(&got),
                &ops[..=i]
            ));
            break;
        }
    }
    // Leave nothing behind: the test runs as root, which may unlink all.
    for n in 0..NAMES {
        let c = CString::new(name(run, n)).expect("no NUL");
        // SAFETY: a valid name.
        unsafe { libc::sem_unlink(c.as_ptr()) };
    }
    ours.k.ipc().sems.clear();
    common::assert_accounting_zero(&ours.k);
    verdict
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn named_semaphores_across_users_match_linux(ops in proptest::collection::vec(op(), 1..16)) {
        let r = run_case(&ops);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// The measured cases, spelled out: a 0640 semaphore of uid 1000 (umask
/// 022) refuses its group and others, O_EXCL is EEXIST for a stranger, a
/// stranger's unlink is EACCES, root opens it; umask 077 leaves 0600; a
/// sleeper is woken by another user's post, or interrupted when that user
/// may not post.
#[test]
fn measured_cross_user_cases_match_linux() {
    let open = |who, umask, create, excl, mode, then| {
        Op::Open(Open {
            who,
            umask,
            name: 0,
            create,
            excl,
            mode,
            value: 0,
            then,
        })
    };
    let cases = vec![
        vec![
            open(1, 0, true, true, 1, Then::Post),
            open(2, 0, false, false, 0, Then::GetValue),
            open(3, 0, false, false, 0, Then::GetValue),
            open(3, 0, true, true, 3, Then::GetValue),
            open(3, 0, true, false, 3, Then::GetValue),
            Op::Unlink { who: 3, name: 0 },
            Op::Unlink { who: 2, name: 0 },
            open(0, 0, false, false, 0, Then::TryWait),
            Op::Unlink { who: 1, name: 0 },
        ],
        vec![
            open(1, 1, true, true, 3, Then::Post),
            open(3, 0, false, false, 0, Then::GetValue),
            open(2, 0, false, false, 0, Then::GetValue),
            open(1, 0, false, false, 0, Then::TryWait),
            Op::Unlink { who: 0, name: 0 },
        ],
        vec![
            // A sleeper of uid 1000 woken by its group's post; a stranger
            // may not post (EACCES): the sleeper is interrupted.
            open(1, 2, true, true, 2, Then::GetValue),
            Op::WaitPosted {
                waiter: 1,
                poster: 2,
                name: 0,
            },
            Op::WaitPosted {
                waiter: 2,
                poster: 3,
                name: 0,
            },
            Op::WaitPosted {
                waiter: 3,
                poster: 0,
                name: 0,
            },
            open(0, 0, false, false, 0, Then::GetValue),
        ],
        vec![
            open(1, 2, true, true, 2, Then::Post),
            open(2, 0, false, false, 0, Then::Post),
            open(3, 0, false, false, 0, Then::Post),
            open(0, 2, true, false, 0, Then::GetValue),
        ],
    ];
    for ops in cases {
        if let Err(e) = run_case(&ops) {
            panic!("{e}");
        }
    }
}
