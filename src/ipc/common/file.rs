//! The objects behind file descriptors.
//!
//! An fd names an open description (`open_file::OpenFile`: access mode,
//! status flags, opener) over a `FileObject`, the shared state (a counter,
//! a semaphore, a queue). The host's read, write and poll reach the object
//! through the description, which passes itself along so the object sees
//! the description's O_NONBLOCK; objects that do not support an operation
//! keep the default (EINVAL, as Linux answers a read on a file that has no
//! read).

use core::any::Any;

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::limits::{Charge, ObjectKind, Resource};
use crate::ipc::common::open_file::{Closer, OpenFile};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::kernel::Kernel;
use crate::syscall::uaccess::UserSlice;

/// What kind of object an fd holds, so a call on the wrong kind fails with
/// the errno Linux gives instead of acting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A handle of a named POSIX semaphore (`sem_open`).
    NamedSem,
    /// An eventfd counter.
    EventFd,
    /// A signalfd.
    SignalFd,
    /// A timerfd.
    TimerFd,
    /// A POSIX message queue (`mq_open`).
    MessageQueue,
    /// A pipe end of the host kernel's own (the QEMU testbed's pipe(2));
    /// the subsystem makes none.
    Pipe,
    /// A POSIX shared memory object of the host kernel's own (the QEMU
    /// testbed's shm_open); the subsystem makes none.
    SharedMemory,
}

/// What read and write return: the bytes moved, or the errno.
pub type IoResult = Result<usize, Errno>;

/// An object an fd can refer to.
pub trait FileObject: Send + Sync + Any {
    /// The object's kind.
    fn kind(&self) -> FileKind;
    /// For downcasting to the concrete object.
    fn as_any(&self) -> &dyn Any;

    /// read(2) through `file` into the user buffer `buf`; blocks unless
    /// `file` is nonblocking.
    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        let _ = (k, file, buf);
        err(EINVAL)
    }
    /// write(2) through `file` from the user buffer `buf`.
    fn write(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        let _ = (k, file, buf);
        err(EINVAL)
    }
    /// Readiness now, for the calling task.
    fn poll(&self, k: &dyn Kernel) -> Readiness {
        let _ = k;
        Readiness::empty()
    }
    /// Where to register observers of readiness changes, if it has any.
    fn pollee(&self) -> Option<&Pollee> {
        None
    }
    /// Close hook: `closer` removed an fd of `file` (see `Closer`). Called
    /// for every fd a host closes, with no object lock held.
    fn closed(&self, file: &OpenFile, closer: Closer) {
        let _ = (file, closer);
    }
}

/// What every fd-event object holds besides its own state: the observers
/// of its readiness and the accounting charge that pays for it (refunded
/// when the object goes). The description's flags are not here: they
/// belong to each open (`OpenFile`).
pub struct FdCore {
    /// Observers to notify on readiness changes.
    pub pollee: Pollee,
    _charge: Charge,
}

impl FdCore {
    /// Charges `cost` bytes of `kind` to the caller (ENOSPC/ENOMEM at its
    /// limits).
    pub fn new<K: Kernel + ?Sized>(k: &K, kind: ObjectKind, cost: usize) -> Result<Self, Errno> {
        Self::with_amounts(k, kind, &[(Resource::KernelBytes, cost)])
    }

    /// As `new`, charging `amounts` of resources with the object, all or
    /// nothing (`Accounting::charge_with`).
    pub fn with_amounts<K: Kernel + ?Sized>(
        k: &K,
        kind: ObjectKind,
        amounts: &[(Resource, usize)],
    ) -> Result<Self, Errno> {
        let creds = k.credentials();
        let charge = k
            .ipc()
            .acct
            .charge_with(creds.euid, creds.privileged(), kind, amounts)?;
        Ok(FdCore {
            pollee: Pollee::new(),
            _charge: charge,
        })
    }
}

/// The common start of a read that returns one u64 (eventfd, timerfd):
/// EINVAL for a buffer under 8 bytes, EFAULT (before anything is taken)
/// if the 8 bytes are not writable (where Linux consumes first); returns
/// those 8 bytes.
pub fn check_u64_read<K: Kernel + ?Sized>(k: &K, buf: UserSlice) -> Result<UserSlice, Errno> {
    if buf.len() < 8 {
        return err(EINVAL);
    }
    let out = buf.prefix(8);
    out.probe_writable(k)?;
    Ok(out)
}
