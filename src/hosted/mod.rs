//! A std implementation of `Kernel` for host tests and benchmarks.
//!
//! Each host thread can act as a task of a simulated process with its own
//! pid, credentials, fd table and signal state. Blocking is real (a mutex
//! and condvar per task); the clock is real or virtual. User memory is
//! simulated (`memory`), so bad pointers fault as they would on a kernel.
//!
//! ```no_run
//! use redbear_ipc::hosted::{ClockMode, HostedKernel};
//! use redbear_ipc::kernel::Credentials;
//! let k = HostedKernel::new(ClockMode::Real);
//! let p = k.spawn_process(Credentials::new(1000, 1000));
//! let _task = k.enter(&p); // this thread now runs as a task of `p`
//! ```
//!
//! Process lifetime: `exit_process` and `kill_process` mark a process
//! ending (its tasks' parks are interrupted from then on); the exit
//! completes when its last task has left (`TaskGuard` dropped), or at once
//! if none is live: its fds close and `Ipc::process_exit` runs.
//! `fork_process` copies credentials and fds and calls `Ipc::process_fork`.

pub mod clock;
mod fileops;
pub mod memory;
mod process;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

pub use clock::{Clock, ClockMode};
pub use memory::{UserMemory, Visibility};
pub use process::{Process, Task, FD_LIMIT, RT_QUEUE_LIMIT};

use crate::errno::Errno;
use crate::ipc::common::limits::Limits;
use crate::ipc::fd::signalfd::SignalTarget;
use crate::ipc::Ipc;
use crate::kernel::{
    ClockId, Credentials, Deadline, FdPlacement, FileRef, Kernel, ParkOutcome, Pid, SharedMemKey,
    SharedPage, SharedPageRef, SigInfo, SigSet, TaskId, UserFault,
};

/// A kernel page of the hosted kernel: its frame (`memory::Frame`), which
/// each mapping also holds.
struct HostPage(Arc<memory::Frame>);

impl SharedPage for HostPage {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn key(&self) -> SharedMemKey {
        self.0.key()
    }
    fn load(&self, index: usize) -> Option<u32> {
        (index < 4).then(|| self.0.word(index).map(|w| w.load(Ordering::SeqCst)))?
    }
    fn compare_exchange(&self, index: usize, old: u32, new: u32) -> Option<u32> {
        let word = self.0.word(index).filter(|_| index < 4)?;
        Some(
            match word.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            },
        )
    }
}

fn host_page(page: &SharedPageRef) -> Result<&HostPage, Errno> {
    page.as_any()
        .downcast_ref::<HostPage>()
        .ok_or(Errno::new(crate::errno::EINVAL))
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Task>>> = const { RefCell::new(None) };
}

/// The longest a parked task sleeps before re-checking realtime deadlines
/// (the realtime clock can be set while it sleeps).
const RECHECK: Duration = Duration::from_millis(20);

/// The hosted kernel.
pub struct HostedKernel {
    ipc: Ipc,
    clock: Clock,
    memory: UserMemory,
    next_pid: AtomicU32,
    next_task: AtomicU64,
    tasks: Mutex<HashMap<TaskId, Arc<Task>>>,
    /// Live processes by pid (for `Kernel::send_signal`).
    processes: Mutex<HashMap<Pid, Weak<Process>>>,
    /// Whether `shared_page_alloc` answers ENOSYS, as a host without
    /// shared pages does (tests of the kernel-state fallback).
    no_pages: std::sync::atomic::AtomicBool,
    /// Counts every time a task goes to sleep in `park` or ends, so that
    /// `wait_task_sleeps` can sleep until one may have happened.
    events: Mutex<u64>,
    events_cv: Condvar,
}

/// While alive, the thread that made it runs as its task.
pub struct TaskGuard {
    task: Arc<Task>,
    kernel: Arc<HostedKernel>,
}

impl TaskGuard {
    /// The task.
    pub fn task(&self) -> &Arc<Task> {
        &self.task
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
        self.kernel
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.task.id());
        if self.task.process().task_left() {
            self.kernel.finish_exit(self.task.process());
        }
        self.kernel.note_event();
    }
}

impl HostedKernel {
    /// A kernel with default limits.
    pub fn new(mode: ClockMode) -> Arc<Self> {
        Self::with_limits(mode, Limits::default())
    }

    /// A kernel with the given limits.
    pub fn with_limits(mode: ClockMode, limits: Limits) -> Arc<Self> {
        Arc::new(HostedKernel {
            ipc: Ipc::new(limits),
            clock: Clock::new(mode),
            memory: UserMemory::default(),
            next_pid: AtomicU32::new(100),
            next_task: AtomicU64::new(1),
            tasks: Mutex::new(HashMap::new()),
            processes: Mutex::new(HashMap::new()),
            no_pages: std::sync::atomic::AtomicBool::new(false),
            events: Mutex::new(0),
            events_cv: Condvar::new(),
        })
    }

    /// Makes the kernel a host without shared pages (`true`): named
    /// semaphores created from now on keep their state in the kernel and
    /// `SYS_RB_SEM_MAP` answers EOPNOTSUPP.
    pub fn set_no_pages(&self, none: bool) {
        self.no_pages.store(none, Ordering::SeqCst);
    }

    /// A new process with `creds`.
    pub fn spawn_process(&self, creds: Credentials) -> Arc<Process> {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        self.register(Arc::new(Process::new(pid, creds)))
    }

    fn register(&self, process: Arc<Process>) -> Arc<Process> {
        self.processes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(process.pid(), Arc::downgrade(&process));
        process
    }

    /// fork(2) of `parent`: a new process with its credentials
    /// (supplementary groups included) and its fds; pending signals and
    /// per-process IPC state are not inherited (`Ipc::process_fork`).
    pub fn fork_process(&self, parent: &Process) -> Arc<Process> {
        let pid = self.next_pid.fetch_add(1, Ordering::Relaxed);
        let child = self.register(Arc::new(parent.fork(pid)));
        self.memory.fork_mappings(parent.pid(), pid);
        self.ipc.process_fork(self, parent.pid(), pid);
        child
    }

    /// The live process `pid`.
    pub fn process(&self, pid: Pid) -> Option<Arc<Process>> {
        let procs = self.processes.lock().unwrap_or_else(|p| p.into_inner());
        procs
            .get(&pid)
            .and_then(Weak::upgrade)
            .filter(|p| !p.is_exiting())
    }

    /// exit(2) for `process`: its tasks are interrupted and must leave;
    /// the exit completes when the last one has (at once if none is live).
    pub fn exit_process(&self, process: &Arc<Process>) {
        if process.begin_exit() {
            self.finish_exit(process);
        } else {
            self.nudge_process(process.pid());
        }
    }

    /// SIGKILL for `process`: as `exit_process` (no handler can run).
    pub fn kill_process(&self, process: &Arc<Process>) {
        self.exit_process(process);
    }

    /// Completes an exit, once: the pid leaves the table, fds close, the
    /// IPC exit hook runs (with no host lock held).
    fn finish_exit(&self, process: &Arc<Process>) {
        if !process.claim_exit() {
            return;
        }
        self.processes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&process.pid());
        process.fds().clear();
        self.memory.unmap_all(process.pid());
        self.ipc.process_exit(self, process.pid());
    }

    /// Makes the calling thread a new task of `process` until the guard
    /// drops. Panics if the process has exited (a bug in the test).
    pub fn enter(self: &Arc<Self>, process: &Arc<Process>) -> TaskGuard {
        assert!(
            !process.has_exited(),
            "hosted: entering a process that has exited"
        );
        process.task_entered();
        let id = self.next_task.fetch_add(1, Ordering::Relaxed);
        let task = Arc::new(Task::new(id, process.clone()));
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, task.clone());
        CURRENT.with(|c| *c.borrow_mut() = Some(task.clone()));
        TaskGuard {
            task,
            kernel: self.clone(),
        }
    }

    /// Runs `f` on a new thread as a new task of `process`.
    pub fn spawn_task<R: Send + 'static>(
        self: &Arc<Self>,
        process: &Arc<Process>,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> std::thread::JoinHandle<R> {
        let (k, p) = (self.clone(), process.clone());
        std::thread::spawn(move || {
            let _guard = k.enter(&p);
            f()
        })
    }

    /// The clock, to advance or set in tests.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Moves virtual time and lets sleepers re-check their deadlines.
    pub fn advance(&self, ns: u64) {
        self.clock.advance(ns);
        // The hosted kernel's timer tick: time moved. Not an interrupt, so
        // the waiting form of the one expiry routine.
        self.ipc.expire_timers(self);
        self.nudge_all();
    }

    /// Sets CLOCK_REALTIME (clock_settime): cancel-on-set timerfds are
    /// cancelled and sleepers re-check their deadlines.
    pub fn set_realtime(&self, ns: u64) {
        self.clock.set_realtime(ns);
        self.ipc.clock_was_set(self);
        // Realtime timers may be due now: the tick, as in `advance`.
        self.ipc.expire_timers(self);
        self.nudge_all();
    }

    /// Simulated user memory.
    pub fn memory(&self) -> &UserMemory {
        &self.memory
    }

    /// Allocates user memory private to the calling task's process.
    pub fn alloc_private(&self, len: usize) -> usize {
        self.memory
            .alloc(len, Visibility::Private(self.current().process().pid()))
    }

    /// Allocates user memory shared by every process.
    pub fn alloc_shared(&self, len: usize) -> usize {
        self.memory.alloc(len, Visibility::Shared)
    }

    /// Sends signal `sig` to `process` as kill(2) from the calling task
    /// would (SI_USER); see `queue_signal`.
    pub fn send_signal(&self, process: &Process, sig: u32) {
        let (pid, uid) = CURRENT
            .with(|c| {
                c.borrow()
                    .as_ref()
                    .map(|t| (t.process().pid(), t.process().credentials().uid))
            })
            .unwrap_or((0, 0));
        self.queue_signal(
            process,
            SigInfo {
                signo: sig,
                code: 0,
                pid,
                uid,
                ..SigInfo::default()
            },
        );
    }

    /// Queues `info` for `process` (sigqueue(3) passes SI_QUEUE and a
    /// value): pending until taken; wakes its tasks that do not block it
    /// and the signalfds that wait for it. Returns whether it was queued
    /// (a full realtime queue refuses, as Linux's EAGAIN).
    pub fn queue_signal(&self, process: &Process, info: SigInfo) -> bool {
        if !process.raise(info) {
            return false;
        }
        self.ipc
            .signal_queued(self, SignalTarget::process(process.pid()), info.signo);
        self.nudge_process(process.pid());
        true
    }

    /// Wakes every task of `pid` to re-check signals and exit.
    fn nudge_process(&self, pid: Pid) {
        let tasks: Vec<Arc<Task>> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| t.process().pid() == pid)
            .cloned()
            .collect();
        for t in tasks {
            t.nudge();
        }
    }

    /// Closes the caller's `fd` (EBADF if not open).
    pub fn close(&self, fd: usize) -> Result<(), Errno> {
        self.current().process().fds().close(fd)
    }

    /// Number of tasks parked right now (for tests that wait until a
    /// waiter is really asleep).
    pub fn parked_tasks(&self) -> usize {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|t| t.is_parked())
            .count()
    }

    /// How many times task `id` has gone to sleep in `park`, or `None`
    /// once it has ended (a harness waits for a call to block without
    /// counting every parked task).
    pub fn task_sleeps(&self, id: TaskId) -> Option<usize> {
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|t| t.sleeps())
    }

    /// Waits until task `id` has gone to sleep in `park` at least `n`
    /// times or has ended, or `limit` passes; returns whether it did. A
    /// harness that waits for a call to block sleeps here instead of
    /// spinning on `task_sleeps`.
    pub fn wait_task_sleeps(&self, id: TaskId, n: usize, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        loop {
            let seen = *self.events.lock().unwrap_or_else(|p| p.into_inner());
            if self.task_sleeps(id).is_none_or(|s| s >= n) {
                return true;
            }
            let Some(left) = limit.checked_sub(start.elapsed()) else {
                return false;
            };
            let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
            // An event after `seen` was read ends the wait at once.
            let _ = self
                .events_cv
                .wait_timeout_while(events, left, |e| *e == seen)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// A task went to sleep or ended: wakes `wait_task_sleeps`.
    fn note_event(&self) {
        *self.events.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.events_cv.notify_all();
    }

    /// Spins (yielding) until `n` tasks are parked or `timeout` passes;
    /// returns whether they are.
    pub fn wait_parked(&self, n: usize, timeout: Duration) -> bool {
        let start = std::time::Instant::now();
        while self.parked_tasks() < n {
            if start.elapsed() > timeout {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }

    fn nudge_all(&self) {
        let tasks: Vec<Arc<Task>> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for t in tasks {
            t.nudge();
        }
    }

    /// The calling thread's task. Panics if the thread has not entered a
    /// process: that is a bug in the test, not user input.
    pub fn current(&self) -> Arc<Task> {
        CURRENT
            .with(|c| c.borrow().clone())
            .expect("hosted: thread is not a task (call HostedKernel::enter)")
    }

    fn remaining(&self, deadline: Deadline) -> Option<Duration> {
        let now = self.clock.now(deadline.clock);
        (now < deadline.at_ns).then(|| Duration::from_nanos(deadline.at_ns - now))
    }
}

impl Kernel for HostedKernel {
    fn ipc(&self) -> &Ipc {
        &self.ipc
    }

    fn current_task(&self) -> TaskId {
        self.current().id()
    }

    fn current_pid(&self) -> Pid {
        self.current().process().pid()
    }

    fn credentials(&self) -> Credentials {
        self.current().process().credentials()
    }

    fn umask(&self) -> u32 {
        self.current().process().umask()
    }

    fn address_space(&self) -> u64 {
        u64::from(self.current_pid())
    }

    fn shared_key(&self, uaddr: usize) -> Result<SharedMemKey, Errno> {
        Ok(self.memory.key(self.current_pid(), uaddr)?)
    }

    fn now(&self, clock: ClockId) -> u64 {
        self.clock.now(clock)
    }

    fn park(&self, deadline: Option<Deadline>) -> ParkOutcome {
        let task = self.current();
        let virtual_clock = self.clock.mode() == ClockMode::Virtual;
        task.park(
            || {
                let Some(d) = deadline else { return Some(None) };
                match self.remaining(d) {
                    None => None,
                    Some(_) if virtual_clock => Some(None),
                    Some(left) => Some(Some(left.min(RECHECK))),
                }
            },
            || self.note_event(),
        )
    }

    fn unpark(&self, task: TaskId) {
        let t = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&task)
            .cloned();
        if let Some(t) = t {
            t.unpark();
        }
    }

    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        self.memory.read(self.current_pid(), src, dst)
    }

    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        self.memory.write(self.current_pid(), dst, src)
    }

    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault> {
        self.memory.load_u32(self.current_pid(), uaddr)
    }

    fn read_user_u32_nofault(&self, uaddr: usize) -> Result<Option<u32>, UserFault> {
        self.memory.read_u32_nofault(self.current_pid(), uaddr)
    }

    fn fault_in_user(&self, uaddr: usize) -> Result<(), UserFault> {
        self.memory.fault_in(self.current_pid(), uaddr)
    }

    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        self.memory.cmpxchg_u32(self.current_pid(), uaddr, old, new)
    }

    fn install_fd(
        &self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, Errno> {
        self.current()
            .process()
            .fds()
            .install(file, placement, cloexec)
    }

    fn get_fd(&self, fd: usize) -> Result<FileRef, Errno> {
        self.current().process().fds().get(fd)
    }

    fn take_signal(&self, mask: SigSet) -> Option<SigInfo> {
        self.current().process().take_signal(mask)
    }

    fn restore_signal(&self, info: SigInfo) {
        self.current().process().restore_signal(info);
    }

    fn pending_signals(&self) -> SigSet {
        self.current().process().pending()
    }

    fn send_signal(&self, pid: Pid, info: SigInfo) -> Result<(), Errno> {
        if info.signo > 64 {
            return Err(Errno::new(crate::errno::EINVAL));
        }
        let process = self.process(pid).ok_or(Errno::new(syscall::error::ESRCH))?;
        if info.signo == 0 || self.queue_signal(&process, info) {
            Ok(())
        } else {
            Err(Errno::new(crate::errno::EAGAIN))
        }
    }

    fn shared_page_alloc(&self, init: &[u8; 16]) -> Result<SharedPageRef, Errno> {
        if self.no_pages.load(Ordering::SeqCst) {
            return Err(Errno::new(crate::errno::ENOSYS));
        }
        Ok(Arc::new(HostPage(self.memory.alloc_page(init)?)))
    }

    fn shared_page_map(&self, page: &SharedPageRef) -> Result<usize, Errno> {
        self.memory
            .map_page(&host_page(page)?.0, self.current_pid())
    }

    fn shared_page_unmap(&self, page: &SharedPageRef, uaddr: usize) -> Result<(), Errno> {
        self.memory
            .unmap_page(&host_page(page)?.0, self.current_pid(), uaddr)
    }
}
