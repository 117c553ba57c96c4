//! The hosted kernel's file syscalls over subsystem fd objects: read,
//! write, poll, dup, fcntl(O_NONBLOCK), exec. They call the objects exactly
//! as a real host kernel's read/write/poll would.

use std::sync::Arc;
use std::time::Duration;

use super::{HostedKernel, Task};
use crate::errno::{err, Errno, EINTR, EINVAL};
use crate::ipc::pollee::{Observer, Readiness};
use crate::kernel::{ClockId, Deadline, Kernel, ParkOutcome};

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
        self.get_fd(fd)?.read(self, buf, len)
    }

    /// write(2) on the caller's `fd`.
    pub fn write(&self, fd: usize, buf: usize, len: usize) -> Result<usize, Errno> {
        self.get_fd(fd)?.write(self, buf, len)
    }

    /// dup(2): the lowest free fd, same object, without close-on-exec.
    pub fn dup(&self, fd: usize) -> Result<usize, Errno> {
        self.current().process().fds().dup(fd)
    }

    /// exec: closes the caller's close-on-exec fds.
    pub fn exec(&self) {
        self.current().process().fds().exec()
    }

    /// fcntl(F_SETFL, O_NONBLOCK on/off); EINVAL for objects without
    /// status flags.
    pub fn set_nonblocking(&self, fd: usize, on: bool) -> Result<(), Errno> {
        match self.get_fd(fd)?.status() {
            Some(s) => {
                s.set_nonblocking(on);
                Ok(())
            }
            None => err(EINVAL),
        }
    }

    /// poll(2): readiness of each (fd, wanted) pair, waiting up to
    /// `timeout` (None: forever) until one is ready. The wait is driven by
    /// the objects' observers, not by polling; timerfd expiries come from
    /// the namespace's timer queue. EINTR on a signal, EBADF for a closed fd.
    pub fn poll(
        &self,
        fds: &[(usize, Readiness)],
        timeout: Option<Duration>,
    ) -> Result<Vec<Readiness>, Errno> {
        let files = fds
            .iter()
            .map(|&(fd, _)| self.get_fd(fd))
            .collect::<Result<Vec<_>, _>>()?;
        let waker: Arc<dyn Observer> = Arc::new(PollWaker(self.current()));
        for f in &files {
            if let Some(p) = f.pollee() {
                p.register(&waker);
            }
        }
        let deadline = timeout.map(|t| {
            self.now(ClockId::Monotonic)
                .saturating_add(t.as_nanos() as u64)
        });
        let ready_now = || -> Vec<Readiness> {
            files
                .iter()
                .zip(fds)
                .map(|(f, &(_, want))| f.poll(self) & (want | Readiness::ERR | Readiness::HUP))
                .collect()
        };
        let result = loop {
            self.ipc().expire_timers(self);
            let ready = ready_now();
            let now = self.now(ClockId::Monotonic);
            if ready.iter().any(|r| !r.is_empty()) || deadline.is_some_and(|d| now >= d) {
                break Ok(ready);
            }
            // Sleep until the poll's own deadline or the next timer expiry
            // (moved onto the monotonic clock), whichever is first.
            let timer = self.ipc().next_timer_deadline().map(|t| {
                let left = t.at_ns.saturating_sub(self.now(t.clock));
                now.saturating_add(left)
            });
            let wake_at = match (deadline, timer) {
                (Some(d), Some(t)) => Some(d.min(t)),
                (d, t) => d.or(t),
            };
            let wake_at = wake_at.map(|at_ns| Deadline {
                clock: ClockId::Monotonic,
                at_ns,
            });
            if self.park(wake_at) == ParkOutcome::Interrupted {
                break err(EINTR);
            }
        };
        for f in &files {
            if let Some(p) = f.pollee() {
                p.unregister(&waker);
            }
        }
        result
    }
}
