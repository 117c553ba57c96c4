//! The simulated machine a fuzz input runs on, and the invariants it
//! checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::{ClockMode, HostedKernel, Process, Visibility};
use redbear_ipc::ipc::common::file::FileKind;
use redbear_ipc::ipc::common::limits::{ObjectKind, Resource, Usage};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::ipc::sysv::msg::{MsgNamespace, MSG_BOOKKEEPING};
use redbear_ipc::kernel::{sig_bit, ClockId, Credentials, Kernel, Pid};
use redbear_ipc::syscall::abi::{FdFlags, FutexFlags, SemFlags, IPC_NOWAIT, SIGEV_THREAD};
use redbear_ipc::syscall::dispatch;
use redbear_ipc::syscall::numbers::*;

use crate::model::{self, Effect, Model, MsgCall, SemCall, Target};
use crate::ops::{Arg, FileOp, Op};
use crate::pool::{self, Running};

/// System calls made so far by this process's fuzz runs.
static SYSCALLS: AtomicU64 = AtomicU64::new(0);

/// How many system calls the harness has made (all inputs so far).
pub fn syscalls() -> u64 {
    SYSCALLS.load(Ordering::Relaxed)
}

fn sys(k: &HostedKernel, nr: usize, a: [usize; 6]) -> Result<usize, redbear_ipc::Errno> {
    let n = SYSCALLS.fetch_add(1, Ordering::Relaxed) + 1;
    // Every 2^22 calls (and at the powers of two below that): a long
    // run's count is then known to within 4 Mi calls.
    if n.trailing_zeros() >= 22 || (n.is_power_of_two() && n >= 1 << 20) {
        eprintln!("#syscalls: {n}");
    }
    dispatch(k, nr, a)
}

/// Bytes of each process's private region and of the shared one.
const REGION: usize = 256;
/// At most this many processes live at once.
const MAX_PROCS: usize = 6;
/// At most this many calls blocked on threads at once.
const MAX_THREADS: usize = 8;
/// How long a spawned call gets to go to sleep or return before the
/// harness moves on anyway (wall time; the kernel's clock is virtual).
/// Only a bound: the harness moves on as soon as the call's own task has
/// slept once (`HostedKernel::task_sleeps`) or ended.
const SETTLE: Duration = Duration::from_millis(200);
/// How long every blocked call gets to end once its process has exited:
/// longer means a lost wake-up or a deadlock.
const DRAIN: Duration = Duration::from_secs(10);

struct Proc {
    p: Arc<Process>,
    region: usize,
}

/// What a call returned, once it has.
type Ret = Arc<std::sync::Mutex<Option<Result<usize, redbear_ipc::Errno>>>>;

/// A call on a worker.
struct Flight {
    /// The process it runs in.
    proc: Arc<Process>,
    run: Running,
    /// What it does to the model if it succeeds.
    effect: Effect,
    ret: Ret,
    /// When its timeout passes, where the harness can tell: then it must
    /// end.
    deadline: Option<(ClockId, u64)>,
}

/// User memory a call's effect was worked out from: (process, address,
/// the bytes then).
type Reads = Vec<(Pid, usize, Vec<u8>)>;

/// One simulated machine.
pub struct World {
    k: Arc<HostedKernel>,
    procs: Vec<Proc>,
    exited: Vec<Arc<Process>>,
    shared: usize,
    /// Calls on workers.
    threads: Vec<Flight>,
    /// What the objects must hold (`model.rs`).
    model: Model,
    /// Steps run so far.
    steps: u64,
    /// SysV objects removed at this step: (a set, its id).
    removed: Vec<(bool, i32)>,
    /// Values successful calls returned (fds, ids), for `Arg::Id`.
    seen: Vec<usize>,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A machine with two processes of different users.
    pub fn new() -> Self {
        let k = HostedKernel::new(ClockMode::Virtual);
        let shared = k.memory().alloc(REGION, Visibility::Shared);
        let mut w = World {
            k,
            procs: Vec::new(),
            exited: Vec::new(),
            shared,
            threads: Vec::new(),
            model: Model::default(),
            steps: 0,
            removed: Vec::new(),
            seen: Vec::new(),
        };
        w.add(w.k.spawn_process(Credentials::new(1000, 1000)));
        w.add(w.k.spawn_process(Credentials::new(1001, 1001)));
        w
    }

    /// The kernel (tests look at what the objects hold).
    pub fn kernel(&self) -> &Arc<HostedKernel> {
        &self.k
    }

    /// The live processes (tests look at their fds).
    pub fn process(&self, i: usize) -> &Arc<Process> {
        &self.procs[i].p
    }

    fn add(&mut self, p: Arc<Process>) {
        let region = self.k.memory().alloc(REGION, Visibility::Private(p.pid()));
        self.procs.push(Proc { p, region });
    }

    fn pick(&self, who: u8) -> Option<usize> {
        (!self.procs.is_empty()).then(|| who as usize % self.procs.len())
    }

    fn value(&self, me: usize, a: Arg) -> usize {
        let other = (me + 1) % self.procs.len();
        match a {
            Arg::Small(v) => v as usize,
            Arg::Word(v) => v as usize,
            Arg::Mine(off) => self.procs[me].region + (off as usize % REGION),
            Arg::Shared(off) => self.shared + (off as usize % REGION),
            Arg::Theirs(off) if other != me => self.procs[other].region + off as usize % REGION,
            Arg::Theirs(_) => 0x10,
            Arg::Null => 0,
            Arg::NearMax => usize::MAX - 3,
            Arg::Id(i) if !self.seen.is_empty() => self.seen[i as usize % self.seen.len()],
            Arg::Id(i) => i as usize,
        }
    }

    fn regs(&self, me: usize, nr: u8, args: &[Arg; 6]) -> (usize, [usize; 6]) {
        let nr = (BASE - 2) + nr as usize % (END - BASE + 4);
        let mut a = [0usize; 6];
        for (slot, arg) in a.iter_mut().zip(args) {
            *slot = self.value(me, *arg);
        }
        (nr, a)
    }

    /// Runs one operation, then checks the invariants that hold at every
    /// step.
    pub fn step(&mut self, op: &Op) {
        self.steps += 1;
        // A process a signal killed is gone: nothing may run in it.
        let (live, dead): (Vec<Proc>, Vec<Proc>) = std::mem::take(&mut self.procs)
            .into_iter()
            .partition(|p| !p.p.is_exiting());
        self.procs = live;
        let killed = !dead.is_empty();
        let dead: Vec<Arc<Process>> = dead.into_iter().map(|p| p.p).collect();
        self.exited.extend(dead.iter().cloned());
        if killed {
            self.end_exited_calls();
            for p in &dead {
                self.model.exited(p.pid());
            }
        }
        match op {
            Op::Call { who, nr, args } => {
                let Some(me) = self.pick(*who) else { return };
                let (nr, mut a) = self.regs(me, *nr, args);
                if make_nonblocking(nr, &mut a) {
                    let (mut effect, reads) = self.effect_of(me, nr, &a);
                    let p = self.procs[me].p.clone();
                    let _g = self.k.enter(&p);
                    let r = sys(&self.k, nr, a);
                    if self.changed(&reads) {
                        self.model.poison(&mut effect);
                    }
                    if let Ok(v) = r {
                        self.remember(v);
                        self.apply(&effect, v, &p);
                    }
                } else {
                    self.spawn(me, nr, a);
                }
            }
            Op::Spawn { who, nr, args } => {
                let Some(me) = self.pick(*who) else { return };
                let (nr, a) = self.regs(me, *nr, args);
                self.spawn(me, nr, a);
            }
            Op::Poke {
                who,
                shared,
                offset,
                bytes,
            } => {
                let Some(me) = self.pick(*who) else { return };
                let base = if *shared {
                    self.shared
                } else {
                    self.procs[me].region
                };
                let off = *offset as usize % REGION;
                let n = bytes.len().min(REGION - off);
                let _ = self
                    .k
                    .memory()
                    .write(self.procs[me].p.pid(), base + off, &bytes[..n]);
            }
            Op::File {
                who,
                fd,
                what,
                arg,
                len,
            } => {
                let Some(me) = self.pick(*who) else { return };
                let buf = self.value(me, *arg);
                let fd = *fd as usize % 16;
                let len = *len as usize % 1024;
                let p = self.procs[me].p.clone();
                let _g = self.k.enter(&p);
                match what {
                    FileOp::Read | FileOp::Write if self.k.set_nonblocking(fd, true).is_ok() => {
                        let efd = p
                            .fds()
                            .get(fd)
                            .ok()
                            .filter(|f| f.kind() == FileKind::EventFd)
                            .map(|f| model::addr(f.object()));
                        if matches!(what, FileOp::Read) {
                            let r = self.k.read(fd, buf, len);
                            if let (Ok(_), Some(at)) = (r, efd) {
                                self.apply(&Effect::EventFdRead { at }, 0, &p);
                            }
                        } else {
                            let reads = self.read_user(p.pid(), buf, 8).into_iter().collect();
                            let r = self.k.write(fd, buf, len);
                            if let (Ok(_), Some(at)) = (r, efd) {
                                let value = match &reads {
                                    v if self.changed(v) => None,
                                    v => v.first().map(|(_, _, b): &(Pid, usize, Vec<u8>)| {
                                        let mut w = [0u8; 8];
                                        w.copy_from_slice(b);
                                        u64::from_ne_bytes(w)
                                    }),
                                };
                                self.apply(&Effect::EventFdWrite { at, value }, 0, &p);
                            }
                        }
                    }
                    FileOp::Poll => {
                        let _ = self.k.poll(&[(fd, Readiness::all())], Some(Duration::ZERO));
                    }
                    FileOp::Close => {
                        let _ = self.k.close(fd);
                    }
                    FileOp::Dup => {
                        if let Ok(v) = self.k.dup(fd) {
                            self.remember(v);
                        }
                    }
                    _ => {}
                }
            }
            Op::Advance { ns } => self.k.advance(*ns as u64),
            Op::Signal { to, sig } => {
                let Some(t) = self.pick(*to) else { return };
                let (p, signo) = (self.procs[t].p.clone(), 1 + *sig as u32 % 64);
                self.k.send_signal(&p, signo);
                self.end_interrupted_calls(&p, signo);
            }
            Op::Spawnproc { uid, gid } => {
                if self.procs.len() < MAX_PROCS {
                    let p = self.k.spawn_process(Credentials::new(
                        1000 + *uid as u32 % 4,
                        1000 + *gid as u32 % 4,
                    ));
                    self.add(p);
                }
            }
            Op::Fork { who } => {
                let Some(me) = self.pick(*who) else { return };
                if self.procs.len() < MAX_PROCS {
                    let child = self.k.fork_process(&self.procs[me].p);
                    self.add(child);
                }
            }
            Op::Exit { who } => {
                let Some(me) = self.pick(*who) else { return };
                let gone = self.procs.remove(me);
                self.k.exit_process(&gone.p);
                let pid = gone.p.pid();
                self.exited.push(gone.p);
                self.end_exited_calls();
                self.model.exited(pid);
            }
            Op::Groups { who, ids } => {
                let Some(me) = self.pick(*who) else { return };
                let ids: Vec<u32> = ids.iter().map(|g| 1000 + *g as u32 % 8).collect();
                let _ = self.procs[me].p.set_groups(&ids);
            }
            Op::SetRealtime { secs } => self.k.set_realtime(*secs as u64 * 1_000_000_000),
        }
        self.reap();
        self.end_removed_calls();
        self.end_expired_calls();
        assert!(
            self.k.parked_tasks() <= self.threads.len(),
            "more tasks parked than calls on threads"
        );
        self.check_limits();
        self.check_accounting();
        let busy = self.busy();
        self.model.check(self.k.ipc(), &busy);
    }

    /// The objects the calls still running are about.
    fn busy(&self) -> Vec<Target> {
        self.threads
            .iter()
            .filter_map(|f| f.effect.target())
            .collect()
    }

    /// `len` bytes of `pid`'s memory at `at`, if it may read them.
    fn read_user(&self, pid: Pid, at: usize, len: usize) -> Option<(Pid, usize, Vec<u8>)> {
        let mut b = vec![0u8; len];
        self.k.memory().read(pid, at, &mut b).ok()?;
        Some((pid, at, b))
    }

    /// Whether any of `reads` reads differently now.
    fn changed(&self, reads: &Reads) -> bool {
        reads.iter().any(|(pid, at, was)| {
            self.read_user(*pid, *at, was.len())
                .is_none_or(|(_, _, now)| now != *was)
        })
    }

    /// What call `nr` with registers `a` of process `me` does to the
    /// model if it succeeds, and the user memory that was worked out from.
    /// An mq_notify that may register a SIGEV_THREAD channel makes the
    /// channel's count unknown at once (notices may come at any time).
    fn effect_of(&mut self, me: usize, nr: usize, a: &[usize; 6]) -> (Effect, Reads) {
        let p = self.procs[me].p.clone();
        let pid = p.pid();
        let mut reads = Reads::new();
        let msg = |c| self.model.msg_effect(c, a, self.steps);
        let effect = match nr {
            SYS_RB_MSGGET => msg(MsgCall::Get),
            SYS_RB_MSGSND => msg(MsgCall::Snd),
            SYS_RB_MSGRCV => msg(MsgCall::Rcv),
            SYS_RB_MSGCTL => msg(MsgCall::Ctl),
            SYS_RB_SEMGET | SYS_RB_SEMTIMEDOP | SYS_RB_SEMCTL => {
                let call = match nr {
                    SYS_RB_SEMGET => SemCall::Get,
                    SYS_RB_SEMTIMEDOP => SemCall::Op,
                    _ => SemCall::Ctl,
                };
                let sets = &self.k.ipc().sysv.sem;
                let read = |at, len| {
                    let r = self.read_user(pid, at, len)?;
                    let bytes = r.2.clone();
                    reads.push(r);
                    Some(bytes)
                };
                self.model.sem_effect(pid, call, a, self.steps, read, |id| {
                    sets.lookup(id).ok().map(|s| s.nsems())
                })
            }
            SYS_RB_MQ_TIMEDSEND | SYS_RB_MQ_TIMEDRECEIVE => match p.fds().get(a[0]) {
                Ok(f) if f.kind() == FileKind::MessageQueue => Effect::Mq {
                    at: model::addr(f.object()),
                    send: nr == SYS_RB_MQ_TIMEDSEND,
                },
                _ => Effect::None,
            },
            SYS_RB_EVENTFD2 => match u32::try_from(a[0]) {
                Ok(initval) => Effect::EventFd {
                    initval,
                    semaphore: a[1] & FdFlags::SEMAPHORE.bits() != 0,
                    step: self.steps,
                },
                Err(_) => Effect::None,
            },
            SYS_RB_MQ_OPEN => Effect::MqOpen { step: self.steps },
            SYS_RB_MQ_NOTIFY => {
                // struct sigevent: sigev_signo (the channel's fd for
                // SIGEV_THREAD) at 8, sigev_notify at 12.
                if let Some(r) = self.read_user(pid, a[1], 16) {
                    let int = |at: usize| {
                        i32::from_ne_bytes(r.2[at..at + 4].try_into().unwrap_or([0; 4]))
                    };
                    if int(12) == SIGEV_THREAD {
                        match usize::try_from(int(8)).ok().map(|fd| p.fds().get(fd)) {
                            Some(Ok(f)) if f.kind() == FileKind::MessageQueue => {
                                self.model.mq_channel(f.object())
                            }
                            _ => {}
                        }
                    }
                    reads.push(r);
                }
                Effect::None
            }
            _ => Effect::None,
        };
        (effect, reads)
    }

    /// Applies `e`, which a call of `p` made with result `ret`. An fd an
    /// eventfd2 or mq_open returned is resolved only at the step of the
    /// call: later it may be another object's.
    fn apply(&mut self, e: &Effect, ret: usize, p: &Process) {
        let busy = self.busy();
        self.removed.extend(e.removal());
        match *e {
            Effect::EventFd {
                initval,
                semaphore,
                step,
            } => {
                if let (Ok(f), true) = (p.fds().get(ret), step == self.steps) {
                    self.model.eventfd(f.object(), initval, semaphore);
                }
            }
            Effect::MqOpen { step } => match p.fds().get(ret) {
                Ok(f) if f.kind() == FileKind::MessageQueue && step == self.steps => {
                    self.model.mq_opened(f.object())
                }
                _ => self.model.mq_lost(),
            },
            // A msgget or semget that came back late: its object may be
            // gone already (removed by an id the model did not know).
            Effect::MsgGet { .. }
                if !self
                    .k
                    .ipc()
                    .sysv
                    .msg
                    .contents()
                    .iter()
                    .any(|q| q.0 == ret as i32) => {}
            Effect::SemGet { .. } if self.k.ipc().sysv.sem.lookup(ret as i32).is_err() => {}
            _ => {
                let sets = &self.k.ipc().sysv.sem;
                self.model.apply(e, ret, &busy, self.steps, |id| {
                    sets.lookup(id).ok().map(|s| s.nsems())
                });
            }
        }
    }

    /// Once signal `signo` is pending for `p`, every call of `p` still
    /// running must end within `DRAIN` (EINTR, or done): no task of the
    /// harness blocks a signal (their masks stay 0) and nothing that runs
    /// on a thread takes a pending signal (signalfd reads are the main
    /// task's), so the signal stays pending and interrupts every wait.
    /// Checked at the signal's step, not only at the end of the input.
    fn end_interrupted_calls(&mut self, p: &Process, signo: u32) {
        if p.pending() & sig_bit(signo) == 0 {
            return; // not queued (a full realtime queue refuses)
        }
        let start = Instant::now();
        for f in &mut self.threads {
            if f.proc.pid() == p.pid() {
                assert!(
                    f.run.wait(DRAIN.saturating_sub(start.elapsed())),
                    "a call of a process with signal {signo} pending and unblocked did not \
                     end within {DRAIN:?} (a wait that a signal does not interrupt)"
                );
            }
        }
        self.reap();
    }

    /// The deadline of call `nr` with registers `a` of process `me`, for
    /// the timeouts whose meaning the harness knows: semtimedop's
    /// (relative, CLOCK_MONOTONIC), mq_timedsend's and mq_timedreceive's
    /// (absolute, CLOCK_REALTIME) and futex_wait's (as its flags say);
    /// with the timespec's bytes, read again once the call has read them.
    fn deadline_of(&self, me: usize, nr: usize, a: &[usize; 6]) -> Option<(ClockId, u64, Reads)> {
        let (at, clock, relative) = match nr {
            SYS_RB_SEMTIMEDOP => (a[3], ClockId::Monotonic, true),
            SYS_RB_MQ_TIMEDSEND | SYS_RB_MQ_TIMEDRECEIVE => (a[4], ClockId::Realtime, false),
            SYS_RB_FUTEX_WAIT => {
                let f = FutexFlags::from_bits(a[3])?;
                let clock = if f.contains(FutexFlags::CLOCK_REALTIME) {
                    ClockId::Realtime
                } else {
                    ClockId::Monotonic
                };
                (a[2], clock, !f.contains(FutexFlags::ABSOLUTE))
            }
            _ => return None,
        };
        let r = self.read_user(self.procs[me].p.pid(), at, 16)?;
        let word = |i: usize| i64::from_ne_bytes(r.2[i..i + 8].try_into().unwrap_or([0; 8]));
        let (sec, nsec) = (word(0), word(8));
        if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
            return None; // EINVAL at once
        }
        let ns = (sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(nsec as u64);
        let at_ns = if relative {
            self.k.now(clock).saturating_add(ns)
        } else {
            ns
        };
        Some((clock, at_ns, vec![r]))
    }

    /// Every call whose deadline has passed must end within `DRAIN`
    /// (ETIMEDOUT, EAGAIN for semtimedop, or done): the virtual clock
    /// moves only at `Advance` and `SetRealtime`, which let every sleeper
    /// re-check its deadline. Checked at the step that moved the clock
    /// past it, not only at the end of the input.
    fn end_expired_calls(&mut self) {
        let start = Instant::now();
        let k = self.k.clone();
        for f in &mut self.threads {
            if let Some((clock, at)) = f.deadline {
                if k.now(clock) >= at {
                    assert!(
                        f.run.wait(DRAIN.saturating_sub(start.elapsed())),
                        "a call whose deadline passed did not end within {DRAIN:?} \
                         (a sleeper that does not re-check its deadline)"
                    );
                }
            }
        }
        self.reap();
    }

    /// Every call on a SysV object that a call of this step removed must
    /// end within `DRAIN` (EIDRM for a sleeper): checked at the removal,
    /// not only at the end of the input. At most one object lives under
    /// an id at a time, so a call on that id that is still running began
    /// on the removed object or an earlier one, which is gone as well.
    fn end_removed_calls(&mut self) {
        while !self.removed.is_empty() {
            let removed = std::mem::take(&mut self.removed);
            let start = Instant::now();
            for f in &mut self.threads {
                if f.effect.sysv_object().is_some_and(|o| removed.contains(&o)) {
                    assert!(
                        f.run.wait(DRAIN.saturating_sub(start.elapsed())),
                        "a call on a removed SysV object did not end within {DRAIN:?} \
                         of the removal (lost wake-up)"
                    );
                }
            }
            self.reap();
        }
    }

    /// Drops the calls that have returned, applying the effects of those
    /// that succeeded in the order they are found finished; re-raises a
    /// panic of one.
    fn reap(&mut self) {
        let mut panicked = None;
        let mut done = Vec::new();
        self.threads.retain_mut(|f| {
            if !f.run.is_finished() {
                return true;
            }
            if let Some(Err(p)) = f.run.take() {
                panicked.get_or_insert(p);
            }
            let ret = f.ret.lock().unwrap_or_else(|p| p.into_inner()).take();
            if let Some(Ok(v)) = ret {
                done.push((
                    f.proc.clone(),
                    std::mem::replace(&mut f.effect, Effect::None),
                    v,
                ));
            }
            false
        });
        if let Some(p) = panicked {
            std::panic::resume_unwind(p);
        }
        for (p, effect, v) in done {
            self.apply(&effect, v, &p);
        }
    }

    /// Every call of an exited (or killed) process must end within
    /// `DRAIN`, and then the process must have finished exiting: checked
    /// right after the exit, not only at the end of the input.
    fn end_exited_calls(&mut self) {
        let start = Instant::now();
        for f in &mut self.threads {
            let pid = f.proc.pid();
            if self.exited.iter().any(|p| p.pid() == pid) {
                assert!(
                    f.run.wait(DRAIN.saturating_sub(start.elapsed())),
                    "a blocked call did not end within {DRAIN:?} of its process's exit \
                     (lost wake-up or deadlock)"
                );
            }
        }
        self.reap();
        for p in &self.exited {
            assert!(p.has_exited(), "process {} never finished exiting", p.pid());
        }
    }

    /// The accounting equals what is alive, and every object is reachable
    /// or freed. Always: the namespace's totals are the sum of its users'.
    /// When no call is in flight (a call holds its object while it runs,
    /// and a woken one may drop the last reference at any moment): the
    /// charged eventfds, signalfds and timerfds are exactly the distinct
    /// ones the fd tables reach, the timerfds alive (their weak registry)
    /// are those too, no signalfd reader is registered, every timerfd holds one timer slot
    /// and the queue no more entries than slots; the charged SysV queues
    /// and sets are those in the id tables; the charged POSIX queues lie
    /// between the most and the sum of the named ones and the ones an fd
    /// reaches; the charged named semaphores are at least the named ones
    /// and the ones an fd reaches (a mapping holds one too).
    fn check_accounting(&self) {
        let ipc = self.k.ipc();
        let (totals, users) = ipc.acct.snapshot();
        let mut sum = Usage::default();
        for (uid, u) in &users {
            assert!(!u.is_zero(), "user {uid} is listed holding nothing");
            for (s, x) in sum.objects.iter_mut().zip(u.objects) {
                *s += x;
            }
            for (s, x) in sum.amounts.iter_mut().zip(u.amounts) {
                *s += x;
            }
        }
        assert_eq!(sum, totals, "the namespace's totals are not its users' sum");
        if !self.threads.is_empty() {
            return;
        }
        let reach = self.reachable();
        let charged = |k: ObjectKind| totals.objects[k as usize];
        for (obj, file, what) in [
            (ObjectKind::EventFd, FileKind::EventFd, "eventfds"),
            (ObjectKind::SignalFd, FileKind::SignalFd, "signalfds"),
            (ObjectKind::TimerFd, FileKind::TimerFd, "timerfds"),
        ] {
            assert_eq!(
                charged(obj),
                reach.of(file),
                "charged {what} are not the {what} an fd reaches"
            );
        }
        assert_eq!(
            ipc.signal_waits.readers(),
            0,
            "a signalfd reader is registered with no call in flight"
        );
        let timerfds = reach.of(FileKind::TimerFd);
        assert_eq!(
            ipc.timerfds.len(),
            timerfds,
            "a timerfd no fd reaches is alive, or one an fd reaches is not registered"
        );
        assert_eq!(
            totals.amounts[Resource::TimerSlots as usize],
            timerfds,
            "charged timer slots are not one per timerfd"
        );
        assert_eq!(
            ipc.timers.slots(),
            timerfds,
            "timer slots are not one per timerfd"
        );
        assert!(
            ipc.timers.entries() <= ipc.timers.slots(),
            "more timer entries than slots"
        );
        assert_eq!(
            charged(ObjectKind::MsgQueue),
            ipc.sysv.msg.queues(),
            "charged SysV queues are not the ones in the id table"
        );
        assert_eq!(
            charged(ObjectKind::SemSet),
            ipc.sysv.sem.sets(),
            "charged SysV semaphore sets are not the ones in the id table"
        );
        let (mq, named) = (reach.of(FileKind::MessageQueue), ipc.mqueues.len());
        let held = charged(ObjectKind::MqQueue);
        assert!(
            held >= mq.max(named) && held <= mq + named,
            "{held} POSIX queues charged, {mq} reached from fds and {named} named"
        );
        // The amounts against what the objects hold: a queue is charged
        // its own size and each message its text and bookkeeping; a set
        // its semaphores.
        let queues = ipc.sysv.msg.contents();
        let want: usize = queues
            .iter()
            .map(|(_, n, b)| MsgNamespace::QUEUE_CHARGE + b + n * MSG_BOOKKEEPING)
            .sum();
        assert_eq!(
            totals.amounts[Resource::MsgBytes as usize],
            want,
            "charged SysV message bytes are not what the {} queues hold",
            queues.len()
        );
        let sems: usize = ipc.sysv.sem.contents().iter().map(|(_, v)| v.len()).sum();
        assert_eq!(
            totals.amounts[Resource::Sems as usize],
            sems,
            "charged SysV semaphores are not the semaphores of the sets"
        );
        let (sems, named) = (reach.of(FileKind::NamedSem), ipc.sems.len());
        assert!(
            charged(ObjectKind::NamedSem) >= sems.max(named),
            "a named semaphore that an fd or a name reaches is not charged"
        );
    }

    /// The distinct objects every process's fds reach, by kind.
    fn reachable(&self) -> Reach {
        let mut seen: Vec<(*const (), FileKind)> = Vec::new();
        let tables = self.procs.iter().map(|p| &p.p).chain(&self.exited);
        for p in tables {
            p.fds()
                .for_each_file(|f| seen.push((Arc::as_ptr(f.object()) as *const (), f.kind())));
        }
        // One object, one kind: sorting by address puts its fds together.
        seen.sort_unstable_by_key(|(at, _)| *at);
        seen.dedup_by_key(|(at, _)| *at);
        Reach(seen.into_iter().map(|(_, k)| k).collect())
    }

    /// No user and not the namespace holds more than its limits allow
    /// (the only users here are unprivileged, so every limit binds them).
    fn check_limits(&self) {
        let acct = &self.k.ipc().acct;
        let limits = acct.limits();
        for uid in 1000..1004 {
            let u = acct.usage(uid);
            for (held, max) in u.objects.iter().zip(limits.per_user_objects) {
                assert!(
                    *held <= max,
                    "user {uid} holds {held} objects over its limit {max}"
                );
            }
            for (held, max) in u.amounts.iter().zip(limits.per_user_amounts) {
                assert!(*held <= max, "user {uid} holds {held} over its limit {max}");
            }
        }
    }

    fn remember(&mut self, v: usize) {
        if self.seen.len() < 64 {
            self.seen.push(v);
        }
    }

    /// Runs `nr` on a new task of process `me`, and waits until it has
    /// parked or returned.
    fn spawn(&mut self, me: usize, nr: usize, a: [usize; 6]) {
        self.reap();
        if self.threads.len() >= MAX_THREADS {
            return;
        }
        let (mut effect, reads) = self.effect_of(me, nr, &a);
        let timeout = self.deadline_of(me, nr, &a);
        let (k, p) = (self.k.clone(), self.procs[me].p.clone());
        let (entered, is_in) = std::sync::mpsc::channel();
        let ret = Ret::default();
        let out = ret.clone();
        // The task (and its guard) ends before the worker reports the job
        // finished: the process's exit then sees this task gone.
        let t = pool::run(move || {
            let _task = k.enter(&p);
            let _ = entered.send(k.current_task());
            let r = sys(&k, nr, a);
            *out.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        });
        let proc = self.procs[me].p.clone();
        // The task exists once the thread has entered the process: only
        // then may the next operation make that process exit.
        let Ok(task) = is_in.recv() else {
            self.threads.push(Flight {
                proc,
                run: t,
                effect,
                ret,
                deadline: None,
            });
            return;
        };
        // Until this call's own task has slept once (it blocked) or ended:
        // a count of all parked tasks would also move when another task
        // wakes, and then only the bound ended the wait. The hosted kernel
        // wakes this wait when a task sleeps or ends (no spinning, which
        // took the CPU the call needed on a loaded machine).
        let settled = self.k.wait_task_sleeps(task, 1, SETTLE);
        // The call has read its arguments by now (unless the bound ended
        // the wait); if their memory changed meanwhile, what the model
        // worked out from it is not known.
        if self.changed(&reads) || (!settled && !reads.is_empty()) {
            self.model.poison(&mut effect);
        }
        // A timeout whose bytes changed, or that the call may not have
        // read yet: its deadline is not known.
        let deadline = timeout
            .filter(|(_, _, r)| settled && !self.changed(r))
            .map(|(clock, at, _)| (clock, at));
        let mut run = t;
        // A call that returned: its worker reports it in microseconds, and
        // its effect is applied now, in step order.
        if self.k.task_sleeps(task).is_none() {
            run.wait(SETTLE);
        }
        self.threads.push(Flight {
            proc,
            run,
            effect,
            ret,
            deadline,
        });
        self.reap();
    }

    /// Ends the machine: every process exits, every blocked call must end
    /// within `DRAIN`, every object is removed, and then nothing may be
    /// left charged, parked or registered.
    pub fn teardown(mut self) {
        for p in std::mem::take(&mut self.procs) {
            self.k.exit_process(&p.p);
            self.exited.push(p.p);
        }
        self.k.advance(1 << 50);
        let start = Instant::now();
        for mut f in std::mem::take(&mut self.threads) {
            assert!(
                f.run.wait(DRAIN.saturating_sub(start.elapsed())),
                "a blocked call did not end after its process exited (lost wake-up or deadlock)"
            );
            if let Err(panic) = f.run.join() {
                std::panic::resume_unwind(panic);
            }
        }
        for p in &self.exited {
            assert!(p.has_exited(), "process {} never finished exiting", p.pid());
        }
        self.remove_everything();
        let ipc = self.k.ipc();
        assert_eq!(self.k.parked_tasks(), 0, "a task is still parked");
        assert!(
            ipc.processes.is_empty(),
            "per-process IPC state outlived its process"
        );
        assert!(ipc.sems.is_empty(), "a named semaphore outlived clear");
        assert!(ipc.mqueues.is_empty(), "a message queue outlived clear");
        // Every timerfd is closed with its process: no armed entry and no
        // reserved slot may outlive it (a leak here grows the queue that
        // every expiry walks).
        assert_eq!(
            ipc.timers.entries(),
            0,
            "a timer entry outlived its timerfd"
        );
        assert_eq!(ipc.timers.slots(), 0, "a timer slot outlived its timerfd");
        let left = ipc.acct.outstanding();
        assert!(
            left.is_zero(),
            "accounting did not return to zero: {left:?}"
        );
        assert_eq!(
            self.k.memory().pages(),
            0,
            "a named semaphore's page outlived every process and name"
        );
    }

    /// Removes every named and SysV object, as `ipcrm -a` and unlinking
    /// every name would.
    fn remove_everything(&self) {
        self.k.ipc().sems.clear();
        self.k.ipc().mqueues.clear();
        self.k.ipc().sysv.remove_all(&*self.k);
    }
}

/// The kinds of the distinct objects reachable from fds.
struct Reach(Vec<FileKind>);

impl Reach {
    fn of(&self, kind: FileKind) -> usize {
        self.0.iter().filter(|k| **k == kind).count()
    }
}

/// Makes a call that could block return at once, where the harness knows
/// how; false if it does not (the call then runs on a thread of its own).
fn make_nonblocking(nr: usize, a: &mut [usize; 6]) -> bool {
    match nr {
        SYS_RB_SEM_WAIT => a[1] = (a[1] & SemFlags::REF_FD.bits()) | SemFlags::TRY.bits(),
        SYS_RB_MSGSND => a[3] |= IPC_NOWAIT as usize,
        SYS_RB_MSGRCV => a[4] |= IPC_NOWAIT as usize,
        SYS_RB_FUTEX_WAKE
        | SYS_RB_FUTEX_REQUEUE
        | SYS_RB_FUTEX_CMP_REQUEUE
        | SYS_RB_SEM_INIT
        | SYS_RB_SEM_POST
        | SYS_RB_SEM_GETVALUE
        | SYS_RB_SEM_OPEN
        | SYS_RB_SEM_UNLINK
        | SYS_RB_SEM_MAP
        | SYS_RB_SEM_UNMAP
        | SYS_RB_MQ_OPEN
        | SYS_RB_MQ_UNLINK
        | SYS_RB_MQ_GETSETATTR
        | SYS_RB_MQ_NOTIFY
        | SYS_RB_MSGGET
        | SYS_RB_MSGCTL
        | SYS_RB_SEMGET
        | SYS_RB_SEMCTL
        | SYS_RB_EVENTFD2
        | SYS_RB_SIGNALFD4
        | SYS_RB_TIMERFD_CREATE
        | SYS_RB_TIMERFD_SETTIME
        | SYS_RB_TIMERFD_GETTIME => {}
        // Not ours: ENOSYS at once.
        n if !is_ours(n) => {}
        _ => return false,
    }
    true
}
