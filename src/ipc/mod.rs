//! The IPC objects, free of any architecture and of any host kernel.

pub mod common;
pub mod fd;
pub mod futex;
pub mod mq;
pub mod sem;
pub mod sysv;

use alloc::sync::Arc;

use crate::kernel::{sig_bit, Deadline, Kernel, Pid};
use crate::sync::{AtomicU64, Ordering};
use common::limits::{Accounting, Limits};
use common::process::ProcessTable;
use common::registry::WeakRegistry;
use fd::signalfd::{SignalTarget, SignalWaits};
use fd::timerfd::TimerFd;
use fd::timers::{Busy, TimerQueue};
use futex::FutexTable;
use mq::namespace::MqNamespace;
use sem::named::SemNamespace;

/// The state of one IPC namespace: every table the syscalls reach.
pub struct Ipc {
    /// Futex wait queues.
    pub futex: FutexTable,
    /// Named POSIX semaphores.
    pub sems: SemNamespace,
    /// POSIX message queues.
    pub mqueues: MqNamespace,
    /// Per-user accounting of every object.
    pub acct: Arc<Accounting>,
    /// Armed timerfds by expiry.
    pub timers: Arc<TimerQueue>,
    /// Per process, the signalfds its waiters wait on: what a signal
    /// queued for it visits.
    pub signal_waits: SignalWaits,
    /// Live timerfds, told when the realtime clock is set.
    pub timerfds: WeakRegistry<TimerFd>,
    /// SysV IPC: id tables, limits and the objects.
    pub sysv: sysv::SysvNamespace,
    /// Per-process state (SEM_UNDO, mq_notify owners), settled at exit.
    pub processes: ProcessTable,
    next_id: AtomicU64,
}

impl Ipc {
    /// A fresh namespace under `limits`.
    pub fn new(limits: Limits) -> Self {
        let acct = Accounting::new(limits);
        Ipc {
            futex: FutexTable::new(),
            sems: SemNamespace::new(acct.clone()),
            mqueues: MqNamespace::new(acct.clone()),
            acct,
            timers: Arc::new(TimerQueue::default()),
            signal_waits: SignalWaits::default(),
            timerfds: WeakRegistry::default(),
            sysv: sysv::SysvNamespace::default(),
            processes: ProcessTable::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// A namespace-unique object id.
    pub fn next_object_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Host hook: signal `signo` was queued for `target` (a process, or
    /// one thread of it). Call it after queueing, without holding the
    /// host's signal-state lock. It visits only the signalfds the target
    /// process waits on (its blocked readers', and those it polled while
    /// observed: `SignalWaits`), whatever the number of others; on each
    /// whose mask holds the signal it wakes only the readers that can
    /// take it (the target process's, or the target thread) and tells
    /// the observers; returns how many readers woke. Allocates nothing.
    pub fn signal_queued<K: Kernel + ?Sized>(
        &self,
        k: &K,
        target: SignalTarget,
        signo: u32,
    ) -> usize {
        self.signal_waits.signal_queued(k, target, sig_bit(signo))
    }

    /// Host hook: process `pid` has exited; call it once, after its last
    /// thread left the subsystem (contract in `process.rs`).
    pub fn process_exit<K: Kernel>(&self, k: &K, pid: Pid) {
        self.signal_waits.exit(pid);
        self.processes.exit(k, pid);
    }

    /// Host hook: `child` was forked from `parent` (contract in
    /// `process.rs`; nothing is inherited today).
    pub fn process_fork<K: Kernel>(&self, k: &K, parent: Pid, child: Pid) {
        // A stale list under a reused pid: the child waits on nothing yet.
        self.signal_waits.exit(child);
        self.processes.fork(k, parent, child);
    }

    /// Host hook: CLOCK_REALTIME was set (clock_settime, settimeofday).
    pub fn clock_was_set<K: Kernel + ?Sized>(&self, k: &K) {
        self.timerfds.for_each(|t| t.clock_was_set(k));
    }

    /// Host hook: the earliest timer expiry, to program a wake-up for.
    pub fn next_timer_deadline(&self) -> Option<Deadline> {
        self.timers.next_deadline()
    }

    /// Host hook, the one expiry mechanism of every host: call it from
    /// the timer tick (the timer interrupt; a host without one calls it
    /// where its clock moves and in its poll loop). Fires the timers due
    /// by now, waking their readers and observers; takes every lock with
    /// `try_lock` and leaves the rest for the next tick (`Busy`) if one is
    /// held, so it is safe in an interrupt that may have interrupted a
    /// holder. Allocates nothing; returns how many fired.
    pub fn try_expire_timers<K: Kernel + ?Sized>(&self, k: &K) -> Result<usize, Busy> {
        self.timers.try_expire(k)
    }

    /// `try_expire_timers` that waits for busy locks, for callers that
    /// cannot have interrupted a lock holder (a poll loop, a test).
    pub fn expire_timers<K: Kernel + ?Sized>(&self, k: &K) -> usize {
        self.timers.expire(k)
    }
}

impl Default for Ipc {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}
