//! Blocking sequences, differential: proptest scripts in which threads
//! block in sem_wait / sem_timedwait (unnamed and named semaphores), in
//! FUTEX_WAIT, in an eventfd read or write, in a timerfd read or in a
//! signalfd read, and the main thread posts, wakes, writes, reads, arms a
//! timer or sends a signal; run against the host Linux (threads through libc) and our
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

use common::{sys, user_bytes, Env};
use diff::block::{compare, Blockers, LinuxBlockers, Model, OurBlockers, Scene, Start, Step};
use diff::{last_errno, libc_outcome, Outcome};
use proptest::prelude::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::kernel::{sig_bit, ClockId, Kernel, SigInfo};
use redbear_ipc::syscall::abi::{FdFlags, OpenFlags, SemFlags, FD_NEW, FD_SLOT_ANY};
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
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
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
    fn act(&mut self, act: &SemAct) -> Outcome {
        match act {
            SemAct::Post => self.call(SYS_RB_SEM_POST, SemFlags::empty()),
            SemAct::TryWait => self.call(SYS_RB_SEM_WAIT, SemFlags::TRY),
            SemAct::GetValue => self.call(SYS_RB_SEM_GETVALUE, SemFlags::empty()),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn sem_case(named: bool, value: u32, script: &[Step<SemBlock, SemAct>]) -> Result<(), String> {
    let mut linux = LinuxSem::new(named, value);
    let mut ours = OurSem::new(named, value);
    let model = || SemModel { value, sleepers: 0 };
    compare(script, &mut linux, &mut ours, model, true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

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

// ----------------------------------------------------------------- futex

#[derive(Clone, Copy, Debug)]
enum Timeout {
    None,
    Far,
    Short,
}

#[derive(Clone, Copy, Debug)]
struct FutexBlock {
    expected: u32,
    timeout: Timeout,
}

#[derive(Clone, Copy, Debug)]
enum FutexAct {
    Wake(i32),
    /// Store a new word value (no wake).
    Set(u32),
}

/// Linux semantics: a wait whose word differs is EAGAIN; a wake of n
/// ends the n longest sleepers and returns how many.
#[derive(Default)]
struct FutexModel {
    word: u32,
    sleepers: usize,
}

impl Model<FutexBlock, FutexAct> for FutexModel {
    fn block(&mut self, op: &FutexBlock) -> Start {
        if op.expected != self.word {
            return Start::AtOnce { ends: 0 };
        }
        match op.timeout {
            Timeout::Short => Start::TimesOut,
            _ => {
                self.sleepers += 1;
                Start::Sleeps
            }
        }
    }
    fn act(&mut self, act: &FutexAct) -> usize {
        match *act {
            FutexAct::Wake(n) => {
                let woken = self.sleepers.min(n.max(0) as usize);
                self.sleepers -= woken;
                woken
            }
            FutexAct::Set(v) => {
                self.word = v;
                0
            }
        }
    }
    fn interrupted(&mut self, _: usize) {
        self.sleepers -= 1;
    }
}

fn futex_block() -> impl Strategy<Value = FutexBlock> {
    let timeout = prop_oneof![
        3 => Just(Timeout::None),
        2 => Just(Timeout::Far),
        1 => Just(Timeout::Short),
    ];
    (prop_oneof![4 => Just(0u32), 1 => Just(1u32)], timeout)
        .prop_map(|(expected, timeout)| FutexBlock { expected, timeout })
}

fn futex_act() -> impl Strategy<Value = FutexAct> {
    prop_oneof![
        4 => prop_oneof![Just(1i32), Just(2), Just(i32::MAX)].prop_map(FutexAct::Wake),
        1 => (0..2u32).prop_map(FutexAct::Set),
    ]
}

fn relative(timeout: Timeout) -> Option<(i64, i64)> {
    match timeout {
        Timeout::None => None,
        Timeout::Far => Some((FAR_S, 0)),
        Timeout::Short => Some((0, SHORT_NS)),
    }
}

struct LinuxFutex {
    word: Box<std::sync::atomic::AtomicU32>,
    blockers: LinuxBlockers,
}

fn linux_futex(addr: usize, op: i32, val: u32, ts: Option<(i64, i64)>) -> Outcome {
    let ts = ts.map(|(tv_sec, tv_nsec)| libc::timespec { tv_sec, tv_nsec });
    let at = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: addr is a live, aligned u32; at is null or a valid timespec.
    libc_outcome(unsafe { libc::syscall(libc::SYS_futex, addr, op, val, at, 0usize, 0u32) })
}

impl Scene<FutexBlock, FutexAct> for LinuxFutex {
    fn spawn(&mut self, i: usize, op: &FutexBlock) {
        let (addr, op) = (self.word.as_ptr() as usize, *op);
        self.blockers.spawn(i, libc::SYS_futex, move || {
            linux_futex(
                addr,
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                op.expected,
                relative(op.timeout),
            )
        });
    }
    fn act(&mut self, act: &FutexAct) -> Outcome {
        let addr = self.word.as_ptr() as usize;
        match *act {
            FutexAct::Wake(n) => linux_futex(
                addr,
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                n as u32,
                None,
            ),
            FutexAct::Set(v) => {
                self.word.store(v, std::sync::atomic::Ordering::SeqCst);
                Ok(0)
            }
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

struct OurFutex {
    env: Env,
    word: usize,
    blockers: OurBlockers,
}

const MATCH_ANY: usize = u32::MAX as usize;

impl Scene<FutexBlock, FutexAct> for OurFutex {
    fn spawn(&mut self, i: usize, op: &FutexBlock) {
        let (word, op) = (self.word, *op);
        self.blockers.spawn(i, move |k| {
            let ts = relative(op.timeout).map_or(0, |(s, ns)| common::timespec(k, s, ns));
            let args = [word, op.expected as usize, ts, 0, MATCH_ANY];
            sys(k, SYS_RB_FUTEX_WAIT, &args).map(|v| v as i64)
        });
    }
    fn act(&mut self, act: &FutexAct) -> Outcome {
        let k = &self.env.k;
        match *act {
            FutexAct::Wake(n) => {
                sys(k, SYS_RB_FUTEX_WAKE, &[self.word, n as usize, 0, MATCH_ANY]).map(|v| v as i64)
            }
            FutexAct::Set(v) => {
                common::poke_u32(k, self.word, v);
                Ok(0)
            }
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn futex_case(script: &[Step<FutexBlock, FutexAct>]) -> Result<(), String> {
    let mut linux = LinuxFutex {
        word: Box::new(std::sync::atomic::AtomicU32::new(0)),
        blockers: LinuxBlockers::default(),
    };
    let env = Env::new(ClockMode::Real);
    env.guard.task().set_mask(diff::block::our_signals());
    let word = env.k.alloc_private(4);
    let blockers = OurBlockers::new(&env.k, &env.proc);
    let mut ours = OurFutex {
        env,
        word,
        blockers,
    };
    compare(script, &mut linux, &mut ours, FutexModel::default, true)
}

// --------------------------------------------------------------- eventfd

const EV_MAX: u64 = u64::MAX - 1;
/// What a blocked writer writes: more than fits once the counter is 2.
const EV_BIG: u64 = EV_MAX - 1;

#[derive(Clone, Copy, Debug)]
enum EvBlock {
    Read,
    /// Write EV_BIG (blocks at the counter's ceiling).
    WriteBig,
}

#[derive(Clone, Copy, Debug)]
enum EvAct {
    /// Nonblocking write of this value.
    Write(u64),
    /// Nonblocking read.
    Read,
}

/// Linux semantics: a write wakes every reader and the first takes the
/// counter (EFD_SEMAPHORE: each takes 1 while it lasts); a read wakes
/// every writer and each whose value fits adds it.
struct EvModel {
    semaphore: bool,
    count: u64,
    readers: usize,
    writers: usize,
}

impl EvModel {
    fn take(&mut self) {
        self.count = if self.semaphore { self.count - 1 } else { 0 };
    }
    fn wake_readers(&mut self) -> usize {
        let mut ended = 0;
        while self.readers > 0 && self.count > 0 {
            self.take();
            self.readers -= 1;
            ended += 1;
        }
        ended
    }
    fn wake_writers(&mut self) -> usize {
        let mut ended = 0;
        while self.writers > 0 && EV_BIG <= EV_MAX - self.count {
            self.count += EV_BIG;
            self.writers -= 1;
            ended += 1;
        }
        ended
    }
}

impl Model<EvBlock, EvAct> for EvModel {
    fn block(&mut self, op: &EvBlock) -> Start {
        match op {
            EvBlock::Read if self.count > 0 => {
                self.take();
                Start::AtOnce {
                    ends: self.wake_writers(),
                }
            }
            EvBlock::WriteBig if EV_BIG <= EV_MAX - self.count => {
                self.count += EV_BIG;
                Start::AtOnce {
                    ends: self.wake_readers(),
                }
            }
            EvBlock::Read => {
                self.readers += 1;
                Start::Sleeps
            }
            EvBlock::WriteBig => {
                self.writers += 1;
                Start::Sleeps
            }
        }
    }
    fn act(&mut self, act: &EvAct) -> usize {
        match *act {
            EvAct::Write(v) if v <= EV_MAX - self.count => {
                self.count += v;
                self.wake_readers()
            }
            EvAct::Read if self.count > 0 => {
                self.take();
                self.wake_writers()
            }
            _ => 0,
        }
    }
    fn interrupted(&mut self, _: usize) {
        // Sleeping readers and writers never coexist.
        if self.readers > 0 {
            self.readers -= 1;
        } else {
            self.writers -= 1;
        }
    }
}

fn ev_block() -> impl Strategy<Value = EvBlock> {
    prop_oneof![3 => Just(EvBlock::Read), 2 => Just(EvBlock::WriteBig)]
}

fn ev_act() -> impl Strategy<Value = EvAct> {
    prop_oneof![
        3 => prop_oneof![Just(1u64), Just(2), Just(EV_BIG)].prop_map(EvAct::Write),
        2 => Just(EvAct::Read),
    ]
}

/// A read's outcome: the value read (8 bytes), as both sides report it.
fn value_read(r: Outcome, buf: [u8; 8]) -> Outcome {
    r.map(|_| u64::from_ne_bytes(buf) as i64)
}

struct LinuxFd {
    fd: i32,
    blockers: LinuxBlockers,
}

impl Drop for LinuxFd {
    fn drop(&mut self) {
        // SAFETY: our fd; every blocker has been joined.
        unsafe { libc::close(self.fd) };
    }
}

fn linux_read8(fd: i32) -> Outcome {
    let mut buf = [0u8; 8];
    // SAFETY: 8 writable bytes.
    let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), 8) };
    value_read(libc_outcome(r as i64), buf)
}

fn linux_write8(fd: i32, v: u64) -> Outcome {
    let buf = v.to_ne_bytes();
    // SAFETY: 8 readable bytes.
    libc_outcome(unsafe { libc::write(fd, buf.as_ptr().cast(), 8) } as i64)
}

impl LinuxFd {
    /// Runs `f` with O_NONBLOCK set on the description (blocked callers
    /// decided to sleep before, and keep sleeping).
    fn nonblocking(&self, f: impl FnOnce(i32) -> Outcome) -> Outcome {
        // SAFETY: fcntl on our fd.
        unsafe {
            let fl = libc::fcntl(self.fd, libc::F_GETFL);
            libc::fcntl(self.fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
            let r = f(self.fd);
            libc::fcntl(self.fd, libc::F_SETFL, fl);
            r
        }
    }
}

impl Scene<EvBlock, EvAct> for LinuxFd {
    fn spawn(&mut self, i: usize, op: &EvBlock) {
        let (fd, op) = (self.fd, *op);
        match op {
            EvBlock::Read => self
                .blockers
                .spawn(i, libc::SYS_read, move || linux_read8(fd)),
            EvBlock::WriteBig => self
                .blockers
                .spawn(i, libc::SYS_write, move || linux_write8(fd, EV_BIG)),
        }
    }
    fn act(&mut self, act: &EvAct) -> Outcome {
        match *act {
            EvAct::Write(v) => self.nonblocking(|fd| linux_write8(fd, v)),
            EvAct::Read => self.nonblocking(linux_read8),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

struct OurFd {
    env: Env,
    fd: usize,
    blockers: OurBlockers,
}

fn our_read8(k: &HostedKernel, fd: usize) -> Outcome {
    let at = k.alloc_private(8);
    let r = k.read(fd, at, 8).map(|n| n as i64).map_err(|e| e.errno);
    let mut buf = [0u8; 8];
    k.read_user(at, &mut buf).expect("readable");
    value_read(r, buf)
}

fn our_write8(k: &HostedKernel, fd: usize, v: u64) -> Outcome {
    let (at, _) = user_bytes(k, &v.to_ne_bytes());
    k.write(fd, at, 8).map(|n| n as i64).map_err(|e| e.errno)
}

impl OurFd {
    fn new() -> Self {
        let env = Env::new(ClockMode::Real);
        env.guard.task().set_mask(diff::block::our_signals());
        let blockers = OurBlockers::new(&env.k, &env.proc);
        OurFd {
            env,
            fd: usize::MAX,
            blockers,
        }
    }

    fn nonblocking(&self, f: impl FnOnce(&HostedKernel, usize) -> Outcome) -> Outcome {
        let k = &self.env.k;
        k.set_nonblocking(self.fd, true).expect("our fd");
        let r = f(k, self.fd);
        k.set_nonblocking(self.fd, false).expect("our fd");
        r
    }
}

impl Scene<EvBlock, EvAct> for OurFd {
    fn spawn(&mut self, i: usize, op: &EvBlock) {
        let (fd, op) = (self.fd, *op);
        self.blockers.spawn(i, move |k| match op {
            EvBlock::Read => our_read8(k, fd),
            EvBlock::WriteBig => our_write8(k, fd, EV_BIG),
        });
    }
    fn act(&mut self, act: &EvAct) -> Outcome {
        match *act {
            EvAct::Write(v) => self.nonblocking(|k, fd| our_write8(k, fd, v)),
            EvAct::Read => self.nonblocking(our_read8),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn eventfd_case(semaphore: bool, init: u32, script: &[Step<EvBlock, EvAct>]) -> Result<(), String> {
    let flags = if semaphore { libc::EFD_SEMAPHORE } else { 0 };
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(init, flags) };
    assert!(fd >= 0, "eventfd");
    let mut linux = LinuxFd {
        fd,
        blockers: LinuxBlockers::default(),
    };
    let mut ours = OurFd::new();
    let mut f = FdFlags::empty();
    f.set(FdFlags::SEMAPHORE, semaphore);
    ours.fd = sys(
        &ours.env.k,
        SYS_RB_EVENTFD2,
        &[init as usize, f.bits(), FD_SLOT_ANY],
    )
    .expect("eventfd");
    let model = || EvModel {
        semaphore,
        count: init.into(),
        readers: 0,
        writers: 0,
    };
    compare(script, &mut linux, &mut ours, model, false)
}

// --------------------------------------------------------------- timerfd

#[derive(Clone, Copy, Debug)]
enum TfAct {
    /// Arm a one-shot 30 ms timer and wait until it has expired.
    ArmShort,
    /// Arm a 1000 s timer.
    ArmFar,
    Disarm,
    /// Nonblocking read.
    Read,
}

/// Linux semantics: settime resets the expiration count; an expiry
/// wakes every reader and the first takes the count.
#[derive(Default)]
struct TfModel {
    expired: bool,
    readers: usize,
}

impl Model<(), TfAct> for TfModel {
    fn block(&mut self, _: &()) -> Start {
        if self.expired {
            self.expired = false;
            return Start::AtOnce { ends: 0 };
        }
        self.readers += 1;
        Start::Sleeps
    }
    fn act(&mut self, act: &TfAct) -> usize {
        match act {
            TfAct::ArmShort if self.readers > 0 => {
                self.expired = false;
                self.readers -= 1;
                1
            }
            TfAct::ArmShort => {
                self.expired = true;
                0
            }
            TfAct::ArmFar | TfAct::Disarm | TfAct::Read => {
                self.expired = false;
                0
            }
        }
    }
    fn interrupted(&mut self, _: usize) {
        self.readers -= 1;
    }
}

fn tf_act() -> impl Strategy<Value = TfAct> {
    prop_oneof![
        3 => Just(TfAct::ArmShort),
        1 => Just(TfAct::ArmFar),
        1 => Just(TfAct::Disarm),
        2 => Just(TfAct::Read),
    ]
}

fn tf_setting(act: TfAct) -> (i64, i64) {
    match act {
        TfAct::ArmShort => (0, SHORT_NS),
        TfAct::ArmFar => (FAR_S, 0),
        _ => (0, 0),
    }
}

fn linux_settime(fd: i32, (s, ns): (i64, i64)) -> Outcome {
    let zero = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let new = libc::itimerspec {
        it_interval: zero,
        it_value: libc::timespec {
            tv_sec: s,
            tv_nsec: ns,
        },
    };
    // SAFETY: a valid itimerspec; no old value wanted.
    libc_outcome(unsafe { libc::timerfd_settime(fd, 0, &new, std::ptr::null_mut()) }.into())
}

fn linux_armed(fd: i32) -> bool {
    // SAFETY: plain data, filled by gettime.
    let mut cur: libc::itimerspec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out pointer.
    unsafe { libc::timerfd_gettime(fd, &mut cur) };
    cur.it_value.tv_sec != 0 || cur.it_value.tv_nsec != 0
}

/// Polls `armed` until the timer has fired (never a timed assertion: the
/// outcome says whether it did).
fn until_fired(armed: impl Fn() -> bool) -> Outcome {
    let start = std::time::Instant::now();
    while armed() {
        if start.elapsed() > std::time::Duration::from_secs(10) {
            return Ok(-1);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Ok(0)
}

impl Scene<(), TfAct> for LinuxFd {
    fn spawn(&mut self, i: usize, _: &()) {
        let fd = self.fd;
        self.blockers
            .spawn(i, libc::SYS_read, move || linux_read8(fd));
    }
    fn act(&mut self, act: &TfAct) -> Outcome {
        let fd = self.fd;
        match act {
            TfAct::Read => self.nonblocking(linux_read8),
            TfAct::ArmShort => {
                linux_settime(fd, tf_setting(*act))?;
                until_fired(|| linux_armed(fd))
            }
            _ => linux_settime(fd, tf_setting(*act)),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn our_settime(k: &HostedKernel, fd: usize, (s, ns): (i64, i64)) -> Outcome {
    let at = k.alloc_private(32);
    let mut raw = [0u8; 32];
    raw[16..24].copy_from_slice(&s.to_ne_bytes());
    raw[24..].copy_from_slice(&ns.to_ne_bytes());
    k.write_user(at, &raw).expect("writable");
    sys(k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, at, 0]).map(|v| v as i64)
}

fn our_armed(k: &HostedKernel, fd: usize) -> bool {
    let at = k.alloc_private(32);
    let _ = sys(k, SYS_RB_TIMERFD_GETTIME, &[fd, at]);
    let mut raw = [0u8; 32];
    k.read_user(at, &mut raw).expect("readable");
    raw[16..].iter().any(|&b| b != 0)
}

impl Scene<(), TfAct> for OurFd {
    fn spawn(&mut self, i: usize, _: &()) {
        let fd = self.fd;
        self.blockers.spawn(i, move |k| our_read8(k, fd));
    }
    fn act(&mut self, act: &TfAct) -> Outcome {
        let (k, fd) = (&self.env.k, self.fd);
        match act {
            TfAct::Read => self.nonblocking(our_read8),
            TfAct::ArmShort => {
                our_settime(k, fd, tf_setting(*act))?;
                until_fired(|| our_armed(k, fd))
            }
            _ => our_settime(k, fd, tf_setting(*act)),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn timerfd_case(script: &[Step<(), TfAct>]) -> Result<(), String> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::timerfd_create(libc::CLOCK_MONOTONIC, 0) };
    assert!(fd >= 0, "timerfd_create");
    let mut linux = LinuxFd {
        fd,
        blockers: LinuxBlockers::default(),
    };
    let mut ours = OurFd::new();
    ours.fd = sys(
        &ours.env.k,
        SYS_RB_TIMERFD_CREATE,
        &[ClockId::Monotonic as usize, 0, FD_SLOT_ANY],
    )
    .expect("timerfd_create");
    compare(script, &mut linux, &mut ours, TfModel::default, false)
}

// -------------------------------------------------------------- signalfd

/// The signal the signalfd waits for (blocked by its readers).
const SF_SIGNAL: i32 = libc::SIGUSR2;

#[derive(Clone, Copy, Debug)]
enum SfAct {
    /// Send SF_SIGNAL to the oldest reader still running (Linux:
    /// thread-directed; ours: to the process); nothing when none runs.
    Send,
}

/// Linux semantics: a signal sent to a sleeping reader wakes it with one
/// record. (Nothing is ever left pending: a signal is sent only while a
/// reader sleeps.)
#[derive(Default)]
struct SfModel {
    readers: usize,
}

impl Model<(), SfAct> for SfModel {
    fn block(&mut self, _: &()) -> Start {
        self.readers += 1;
        Start::Sleeps
    }
    fn act(&mut self, _: &SfAct) -> usize {
        let ended = self.readers.min(1);
        self.readers -= ended;
        ended
    }
    fn interrupted(&mut self, _: usize) {
        self.readers -= 1;
    }
}

/// A signalfd read's outcome: bytes, signo and si_code of the record.
fn record(r: Outcome, buf: &[u8; 128]) -> Outcome {
    let word = |at: usize| {
        i64::from(i32::from_ne_bytes(
            buf[at..at + 4].try_into().unwrap_or([0; 4]),
        ))
    };
    r.map(|n| n * 1_000_000 + word(0) * 1000 + word(8).abs())
}

fn linux_sigset(sig: i32) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        set
    }
}

impl Scene<(), SfAct> for LinuxFd {
    fn spawn(&mut self, i: usize, _: &()) {
        let fd = self.fd;
        self.blockers.spawn(i, libc::SYS_read, move || {
            let set = linux_sigset(SF_SIGNAL);
            let mut buf = [0u8; 128];
            // SAFETY: blocks SF_SIGNAL in this thread only; 128 writable bytes.
            let r = unsafe {
                libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                libc::read(fd, buf.as_mut_ptr().cast(), 128)
            };
            record(libc_outcome(r as i64), &buf)
        });
    }
    fn act(&mut self, _: &SfAct) -> Outcome {
        match self.blockers.oldest_running() {
            // SAFETY: a signal the target thread blocks, to that thread.
            Some(tid) => libc_outcome(unsafe {
                libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, SF_SIGNAL)
            }),
            None => Ok(-1),
        }
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

impl Scene<(), SfAct> for OurFd {
    fn spawn(&mut self, i: usize, _: &()) {
        let fd = self.fd;
        self.blockers.spawn(i, move |k| {
            let at = k.alloc_private(128);
            let r = k.read(fd, at, 128).map(|n| n as i64).map_err(|e| e.errno);
            let mut buf = [0u8; 128];
            k.read_user(at, &mut buf).expect("readable");
            record(r, &buf)
        });
    }
    fn act(&mut self, _: &SfAct) -> Outcome {
        if !self.blockers.any_running() {
            return Ok(-1);
        }
        let info = SigInfo {
            signo: SF_SIGNAL as u32,
            code: -6, // SI_TKILL, as tgkill gives
            ..SigInfo::default()
        };
        self.env.k.queue_signal(&self.env.proc, info);
        Ok(0)
    }
    fn blockers(&mut self) -> &mut dyn Blockers {
        &mut self.blockers
    }
}

fn signalfd_case(script: &[Step<(), SfAct>]) -> Result<(), String> {
    let set = linux_sigset(SF_SIGNAL);
    // SAFETY: a valid set.
    let fd = unsafe { libc::signalfd(-1, &set, 0) };
    assert!(fd >= 0, "signalfd");
    let mut linux = LinuxFd {
        fd,
        blockers: LinuxBlockers::default(),
    };
    let mut ours = OurFd::new();
    let k = &ours.env.k;
    let mask = k.alloc_private(8);
    k.write_user(mask, &sig_bit(SF_SIGNAL as u32).to_ne_bytes())
        .expect("writable");
    ours.fd = sys(k, SYS_RB_SIGNALFD4, &[FD_NEW, mask, 8, 0, FD_SLOT_ANY]).expect("signalfd");
    compare(script, &mut linux, &mut ours, SfModel::default, false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn blocking_futex_matches_linux(script in steps(futex_block(), futex_act())) {
        let r = futex_case(&script);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn blocking_eventfd_matches_linux(
        semaphore in any::<bool>(),
        init in 0..3u32,
        script in steps(ev_block(), ev_act()),
    ) {
        let r = eventfd_case(semaphore, init, &script);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn blocking_timerfd_matches_linux(script in steps(Just(()), tf_act())) {
        let r = timerfd_case(&script);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }

    #[test]
    fn blocking_signalfd_matches_linux(script in steps(Just(()), Just(SfAct::Send))) {
        let r = signalfd_case(&script);
        prop_assert!(r.is_ok(), "{}", r.unwrap_err());
    }
}

/// Two futex sleepers woken one by one, FIFO; a wait on a changed word is
/// EAGAIN; a short wait times out; a third sleeper is interrupted.
#[test]
fn futex_fixed_script_matches_linux() {
    let wait = |timeout| {
        Step::Block(FutexBlock {
            expected: 0,
            timeout,
        })
    };
    let script = vec![
        wait(Timeout::None),
        wait(Timeout::Far),
        wait(Timeout::Short),
        Step::Act(FutexAct::Wake(1)),
        wait(Timeout::None),
        Step::Interrupt(1),
        Step::Act(FutexAct::Set(1)),
        wait(Timeout::None),
        Step::Act(FutexAct::Wake(i32::MAX)),
    ];
    if let Err(e) = futex_case(&script) {
        panic!("{e}");
    }
}

/// Readers woken by writes (semaphore mode: one unit each), a writer
/// blocked at the ceiling freed by a read, an interrupted reader.
#[test]
fn eventfd_fixed_scripts_match_linux() {
    let s1 = vec![
        Step::Block(EvBlock::Read),
        Step::Block(EvBlock::Read),
        Step::Act(EvAct::Write(2)),
        Step::Block(EvBlock::Read),
        Step::Interrupt(0),
        Step::Act(EvAct::Write(EV_BIG)),
        Step::Block(EvBlock::WriteBig),
        Step::Act(EvAct::Read),
        Step::Act(EvAct::Read),
    ];
    for semaphore in [false, true] {
        if let Err(e) = eventfd_case(semaphore, 0, &s1) {
            panic!("{e}");
        }
    }
}

/// A reader blocked until a timer expires, a pending expiry read at once,
/// re-arming and disarming under a sleeping reader, EINTR.
#[test]
fn timerfd_fixed_script_matches_linux() {
    let script = vec![
        Step::Block(()),
        Step::Act(TfAct::ArmShort),
        Step::Act(TfAct::ArmShort),
        Step::Block(()),
        Step::Block(()),
        Step::Act(TfAct::ArmFar),
        Step::Act(TfAct::Disarm),
        Step::Interrupt(0),
        Step::Act(TfAct::ArmShort),
    ];
    if let Err(e) = timerfd_case(&script) {
        panic!("{e}");
    }
}

/// Two readers asleep on a signalfd: each signal wakes one with its
/// record; a third reader is interrupted (EINTR).
#[test]
fn signalfd_fixed_script_matches_linux() {
    let script = vec![
        Step::Block(()),
        Step::Block(()),
        Step::Act(SfAct::Send),
        Step::Block(()),
        Step::Interrupt(1),
        Step::Act(SfAct::Send),
        Step::Act(SfAct::Send),
    ];
    if let Err(e) = signalfd_case(&script) {
        panic!("{e}");
    }
}
