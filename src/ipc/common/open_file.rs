//! Open file descriptions: what an fd refers to.
//!
//! Every fd names an `OpenFile`: the access mode and status flags of one
//! open, the caller that opened it, and the shared object behind it (an
//! eventfd's counter, a named semaphore, a message queue). `dup` (and
//! fork's copy of an fd table) shares the `OpenFile`, so O_NONBLOCK set
//! through one fd is seen through the other; two opens of the same object
//! (two `sem_open`s of one name, later two `mq_open`s of one queue) make
//! two descriptions over one object, each with its own flags.
//!
//! Hosts keep `FileRef`s (`Arc<OpenFile>`) in their fd tables and tell the
//! description about each fd they add (`fd_added`: install, dup, fork) and
//! remove (`fd_closed`: close, exec's close-on-exec sweep, exit); the
//! object's close hook then learns who closed and whether that was the
//! description's last fd (mq_notify registrations end when the registering
//! process closes its descriptor). A host that is told only of the last
//! close (Redox calls a scheme's `close` once the last fd of a description
//! goes) adds one fd per description and reports that close as the last.

use alloc::sync::Arc;
use core::any::Any;

use crate::errno::{err, Errno, EBADF, EINVAL};
use crate::ipc::common::file::{FileKind, FileObject};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::kernel::{Credentials, Kernel, Pid};
use crate::sync::{AtomicU32, AtomicUsize, Ordering};
use crate::syscall::uaccess::UserSlice;

/// The access mode of an open (O_RDONLY / O_WRONLY / O_RDWR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessMode {
    /// O_RDONLY (0).
    ReadOnly,
    /// O_WRONLY (1).
    WriteOnly,
    /// O_RDWR (2).
    ReadWrite,
    /// O_ACCMODE 3, which names no mode: Linux's mq_open creates a queue
    /// with it and the fd can neither send nor receive (EBADF). Only an
    /// object that accepts it constructs it; `from_oflag` refuses 3.
    NoAccess,
}

impl AccessMode {
    /// Decodes the O_ACCMODE bits of an open flag word (Linux's values);
    /// EINVAL for 3, which names no mode.
    pub const fn from_oflag(oflag: usize) -> Result<AccessMode, Errno> {
        match oflag & 3 {
            0 => Ok(AccessMode::ReadOnly),
            1 => Ok(AccessMode::WriteOnly),
            2 => Ok(AccessMode::ReadWrite),
            _ => err(EINVAL),
        }
    }

    /// The O_ACCMODE bits (F_GETFL reports them).
    pub const fn bits(self) -> usize {
        match self {
            AccessMode::ReadOnly => 0,
            AccessMode::WriteOnly => 1,
            AccessMode::ReadWrite => 2,
            AccessMode::NoAccess => 3,
        }
    }

    /// Whether reads are allowed.
    pub const fn readable(self) -> bool {
        matches!(self, AccessMode::ReadOnly | AccessMode::ReadWrite)
    }

    /// Whether writes are allowed.
    pub const fn writable(self) -> bool {
        matches!(self, AccessMode::WriteOnly | AccessMode::ReadWrite)
    }
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

/// Who opened a description (mq_notify and fdinfo want it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opener {
    /// The opening process.
    pub pid: Pid,
    /// Its credentials at the time of the open.
    pub creds: Credentials,
}

/// What a close hook learns about the close.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Closer {
    /// The process that closed the fd (at exit, the exiting one).
    pub pid: Pid,
    /// Whether this was the description's last fd: the description goes
    /// once every call still running on it has returned.
    pub last: bool,
}

/// A reference to an open description, as fd tables hold it.
pub type FileRef = Arc<OpenFile>;

/// One open file description over a shared object.
pub struct OpenFile {
    object: Arc<dyn FileObject>,
    access: AccessMode,
    status: StatusFlags,
    opener: Opener,
    fds: AtomicUsize,
}

impl OpenFile {
    /// A description of `object`, opened now by the calling task.
    pub fn new<K: Kernel + ?Sized>(
        k: &K,
        object: Arc<dyn FileObject>,
        access: AccessMode,
        nonblocking: bool,
    ) -> FileRef {
        Arc::new(OpenFile {
            object,
            access,
            status: StatusFlags::new(nonblocking),
            opener: Opener {
                pid: k.current_pid(),
                creds: k.credentials(),
            },
            fds: AtomicUsize::new(0),
        })
    }

    /// The shared object.
    pub fn object(&self) -> &Arc<dyn FileObject> {
        &self.object
    }

    /// The object's kind (a call on the wrong kind fails as Linux does).
    pub fn kind(&self) -> FileKind {
        self.object.kind()
    }

    /// The object, for downcasting to its concrete type.
    pub fn as_any(&self) -> &dyn Any {
        self.object.as_any()
    }

    /// The object as its concrete type, if it is one.
    pub fn downcast<T: FileObject>(&self) -> Option<&T> {
        self.object.as_any().downcast_ref::<T>()
    }

    /// The access mode.
    pub fn access(&self) -> AccessMode {
        self.access
    }

    /// The status flags (shared by every fd of this description).
    pub fn status(&self) -> &StatusFlags {
        &self.status
    }

    /// Whether O_NONBLOCK is set.
    pub fn nonblocking(&self) -> bool {
        self.status.nonblocking()
    }

    /// Who opened it.
    pub fn opener(&self) -> Opener {
        self.opener
    }

    /// read(2): EBADF unless opened for reading, then the object's read.
    pub fn read(&self, k: &dyn Kernel, buf: UserSlice) -> Result<usize, Errno> {
        if !self.access.readable() {
            return err(EBADF);
        }
        self.object.read(k, self, buf)
    }

    /// write(2): EBADF unless opened for writing, then the object's write.
    pub fn write(&self, k: &dyn Kernel, buf: UserSlice) -> Result<usize, Errno> {
        if !self.access.writable() {
            return err(EBADF);
        }
        self.object.write(k, self, buf)
    }

    /// Readiness now, for the calling task.
    pub fn poll(&self, k: &dyn Kernel) -> Readiness {
        self.object.poll(k)
    }

    /// Where to register observers of readiness changes, if anywhere.
    pub fn pollee(&self) -> Option<&Pollee> {
        self.object.pollee()
    }

    /// Host hook: one more fd refers to this description (install, dup,
    /// fork's copy of the fd table).
    pub fn fd_added(&self) {
        self.fds.fetch_add(1, Ordering::AcqRel);
    }

    /// Host hook: process `pid` removed one fd that referred to this
    /// description (close, close-on-exec, exit). Runs the object's close
    /// hook; call it with no host lock held that the object might need.
    pub fn fd_closed(&self, pid: Pid) {
        // A host that removes an fd it never reported counts as the last.
        let before = self
            .fds
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(1))
            })
            .unwrap_or(0);
        let closer = Closer {
            pid,
            last: before <= 1,
        };
        self.object.closed(self, closer);
    }

    /// How many fds the host reports for this description.
    pub fn fds(&self) -> usize {
        self.fds.load(Ordering::Acquire)
    }
}
