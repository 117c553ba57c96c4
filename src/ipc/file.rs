//! The objects behind file descriptors.
//!
//! An fd names a `FileObject`, shared by every fd that `dup` made from it
//! (the object is the open file description: its nonblocking flag is
//! shared too); the host kernel keeps the fd table and the close-on-exec
//! bits. The host's read, write and poll call these methods; objects that
//! do not support an operation keep the default (EINVAL, as Linux answers
//! a read on a file that has no read).

use core::any::Any;

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::limits::{Charge, ObjectKind};
use crate::ipc::pollee::{Pollee, Readiness};
use crate::kernel::Kernel;
use crate::sync::{AtomicU32, Ordering};

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
}

/// An object an fd can refer to.
pub trait FileObject: Send + Sync + Any {
    /// The object's kind.
    fn kind(&self) -> FileKind;
    /// For downcasting to the concrete object.
    fn as_any(&self) -> &dyn Any;

    /// read(2) into `len` bytes at user address `buf`; blocks unless the
    /// description is nonblocking.
    fn read(&self, k: &dyn Kernel, buf: usize, len: usize) -> Result<usize, Errno> {
        let _ = (k, buf, len);
        err(EINVAL)
    }
    /// write(2) from `len` bytes at user address `buf`.
    fn write(&self, k: &dyn Kernel, buf: usize, len: usize) -> Result<usize, Errno> {
        let _ = (k, buf, len);
        err(EINVAL)
    }
    /// Readiness now, for the calling task.
    fn poll(&self, k: &dyn Kernel) -> Readiness {
        let _ = k;
        Readiness::empty()
    }
    /// The parts every fd-event object shares, if it is one.
    fn core(&self) -> Option<&FdCore> {
        None
    }
    /// Where to register observers of readiness changes, if it has any.
    fn pollee(&self) -> Option<&Pollee> {
        self.core().map(|c| &c.pollee)
    }
    /// The description's status flags (O_NONBLOCK), if it keeps them.
    fn status(&self) -> Option<&StatusFlags> {
        self.core().map(|c| &c.status)
    }
}

/// What every fd-event object holds besides its own state: the open file
/// description's status flags, the observers of its readiness, and the
/// accounting charge that pays for it (refunded when the object goes).
pub struct FdCore {
    /// O_NONBLOCK and friends.
    pub status: StatusFlags,
    /// Observers to notify on readiness changes.
    pub pollee: Pollee,
    _charge: Charge,
}

impl FdCore {
    /// Charges `cost` bytes of `kind` to the caller (ENOSPC/ENOMEM at its
    /// limits) and sets up the description.
    pub fn new<K: Kernel + ?Sized>(
        k: &K,
        kind: ObjectKind,
        cost: usize,
        nonblocking: bool,
    ) -> Result<Self, Errno> {
        let creds = k.credentials();
        let charge = k
            .ipc()
            .acct
            .charge(creds.euid, creds.privileged(), kind, cost)?;
        Ok(FdCore {
            status: StatusFlags::new(nonblocking),
            pollee: Pollee::new(),
            _charge: charge,
        })
    }

    /// Whether O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.status.nonblocking()
    }
}

/// The common start of a read that returns one u64 (eventfd, timerfd):
/// EINVAL for a buffer under 8 bytes, EFAULT (before anything is taken)
/// if the 8 bytes are not writable.
pub fn check_u64_read<K: Kernel + ?Sized>(k: &K, buf: usize, len: usize) -> Result<(), Errno> {
    if len < 8 {
        return err(EINVAL);
    }
    probe_writable(k, buf, 8)
}

/// The status flags of an open file description.
#[derive(Debug, Default)]
pub struct StatusFlags(AtomicU32);

const NONBLOCK: u32 = 1;

impl StatusFlags {
    /// Flags with O_NONBLOCK set or not.
    pub fn new(nonblocking: bool) -> Self {
        StatusFlags(AtomicU32::new(if nonblocking { NONBLOCK } else { 0 }))
    }
    /// Whether O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.0.load(Ordering::Acquire) & NONBLOCK != 0
    }
    /// fcntl(F_SETFL) for O_NONBLOCK.
    pub fn set_nonblocking(&self, on: bool) {
        if on {
            self.0.fetch_or(NONBLOCK, Ordering::AcqRel);
        } else {
            self.0.fetch_and(!NONBLOCK, Ordering::AcqRel);
        }
    }
}

/// Proves the user range is writable before any state changes, so a bad
/// buffer fails with EFAULT and loses nothing (where Linux consumes first).
pub fn probe_writable<K: Kernel + ?Sized>(k: &K, buf: usize, len: usize) -> Result<(), Errno> {
    const CHUNK: usize = 128;
    let zeros = [0u8; CHUNK];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(CHUNK);
        let at = buf
            .checked_add(done)
            .ok_or(Errno::new(crate::errno::EFAULT))?;
        k.write_user(at, &zeros[..n])?;
        done += n;
    }
    Ok(())
}
