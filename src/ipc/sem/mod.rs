//! POSIX semaphores.
//!
//! Unnamed semaphores (`unnamed`) are a counter in user memory: the shim
//! posts and takes uncontended values with atomics, and only enters the
//! kernel to sleep or wake, through futexes. Named semaphores (`named`) are
//! kernel objects in a namespace, reached through an fd.

pub mod named;
pub mod protocol;
pub mod unnamed;

use crate::kernel::Deadline;

/// Largest semaphore value (SEM_VALUE_MAX).
pub const SEM_VALUE_MAX: u32 = i32::MAX as u32;

/// How a wait behaves when the value is zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemWait {
    /// `sem_trywait`: EAGAIN.
    Try,
    /// `sem_wait`: sleep until posted or interrupted.
    Forever,
    /// `sem_timedwait`/`sem_clockwait`: sleep at most until the deadline.
    /// The syscall layer reads and checks the timespec before the
    /// semaphore is tried, as glibc does (EINVAL even when the value is
    /// positive; the differential test pins this).
    Until(Deadline),
}

impl SemWait {
    /// The deadline to sleep until, if any.
    pub(crate) fn deadline(self) -> Option<Deadline> {
        match self {
            SemWait::Try | SemWait::Forever => None,
            SemWait::Until(d) => Some(d),
        }
    }
}
