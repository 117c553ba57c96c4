//! The IPC objects, free of any architecture and of any host kernel.

pub mod file;
pub mod futex;
pub mod limits;
pub mod name;
pub mod perm;
pub mod sem;
pub mod time;
pub mod waitq;

use alloc::sync::Arc;

use futex::FutexTable;
use limits::{Accounting, Limits};
use sem::named::SemNamespace;

/// The state of one IPC namespace: every table the syscalls reach.
pub struct Ipc {
    /// Futex wait queues.
    pub futex: FutexTable,
    /// Named POSIX semaphores.
    pub sems: SemNamespace,
    /// Per-user accounting of every object.
    pub acct: Arc<Accounting>,
}

impl Ipc {
    /// A fresh namespace under `limits`.
    pub fn new(limits: Limits) -> Self {
        let acct = Accounting::new(limits);
        Ipc {
            futex: FutexTable::new(),
            sems: SemNamespace::new(acct.clone()),
            acct,
        }
    }
}

impl Default for Ipc {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}
