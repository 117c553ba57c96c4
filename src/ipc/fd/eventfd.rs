//! eventfd: a 64-bit counter behind an fd.
//!
//! read takes the whole count (or 1 with EFD_SEMAPHORE) and blocks at 0;
//! write adds and blocks when the sum would pass `EVENTFD_MAX`. Exactly 8
//! bytes move: a read buffer under 8 bytes and a write of any length but 8
//! are EINVAL (as Linux 6.x, checked by the differential test), and
//! `u64::MAX` is never a valid addend. A read whose buffer is bad fails with EFAULT and consumes
//! nothing, even when the buffer goes bad after the probe: the count is
//! committed only after the copy (Linux consumes first; docs/design.md
//! lists the difference).

use alloc::sync::Arc;
use core::any::Any;

use crate::errno::{err, Errno, EAGAIN, EINVAL};
use crate::ipc::common::file::{check_u64_read, FdCore, FileKind, FileObject, IoResult};
use crate::ipc::common::limits::ObjectKind;
use crate::ipc::common::open_file::{AccessMode, FileRef, OpenFile};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::ipc::common::wait::{wait, Blocking};
use crate::ipc::common::waitq::WaitQueue;
use crate::kernel::Kernel;
use crate::sync::Mutex;
use crate::syscall::uaccess::UserSlice;

/// The largest count: `u64::MAX - 1`.
pub const EVENTFD_MAX: u64 = u64::MAX - 1;

struct State {
    count: u64,
    readers: WaitQueue,
    writers: WaitQueue,
}

/// An eventfd object.
pub struct EventFd {
    state: Mutex<State>,
    semaphore: bool,
    core: FdCore,
}

/// Kernel bytes one eventfd costs, for accounting.
const COST: usize = core::mem::size_of::<EventFd>();

impl EventFd {
    /// eventfd2(initval, flags): the counter and its first open description
    /// (read-write); charges the caller, ENOSPC/ENOMEM at limits.
    pub fn create<K: Kernel + ?Sized>(
        k: &K,
        initval: u32,
        semaphore: bool,
        nonblocking: bool,
    ) -> Result<FileRef, Errno> {
        let core = FdCore::new(k, ObjectKind::EventFd, COST)?;
        let efd = Arc::new(EventFd {
            state: Mutex::new(State {
                count: u64::from(initval),
                readers: WaitQueue::new(),
                writers: WaitQueue::new(),
            }),
            semaphore,
            core,
        });
        Ok(OpenFile::new(k, efd, AccessMode::ReadWrite, nonblocking))
    }

    /// The current count (tests, fdinfo).
    pub fn count(&self) -> u64 {
        self.state.lock().count
    }

    /// Takes `seen` (what a read copied out) if the count still allows
    /// exactly that read: at least 1 in semaphore mode, else unchanged.
    fn commit_read(&self, k: &dyn Kernel, seen: u64) -> bool {
        let mut s = self.state.lock();
        let still = if self.semaphore {
            s.count >= 1
        } else {
            s.count == seen
        };
        if still {
            s.count -= seen;
            s.writers.wake_all(k);
        }
        still
    }

    fn readiness(count: u64) -> Readiness {
        let mut r = Readiness::empty();
        if count > 0 {
            r |= Readiness::IN;
        }
        if count < EVENTFD_MAX {
            r |= Readiness::OUT;
        }
        r
    }
}

impl FileObject for EventFd {
    fn kind(&self) -> FileKind {
        FileKind::EventFd
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        let out = check_u64_read(k, buf)?;
        // Look, copy out with no lock held, then commit: the count changes
        // only once the value is in the caller's buffer, so a copy that
        // faults (a racing unmap after the probe) consumes nothing.
        loop {
            let seen = wait(
                k,
                &self.state,
                Blocking::new(file.nonblocking(), None),
                |s| &mut s.readers,
                |s| match s.count {
                    0 => err(EAGAIN),
                    count => Ok(if self.semaphore { 1 } else { count }),
                },
            )?;
            out.write_from(k, &seen.to_ne_bytes())?;
            if self.commit_read(k, seen) {
                self.core.pollee.notify(Readiness::OUT);
                return Ok(8);
            }
            // Another reader or a writer changed the count since the look:
            // the copied value is stale, look again.
        }
    }

    fn write(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        // Linux (6.x) takes exactly 8 bytes here, while read accepts more.
        if buf.len() != 8 {
            return err(EINVAL);
        }
        let mut raw = [0u8; 8];
        buf.read_into(k, &mut raw)?;
        let add = u64::from_ne_bytes(raw);
        if add == u64::MAX {
            return err(EINVAL);
        }
        wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), None),
            |s| &mut s.writers,
            |s| {
                if EVENTFD_MAX - s.count < add {
                    return err(EAGAIN);
                }
                s.count += add;
                if s.count > 0 {
                    s.readers.wake_all(k);
                }
                Ok(())
            },
        )?;
        if add > 0 {
            self.core.pollee.notify(Readiness::IN);
        }
        Ok(8)
    }

    fn poll(&self, _k: &dyn Kernel) -> Readiness {
        Self::readiness(self.state.lock().count)
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.core.pollee)
    }
}
