//! The simulated machine a fuzz input runs on, and the invariants it
//! checks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::{ClockMode, HostedKernel, Process, Visibility};
use redbear_ipc::ipc::common::file::FileKind;
use redbear_ipc::ipc::common::limits::{ObjectKind, Resource, Usage};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::kernel::{Credentials, Kernel, Pid};
use redbear_ipc::syscall::abi::{SemFlags, IPC_NOWAIT};
use redbear_ipc::syscall::dispatch;
use redbear_ipc::syscall::numbers::*;

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

/// One simulated machine.
pub struct World {
    k: Arc<HostedKernel>,
    procs: Vec<Proc>,
    exited: Vec<Arc<Process>>,
    shared: usize,
    /// Calls on workers, with the pid of the process they run in.
    threads: Vec<(Pid, Running)>,
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
            seen: Vec::new(),
        };
        w.add(w.k.spawn_process(Credentials::new(1000, 1000)));
        w.add(w.k.spawn_process(Credentials::new(1001, 1001)));
        w
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
        // A process a signal killed is gone: nothing may run in it.
        let (live, dead): (Vec<Proc>, Vec<Proc>) = std::mem::take(&mut self.procs)
            .into_iter()
            .partition(|p| !p.p.is_exiting());
        self.procs = live;
        let killed = !dead.is_empty();
        self.exited.extend(dead.into_iter().map(|p| p.p));
        if killed {
            self.end_exited_calls();
        }
        match op {
            Op::Call { who, nr, args } => {
                let Some(me) = self.pick(*who) else { return };
                let (nr, mut a) = self.regs(me, *nr, args);
                if make_nonblocking(nr, &mut a) {
                    let _g = self.k.enter(&self.procs[me].p);
                    if let Ok(v) = sys(&self.k, nr, a) {
                        self.remember(v);
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
                let _g = self.k.enter(&self.procs[me].p);
                match what {
                    FileOp::Read | FileOp::Write if self.k.set_nonblocking(fd, true).is_ok() => {
                        let _ = if matches!(what, FileOp::Read) {
                            self.k.read(fd, buf, len)
                        } else {
                            self.k.write(fd, buf, len)
                        };
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
                self.k.send_signal(&self.procs[t].p, 1 + *sig as u32 % 64);
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
                self.exited.push(gone.p);
                self.end_exited_calls();
            }
            Op::Groups { who, ids } => {
                let Some(me) = self.pick(*who) else { return };
                let ids: Vec<u32> = ids.iter().map(|g| 1000 + *g as u32 % 8).collect();
                let _ = self.procs[me].p.set_groups(&ids);
            }
            Op::SetRealtime { secs } => self.k.set_realtime(*secs as u64 * 1_000_000_000),
        }
        self.reap();
        assert!(
            self.k.parked_tasks() <= self.threads.len(),
            "more tasks parked than calls on threads"
        );
        self.check_limits();
        self.check_accounting();
    }

    /// Drops the calls that have returned; re-raises a panic of one.
    fn reap(&mut self) {
        let mut panicked = None;
        self.threads.retain_mut(|(_, t)| {
            if !t.is_finished() {
                return true;
            }
            if let Some(Err(p)) = t.take() {
                panicked.get_or_insert(p);
            }
            false
        });
        if let Some(p) = panicked {
            std::panic::resume_unwind(p);
        }
    }

    /// Every call of an exited (or killed) process must end within
    /// `DRAIN`, and then the process must have finished exiting: checked
    /// right after the exit, not only at the end of the input.
    fn end_exited_calls(&mut self) {
        let start = Instant::now();
        for (pid, t) in &mut self.threads {
            if self.exited.iter().any(|p| p.pid() == *pid) {
                assert!(
                    t.wait(DRAIN.saturating_sub(start.elapsed())),
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
        let (k, p) = (self.k.clone(), self.procs[me].p.clone());
        let (entered, is_in) = std::sync::mpsc::channel();
        // The task (and its guard) ends before the worker reports the job
        // finished: the process's exit then sees this task gone.
        let t = pool::run(move || {
            let _task = k.enter(&p);
            let _ = entered.send(k.current_task());
            let _ = sys(&k, nr, a);
        });
        // The task exists once the thread has entered the process: only
        // then may the next operation make that process exit.
        let pid = self.procs[me].p.pid();
        let Ok(task) = is_in.recv() else {
            self.threads.push((pid, t));
            return;
        };
        // Until this call's own task has slept once (it blocked) or ended:
        // a count of all parked tasks would also move when another task
        // wakes, and then only the bound ended the wait. The hosted kernel
        // wakes this wait when a task sleeps or ends (no spinning, which
        // took the CPU the call needed on a loaded machine).
        self.k.wait_task_sleeps(task, 1, SETTLE);
        self.threads.push((pid, t));
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
        for (_, mut t) in std::mem::take(&mut self.threads) {
            assert!(
                t.wait(DRAIN.saturating_sub(start.elapsed())),
                "a blocked call did not end after its process exited (lost wake-up or deadlock)"
            );
            if let Err(panic) = t.join() {
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
