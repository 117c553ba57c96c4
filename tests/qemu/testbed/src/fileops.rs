//! read, write, poll and fcntl on fd objects (redbear-ipc `FileObject`s),
//! as a real host kernel's file syscalls call them. fds 0..3 are the
//! console: writes to 1 and 2 print.

use alloc::sync::Arc;
use alloc::vec::Vec;

use redbear_ipc::ipc::pollee::{Observer, Readiness};
use redbear_ipc::kernel::{FileRef, Kernel};
use testbed_abi::{errno::*, PollFd};

use crate::ipc::kernel;
use crate::sched::{self, Tid};
use crate::syscall::with_aspace;
use crate::{clock, process, usermem};

type R = Result<usize, isize>;

const POLLNVAL: i16 = 0x20;
/// Most pollfds one call takes.
const MAX_POLLFDS: usize = 256;
/// Linux O_NONBLOCK.
const O_NONBLOCK: usize = 0o4000;

fn file(fd: usize) -> Result<FileRef, isize> {
    process::with_current(|p| p.fds.get(fd)).unwrap_or(Err(ESRCH))
}

fn errno(e: redbear_ipc::Errno) -> isize {
    e.errno as isize
}

pub fn read(fd: usize, buf: usize, len: usize) -> R {
    file(fd)?.read(kernel(), buf, len).map_err(errno)
}

pub fn write(fd: usize, buf: usize, len: usize) -> R {
    file(fd)?.write(kernel(), buf, len).map_err(errno)
}

/// F_GETFL (3) / F_SETFL (4): O_NONBLOCK of the open file description.
pub fn status_flags(fd: usize, cmd: usize, arg: usize) -> R {
    let f = file(fd)?;
    let Some(st) = f.status() else {
        return if cmd == 3 { Ok(0) } else { Err(EINVAL) };
    };
    if cmd == 3 {
        Ok(if st.nonblocking() { O_NONBLOCK } else { 0 })
    } else {
        st.set_nonblocking(arg & O_NONBLOCK != 0);
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

/// poll(2): `timeout_ms` < 0 waits forever. Bad fds report POLLNVAL.
pub fn poll(fds_ptr: usize, nfds: usize, timeout_ms: isize) -> R {
    if nfds > MAX_POLLFDS {
        return Err(EINVAL);
    }
    let size = core::mem::size_of::<PollFd>();
    let mut pfds: Vec<PollFd> = Vec::with_capacity(nfds);
    for i in 0..nfds {
        pfds.push(with_aspace(|a| usermem::read_val(a, fds_ptr + i * size))?);
    }
    let files: Vec<Option<FileRef>> = pfds
        .iter()
        .map(|p| {
            if p.fd < 0 {
                None
            } else {
                file(p.fd as usize).ok()
            }
        })
        .collect();
    let waker: Arc<dyn Observer> = Arc::new(PollWaker(sched::current()));
    for f in files.iter().flatten() {
        if let Some(p) = f.pollee() {
            p.register(&waker);
        }
    }
    let k = kernel();
    let deadline =
        (timeout_ms >= 0).then(|| clock::now().saturating_add(timeout_ms as u64 * 1_000_000));
    let result = loop {
        crate::ipc::expire_timers();
        let mut ready = 0;
        for (p, f) in pfds.iter_mut().zip(&files) {
            p.revents = match f {
                None if p.fd < 0 => 0,
                None => POLLNVAL,
                Some(f) => {
                    let want = Readiness::from_bits_truncate(p.events as u16 as u32)
                        | Readiness::ERR
                        | Readiness::HUP;
                    (f.poll(k) & want).bits() as i16
                }
            };
            if p.revents != 0 {
                ready += 1;
            }
        }
        let now = clock::now();
        if ready > 0 || deadline.is_some_and(|d| now >= d) {
            break Ok(ready);
        }
        // Sleep until the poll's deadline or the next timer expiry.
        let timer = k.ipc().next_timer_deadline().map(|t| {
            let left = t.at_ns.saturating_sub(k.now(t.clock));
            now.saturating_add(left)
        });
        let wake_at = match (deadline, timer) {
            (Some(d), Some(t)) => Some(d.min(t)),
            (d, t) => d.or(t),
        };
        if sched::park(wake_at) == sched::Wake::Interrupted {
            break Err(EINTR);
        }
    };
    for f in files.iter().flatten() {
        if let Some(p) = f.pollee() {
            p.unregister(&waker);
        }
    }
    let ready = result?;
    for (i, p) in pfds.iter().enumerate() {
        with_aspace(|a| usermem::write_val(a, fds_ptr + i * size, p))?;
    }
    Ok(ready)
}
