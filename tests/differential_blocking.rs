//! Blocking sequences, differential: proptest scripts in which threads
//! block in sem_wait / sem_timedwait (unnamed and named semaphores), in
//! FUTEX_WAIT, in an eventfd read or write, or in a timerfd read, and the
//! main thread posts, wakes, writes, reads, arms a timer or sends a
//! signal; run against the host Linux (threads through libc) and our
//! subsystem (tasks of one hosted process), comparing every result and
//! errno and which blocker ended at which step with what (`diff::block`),
//! never timings.
//!
//! Timed waits are either far (1000 s: they must be woken) or short
//! (30 ms, nobody wakes them: ETIMEDOUT). Signals have a handler without
//! SA_RESTART, so an interrupted wait fails EINTR. Where Linux lets woken
//! waiters race (eventfd and timerfd readers all woken by one write), the
//! step's results are compared as a multiset; semaphore posts and futex
//! wakes are FIFO on both, so who woke is compared too.

mod common;
mod diff;

use std::ffi::CString;
use std::sync::Arc;

use common::{sys, user_bytes, Env};
use diff::block::{compare, LinuxBlockers, Model, OurBlockers, Scene, Start, Step};
use diff::{last_errno, libc_outcome, Outcome};
use proptest::prelude::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::kernel::{ClockId, Kernel};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const FAR_S: i64 = 1000;
const SHORT_NS: i64 = 30_000_000;

fn steps<B: Debug + Clone, A: Debug + Clone>(
    block: impl Strategy<Value = B>,
    act: impl Strategy<Value = A>,
) -> impl Strategy<Value = Vec<Step<B, A>>> {
    let step = prop_oneof![
        3 => block.prop_map(Step::Block),
        4 => act.prop_map(Step::Act),
        1 => (0..3usize).prop_map(Step::Interrupt),
    ];
    proptest::collection::vec(step, 1..8)
}

use std::fmt::Debug;

/// An absolute CLOCK_REALTIME time `ns` from now on Linux.
fn linux_realtime_in(ns: i64) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
    let total = now.tv_nsec + ns % 1_000_000_000;
    libc::timespec {
        tv_sec: now.tv_sec + ns / 1_000_000_000 + total / 1_000_000_000,
        tv_nsec: total % 1_000_000_000,
    }
}

/// The same on our side, written into the caller's user memory.
fn our_realtime_in(k: &HostedKernel, ns: i64) -> usize {
    let now = k.now(ClockId::Realtime) as i64 + ns;
    common::timespec(k, now / 1_000_000_000, now % 1_000_000_000)
}

// ------------------------------------------------------------ semaphores

#[derive(Clone, Copy, Debug)]
enum SemBlock {
    Wait,
    /// sem_timedwait that must be woken (1000 s).
    TimedFar,
    /// sem_timedwait that nobody wakes: ETIMEDOUT.
    TimedShort,
}

#[derive(Clone, Copy, Debug)]
enum SemAct {
    Post,
    TryWait,
    GetValue,
}

/// Linux semantics: a post hands its unit to the longest sleeper (glibc
/// wakes one futex waiter, FIFO), else adds to the value.
#[derive(Default)]
struct SemModel {
    value: u32,
    sleepers: usize,
}

impl Model<SemBlock, SemAct> for SemModel {
    fn block(&mut self, op: &SemBlock) -> Start {
        if self.value > 0 {
            self.value -= 1;
            return Start::AtOnce { ends: 0 };
        }
        match op {
            SemBlock::TimedShort => Start::TimesOut,
            _ => {
                self.sleepers += 1;
                Start::Sleeps
            }
        }
    }
    fn act(&mut self, act: &SemAct) -> usize {
        match act {
            SemAct::Post if self.sleepers > 0 => {
                self.sleepers -= 1;
                1
            }
            SemAct::Post => {
                self.value += 1;
                0
            }
            SemAct::TryWait => {
                self.value = self.value.saturating_sub(1);
                0
            }
            SemAct::GetValue => 0,
        }
    }
    fn interrupted(&mut self, _: usize) {
        self.sleepers -= 1;
    }
}

fn sem_block() -> impl Strategy<Value = SemBlock> {
    prop_oneof![
        3 => Just(SemBlock::Wait),
        2 => Just(SemBlock::TimedFar),
        1 => Just(SemBlock::TimedShort),
    ]
}

fn sem_act() -> impl Strategy<Value = SemAct> {
    prop_oneof![
        4 => Just(SemAct::Post),
        1 => Just(SemAct::TryWait),
        1 => Just(SemAct::GetValue),
    ]
}

/// A `sem_t *` that may cross threads.
#[derive(Clone, Copy)]
struct SemPtr(*mut libc::sem_t);
// SAFETY: a semaphore is made to be used from several threads; the test
// keeps it alive until every thread using it has been joined.
unsafe impl Send for SemPtr {}

struct LinuxSem {
    sem: SemPtr,
    /// The unnamed semaphore's storage, or the named one's name.
    _storage: Option<Box<libc::sem_t>>,
    name: Option<CString>,
    blockers: LinuxBlockers,
}

static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl LinuxSem {
    fn new(named: bool, value: u32) -> Self {
        if named {
            let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name =
                CString::new(format!("/rbipc-block-{}-{run}", std::process::id())).expect("no NUL");
            // SAFETY: a valid name; O_EXCL makes it ours alone.
            let s = unsafe {
                libc::sem_open(
                    name.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL,
                    0o600 as libc::c_uint,
                    value,
                )
            };
            assert_ne!(s, libc::SEM_FAILED, "sem_open: {}", last_errno());
            LinuxSem {
                sem: SemPtr(s),
                _storage: None,
                name: Some(name),
                blockers: LinuxBlockers::default(),
            }
        } else {
            // SAFETY: plain data, initialised by sem_init below.
            let mut storage: Box<libc::sem_t> = Box::new(unsafe { std::mem::zeroed() });
            // SAFETY: a valid, exclusively owned sem_t that never moves.
            assert_eq!(unsafe { libc::sem_init(&mut *storage, 0, value) }, 0);
            let sem = SemPtr(&mut *storage);
            LinuxSem {
                sem,
                _storage: Some(storage),
                name: None,
                blockers: LinuxBlockers::default(),
            }
        }
    }
}

impl Drop for LinuxSem {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            // SAFETY: our handle and name; every blocker has been joined.
            unsafe {
                libc::sem_close(self.sem.0);
                libc::sem_unlink(name.as_ptr());
            }
        }
    }
}

impl Scene<SemBlock, SemAct> for LinuxSem {
    fn spawn(&mut self, i: usize, op: &SemBlock) {
        let (sem, op) = (self.sem, *op);
        self.blockers.spawn(i, libc::SYS_futex, move || {
            let sem = sem;
            // SAFETY: the semaphore outlives the thread (joined first).
            let r = unsafe {
                match op {
                    SemBlock::Wait => libc::sem_wait(sem.0),
                    SemBlock::TimedFar => {
                        libc::sem_timedwait(sem.0, &linux_realtime_in(FAR_S * 1_000_000_000))
                    }
                    SemBlock::TimedShort => {
                        libc::sem_timedwait(sem.0, &linux_realtime_in(SHORT_NS))
                    }
                }
            };
            libc_outcome(r.into())
        });
    }
    fn asleep(&self, i: usize) -> bool {
        self.blockers.asleep(i)
    }
    fn finished(&self, i: usize) -> bool {
        self.blockers.finished(i)
    }
    fn join(&mut self, i: usize) -> Outcome {
        self.blockers.join(i)
    }
    fn act(&mut self, act: &SemAct) -> Outcome {
        let s = self.sem.0;
        // SAFETY: a live semaphore.
        unsafe {
            match act {
                SemAct::Post => libc_outcome(libc::sem_post(s).into()),
                SemAct::TryWait => libc_outcome(libc::sem_trywait(s).into()),
                SemAct::GetValue => {
                    let mut v = -1;
                    libc_outcome(libc::sem_getvalue(s, &mut v).into()).map(|_| v.into())
                }
            }
        }
    }
    fn interrupt(&mut self, i: usize) {
        self.blockers.interrupt(i);
    }
}

struct OurSem {
    env: Env,
    /// The sem_t address, or the named semaphore's fd.
    sem: usize,
    flags: SemFlags,
    blockers: OurBlockers,
}

impl OurSem {
    fn new(named: bool, value: u32) -> Self {
        let env = Env::new(ClockMode::Real);
        env.guard.task().set_mask(diff::block::our_signals());
        let (sem, flags) = if named {
            let (p, len) = user_bytes(&env.k, b"/block");
            let oflag = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
            let fd = sys(
                &env.k,
                SYS_RB_SEM_OPEN,
                &[p, len, oflag.bits(), 0o600, value as usize, FD_SLOT_ANY],
            )
            .expect("sem_open");
            (fd, SemFlags::REF_FD)
        } else {
            let at = env.k.alloc_private(32);
            assert_eq!(
                sys(&env.k, SYS_RB_SEM_INIT, &[at, 0, value as usize]),
                Ok(0)
            );
            (at, SemFlags::empty())
        };
        let blockers = OurBlockers::new(&env.k, &env.proc);
        OurSem {
            env,
            sem,
            flags,
            blockers,
        }
    }

    fn call(&self, nr: usize, extra: SemFlags) -> Outcome {
        sys(&self.env.k, nr, &[self.sem, (self.flags | extra).bits()]).map(|v| v as i64)
    }
}

impl Scene<SemBlock, SemAct> for OurSem {
    fn spawn(&mut self, i: usize, op: &SemBlock) {
        let (sem, flags, op) = (self.sem, self.flags, *op);
        self.blockers.spawn(i, move |k| {
            let timed = |ns: i64| {
                let ts = our_realtime_in(k, ns);
                let f = flags | SemFlags::TIMED;
                sys(
                    k,
                    SYS_RB_SEM_WAIT,
                    &[sem, f.bits(), ts, ClockId::Realtime as usize],
                )
            };
            match op {
                SemBlock::Wait => sys(k, SYS_RB_SEM_WAIT, &[sem, flags.bits()]),
                SemBlock::TimedFar => timed(FAR_S * 1_000_000_000),
                SemBlock::TimedShort => timed(SHORT_NS),
            }
            .map(|v| v as i64)
        });
    }
    fn asleep(&self, i: usize) -> bool {
        self.blockers.asleep(i)
    }
    fn finished(&self, i: usize) -> bool {
        self.blockers.finished(i)
    }
    fn join(&mut self, i: usize) -> Outcome {
        self.blockers.join(i)
    }
    fn act(&mut self, act: &SemAct) -> Outcome {
        match act {
            SemAct::Post => self.call(SYS_RB_SEM_POST, SemFlags::empty()),
            SemAct::TryWait => self.call(SYS_RB_SEM_WAIT, SemFlags::TRY),
            SemAct::GetValue => self.call(SYS_RB_SEM_GETVALUE, SemFlags::empty()),
        }
    }
    fn interrupt(&mut self, i: usize) {
        self.blockers.interrupt(i);
    }
}

fn sem_case(named: bool, value: u32, script: &[Step<SemBlock, SemAct>]) -> Result<(), String> {
    let mut linux = LinuxSem::new(named, value);
    let mut ours = OurSem::new(named, value);
    let model = || SemModel { value, sleepers: 0 };
    compare(script, &mut linux, &mut ours, model, true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn blocking_semaphores_match_linux(
        named in any::<bool>(),
        value in 0..2u32,
        script in steps(sem_block(), sem_act()),
    ) {
        let r = sem_case(named, value, &script);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// Two sleepers: the first is woken by the first post, the second is
/// interrupted (EINTR); a short timed wait times out meanwhile; a post
/// with nobody asleep stays in the value.
#[test]
fn semaphore_two_sleepers_match_linux() {
    use SemAct::*;
    use SemBlock::*;
    let script = vec![
        Step::Block(Wait),
        Step::Block(TimedFar),
        Step::Block(TimedShort),
        Step::Act(Post),
        Step::Interrupt(0),
        Step::Act(Post),
        Step::Act(GetValue),
        Step::Block(TimedFar),
        Step::Block(Wait),
        Step::Act(Post),
    ];
    for named in [false, true] {
        if let Err(e) = sem_case(named, 0, &script) {
            panic!("{e}");
        }
    }
}
