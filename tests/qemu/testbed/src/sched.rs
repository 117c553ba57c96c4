//! Tasks (threads of a process) and the round-robin scheduler.
//!
//! The scheduler loop (`run_until`) runs on the boot stack in its own
//! context; a task gives the CPU back by switching to that context
//! (`switch_to_scheduler`) and the loop picks the next runnable task. The
//! kernel runs with interrupts off, so a task only loses the CPU where it
//! calls in here: blocking (`park`), yielding, exiting, or at a timer tick
//! taken in user mode (`preempt`).
//!
//! Lock order: `process::PROCS` before `SCHED`. Never switch while holding
//! either.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use spin::Mutex;

use crate::arch::{self, TaskContext};
use crate::clock;
use crate::process::{self, Pid};

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
/// EAGAIN long before an allocation could fail.
pub const MAX_TASKS: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
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
    kstack: Box<[u8]>,
    state: State,
    /// An `unpark` arrived while the task was not parked on that channel.
    permit: [bool; 2],
    /// The channel of the current park.
    parked_on: Channel,
    /// Deadline of the current park.
    deadline: Option<clock::Deadline>,
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
    status: i32,
}

struct Sched {
    tasks: BTreeMap<Tid, Box<Task>>,
    runq: VecDeque<Tid>,
    next_tid: Tid,
}

static SCHED: Mutex<Sched> = Mutex::new(Sched {
    tasks: BTreeMap::new(),
    runq: VecDeque::new(),
    next_tid: 1,
});
/// The task running now; 0 while the scheduler loop runs.
static CURRENT: AtomicU64 = AtomicU64::new(0);
/// The running task's pid (a task's pid never changes), so the per-syscall
/// lookups need no scheduler lock.
static CURRENT_PID: AtomicU32 = AtomicU32::new(0);
/// The scheduler loop's saved context.
static SCHED_CTX: AtomicPtr<TaskContext> = AtomicPtr::new(core::ptr::null_mut());

pub fn init() {
    // A task is on the run queue at most once, so this capacity means
    // wake-ups (unpark, deadlines) never allocate.
    SCHED.lock().runq.reserve(MAX_TASKS + 1);
    let ctx = Box::leak(Box::new(TaskContext::default()));
    SCHED_CTX.store(ctx, Ordering::Relaxed);
}

/// The running task, 0 in the scheduler loop.
pub fn current() -> Tid {
    CURRENT.load(Ordering::Relaxed)
}

/// A new runnable task of process `pid` that enters user mode at `entry`
/// with stack `sp` and `arg`. None when memory is short or MAX_TASKS live.
pub fn spawn(pid: Pid, entry: usize, sp: usize, arg: usize, sigmask: u64) -> Option<Tid> {
    add_task(pid, sigmask, |top| {
        TaskContext::new_user(top, entry, sp, arg)
    })
}

/// A new runnable task of process `pid` that enters user mode with a copy
/// of `frame` (FORK's child).
pub fn spawn_copy(pid: Pid, frame: &arch::TrapFrame, sigmask: u64) -> Option<Tid> {
    add_task(pid, sigmask, |top| TaskContext::fork_of(top, frame))
}

fn add_task(pid: Pid, sigmask: u64, ctx: impl FnOnce(usize) -> TaskContext) -> Option<Tid> {
    if SCHED.lock().tasks.len() >= MAX_TASKS {
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
    s.tasks.insert(
        tid,
        Box::new(Task {
            tid,
            pid,
            ctx,
            kstack: stack,
            state: State::Runnable,
            permit: [false; 2],
            parked_on: Channel::Host,
            deadline: None,
            wake: Wake::Unparked,
            killed: false,
            sigmask,
            thread_pending: 0,
            saved_mask: None,
            status: 0,
        }),
    );
    s.runq.push_back(tid);
    Some(tid)
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
    if t.sigmask & bit == 0 {
        make_runnable(&mut s, tid, Wake::Interrupted);
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
    // the scheduler reaps the task after it switched away for good; the
    // scheduler context was saved by the switch that started this task.
    unsafe { arch::switch(ctx, SCHED_CTX.load(Ordering::Relaxed)) };
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
    let interrupted = process::signal_interrupts(pid, current_sigmask());
    {
        let mut s = SCHED.lock();
        let Some(t) = s.tasks.get_mut(&tid) else {
            return Wake::Interrupted;
        };
        let interrupted = interrupted || t.thread_pending & !t.sigmask != 0;
        if t.permit[channel as usize] {
            t.permit[channel as usize] = false;
            return Wake::Unparked;
        }
        if t.killed || interrupted {
            return Wake::Interrupted;
        }
        if deadline.is_some_and(|d| d.expired()) {
            return Wake::TimedOut;
        }
        t.state = State::Blocked;
        t.parked_on = channel;
        t.deadline = deadline;
        t.wake = Wake::Unparked;
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
    true
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

/// Interrupts `tid`'s park (a signal arrived for it).
pub fn interrupt(tid: Tid) {
    let mut s = SCHED.lock();
    make_runnable(&mut s, tid, Wake::Interrupted);
}

/// Marks `tid` killed and interrupts it: it exits at its next return to
/// user mode.
pub fn kill(tid: Tid) {
    let mut s = SCHED.lock();
    if let Some(t) = s.tasks.get_mut(&tid) {
        t.killed = true;
    }
    make_runnable(&mut s, tid, Wake::Interrupted);
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
    clock::tick();
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
    CURRENT_PID.load(Ordering::Relaxed)
}

/// Wakes every blocked task whose deadline passed. Allocates nothing (the
/// run queue has room for every task).
fn wake_expired() {
    let mut guard = SCHED.lock();
    let s = &mut *guard;
    for t in s.tasks.values_mut() {
        if t.state == State::Blocked && t.deadline.is_some_and(|d| d.expired()) {
            t.state = State::Runnable;
            t.wake = Wake::TimedOut;
            t.deadline = None;
            s.runq.push_back(t.tid);
        }
    }
}

fn earliest_deadline() -> Option<u64> {
    let s = SCHED.lock();
    s.tasks
        .values()
        .filter(|t| t.state == State::Blocked)
        .filter_map(|t| t.deadline.map(|d| d.as_mono()))
        .min()
}

/// Runs tasks until `stop()` holds (true) or monotonic `deadline` passes
/// (false). Called by the runner on the boot stack.
pub fn run_until(stop: &dyn Fn() -> bool, deadline: u64) -> bool {
    loop {
        if stop() {
            return true;
        }
        let now = clock::now();
        wake_expired();
        process::expire_itimers(now);
        if now >= deadline {
            return false;
        }
        let next = SCHED.lock().runq.pop_front();
        match next {
            Some(tid) => run(tid),
            None => {
                let at = earliest_deadline().map_or(deadline, |d| d.min(deadline));
                let at = process::earliest_itimer().map_or(at, |t| t.min(at));
                if !clock::idle_until(at) {
                    arch::wait_for_interrupt();
                }
            }
        }
    }
}

fn run(tid: Tid) {
    let (ctx, pid) = {
        let mut s = SCHED.lock();
        let Some(t) = s.tasks.get_mut(&tid) else {
            return;
        };
        if t.state != State::Runnable {
            return;
        }
        t.state = State::Running;
        (&t.ctx as *const TaskContext, t.pid)
    };
    process::activate(pid);
    CURRENT_PID.store(pid, Ordering::Relaxed);
    CURRENT.store(tid, Ordering::Relaxed);
    // SAFETY: `ctx` is the task's saved context in its Box (stable while
    // the task exists); SCHED_CTX is the scheduler's own slot.
    unsafe { arch::switch(SCHED_CTX.load(Ordering::Relaxed), ctx) };
    CURRENT.store(0, Ordering::Relaxed);
    CURRENT_PID.store(0, Ordering::Relaxed);
    let dead = {
        let mut s = SCHED.lock();
        if let Some(t) = s.tasks.get(&tid) {
            let intact = t.kstack[..CANARY_WORDS * 8]
                .chunks_exact(8)
                .all(|w| w == STACK_CANARY.to_ne_bytes());
            if !intact {
                panic!("kernel stack overflow in task {} (pid {})", tid, t.pid);
            }
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
}
