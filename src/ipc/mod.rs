//! The IPC objects, free of any architecture and of any host kernel.

pub mod eventfd;
pub mod file;
pub mod futex;
pub mod limits;
pub mod name;
pub mod perm;
pub mod pollee;
pub mod registry;
pub mod sem;
pub mod signalfd;
pub mod sysv;
pub mod time;
pub mod timerfd;
pub mod timers;
pub mod waitq;

use alloc::sync::Arc;

use crate::kernel::{sig_bit, Deadline, Kernel};
use crate::sync::{AtomicU64, Ordering};
use futex::FutexTable;
use limits::{Accounting, Limits};
use registry::WeakRegistry;
use sem::named::SemNamespace;
use signalfd::SignalFd;
use timerfd::TimerFd;
use timers::TimerQueue;

/// The state of one IPC namespace: every table the syscalls reach.
pub struct Ipc {
    /// Futex wait queues.
    pub futex: FutexTable,
    /// Named POSIX semaphores.
    pub sems: SemNamespace,
    /// Per-user accounting of every object.
    pub acct: Arc<Accounting>,
    /// Armed timerfds by expiry.
    pub timers: Arc<TimerQueue>,
    /// Live signalfds, woken when a signal is queued.
    pub signalfds: WeakRegistry<SignalFd>,
    /// Live timerfds, told when the realtime clock is set.
    pub timerfds: WeakRegistry<TimerFd>,
    /// SysV IPC: id tables, limits and the objects.
    pub sysv: sysv::SysvNamespace,
    next_id: AtomicU64,
}

impl Ipc {
    /// A fresh namespace under `limits`.
    pub fn new(limits: Limits) -> Self {
        let acct = Accounting::new(limits);
        Ipc {
            futex: FutexTable::new(),
            sems: SemNamespace::new(acct.clone()),
            acct,
            timers: Arc::new(TimerQueue::default()),
            signalfds: WeakRegistry::default(),
            timerfds: WeakRegistry::default(),
            sysv: sysv::SysvNamespace::default(),
            next_id: AtomicU64::new(1),
        }
    }

    /// A namespace-unique object id.
    pub fn next_object_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Host hook: signal `signo` was queued for some process. Call it after
    /// queueing, without holding the host's signal-state lock.
    pub fn signal_queued<K: Kernel + ?Sized>(&self, k: &K, signo: u32) {
        let bit = sig_bit(signo);
        self.signalfds.for_each(|fd| {
            if fd.mask() & bit != 0 {
                fd.wake(k);
            }
        });
    }

    /// Host hook: CLOCK_REALTIME was set (clock_settime, settimeofday).
    pub fn clock_was_set<K: Kernel + ?Sized>(&self, k: &K) {
        self.timerfds.for_each(|t| t.clock_was_set(k));
    }

    /// Host hook: the earliest timer expiry, to program a wake-up for.
    pub fn next_timer_deadline(&self) -> Option<Deadline> {
        self.timers.next_deadline()
    }

    /// Host hook: fire the timers due by now (from the timer interrupt or
    /// a poll loop). Allocates nothing; returns how many fired.
    pub fn expire_timers<K: Kernel + ?Sized>(&self, k: &K) -> usize {
        self.timers.expire(k)
    }
}

impl Default for Ipc {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}
