//! Tasks (threads of a process) and the round-robin scheduler, on every
//! CPU.
//!
//! Each CPU runs a scheduler loop (`run_until`; the boot CPU's is the
//! runner's, the others' is `secondary_loop`) on its own boot stack in its
//! own context; a task gives the CPU back by switching to that CPU's
//! context (`switch_to_scheduler`) and the loop picks the next runnable
//! task from the one global run queue (under `SCHED`), so any task runs on
//! any CPU. The kernel runs with interrupts off, so a task only loses its
//! CPU where it calls in here: blocking (`park`), yielding, exiting, or at
//! a timer tick taken in user mode.
//!
//! SMP rules (docs/design.md, "The testbed on several CPUs"):
//! - A task whose state says Blocked or Runnable may still be running on
//!   its old CPU until its `switch` away has saved its context; `on_cpu`
//!   says so, and a CPU that picks the task waits for it to clear before
//!   switching in.
//! - A park marks the task Blocked under `SCHED` first and looks for
//!   pending signals after, so a signal queued on another CPU in between
//!   is either seen or finds the task Blocked and wakes it.
//! - A wake-up that queues a task kicks one idle CPU (`arch::wake_cpu`);
//!   idle CPUs announce themselves in `IDLE` before their last look at the
//!   run queue.
//! - Virtual time jumps only when no CPU runs a task, nothing is queued
//!   and no scheduler loop is between taking a due itimer and queuing its
//!   signal (checked under `SCHED` with the run epoch, which every start
//!   and end of a run and every itimer expiry moves, unchanged since
//!   before the look at the itimers). It jumps to the earliest task
//!   deadline or itimer; only the runner's CPU jumps to the runner's
//!   deadline (its program hangs), which caps every other jump.
//!
//! Lock order: `process::PROCS` before `SCHED`. Never switch while holding
//! either. Every lock is taken with interrupts masked (the kernel never
//! unmasks them), so no interrupt handler can meet a lock its CPU holds.

use alloc::boxed::Box;
use alloc::collections::{BinaryHeap, VecDeque};
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use spin::Mutex;

use crate::arch::{self, TaskContext, MAX_CPUS};
use crate::clock;
use crate::process::{self, Pid};
use crate::tidmap::TidMap;
use testbed_abi::errno::EINVAL;

pub type Tid = u64;

/// Size of each task's kernel stack.
pub const KSTACK_SIZE: usize = 64 * 1024;
/// Written at the bottom of every kernel stack and checked after each run
/// of the task: an overflow is reported instead of corrupting the heap
/// silently.
const STACK_CANARY: u64 = 0x5ca1_ab1e_dead_beef;
const CANARY_WORDS: usize = 8;
/// Most tasks alive at once: bounds what user programs can take from the
/// kernel heap (each task holds a kernel stack), so spawning fails with
/// EAGAIN long before an allocation could fail (1100 stacks are 69 MiB of
/// the 128 MiB heap at 512 MiB of RAM; room for the 1000-waiter benchmark).
/// On a smaller heap the bound is what leaves `heap::RESERVE` free, so the
/// refusal still comes before any allocation could fail.
/// `TESTBED_MAX_TASKS` raises it at build time, with a larger heap
/// (`crate::knobs`; ci/bench's 10 000-waiter curves).
pub const MAX_TASKS: usize = crate::knobs::MAX_TASKS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Made but not started (`start`): its process lists it first.
    New,
    Runnable,
    Running,
    Blocked,
    Dead,
}

/// Who may unpark a parked task. redbear-ipc's `Kernel::park`/`unpark`
/// and the testbed's own waits (sleep, process and thread waits, poll)
/// keep separate permits, so a stale wake-up of one never ends a wait of
/// the other (the `Kernel::unpark` contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    /// `Kernel::park` / `Kernel::unpark`.
    Ipc = 0,
    /// The testbed's own waits.
    Host = 1,
}

/// Why `park` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    Unparked,
    TimedOut,
    Interrupted,
}

pub struct Task {
    pub tid: Tid,
    pub pid: Pid,
    ctx: TaskContext,
    /// Its context is in use by a CPU: set by the CPU that switches in,
    /// cleared by it once the switch away has saved the context.
    on_cpu: AtomicBool,
    kstack: Box<[u8]>,
    state: State,
    /// An `unpark` arrived while the task was not parked on that channel.
    permit: [bool; 2],
    /// The channel of the current park.
    parked_on: Channel,
    /// Deadline of the current park.
    deadline: Option<clock::Deadline>,
    /// Counts its parks with a deadline: names the current one's entry
    /// in `Sched::timed` (an older entry is stale).
    timed_parks: u64,
    wake: Wake,
    /// Set when the process is being torn down: the task exits at its next
    /// return towards user mode.
    killed: bool,
    /// Blocked signals (per thread, as on Linux).
    sigmask: u64,
    /// Thread-directed standard signals (THREAD_KILL), one instance each.
    thread_pending: u64,
    /// The mask to restore after the handler a SIGSUSPEND waited for (or
    /// at its return when none ran).
    saved_mask: Option<u64>,
    /// The alternate signal stack (SIGALTSTACK): (base, size), size 0
    /// when disabled. A new thread has none; a FORK child keeps its
    /// parent thread's; EXEC drops it.
    altstack: (usize, usize),
    status: i32,
    /// Times a CPU switched into this task (CPU_INFO 2: a program proves
    /// it never left its CPU during a stretch of user code).
    switch_ins: u64,
    /// The CPU that last picked it (the timeout report's).
    last_cpu: usize,
    /// Hardware nanoseconds it ran, its current run not included
    /// (CLOCK_THREAD_CPUTIME_ID).
    cpu_ns: u64,
}

struct Sched {
    tasks: TidMap<Box<Task>>,
    runq: VecDeque<Tid>,
    next_tid: Tid,
    /// CPUs running a task now: from the pick until the work after its
    /// return (reaping, waking its joiners) is done.
    busy: usize,
    /// Counts every pick and every end of a run: an idle CPU's time jump
    /// is void if it moved. Both, because a task that runs while the idle
    /// CPU reads what is outside `SCHED` (the itimers) can arm one there,
    /// and may have stopped by the time the CPU checks `busy`: a task
    /// that was running at the first read and is not at the check moved
    /// the epoch by stopping (the missed ITIMER_REAL of a task that armed
    /// it and blocked meanwhile sent the clock to the runner's deadline).
    /// An itimer's expiry by a scheduler loop moves it too (`expiry_end`).
    epoch: u64,
    /// Blocked tasks' deadlines, earliest first: monotonic ones at 0,
    /// realtime ones at 1 (a clock_settime moves them all alike, so their
    /// order holds). A tick or a loop turn looks only at the front, not at
    /// every task (a wake among 10 000 sleepers cost a walk of all of
    /// them per turn).
    timed: [BinaryHeap<Reverse<Timed>>; 2],
}

/// One park with a deadline. An entry whose task woke otherwise or parked
/// again is stale: skipped where it is met at the front, and swept when
/// its heap is full, so a push never allocates (each heap's room is
/// reserved at twice the most tasks, and at most one entry per task is
/// current).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timed {
    at_ns: u64,
    tid: Tid,
    park: u64,
}

/// Each deadline heap's reserved room.
const TIMED_ROOM: usize = 2 * (MAX_TASKS + 1);

impl Timed {
    /// Whether this is `tid`'s current park.
    fn current(&self, tasks: &TidMap<Box<Task>>) -> bool {
        tasks.get(&self.tid).is_some_and(|t| {
            t.state == State::Blocked && t.deadline.is_some() && t.timed_parks == self.park
        })
    }
}

impl Sched {
    /// Records that `tid` (now Blocked with `d`) parks until `d`.
    fn add_timed(&mut self, tid: Tid, d: clock::Deadline) {
        let Some(t) = self.tasks.get_mut(&tid) else {
            return;
        };
        t.timed_parks += 1;
        let entry = Timed {
            at_ns: d.at_ns,
            tid,
            park: t.timed_parks,
        };
        let tasks = &self.tasks;
        let heap = &mut self.timed[d.realtime as usize];
        if heap.len() == heap.capacity() {
            heap.retain(|Reverse(e)| e.current(tasks));
        }
        heap.push(Reverse(entry));
    }

    /// The front of heap `clock` once its stale entries are dropped.
    fn first_timed(&mut self, clock: usize) -> Option<Timed> {
        while let Some(&Reverse(e)) = self.timed[clock].peek() {
            if e.current(&self.tasks) {
                return Some(e);
            }
            self.timed[clock].pop();
        }
        None
    }

    /// The earliest blocked task's deadline, as monotonic time.
    fn earliest_deadline(&mut self) -> Option<u64> {
        let mono = self.first_timed(0).map(|e| e.at_ns);
        let rt = self.first_timed(1).map(|e| {
            clock::Deadline {
                realtime: true,
                at_ns: e.at_ns,
            }
            .as_mono()
        });
        mono.into_iter().chain(rt).min()
    }

    /// Makes every blocked task whose deadline passed runnable; whether
    /// one was.
    fn wake_expired(&mut self) -> bool {
        let mut woke = false;
        for clock in 0..2 {
            while let Some(e) = self.first_timed(clock) {
                let d = clock::Deadline {
                    realtime: clock == 1,
                    at_ns: e.at_ns,
                };
                if !d.expired() {
                    break;
                }
                self.timed[clock].pop();
                if let Some(t) = self.tasks.get_mut(&e.tid) {
                    t.state = State::Runnable;
                    t.wake = Wake::TimedOut;
                    t.deadline = None;
                    self.runq.push_back(e.tid);
                    woke = true;
                }
            }
        }
        woke
    }

    /// A CPU stopped running a task (after the work that follows it).
    fn end_run(&mut self) {
        self.busy -= 1;
        self.epoch += 1;
    }
}

static SCHED: Mutex<Sched> = Mutex::new(Sched {
    tasks: TidMap::new(),
    runq: VecDeque::new(),
    next_tid: 1,
    busy: 0,
    epoch: 0,
    timed: [BinaryHeap::new(), BinaryHeap::new()],
});
/// Counts every change that can give a task something to do on its way
/// back to user mode: a signal queued (to a process or a thread) or made
/// pending again, a signal mask or SIGSUSPEND's saved mask replaced, a
/// task killed. `trap::leave` skips its lookups while this has not moved
/// since the running task last found nothing to do. One for all CPUs: a
/// change made on another CPU is counted after it is visible, so a CPU
/// that reads the old count only defers the task's look to a later return
/// (its next trap or tick). A signal for a task running on another CPU
/// is counted before `notify_running` sends that CPU its IPI (the arch's
/// send orders earlier stores first), so the IPI's return sees it.
static SIGNAL_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Per-CPU slots, indexed by `arch::cpu_index()`.
struct PerCpu {
    /// The task running on this CPU; 0 while its scheduler loop runs.
    current: AtomicU64,
    /// That task's pid (a task's pid never changes), so the per-syscall
    /// lookups need no scheduler lock.
    pid: AtomicU32,
    /// This CPU's scheduler loop's saved context.
    ctx: AtomicPtr<TaskContext>,
    /// Task runs this CPU made (the runner's last line reports them).
    runs: AtomicU64,
    /// Turns of this CPU's scheduler loop (a timed-out test's report).
    turns: AtomicU64,
    /// `SIGNAL_EVENTS` when this CPU's running task last left for user
    /// mode with nothing to do; `u64::MAX` (never reached) after every
    /// switch, so a task's first return after it was scheduled always looks.
    quiet_at: AtomicU64,
    /// This CPU's system call count (`traps[Trap::Syscall]`) when the
    /// running task was scheduled: the difference is what the task made
    /// since, counted without the process lock and added to its
    /// process's count when it switches back (`run`).
    syscalls_at_run: AtomicU64,
    /// The last system call number and the user pc of the last tick taken
    /// in user mode (a timed-out test's report says where a task spins).
    last_syscall: AtomicU64,
    last_user_pc: AtomicU64,
    /// Hardware time at which the running task was switched in.
    run_since: AtomicU64,
    /// What this CPU's traps from user mode did, by `Trap` (the timeout
    /// report samples them twice: what a stuck CPU keeps doing).
    traps: [AtomicU64; TRAP_KINDS],
}

/// The kinds of trap work `count_trap` counts per CPU.
#[derive(Clone, Copy)]
pub enum Trap {
    /// A tick taken in user mode.
    Tick,
    /// A wake-up IPI taken in user mode.
    Wake,
    /// A return to user mode that looked at the signals.
    Lookup,
    /// A signal taken off a pending set on the way back.
    Taken,
    /// A handler frame written.
    Frame,
    /// A system call.
    Syscall,
}
const TRAP_KINDS: usize = 6;
const TRAP_NAMES: [&str; TRAP_KINDS] = ["ticks", "wakes", "lookups", "taken", "frames", "syscalls"];

static PER_CPU: [PerCpu; MAX_CPUS] = [const {
    PerCpu {
        current: AtomicU64::new(0),
        pid: AtomicU32::new(0),
        ctx: AtomicPtr::new(core::ptr::null_mut()),
        runs: AtomicU64::new(0),
        turns: AtomicU64::new(0),
        quiet_at: AtomicU64::new(u64::MAX),
        syscalls_at_run: AtomicU64::new(0),
        last_syscall: AtomicU64::new(0),
        last_user_pc: AtomicU64::new(0),
        run_since: AtomicU64::new(0),
        traps: [const { AtomicU64::new(0) }; TRAP_KINDS],
    }
}; MAX_CPUS];

/// Task runs (switches into a task) made by each of the first `n` CPUs.
pub fn runs_per_cpu(n: usize) -> Vec<u64> {
    PER_CPU
        .iter()
        .take(n)
        .map(|c| c.runs.load(Ordering::Relaxed))
        .collect()
}

/// CPUs in their idle wait (bit = cpu index).
static IDLE: AtomicU64 = AtomicU64::new(0);
/// The runner's deadline: no other CPU's idle time jump goes past it,
/// and only the runner's own jumps to it (when its program hangs): an
/// other CPU that did could leap past a program that had just ended
/// before the runner looked, as a timeout or as 10 s spent.
static RUNNER_DEADLINE: AtomicU64 = AtomicU64::new(u64::MAX);

fn this_cpu() -> &'static PerCpu {
    &PER_CPU[arch::cpu_index()]
}

/// The scheduler state of the boot CPU; each other CPU calls
/// `init_this_cpu` before its loop.
pub fn init() {
    // A task is on the run queue at most once, so this capacity means
    // wake-ups (unpark, deadlines) never allocate.
    let mut s = SCHED.lock();
    s.runq.reserve(MAX_TASKS + 1);
    // And this that parking with a deadline never does.
    for heap in &mut s.timed {
        heap.reserve_exact(TIMED_ROOM);
    }
    // The task table's array, once (it never grows; should this fail, the
    // first spawn tries again and fails alone).
    let _ = s.tasks.reserve(MAX_TASKS);
    drop(s);
    init_this_cpu();
}

/// The calling CPU's scheduler context.
pub fn init_this_cpu() {
    let ctx = Box::leak(Box::new(TaskContext::default()));
    this_cpu().ctx.store(ctx, Ordering::Release);
}

/// Counts a system call of the running task.
pub fn count_syscall(num: usize) {
    let cpu = this_cpu();
    cpu.traps[Trap::Syscall as usize].fetch_add(1, Ordering::Relaxed);
    cpu.last_syscall.store(num as u64, Ordering::Relaxed);
}

/// Records the user pc a tick interrupted (the timeout report's).
pub fn note_user_pc(pc: usize) {
    this_cpu().last_user_pc.store(pc as u64, Ordering::Relaxed);
}

/// Counts one `what` of this CPU (the timeout report's).
pub fn count_trap(what: Trap) {
    this_cpu().traps[what as usize].fetch_add(1, Ordering::Relaxed);
}

fn trap_counts(c: &PerCpu) -> [u64; TRAP_KINDS] {
    core::array::from_fn(|i| c.traps[i].load(Ordering::Relaxed))
}

/// The running task's system calls not yet added to its process's count.
pub fn uncounted_syscalls() -> u64 {
    let cpu = this_cpu();
    cpu.traps[Trap::Syscall as usize].load(Ordering::Relaxed)
        - cpu.syscalls_at_run.load(Ordering::Relaxed)
}

/// Records a change `SIGNAL_EVENTS` counts (see there).
pub fn signal_event() {
    SIGNAL_EVENTS.fetch_add(1, Ordering::SeqCst);
}

/// The `SIGNAL_EVENTS` count now, read before a return to user mode looks
/// at the task's signal state.
pub fn signal_events() -> u64 {
    SIGNAL_EVENTS.load(Ordering::SeqCst)
}

/// Whether nothing counted has happened since the running task last left
/// with nothing to do, at count `events` (then there is nothing to do).
pub fn quiet_since(events: u64) -> bool {
    this_cpu().quiet_at.load(Ordering::Relaxed) == events
}

/// The running task found nothing to do at count `events`.
pub fn set_quiet(events: u64) {
    this_cpu().quiet_at.store(events, Ordering::Relaxed);
}

/// Hardware nanoseconds the running task has been on this CPU since it
/// was last switched in.
pub fn current_run_ns() -> u64 {
    arch::monotonic_ns().saturating_sub(this_cpu().run_since.load(Ordering::Relaxed))
}

/// CLOCK_THREAD_CPUTIME_ID of the running task: its past runs and this one.
pub fn current_thread_cpu_ns() -> u64 {
    let past = SCHED.lock().tasks.get(&current()).map_or(0, |t| t.cpu_ns);
    past.saturating_add(current_run_ns())
}

/// The running task, 0 in the scheduler loop.
pub fn current() -> Tid {
    this_cpu().current.load(Ordering::Relaxed)
}

/// A new task of process `pid` that enters user mode at `entry` with
/// stack `sp` and `arg` once `start`ed (so another CPU cannot run it, or
/// see it end, before its process records it). None when memory is short
/// or MAX_TASKS live.
pub fn spawn(pid: Pid, entry: usize, sp: usize, arg: usize, sigmask: u64) -> Option<Tid> {
    add_task(pid, sigmask, |top| {
        TaskContext::new_user(top, entry, sp, arg)
    })
}

/// A new task of process `pid` that enters user mode with a copy of
/// `frame` (FORK's child) once `start`ed.
pub fn spawn_copy(pid: Pid, frame: &arch::TrapFrame, sigmask: u64) -> Option<Tid> {
    let tid = add_task(pid, sigmask, |top| TaskContext::fork_of(top, frame))?;
    let alt = current_altstack();
    set_altstack_of(tid, alt);
    Some(tid)
}

/// The running task's alternate signal stack: (base, size), size 0 when
/// disabled.
pub fn current_altstack() -> (usize, usize) {
    SCHED
        .lock()
        .tasks
        .get(&current())
        .map_or((0, 0), |t| t.altstack)
}

/// Sets task `tid`'s alternate signal stack.
pub fn set_altstack_of(tid: Tid, alt: (usize, usize)) {
    if let Some(t) = SCHED.lock().tasks.get_mut(&tid) {
        t.altstack = alt;
    }
}

fn add_task(pid: Pid, sigmask: u64, ctx: impl FnOnce(usize) -> TaskContext) -> Option<Tid> {
    if SCHED.lock().tasks.len() >= MAX_TASKS || !crate::heap::has_room_for(KSTACK_SIZE) {
        return None;
    }
    let mut stack: Vec<u8> = Vec::new();
    stack.try_reserve_exact(KSTACK_SIZE).ok()?;
    stack.resize(KSTACK_SIZE, 0);
    for w in stack[..CANARY_WORDS * 8].chunks_exact_mut(8) {
        w.copy_from_slice(&STACK_CANARY.to_ne_bytes());
    }
    let stack = stack.into_boxed_slice();
    let top = stack.as_ptr() as usize + KSTACK_SIZE;
    let ctx = ctx(top);
    let mut s = SCHED.lock();
    let tid = s.next_tid;
    s.next_tid += 1;
    let task = Box::new(Task {
        tid,
        pid,
        ctx,
        on_cpu: AtomicBool::new(false),
        kstack: stack,
        state: State::New,
        permit: [false; 2],
        parked_on: Channel::Host,
        deadline: None,
        timed_parks: 0,
        wake: Wake::Unparked,
        killed: false,
        sigmask,
        thread_pending: 0,
        saved_mask: None,
        altstack: (0, 0),
        status: 0,
        switch_ins: 0,
        last_cpu: usize::MAX,
        cpu_ns: 0,
    });
    s.tasks.insert(tid, task, MAX_TASKS).ok()?;
    Some(tid)
}

/// Lets a task made by `spawn` or `spawn_copy` run.
pub fn start(tid: Tid) {
    let mut s = SCHED.lock();
    if let Some(t) = s.tasks.get_mut(&tid).filter(|t| t.state == State::New) {
        t.state = State::Runnable;
        s.runq.push_back(tid);
        kick_idle();
    }
}

/// Tasks not yet reaped.
pub fn task_count() -> usize {
    SCHED.lock().tasks.len()
}

/// The running task's signal mask (0 outside a task).
pub fn current_sigmask() -> u64 {
    sigmask_of(current()).unwrap_or(0)
}

/// Task `tid`'s signal mask.
pub fn sigmask_of(tid: Tid) -> Option<u64> {
    SCHED.lock().tasks.get(&tid).map(|t| t.sigmask)
}

/// Replaces the running task's signal mask; returns the old one.
pub fn set_current_sigmask(f: impl FnOnce(u64) -> u64) -> u64 {
    let tid = current();
    let mut s = SCHED.lock();
    match s.tasks.get_mut(&tid) {
        Some(t) => {
            let old = t.sigmask;
            t.sigmask = f(old);
            if t.sigmask != old {
                signal_event();
            }
            old
        }
        None => 0,
    }
}

/// Makes `sig` pending for thread `tid` of process `pid` only and
/// interrupts it unless it blocks the signal; false if no such thread.
pub fn thread_kill(pid: Pid, tid: Tid, sig: usize) -> bool {
    let mut s = SCHED.lock();
    let Some(t) = s
        .tasks
        .get_mut(&tid)
        .filter(|t| t.pid == pid && t.state != State::Dead)
    else {
        return false;
    };
    let bit = 1u64 << (sig - 1);
    t.thread_pending |= bit;
    signal_event();
    if t.sigmask & bit == 0 && !make_runnable(&mut s, tid, Wake::Interrupted) {
        notify_running(&s, tid);
    }
    true
}

/// The running task's thread-directed pending signals.
pub fn current_thread_pending() -> u64 {
    SCHED
        .lock()
        .tasks
        .get(&current())
        .map_or(0, |t| t.thread_pending)
}

/// Dequeues the running task's lowest thread-directed signal in `set`.
pub fn take_thread_signal(set: u64) -> Option<usize> {
    let mut s = SCHED.lock();
    let t = s.tasks.get_mut(&current())?;
    let hit = t.thread_pending & set;
    if hit == 0 {
        return None;
    }
    let low = hit & hit.wrapping_neg();
    t.thread_pending &= !low;
    Some(hit.trailing_zeros() as usize + 1)
}

/// Records the mask a SIGSUSPEND replaced (None: takes it back).
pub fn swap_saved_mask(m: Option<u64>) -> Option<u64> {
    if m.is_some() {
        signal_event();
    }
    let mut s = SCHED.lock();
    s.tasks
        .get_mut(&current())
        .and_then(|t| core::mem::replace(&mut t.saved_mask, m))
}

/// Whether the running task has been killed, and its signal mask: the two
/// things the return to user mode checks, in one lookup.
pub fn current_killed_and_mask() -> (bool, u64) {
    let tid = current();
    SCHED
        .lock()
        .tasks
        .get(&tid)
        .map_or((false, 0), |t| (t.killed, t.sigmask))
}

/// One `# ` line per task of `pids` (state, channel, permits, deadline):
/// what a timed-out test was waiting for.
pub fn describe_tasks(pids: &[Pid]) {
    let s = SCHED.lock();
    // Every task (only the program's should be left), so a task running
    // outside the program's processes shows too.
    for t in s.tasks.values() {
        println!(
            "# task {} pid {}{}: {:?} on {:?}, permits {:?}, deadline {:?}, on a CPU {} (last cpu {}, {} switch-ins, killed {})",
            t.tid,
            t.pid,
            if pids.contains(&t.pid) { "" } else { " (not the program's)" },
            t.state,
            t.parked_on,
            t.permit,
            t.deadline,
            t.on_cpu.load(Ordering::Relaxed),
            t.last_cpu,
            t.switch_ins,
            t.killed
        );
    }
    println!(
        "# run queue {:?}, busy CPUs {}, idle mask {:#x}",
        s.runq,
        s.busy,
        IDLE.load(Ordering::Relaxed)
    );
    let online = ONLINE.load(Ordering::Relaxed);
    let before: Vec<[u64; TRAP_KINDS]> = PER_CPU.iter().take(online).map(trap_counts).collect();
    drop(s);
    // What each CPU does meanwhile: a CPU stuck in the kernel with
    // interrupts masked counts nothing, one stuck in a loop through user
    // mode counts its kind of trap.
    spin_ns(20_000_000);
    for (i, c) in PER_CPU.iter().enumerate().take(online) {
        println!(
            "# cpu {}: task {} pid {}, {} runs, {} loop turns, last syscall {}, last user pc {:#x}",
            i,
            c.current.load(Ordering::Relaxed),
            c.pid.load(Ordering::Relaxed),
            c.runs.load(Ordering::Relaxed),
            c.turns.load(Ordering::Relaxed),
            c.last_syscall.load(Ordering::Relaxed),
            c.last_user_pc.load(Ordering::Relaxed)
        );
        let after = trap_counts(c);
        let mut line = alloc::format!("# cpu {}: in 20 ms:", i);
        for (k, name) in TRAP_NAMES.iter().enumerate() {
            line.push_str(&alloc::format!(" {} {}", after[k] - before[i][k], name));
        }
        println!("{}; totals {:?}", line, after);
    }
}

/// Number of tasks that belong to `pid` and have not been reaped.
pub fn live_tasks_of(pids: &[Pid]) -> usize {
    SCHED
        .lock()
        .tasks
        .values()
        .filter(|t| pids.contains(&t.pid))
        .count()
}

fn switch_to_scheduler() {
    let tid = current();
    let ctx: *mut TaskContext = {
        let mut s = SCHED.lock();
        match s.tasks.get_mut(&tid) {
            Some(t) => &mut t.ctx,
            None => panic!("switch_to_scheduler without a current task"),
        }
    };
    // SAFETY: `ctx` lives in the task's Box, which stays in the table until
    // the scheduler reaps the task after it switched away for good (and no
    // other CPU switches into it before this CPU's loop clears `on_cpu`);
    // this CPU's scheduler context was saved by the switch that ran us.
    unsafe { arch::switch(ctx, this_cpu().ctx.load(Ordering::Acquire)) };
}

/// A testbed wait: blocks the running task until `unpark_host`, the
/// monotonic `deadline`, or a signal / kill (permit semantics like
/// `std::thread::park`).
pub fn park(deadline: Option<u64>) -> Wake {
    park_until(Channel::Host, deadline.map(clock::Deadline::mono))
}

/// Blocks until an unpark on `channel`, `deadline` (either clock), or a
/// signal / kill.
pub fn park_until(channel: Channel, deadline: Option<clock::Deadline>) -> Wake {
    let tid = current();
    let pid = current_pid();
    let pending = process::signal_interrupts(pid, current_sigmask());
    let mask = {
        let mut s = SCHED.lock();
        let Some(t) = s.tasks.get_mut(&tid) else {
            return Wake::Interrupted;
        };
        if t.permit[channel as usize] {
            t.permit[channel as usize] = false;
            return Wake::Unparked;
        }
        if t.killed || pending || t.thread_pending & !t.sigmask != 0 {
            return Wake::Interrupted;
        }
        if deadline.is_some_and(|d| d.expired()) {
            return Wake::TimedOut;
        }
        t.state = State::Blocked;
        t.parked_on = channel;
        t.deadline = deadline;
        t.wake = Wake::Unparked;
        let mask = t.sigmask;
        if let Some(d) = deadline {
            s.add_timed(tid, d);
        }
        mask
    };
    // Process-directed signals are looked at again now that the task is
    // Blocked: one queued on another CPU before this look is seen here, one
    // queued after it finds the task Blocked and interrupts it.
    if process::signal_interrupts(pid, mask) {
        let mut s = SCHED.lock();
        if let Some(t) = s.tasks.get_mut(&tid) {
            if t.state == State::Blocked {
                t.state = State::Running;
                t.deadline = None;
                return Wake::Interrupted;
            }
        }
        // Already woken and queued: go through the scheduler as usual.
    }
    switch_to_scheduler();
    let s = SCHED.lock();
    s.tasks.get(&tid).map_or(Wake::Interrupted, |t| t.wake)
}

fn make_runnable(s: &mut Sched, tid: Tid, why: Wake) -> bool {
    let Some(t) = s.tasks.get_mut(&tid) else {
        return false;
    };
    if t.state != State::Blocked {
        return false;
    }
    t.state = State::Runnable;
    t.wake = why;
    t.deadline = None;
    s.runq.push_back(tid);
    kick_idle();
    true
}

/// A task was queued: wake one idle CPU other than this one (an idle CPU
/// sets its `IDLE` bit before its last look at the queue, under `SCHED`,
/// which the caller holds, so it either sees the task or gets the kick).
fn kick_idle() {
    let me = arch::cpu_index();
    let others = IDLE.load(Ordering::SeqCst) & !(1u64 << me);
    if others != 0 {
        arch::wake_cpu(others.trailing_zeros() as usize);
    }
}

/// Wakes `tid` from a park on `channel`, or lets its next park on that
/// channel return at once. Never blocks, never allocates (the run queue's
/// room is reserved).
pub fn unpark_on(channel: Channel, tid: Tid) {
    let mut s = SCHED.lock();
    let parked_here = s
        .tasks
        .get(&tid)
        .is_some_and(|t| t.state == State::Blocked && t.parked_on == channel);
    if parked_here {
        make_runnable(&mut s, tid, Wake::Unparked);
    } else if let Some(t) = s.tasks.get_mut(&tid) {
        if t.state != State::Dead {
            t.permit[channel as usize] = true;
        }
    }
}

/// `Kernel::unpark`.
pub fn unpark(tid: Tid) {
    unpark_on(Channel::Ipc, tid);
}

/// Ends a testbed wait (`park`).
pub fn unpark_host(tid: Tid) {
    unpark_on(Channel::Host, tid);
}

/// Interrupts `tid`'s park (a signal arrived for it), or, if it runs on
/// another CPU, makes that CPU look at its signals now.
pub fn interrupt(tid: Tid) {
    let mut s = SCHED.lock();
    if !make_runnable(&mut s, tid, Wake::Interrupted) {
        notify_running(&s, tid);
    }
}

/// A signal (or a kill) is pending for `tid`: if it is running on another
/// CPU, send that CPU the wake-up IPI, whose handler takes the way back to
/// user mode that looks at pending signals (`trap::on_wake`), so the
/// signal acts within the IPI's latency and not at that CPU's next tick.
/// A task that is in the kernel there gets the IPI when it next enables
/// interrupts (its return to user mode), which looks anyway; a task that
/// left the CPU meanwhile costs the CPU one idle or user-mode return.
fn notify_running(s: &Sched, tid: Tid) {
    if !s.tasks.get(&tid).is_some_and(|t| t.state == State::Running) {
        return;
    }
    let me = arch::cpu_index();
    let online = ONLINE.load(Ordering::Relaxed);
    for (i, c) in PER_CPU.iter().enumerate().take(online) {
        if i != me && c.current.load(Ordering::Relaxed) == tid {
            SIGNAL_IPIS.fetch_add(1, Ordering::Relaxed);
            arch::wake_cpu(i);
        }
    }
}

/// CPUs brought up (`set_online`, once, at boot).
static ONLINE: AtomicUsize = AtomicUsize::new(1);
/// Wake-up IPIs sent for a signal to a task running on another CPU.
static SIGNAL_IPIS: AtomicU64 = AtomicU64::new(0);

/// Records how many CPUs run (main, after `arch::start_secondaries`).
pub fn set_online(cpus: usize) {
    ONLINE.store(cpus, Ordering::Relaxed);
}

/// How many signal IPIs were sent (the runner's last line).
pub fn signal_ipis() -> u64 {
    SIGNAL_IPIS.load(Ordering::Relaxed)
}

/// CPU_INFO(which): 0 the calling task's CPU index, 1 the CPUs online, 2
/// how many times a CPU switched into the calling task; EINVAL otherwise.
pub fn cpu_info(which: usize) -> Result<usize, isize> {
    match which {
        0 => Ok(arch::cpu_index()),
        1 => Ok(ONLINE.load(Ordering::Relaxed)),
        2 => Ok(SCHED
            .lock()
            .tasks
            .get(&current())
            .map_or(0, |t| t.switch_ins as usize)),
        3 => Ok(crate::heap::free()),
        _ => Err(EINVAL),
    }
}

/// Marks `tid` killed and interrupts it: it exits at its next return to
/// user mode.
pub fn kill(tid: Tid) {
    let mut s = SCHED.lock();
    if let Some(t) = s.tasks.get_mut(&tid) {
        t.killed = true;
        signal_event();
    }
    if !make_runnable(&mut s, tid, Wake::Interrupted) {
        notify_running(&s, tid);
    }
}

/// Gives the CPU to the next runnable task, if any.
pub fn yield_now() {
    let tid = current();
    {
        let mut s = SCHED.lock();
        if s.runq.is_empty() {
            return;
        }
        let Some(t) = s.tasks.get_mut(&tid) else {
            return;
        };
        t.state = State::Runnable;
        s.runq.push_back(tid);
    }
    switch_to_scheduler();
}

/// A timer tick arrived: advance time, wake expired sleepers, and hand the
/// running task back to the scheduler loop (ticks only arrive in user mode
/// or the idle loop). Always, even with nothing else runnable, so the loop
/// can check its stop condition and budget against a task that spins.
pub fn on_tick() {
    // Only the boot CPU's tick is the clock's; every CPU's tick preempts.
    if arch::cpu_index() == 0 {
        clock::tick();
    }
    wake_expired();
    let tid = current();
    if tid == 0 {
        return;
    }
    {
        let mut s = SCHED.lock();
        let Some(t) = s.tasks.get_mut(&tid) else {
            return;
        };
        t.state = State::Runnable;
        s.runq.push_back(tid);
    }
    switch_to_scheduler();
}

/// Ends the running task with `status`; the scheduler reaps it.
pub fn exit_current(status: i32) -> ! {
    let tid = current();
    {
        let mut s = SCHED.lock();
        if let Some(t) = s.tasks.get_mut(&tid) {
            t.state = State::Dead;
            t.status = status;
        }
    }
    switch_to_scheduler();
    unreachable!("a dead task was resumed");
}

pub fn current_pid() -> Pid {
    this_cpu().pid.load(Ordering::Relaxed)
}

/// Wakes every blocked task whose deadline passed. Allocates nothing (the
/// run queue has room for every task).
fn wake_expired() {
    let mut s = SCHED.lock();
    if s.wake_expired() {
        kick_idle();
    }
}

/// Runs tasks until `stop()` holds (true) or monotonic `deadline` passes
/// (false). Called by the runner on the boot CPU's boot stack.
pub fn run_until(stop: &dyn Fn() -> bool, deadline: u64) -> bool {
    RUNNER_DEADLINE.store(deadline, Ordering::SeqCst);
    let done = cpu_loop(stop, deadline);
    RUNNER_DEADLINE.store(u64::MAX, Ordering::SeqCst);
    done
}

/// Wakes the boot CPU if it idles: the runner's stop condition (a
/// process ended) may hold now.
pub fn kick_runner() {
    if arch::cpu_index() != 0 && IDLE.load(Ordering::SeqCst) & 1 != 0 {
        arch::wake_cpu(0);
    }
}

/// The scheduler loop of every CPU but the boot CPU: runs tasks forever.
pub fn secondary_loop() -> ! {
    init_this_cpu();
    cpu_loop(&|| false, u64::MAX);
    unreachable!("a secondary CPU's loop has no deadline");
}

/// `TESTBED_STOP_DELAY_US=N` at build time (fault injection for
/// ci/qemu-race's regression checks): the boot CPU spins N microseconds of
/// hardware time between its look at the runner's stop condition and its
/// look at the clock, widening the window in which another CPU's idle time
/// jump can reach the runner's deadline.
const STOP_DELAY_NS: u64 = match option_env!("TESTBED_STOP_DELAY_US") {
    Some(v) => parse_u64(v.as_bytes()) * 1000,
    None => 0,
};

/// `TESTBED_JUMP_DELAY_US=N` (the same): an idle CPU spins N microseconds
/// between its look at the itimers and its check that no task ran
/// meanwhile, widening the window in which a task on another CPU arms
/// an itimer and blocks; and a scheduler loop that expires an itimer
/// spins as long between taking it and queuing its signal.
pub const JUMP_DELAY_NS: u64 = match option_env!("TESTBED_JUMP_DELAY_US") {
    Some(v) => parse_u64(v.as_bytes()) * 1000,
    None => 0,
};

pub fn spin_ns(ns: u64) {
    let until = arch::monotonic_ns() + ns;
    while arch::monotonic_ns() < until {
        core::hint::spin_loop();
    }
}

const fn parse_u64(b: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            n = n * 10 + (b[i] - b'0') as u64;
        }
        i += 1;
    }
    n
}

fn cpu_loop(stop: &dyn Fn() -> bool, deadline: u64) -> bool {
    let bit = 1u64 << arch::cpu_index();
    // Only the runner's loop has a deadline.
    let runner = deadline != u64::MAX;
    loop {
        this_cpu().turns.fetch_add(1, Ordering::Relaxed);
        if stop() {
            return true;
        }
        if STOP_DELAY_NS > 0 && runner {
            spin_ns(STOP_DELAY_NS);
        }
        let now = clock::now();
        wake_expired();
        process::expire_itimers(now);
        if now >= deadline {
            // Look again: another CPU that finished what `stop` waits for
            // (a program's last thread) and then found nothing to run
            // jumps the clock to the runner's deadline, possibly between
            // the look above and the clock read (a program that had ended
            // was reported as a timeout).
            return stop();
        }
        if let Some(tid) = pick() {
            run(tid);
            continue;
        }
        // Idle: announce it before the last look at the queue (`kick_idle`)
        // and at the stop condition (`kick_runner` wakes only an announced
        // CPU: an end between the look above and the announcement would
        // otherwise wait for the next tick).
        IDLE.fetch_or(bit, Ordering::SeqCst);
        if stop() {
            IDLE.fetch_and(!bit, Ordering::SeqCst);
            return true;
        }
        let epoch = SCHED.lock().epoch;
        let itimer = process::earliest_itimer();
        if JUMP_DELAY_NS > 0 {
            spin_ns(JUMP_DELAY_NS);
        }
        let jumped = {
            let mut s = SCHED.lock();
            if !s.runq.is_empty() {
                None
            } else if s.busy == 0 && s.epoch == epoch && EXPIRING.load(Ordering::SeqCst) == 0 {
                // No task runs anywhere, none ran and no itimer fired
                // since the itimer look, and none is firing: nothing can
                // happen before the next deadline.
                // The runner's own deadline; u64::MAX on the other CPUs.
                let mut why = JumpTo::RunnerDeadline;
                let mut at = deadline;
                if let Some(d) = s.earliest_deadline().filter(|&d| d < at) {
                    (at, why) = (d, JumpTo::TaskDeadline);
                }
                if let Some(t) = itimer.filter(|&t| t < at) {
                    (at, why) = (t, JumpTo::Itimer);
                }
                let cap = RUNNER_DEADLINE.load(Ordering::SeqCst);
                if !runner && at != u64::MAX && cap < at {
                    (at, why) = (cap, JumpTo::RunnerDeadline);
                }
                let from = clock::now();
                let jumped = at != u64::MAX && clock::idle_until(at);
                if jumped && at > from {
                    note_jump(from, at, why);
                }
                Some(jumped)
            } else {
                Some(false)
            }
        };
        if jumped == Some(false) {
            arch::wait_for_interrupt();
        }
        IDLE.fetch_and(!bit, Ordering::SeqCst);
    }
}

/// Scheduler loops between taking due itimers out of `process::PROCS`
/// and queuing their signals (`process::expire_itimers`): what they
/// wake is in neither the itimers nor `SCHED` yet, so no CPU may jump
/// the clock meanwhile.
static EXPIRING: AtomicUsize = AtomicUsize::new(0);

/// A scheduler loop starts looking for due itimers.
pub fn expiry_begin() {
    EXPIRING.fetch_add(1, Ordering::SeqCst);
}

/// It is done; `fired` if it queued a signal. The epoch moves first, so
/// an idle CPU whose look at the itimers came after the take either sees
/// this loop still expiring or the epoch moved.
pub fn expiry_end(fired: bool) {
    if fired {
        SCHED.lock().epoch += 1;
    }
    EXPIRING.fetch_sub(1, Ordering::SeqCst);
}

/// What an idle time jump went to.
#[derive(Clone, Copy, Debug)]
enum JumpTo {
    RunnerDeadline = 0,
    TaskDeadline = 1,
    Itimer = 2,
}

const JUMP_LOG: usize = 8;
/// The last idle time jumps, each (cpu << 2 | kind, from, to), for the
/// runner's report of a program that used most of its budget.
static JUMPS: [[AtomicU64; 3]; JUMP_LOG] = [const { [const { AtomicU64::new(0) }; 3] }; JUMP_LOG];
static JUMP_COUNT: AtomicUsize = AtomicUsize::new(0);

fn note_jump(from: u64, to: u64, why: JumpTo) {
    let slot = &JUMPS[JUMP_COUNT.fetch_add(1, Ordering::Relaxed) % JUMP_LOG];
    slot[0].store(
        ((arch::cpu_index() as u64) << 2) | why as u64,
        Ordering::Relaxed,
    );
    slot[1].store(from, Ordering::Relaxed);
    slot[2].store(to, Ordering::Relaxed);
}

/// One `# ` line per recent idle time jump (at most the last 8, oldest
/// first, times in ms since boot).
pub fn describe_jumps() {
    let n = JUMP_COUNT.load(Ordering::Relaxed);
    for i in n.saturating_sub(JUMP_LOG)..n {
        let slot = &JUMPS[i % JUMP_LOG];
        let tag = slot[0].load(Ordering::Relaxed);
        let kind = ["the runner's deadline", "a task's deadline", "an itimer"]
            .get((tag & 3) as usize)
            .copied()
            .unwrap_or("?");
        println!(
            "# idle jump {}: cpu {} from {} ms to {} ms ({})",
            i,
            tag >> 2,
            slot[1].load(Ordering::Relaxed) / 1_000_000,
            slot[2].load(Ordering::Relaxed) / 1_000_000,
            kind
        );
    }
}

/// The next queued task that can run, marked Running on this CPU.
fn pick() -> Option<Tid> {
    let mut s = SCHED.lock();
    while let Some(tid) = s.runq.pop_front() {
        let Some(t) = s.tasks.get_mut(&tid) else {
            continue;
        };
        if t.state != State::Runnable {
            continue;
        }
        t.state = State::Running;
        t.switch_ins += 1;
        t.last_cpu = arch::cpu_index();
        s.busy += 1;
        s.epoch += 1;
        return Some(tid);
    }
    None
}

fn run(tid: Tid) {
    let (ctx, pid, on_cpu) = {
        let s = SCHED.lock();
        let Some(t) = s.tasks.get(&tid) else {
            drop(s);
            SCHED.lock().end_run();
            return;
        };
        (
            &t.ctx as *const TaskContext,
            t.pid,
            &t.on_cpu as *const AtomicBool,
        )
    };
    // SAFETY: the task's Box stays in the table while it is not Dead, and
    // it is Running (ours) now, so nobody reaps it under us.
    let on_cpu = unsafe { &*on_cpu };
    // The CPU it last ran on may still be in its `switch` away.
    while on_cpu
        .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        core::hint::spin_loop();
    }
    process::activate(pid);
    let cpu = this_cpu();
    cpu.runs.fetch_add(1, Ordering::Relaxed);
    cpu.pid.store(pid, Ordering::Relaxed);
    cpu.current.store(tid, Ordering::Relaxed);
    cpu.quiet_at.store(u64::MAX, Ordering::Relaxed);
    let since = arch::monotonic_ns();
    cpu.run_since.store(since, Ordering::Relaxed);
    cpu.syscalls_at_run.store(
        cpu.traps[Trap::Syscall as usize].load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    // SAFETY: `ctx` is the task's saved context in its Box (stable while
    // the task exists), complete since `on_cpu` was clear; this CPU's slot
    // receives the loop's context.
    unsafe { arch::switch(cpu.ctx.load(Ordering::Acquire), ctx) };
    cpu.current.store(0, Ordering::Relaxed);
    cpu.pid.store(0, Ordering::Relaxed);
    let ran = arch::monotonic_ns().saturating_sub(since);
    process::add_usage(pid, uncounted_syscalls(), ran);
    // The task's address space may be freed on another CPU from now on.
    arch::activate_kernel_space();
    let dead = {
        let mut s = SCHED.lock();
        if let Some(t) = s.tasks.get_mut(&tid) {
            let intact = t.kstack[..CANARY_WORDS * 8]
                .chunks_exact(8)
                .all(|w| w == STACK_CANARY.to_ne_bytes());
            if !intact {
                panic!("kernel stack overflow in task {} (pid {})", tid, t.pid);
            }
            // Its context is saved: another CPU may switch into it now.
            t.on_cpu.store(false, Ordering::Release);
            t.cpu_ns = t.cpu_ns.saturating_add(ran);
        }
        match s.tasks.get(&tid).map(|t| (t.state, t.status)) {
            Some((State::Dead, status)) => s.tasks.remove(&tid).map(|t| (t, status)),
            _ => None,
        }
    };
    if let Some((task, status)) = dead {
        let pid = task.pid;
        drop(task);
        process::thread_ended(pid, tid, status);
    }
    // Busy until here: what the task's end wakes (its joiners, its
    // parent) is queued before another CPU may take the idle time jump.
    SCHED.lock().end_run();
}
