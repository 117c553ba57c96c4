//! read, write, poll and fcntl on fd objects (redbear-ipc `FileObject`s),
//! as a real host kernel's file syscalls call them. fds 0..3 are the
//! console: writes to 1 and 2 print.

use alloc::sync::Arc;
use alloc::vec::Vec;

use arrayvec::ArrayVec;

use redbear_ipc::ipc::common::poll::{self as ipc_poll, PollEntry, PollFile};
use redbear_ipc::ipc::common::pollee::{Observer, Readiness};
use redbear_ipc::kernel::{FileRef, ParkOutcome};
use redbear_ipc::syscall::uaccess::UserSlice;
use testbed_abi::{errno::*, PollFd};

use crate::ipc::kernel;
use crate::sched::{self, Tid};
use crate::syscall::with_aspace;
use crate::{clock, process, usermem};

type R = Result<usize, isize>;

const POLLNVAL: i16 = 0x20;
/// Most pollfds one call takes (as Linux: no more than a process may
/// have open).
const MAX_POLLFDS: usize = crate::fd::MAX_FDS;
/// Linux O_NONBLOCK.
const O_NONBLOCK: usize = 0o4000;

fn file(fd: usize) -> Result<FileRef, isize> {
    process::with_current(|p| p.fds.get(fd)).unwrap_or(Err(ESRCH))
}

fn errno(e: redbear_ipc::Errno) -> isize {
    e.errno as isize
}

pub fn read(fd: usize, buf: usize, len: usize) -> R {
    let buf = UserSlice::new(buf, len).map_err(errno)?;
    file(fd)?.read(kernel(), buf).map_err(errno)
}

pub fn write(fd: usize, buf: usize, len: usize) -> R {
    let buf = UserSlice::new(buf, len).map_err(errno)?;
    file(fd)?.write(kernel(), buf).map_err(errno)
}

/// F_GETFL (3) / F_SETFL (4): the open description's access mode and
/// O_NONBLOCK (shared with its dups); F_SETFL changes O_NONBLOCK only.
pub fn status_flags(fd: usize, cmd: usize, arg: usize) -> R {
    let f = file(fd)?;
    if cmd == 3 {
        let nonblock = if f.nonblocking() { O_NONBLOCK } else { 0 };
        Ok(f.access().bits() | nonblock)
    } else {
        f.status().set_nonblocking(arg & O_NONBLOCK != 0);
        Ok(0)
    }
}

/// Unparks a task sitting in poll when an object it watches changes.
struct PollWaker(Tid);

impl Observer for PollWaker {
    fn on_events(&self, _events: Readiness) {
        sched::unpark_host(self.0);
    }
}

/// Parks a task in poll until `unpark_host`, `wake_at` (monotonic ns) or
/// a signal.
fn park_in_poll(wake_at: Option<u64>) -> ParkOutcome {
    match sched::park(wake_at) {
        sched::Wake::Unparked => ParkOutcome::Unparked,
        sched::Wake::TimedOut => ParkOutcome::TimedOut,
        sched::Wake::Interrupted => ParkOutcome::Interrupted,
    }
}

/// poll(2): `timeout_ms` < 0 waits forever. Bad fds report POLLNVAL. The
/// loop is the crate's (`redbear_ipc::ipc::common::poll`), as the hosted kernel's.
/// The array is read in one copy and its descriptors looked up under one
/// process lookup; only the `revents` fields are written back. A call of
/// at most `STACK_POLLFDS` fds keeps its arrays on the kernel stack: no
/// heap allocation (the testbed's allocator walks a list of holes).
pub fn poll(fds_ptr: usize, nfds: usize, timeout_ms: isize) -> R {
    if nfds > MAX_POLLFDS {
        return Err(EINVAL);
    }
    if nfds <= STACK_POLLFDS {
        let mut pfds = [PollFd::default(); STACK_POLLFDS];
        let mut entries = ArrayVec::<PollEntry, STACK_POLLFDS>::new();
        poll_in(fds_ptr, &mut pfds[..nfds], &mut entries, timeout_ms)
    } else {
        let mut pfds: Vec<PollFd> = alloc::vec![PollFd::default(); nfds];
        let mut entries = Vec::with_capacity(nfds);
        poll_in(fds_ptr, &mut pfds, &mut entries, timeout_ms)
    }
}

/// Most fds of a poll whose arrays stay on the kernel stack (about 40
/// bytes each).
const STACK_POLLFDS: usize = 16;

/// poll over `pfds` (as long as the user's array), `entries` empty with
/// room for as many.
fn poll_in<E>(fds_ptr: usize, pfds: &mut [PollFd], entries: &mut E, timeout_ms: isize) -> R
where
    E: Extend<PollEntry> + core::ops::DerefMut<Target = [PollEntry]>,
{
    let nfds = pfds.len();
    with_aspace(|a| usermem::read_slice(a, fds_ptr, pfds))?;
    process::with_current(|p| {
        entries.extend(pfds.iter().map(|pf| {
            let target = if pf.fd < 0 {
                PollFile::Ignored
            } else {
                p.fds
                    .get(pf.fd as usize)
                    .map_or(PollFile::Invalid, PollFile::Open)
            };
            PollEntry::new(
                target,
                Readiness::from_bits_truncate(u32::from(pf.events as u16)),
            )
        }))
    })
    .ok_or(ESRCH)?;
    let waker = || -> Arc<dyn Observer> { Arc::new(PollWaker(sched::current())) };
    let deadline = u64::try_from(timeout_ms)
        .ok()
        .map(|ms| clock::now().saturating_add(ms.saturating_mul(1_000_000)));
    let ready = ipc_poll::poll(kernel(), entries, deadline, waker, park_in_poll).map_err(errno)?;
    let size = core::mem::size_of::<PollFd>();
    let at = core::mem::offset_of!(PollFd, revents);
    let parts = entries.iter().enumerate().map(|(i, e)| {
        let revents = match e.file {
            PollFile::Invalid => POLLNVAL,
            PollFile::Ignored | PollFile::Open(_) => e.ready.bits() as i16,
        };
        (i * size + at, revents.to_ne_bytes())
    });
    with_aspace(|a| usermem::write_parts(a, fds_ptr, nfds * size, parts))?;
    Ok(ready)
}
