//! Readiness of fd objects, and the one blocking loop every blocking read
//! and write uses.
//!
//! An object owns a `Pollee`. The host kernel registers `Observer`s on it
//! (the Redox adapter: one that calls `event::trigger` for the handle; the
//! hosted and testbed kernels: one that unparks a task sitting in poll), and
//! the object calls `Pollee::notify` after every state change that can make
//! it readable or writable, *after* releasing its own state lock. Notifying
//! walks a list that was built at registration time: it allocates nothing.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use bitflags::bitflags;

use crate::errno::{err, Errno, EAGAIN, EINTR, ETIMEDOUT};
use crate::ipc::waitq::{self, WaitOutcome, WaitQueue};
use crate::kernel::{Deadline, Kernel};
use crate::sync::{Mutex, MutexGuard};

bitflags! {
    /// Poll events, with Linux's poll(2) bit values.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Readiness: u32 {
        /// Data to read (POLLIN).
        const IN = 0x001;
        /// Room to write (POLLOUT).
        const OUT = 0x004;
        /// Error condition (POLLERR).
        const ERR = 0x008;
        /// Hang-up (POLLHUP).
        const HUP = 0x010;
    }
}

/// Something the host wants told when an object may have become ready.
pub trait Observer: Send + Sync {
    /// The object's readiness may now include `events`. Called without any
    /// object lock held; must not block or call back into the subsystem.
    fn on_events(&self, events: Readiness);
}

/// The observers of one object.
#[derive(Default)]
pub struct Pollee {
    observers: Mutex<Vec<Weak<dyn Observer>>>,
}

impl Pollee {
    /// A pollee with no observers.
    pub fn new() -> Self {
        Pollee {
            observers: Mutex::new(Vec::new()),
        }
    }

    /// Registers `observer` (held weakly: dropping it unregisters). Dead
    /// entries are pruned here, so the list stays as long as the live set.
    pub fn register(&self, observer: &Arc<dyn Observer>) {
        let mut obs = self.observers.lock();
        obs.retain(|w| w.strong_count() > 0);
        obs.push(Arc::downgrade(observer));
    }

    /// Removes `observer` now.
    pub fn unregister(&self, observer: &Arc<dyn Observer>) {
        let target = Arc::downgrade(observer);
        self.observers
            .lock()
            .retain(|w| w.strong_count() > 0 && !Weak::ptr_eq(w, &target));
    }

    /// Tells every live observer about `events`.
    pub fn notify(&self, events: Readiness) {
        if events.is_empty() {
            return;
        }
        let obs = self.observers.lock();
        for o in obs.iter() {
            if let Some(o) = o.upgrade() {
                o.on_events(events);
            }
        }
    }

    /// Number of live observers (tests).
    pub fn observers(&self) -> usize {
        self.observers
            .lock()
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}

/// The generic blocking loop: try `op` on the state behind `lock`; when it
/// reports EAGAIN and the caller may block, sleep on the queue `queue`
/// selects and try again after each wake. Nonblocking callers get EAGAIN;
/// a deadline gives ETIMEDOUT; a signal EINTR.
pub fn wait_until<K, T, R>(
    k: &K,
    lock: &Mutex<T>,
    nonblocking: bool,
    deadline: Option<Deadline>,
    queue: impl Fn(&mut T) -> &mut WaitQueue,
    mut op: impl FnMut(&mut MutexGuard<'_, T>) -> Result<R, Errno>,
) -> Result<R, Errno>
where
    K: Kernel + ?Sized,
{
    let mut guard = lock.lock();
    loop {
        match op(&mut guard) {
            Err(e) if e.errno == EAGAIN && !nonblocking => {}
            done => return done,
        }
        let (again, outcome) = waitq::block(k, lock, guard, &queue, 0, deadline);
        guard = again;
        match outcome {
            WaitOutcome::Woken => {}
            WaitOutcome::TimedOut => return err(ETIMEDOUT),
            WaitOutcome::Interrupted | WaitOutcome::Removed => return err(EINTR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, Ordering};

    struct Count(AtomicU32);
    impl Observer for Count {
        fn on_events(&self, events: Readiness) {
            self.0.fetch_add(events.bits(), Ordering::SeqCst);
        }
    }

    #[test]
    fn observers_are_weak_and_notified() {
        let p = Pollee::new();
        let c = Arc::new(Count(AtomicU32::new(0)));
        let as_obs: Arc<dyn Observer> = c.clone();
        p.register(&as_obs);
        p.notify(Readiness::IN);
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        p.notify(Readiness::empty());
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        drop(as_obs);
        assert_eq!(p.observers(), 1, "c still alive");
        let again: Arc<dyn Observer> = c.clone();
        p.unregister(&again);
        assert_eq!(p.observers(), 0);
    }
}
