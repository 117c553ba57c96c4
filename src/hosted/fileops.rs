//! The hosted kernel's file syscalls over subsystem fd objects: read,
//! write, poll, dup, fcntl(O_NONBLOCK), exec. They call the objects exactly
//! as a real host kernel's read/write/poll would.

use std::sync::Arc;
use std::time::Duration;

use super::{HostedKernel, Task};
use crate::errno::Errno;
use crate::ipc::common::poll::{self, PollEntry, PollFile};
use crate::ipc::common::pollee::{Observer, Readiness};
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::syscall::uaccess::UserSlice;

/// Unparks a task sitting in poll when an object it watches changes.
struct PollWaker(Arc<Task>);

impl Observer for PollWaker {
    fn on_events(&self, _events: Readiness) {
        self.0.unpark();
    }
}

impl HostedKernel {
    /// read(2) on the caller's `fd`.
    pub fn read(&self, fd: usize, buf: usize, len: usize) -> Result<usize, Errno> {
        let file = self.get_fd(fd)?;
        file.read(self, UserSlice::new(buf, len)?)
    }

    /// write(2) on the caller's `fd`.
    pub fn write(&self, fd: usize, buf: usize, len: usize) -> Result<usize, Errno> {
        let file = self.get_fd(fd)?;
        file.write(self, UserSlice::new(buf, len)?)
    }

    /// dup(2): the lowest free fd, same object, without close-on-exec.
    pub fn dup(&self, fd: usize) -> Result<usize, Errno> {
        self.current().process().fds().dup(fd)
    }

    /// exec: closes the caller's close-on-exec fds.
    pub fn exec(&self) {
        self.current().process().fds().exec()
    }

    /// fcntl(F_SETFL, O_NONBLOCK on/off) on the open description: every
    /// fd `dup` made from it sees the change, another open does not.
    pub fn set_nonblocking(&self, fd: usize, on: bool) -> Result<(), Errno> {
        self.get_fd(fd)?.status().set_nonblocking(on);
        Ok(())
    }

    /// poll(2): readiness of each (fd, wanted) pair, waiting up to
    /// `timeout` (None: forever) until one is ready; the shared loop
    /// (`ipc::common::poll`). EINTR on a signal, EBADF for a closed fd.
    pub fn poll(
        &self,
        fds: &[(usize, Readiness)],
        timeout: Option<Duration>,
    ) -> Result<Vec<Readiness>, Errno> {
        let mut entries = fds
            .iter()
            .map(|&(fd, want)| Ok(PollEntry::new(PollFile::Open(self.get_fd(fd)?), want)))
            .collect::<Result<Vec<_>, Errno>>()?;
        let waker = || -> Arc<dyn Observer> { Arc::new(PollWaker(self.current())) };
        let deadline = timeout.map(|t| {
            let ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            self.now(ClockId::Monotonic).saturating_add(ns)
        });
        poll::poll(self, &mut entries, deadline, waker, |wake_at| {
            self.park(wake_at.map(|at_ns| Deadline {
                clock: ClockId::Monotonic,
                at_ns,
            }))
        })?;
        Ok(entries.into_iter().map(|e| e.ready).collect())
    }
}
