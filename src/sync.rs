//! Locks and atomics used by the subsystem.
//!
//! Normally spin locks (the subsystem never sleeps while holding one) and
//! core atomics; on a host (`std`) the spin locks yield while they wait. With the `model-check` feature they are shuttle's, so the
//! model checker controls every interleaving (tests/model_check.rs).
//!
//! Lock order (outermost first); the Redox adapter places all of these
//! below its context and scheme locks:
//! 1. namespace tables (the named semaphores' name table, SysV id tables,
//!    the weak registry of timerfds, the timer queue)
//! 2. one object's state lock (a named semaphore's, a queue's)
//! 3. futex buckets, two at a time only in ascending index order
//! 4. the SysV limits cell
//! 5. accounting
//!
//! Leaves: a pollee's observer list, the per-process table, and the
//! signalfd waits table (`SignalWaits`; it takes only a pollee's list
//! inside).
//!
//! No lock is held across `Kernel::park`; `Kernel::unpark` may be called
//! with any of them held. No user memory is touched with a lock held
//! (a copy may fault and sleep), except the futex value check, which uses
//! `Kernel::read_user_u32_nofault` and faults the page in with the lock
//! dropped.

#[cfg(not(feature = "model-check"))]
pub use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(any(feature = "model-check", feature = "std")))]
pub use spin::{Mutex, MutexGuard};

/// On a host (`std`), a spinning waiter yields its time slice: host threads
/// are preempted while holding a lock, which a kernel's spin lock holder
/// never is, and pure spinning then burns whole time slices.
#[cfg(all(feature = "std", not(feature = "model-check")))]
pub type Mutex<T> = spin::mutex::SpinMutex<T, spin::relax::Yield>;
/// Guard of [`Mutex`].
#[cfg(all(feature = "std", not(feature = "model-check")))]
pub type MutexGuard<'a, T> = spin::mutex::SpinMutexGuard<'a, T>;

#[cfg(feature = "model-check")]
pub use model::{Mutex, MutexGuard};
#[cfg(feature = "model-check")]
pub use shuttle::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

#[cfg(feature = "model-check")]
mod model {
    /// A shuttle mutex with spin's interface (no poisoning).
    #[derive(Default)]
    pub struct Mutex<T>(shuttle::sync::Mutex<T>);
    /// Guard of [`Mutex`].
    pub type MutexGuard<'a, T> = shuttle::sync::MutexGuard<'a, T>;

    impl<T> Mutex<T> {
        /// A new unlocked mutex.
        pub fn new(value: T) -> Self {
            Mutex(shuttle::sync::Mutex::new(value))
        }
        /// Locks; a poisoned lock (a panicking test) is still handed out.
        pub fn lock(&self) -> MutexGuard<'_, T> {
            match self.0.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            }
        }
        /// Locks if free (spin's `try_lock`).
        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            match self.0.try_lock() {
                Ok(g) => Some(g),
                Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) => None,
            }
        }
    }
}
