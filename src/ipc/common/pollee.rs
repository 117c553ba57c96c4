//! Readiness of fd objects.
//!
//! An object owns a `Pollee`. The host kernel registers `Observer`s on it
//! (the Redox adapter: one that calls `event::trigger` for the handle; the
//! hosted and testbed kernels: one that unparks a task sitting in poll), and
//! the object calls `Pollee::notify` after every state change that can make
//! it readable or writable, *after* releasing its own state lock. Notifying
//! allocates nothing and calls each observer with no lock held, not even
//! the pollee's own: it walks the list by index, taking the list lock only
//! to fetch one entry. While a walk is in progress, registration appends
//! and removal leaves a dead entry in place instead of shifting the list,
//! so an observer registered before the walk began is never skipped.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use bitflags::bitflags;

use crate::sync::Mutex;

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
    /// lock of the subsystem held (it may register or unregister observers);
    /// must not block.
    fn on_events(&self, events: Readiness);
}

#[derive(Default)]
struct Observers {
    list: Vec<Weak<dyn Observer>>,
    /// Notifies walking `list` now; while nonzero, entries keep their index.
    walkers: usize,
}

impl Observers {
    /// Drops dead entries, unless a walk relies on the indices.
    fn prune(&mut self) {
        if self.walkers == 0 {
            self.list.retain(|w| w.strong_count() > 0);
        }
    }
}

/// The observers of one object.
#[derive(Default)]
pub struct Pollee {
    observers: Mutex<Observers>,
}

/// Ends a walk even if an observer panics (host tests), so pruning resumes.
struct Walk<'a>(&'a Mutex<Observers>);

impl Drop for Walk<'_> {
    fn drop(&mut self) {
        let mut obs = self.0.lock();
        obs.walkers -= 1;
        obs.prune();
    }
}

impl Pollee {
    /// A pollee with no observers.
    pub fn new() -> Self {
        Pollee {
            observers: Mutex::new(Observers::default()),
        }
    }

    /// Registers `observer` (held weakly: dropping it unregisters). Dead
    /// entries are pruned here, so the list stays as long as the live set.
    pub fn register(&self, observer: &Arc<dyn Observer>) {
        let mut obs = self.observers.lock();
        obs.prune();
        obs.list.push(Arc::downgrade(observer));
    }

    /// Removes `observer` now.
    pub fn unregister(&self, observer: &Arc<dyn Observer>) {
        let target = Arc::downgrade(observer);
        let mut obs = self.observers.lock();
        for w in obs.list.iter_mut() {
            if Weak::ptr_eq(w, &target) {
                *w = Weak::<Dead>::new(); // keeps indices for walkers
            }
        }
        obs.prune();
    }

    /// Tells every live observer about `events`, with no lock held during
    /// the calls. Observers registered during the walk may be told too.
    pub fn notify(&self, events: Readiness) {
        if events.is_empty() {
            return;
        }
        let len = {
            let mut obs = self.observers.lock();
            obs.walkers += 1;
            obs.list.len()
        };
        let _walk = Walk(&self.observers);
        for i in 0..len {
            let next = self.observers.lock().list.get(i).and_then(Weak::upgrade);
            if let Some(o) = next {
                o.on_events(events);
            }
        }
    }

    /// Whether any live observer is registered (allocates nothing).
    pub fn is_observed(&self) -> bool {
        self.observers
            .lock()
            .list
            .iter()
            .any(|w| w.strong_count() > 0)
    }

    /// Number of live observers (tests).
    pub fn observers(&self) -> usize {
        self.observers
            .lock()
            .list
            .iter()
            .filter(|w| w.strong_count() > 0)
            .count()
    }
}

/// A never-live observer, the type of the dead entries `unregister` leaves.
struct Dead;
impl Observer for Dead {
    fn on_events(&self, _: Readiness) {}
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

    // These use the spin lock's `try_lock`, which shuttle's lock lacks.

    /// Checks, from inside `on_events`, that the pollee's lock is free, and
    /// registers a second observer there (a host re-arming its poll).
    #[cfg(not(feature = "model-check"))]
    struct Reentrant {
        pollee: Arc<Pollee>,
        other: Arc<dyn Observer>,
        lock_was_free: AtomicU32,
    }
    #[cfg(not(feature = "model-check"))]
    impl Observer for Reentrant {
        fn on_events(&self, _: Readiness) {
            if self.pollee.observers.try_lock().is_some() {
                self.lock_was_free.fetch_add(1, Ordering::SeqCst);
                self.pollee.register(&self.other);
            }
        }
    }

    #[cfg(not(feature = "model-check"))]
    #[test]
    fn notify_calls_observers_without_the_lock() {
        let pollee = Arc::new(Pollee::new());
        let other = Arc::new(Count(AtomicU32::new(0)));
        let other_obs: Arc<dyn Observer> = other.clone();
        let r = Arc::new(Reentrant {
            pollee: pollee.clone(),
            other: other_obs.clone(),
            lock_was_free: AtomicU32::new(0),
        });
        let r_obs: Arc<dyn Observer> = r.clone();
        pollee.register(&r_obs);
        pollee.notify(Readiness::IN);
        assert_eq!(r.lock_was_free.load(Ordering::SeqCst), 1);
        assert_eq!(pollee.observers(), 2, "registered from inside notify");
        pollee.notify(Readiness::OUT);
        assert!(other.0.load(Ordering::SeqCst) >= Readiness::OUT.bits());
    }

    /// Unregistering during a walk leaves a dead entry instead of shifting
    /// the list, so the walk reaches every observer registered before it.
    #[cfg(not(feature = "model-check"))]
    struct Unregisters {
        pollee: Arc<Pollee>,
        me: std::sync::Mutex<Option<Arc<dyn Observer>>>,
    }
    #[cfg(not(feature = "model-check"))]
    impl Observer for Unregisters {
        fn on_events(&self, _: Readiness) {
            // Only with the lock free (it is, unless notify holds it).
            if self.pollee.observers.try_lock().is_none() {
                return;
            }
            if let Some(me) = self.me.lock().unwrap().take() {
                self.pollee.unregister(&me);
            }
        }
    }

    #[cfg(not(feature = "model-check"))]
    #[test]
    fn unregister_during_notify_skips_nobody() {
        let pollee = Arc::new(Pollee::new());
        let first = Arc::new(Unregisters {
            pollee: pollee.clone(),
            me: std::sync::Mutex::new(None),
        });
        let first_obs: Arc<dyn Observer> = first.clone();
        *first.me.lock().unwrap() = Some(first_obs.clone());
        let second = Arc::new(Count(AtomicU32::new(0)));
        let second_obs: Arc<dyn Observer> = second.clone();
        pollee.register(&first_obs);
        pollee.register(&second_obs);
        pollee.notify(Readiness::IN);
        assert_eq!(second.0.load(Ordering::SeqCst), 1, "second still told");
        assert_eq!(pollee.observers(), 1);
        assert_eq!(
            pollee.observers.lock().list.len(),
            1,
            "pruned after the walk"
        );
    }
}
