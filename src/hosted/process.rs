//! Simulated processes and tasks of the hosted kernel.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::errno::{err, Errno, EBADF, EEXIST, EMFILE};
use crate::kernel::{
    sig_bit, Credentials, FdPlacement, FileRef, ParkOutcome, Pid, SigInfo, SigSet, TaskId,
};

/// SIGRTMIN: signals from here on queue; below it they coalesce.
pub const SIGRTMIN: u32 = 32;
/// The most realtime signals queued per process (RLIMIT_SIGPENDING).
pub const RT_QUEUE_LIMIT: usize = 1024;

/// Pending signals of a process.
#[derive(Default)]
struct Signals {
    /// Standard signals: one pending instance each, with its info.
    standard: BTreeMap<u32, SigInfo>,
    /// Realtime signals in arrival order.
    realtime: VecDeque<SigInfo>,
}

impl Signals {
    fn pending(&self) -> SigSet {
        let std = self.standard.keys().fold(0, |m, &s| m | sig_bit(s));
        self.realtime.iter().fold(std, |m, i| m | sig_bit(i.signo))
    }
}

/// Highest number of open fds per process (RLIMIT_NOFILE).
pub const FD_LIMIT: usize = 1024;

/// One fd table entry.
#[derive(Clone)]
struct Entry {
    file: FileRef,
    cloexec: bool,
}

/// A process's fd table. It reports every fd it adds and removes to the
/// open description (`OpenFile::fd_added` / `fd_closed`, the latter with
/// the owner's pid and outside the table lock), so close hooks run for
/// close, exec's close-on-exec sweep and exit (the table's drop) alike.
pub struct FdTable {
    owner: Pid,
    entries: Mutex<BTreeMap<usize, Entry>>,
}

impl FdTable {
    /// The empty table of process `owner`.
    pub fn new(owner: Pid) -> Self {
        FdTable {
            owner,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<usize, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Installs `file`: EMFILE when full, EBADF for an out-of-range exact
    /// slot, EEXIST for a taken one.
    pub fn install(
        &self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, Errno> {
        let mut e = self.lock();
        let fd = match placement {
            FdPlacement::Exact(fd) if fd >= FD_LIMIT => return err(EBADF),
            FdPlacement::Exact(fd) if e.contains_key(&fd) => return err(EEXIST),
            FdPlacement::Exact(fd) => fd,
            FdPlacement::Lowest => match (0..FD_LIMIT).find(|fd| !e.contains_key(fd)) {
                Some(fd) => fd,
                None => return err(EMFILE),
            },
        };
        file.fd_added();
        e.insert(fd, Entry { file, cloexec });
        Ok(fd)
    }

    /// The description behind `fd`.
    pub fn get(&self, fd: usize) -> Result<FileRef, Errno> {
        self.lock()
            .get(&fd)
            .map(|x| x.file.clone())
            .ok_or(Errno::new(EBADF))
    }

    /// Calls `f` on the description behind every open fd, with the table
    /// locked (a harness counts the objects they reach).
    pub fn for_each_file(&self, mut f: impl FnMut(&FileRef)) {
        for e in self.lock().values() {
            f(&e.file);
        }
    }

    /// Closes `fd`.
    pub fn close(&self, fd: usize) -> Result<(), Errno> {
        let removed = self.lock().remove(&fd).ok_or(Errno::new(EBADF))?;
        removed.file.fd_closed(self.owner);
        Ok(())
    }

    /// dup: the lowest free fd refers to the same description, without
    /// cloexec.
    pub fn dup(&self, fd: usize) -> Result<usize, Errno> {
        let file = self.get(fd)?;
        self.install(file, FdPlacement::Lowest, false)
    }

    /// Whether `fd` is close-on-exec.
    pub fn cloexec(&self, fd: usize) -> Result<bool, Errno> {
        self.lock()
            .get(&fd)
            .map(|x| x.cloexec)
            .ok_or(Errno::new(EBADF))
    }

    /// exec: closes every close-on-exec fd.
    pub fn exec(&self) {
        let closing: Vec<Entry> = {
            let mut e = self.lock();
            let fds: Vec<usize> = e
                .iter()
                .filter(|(_, x)| x.cloexec)
                .map(|(&fd, _)| fd)
                .collect();
            fds.iter().filter_map(|fd| e.remove(fd)).collect()
        };
        for x in closing {
            x.file.fd_closed(self.owner);
        }
    }

    /// Closes everything (process exit).
    pub fn clear(&self) {
        let all = std::mem::take(&mut *self.lock());
        for x in all.into_values() {
            x.file.fd_closed(self.owner);
        }
    }

    /// fork: a table of process `child` with the same objects (shared
    /// descriptions) and the same close-on-exec bits; each copied fd is
    /// reported to its description.
    fn fork(&self, child: Pid) -> FdTable {
        let e = self.lock().clone();
        for x in e.values() {
            x.file.fd_added();
        }
        FdTable {
            owner: child,
            entries: Mutex::new(e),
        }
    }

    /// Number of open fds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no fd is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        self.clear();
    }
}

/// A simulated process.
pub struct Process {
    pid: Pid,
    creds: Mutex<Credentials>,
    fds: FdTable,
    signals: Mutex<Signals>,
    /// Tasks that have entered and not left (`HostedKernel::enter`).
    live_tasks: AtomicUsize,
    /// Exit or kill was asked for: its tasks' parks are interrupted.
    exiting: AtomicBool,
    /// The exit is complete (fds closed, IPC exit hook called).
    exited: AtomicBool,
    umask: AtomicU32,
}

/// A new process's umask (Linux's and relibc's usual default).
pub const DEFAULT_UMASK: u32 = 0o022;

impl Process {
    pub(super) fn new(pid: Pid, creds: Credentials) -> Self {
        Process {
            pid,
            creds: Mutex::new(creds),
            fds: FdTable::new(pid),
            signals: Mutex::new(Signals::default()),
            live_tasks: AtomicUsize::new(0),
            exiting: AtomicBool::new(false),
            exited: AtomicBool::new(false),
            umask: AtomicU32::new(DEFAULT_UMASK),
        }
    }

    /// fork: a child `pid` with the same credentials and fds (shared
    /// descriptions); pending signals are not inherited (POSIX fork).
    pub(super) fn fork(&self, pid: Pid) -> Self {
        let child = Process::new(pid, self.credentials());
        Process {
            fds: self.fds.fork(pid),
            umask: AtomicU32::new(self.umask()),
            ..child
        }
    }

    /// Whether exit or kill was asked for.
    pub fn is_exiting(&self) -> bool {
        self.exiting.load(Ordering::SeqCst)
    }

    /// Whether the exit is complete.
    pub fn has_exited(&self) -> bool {
        self.exited.load(Ordering::SeqCst)
    }

    /// Marks the process exiting; returns whether its exit can complete
    /// now (no task of it is live).
    pub(super) fn begin_exit(&self) -> bool {
        self.exiting.store(true, Ordering::SeqCst);
        self.live_tasks.load(Ordering::SeqCst) == 0
    }

    /// Claims the completion of the exit (true exactly once).
    pub(super) fn claim_exit(&self) -> bool {
        !self.exited.swap(true, Ordering::SeqCst)
    }

    pub(super) fn task_entered(&self) {
        self.live_tasks.fetch_add(1, Ordering::SeqCst);
    }

    /// A task left; returns whether it was the last of an exiting process.
    pub(super) fn task_left(&self) -> bool {
        self.live_tasks.fetch_sub(1, Ordering::SeqCst) == 1 && self.is_exiting()
    }

    /// Number of live tasks.
    pub fn live_tasks(&self) -> usize {
        self.live_tasks.load(Ordering::SeqCst)
    }

    /// The file-mode creation mask.
    pub fn umask(&self) -> u32 {
        self.umask.load(Ordering::Relaxed)
    }

    /// umask(2): sets the mask (permission bits only), returns the old one.
    pub fn set_umask(&self, mask: u32) -> u32 {
        self.umask.swap(mask & 0o777, Ordering::Relaxed)
    }

    /// The pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Current credentials.
    pub fn credentials(&self) -> Credentials {
        *self.creds.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes credentials (setuid and friends).
    pub fn set_credentials(&self, creds: Credentials) {
        *self.creds.lock().unwrap_or_else(|p| p.into_inner()) = creds;
    }

    /// setgroups(2): replaces the supplementary groups (EINVAL past
    /// `NGROUPS_MAX`; the caller decides who may).
    pub fn set_groups(&self, ids: &[u32]) -> Result<(), Errno> {
        let mut creds = self.creds.lock().unwrap_or_else(|p| p.into_inner());
        *creds = creds.with_groups(ids)?;
        Ok(())
    }

    /// The fd table.
    pub fn fds(&self) -> &FdTable {
        &self.fds
    }

    /// Pending signal set.
    pub fn pending(&self) -> SigSet {
        self.signals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pending()
    }

    /// Queues `info` (1..=64): a standard signal already pending coalesces,
    /// a realtime one queues (EAGAIN past the queue limit). Returns whether
    /// it was queued. Wakes nobody: `HostedKernel::queue_signal` is the
    /// whole kill(2); tests call this alone to measure the subsystem's
    /// part of a signal's wake-up (`Ipc::signal_queued`) by itself.
    pub fn raise(&self, info: SigInfo) -> bool {
        if !(1..=64).contains(&info.signo) {
            return false;
        }
        let mut s = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        if info.signo < SIGRTMIN {
            s.standard.entry(info.signo).or_insert(info);
        } else if s.realtime.len() < RT_QUEUE_LIMIT {
            s.realtime.push_back(info);
        } else {
            return false;
        }
        true
    }

    /// Dequeues the lowest-numbered pending signal in `mask` (realtime ones
    /// oldest first).
    pub fn take_signal(&self, mask: SigSet) -> Option<SigInfo> {
        let mut s = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        let wanted = s.pending() & mask;
        if wanted == 0 {
            return None;
        }
        let signo = wanted.trailing_zeros() + 1;
        if signo < SIGRTMIN {
            s.standard.remove(&signo)
        } else {
            let at = s.realtime.iter().position(|i| i.signo == signo)?;
            s.realtime.remove(at)
        }
    }

    /// Makes a taken signal pending again (`Kernel::restore_signal`): a
    /// standard one merges with an instance raised meanwhile, a realtime
    /// one goes ahead of the queue, even past its limit (it held a place).
    pub fn restore_signal(&self, info: SigInfo) {
        if !(1..=64).contains(&info.signo) {
            return;
        }
        let mut s = self.signals.lock().unwrap_or_else(|p| p.into_inner());
        if info.signo < SIGRTMIN {
            s.standard.entry(info.signo).or_insert(info);
        } else {
            s.realtime.push_front(info);
        }
    }

    /// Delivers (discards) every pending instance of `sig`, as the return to
    /// user mode would.
    pub fn take_signal_all(&self, sig: u32) {
        while self.take_signal(sig_bit(sig)).is_some() {}
    }
}

#[derive(Default)]
struct ParkState {
    permit: bool,
    parked: bool,
}

/// A simulated task (a thread of a process).
pub struct Task {
    id: TaskId,
    process: Arc<Process>,
    /// Blocked signals, bit `sig - 1`.
    mask: AtomicU64,
    park: Mutex<ParkState>,
    cv: Condvar,
    /// How many times it was unparked (tests of who a wake-up reaches).
    unparks: AtomicUsize,
    /// How many times it went to sleep in `park` (a harness that waits
    /// until a call has blocked).
    sleeps: AtomicUsize,
}

impl Task {
    pub(super) fn new(id: TaskId, process: Arc<Process>) -> Self {
        Task {
            id,
            process,
            mask: AtomicU64::new(0),
            park: Mutex::new(ParkState::default()),
            cv: Condvar::new(),
            unparks: AtomicUsize::new(0),
            sleeps: AtomicUsize::new(0),
        }
    }

    /// The task id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The process it belongs to.
    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// Sets the blocked-signal mask (sigprocmask SIG_SETMASK).
    pub fn set_mask(&self, mask: u64) {
        self.mask.store(mask, Ordering::SeqCst);
    }

    /// A park ends Interrupted when an unblocked signal is pending or the
    /// process is being ended (as a kill interrupts every wait).
    fn interrupted(&self) -> bool {
        self.process.is_exiting() || self.process.pending() & !self.mask.load(Ordering::SeqCst) != 0
    }

    /// The blocked-signal mask.
    pub fn mask(&self) -> SigSet {
        self.mask.load(Ordering::SeqCst)
    }

    /// Whether the task sleeps in `park` now.
    pub fn is_parked(&self) -> bool {
        self.park.lock().unwrap_or_else(|p| p.into_inner()).parked
    }

    /// Parks; `limit` says how long it may sleep now: `None` the deadline
    /// has passed, `Some(None)` until nudged, `Some(Some(d))` at most `d`.
    /// `slept` runs each time it is about to sleep, once `sleeps` counts
    /// that sleep.
    pub(super) fn park(
        &self,
        limit: impl Fn() -> Option<Option<Duration>>,
        slept: impl Fn(),
    ) -> ParkOutcome {
        let mut st = self.park.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.permit {
                st.permit = false;
                return ParkOutcome::Unparked;
            }
            if self.interrupted() {
                return ParkOutcome::Interrupted;
            }
            let Some(sleep) = limit() else {
                return ParkOutcome::TimedOut;
            };
            st.parked = true;
            self.sleeps.fetch_add(1, Ordering::SeqCst);
            slept();
            st = match sleep {
                None => self.cv.wait(st).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    self.cv
                        .wait_timeout(st, d)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
            st.parked = false;
        }
    }

    /// How many times it has gone to sleep in `park` so far.
    pub fn sleeps(&self) -> usize {
        self.sleeps.load(Ordering::SeqCst)
    }

    /// How many times it has been unparked so far.
    pub fn unparks(&self) -> usize {
        self.unparks.load(Ordering::SeqCst)
    }

    /// Gives the task a permit and wakes it.
    pub(super) fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::SeqCst);
        self.park.lock().unwrap_or_else(|p| p.into_inner()).permit = true;
        self.cv.notify_all();
    }

    /// Wakes the task to re-check time and signals, without a permit.
    pub(super) fn nudge(&self) {
        let _st = self.park.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }
}
