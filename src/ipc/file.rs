//! The objects behind file descriptors.
//!
//! An fd names a `FileObject` (shared by every fd that `dup` made); the host
//! kernel keeps the fd table and close-on-exec bits, the subsystem keeps the
//! objects. The fd-event issue extends this trait with read, write and
//! readiness.

use core::any::Any;

/// What kind of object an fd holds, so a call on the wrong kind fails with
/// the errno Linux gives instead of acting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A handle of a named POSIX semaphore (`sem_open`).
    NamedSem,
}

/// An object an fd can refer to.
pub trait FileObject: Send + Sync + Any {
    /// The object's kind.
    fn kind(&self) -> FileKind;
    /// For downcasting to the concrete object.
    fn as_any(&self) -> &dyn Any;
}
