//! signalfd4: decode, create or update, install.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::fd::signalfd::{SignalFd, SignalTarget};
use crate::kernel::Kernel;
use crate::syscall::abi::{FdFlags, FD_NEW, SIGSET_SIZE};
use crate::syscall::args::Args;

/// signalfd4(fd, mask_ptr, masksize, flags, fd_slot) -> fd. With `fd` =
/// FD_NEW a new signalfd; otherwise `fd` must be a signalfd (EINVAL for
/// another kind, EBADF if not open or not an fd number) whose mask is
/// replaced.
pub fn signalfd4<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, mask_ptr, mask_size, flags, fd_slot, _] = a.regs();
    let f: FdFlags = flags.flags()?;
    if f.contains(FdFlags::SEMAPHORE) || !mask_size.is(SIGSET_SIZE) {
        return err(EINVAL);
    }
    let mask = mask_ptr.ptr::<u64>().read(k)?;
    if !fd.is(FD_NEW) {
        let fd = fd.fd()?;
        let file = k.get_fd(fd)?;
        let Some(sfd) = file.as_any().downcast_ref::<SignalFd>() else {
            return err(EINVAL);
        };
        sfd.set_mask(k, mask);
        return Ok(fd);
    }
    let slot = fd_slot.fd_slot()?;
    let sfd = SignalFd::create(k, mask, f.contains(FdFlags::NONBLOCK))?;
    k.install_fd(sfd, slot, f.contains(FdFlags::CLOEXEC))
}

/// signal_queued(pid, signo) -> woken. For a host that queues signals in
/// user space (on Redox procmgr sets the pending bits in pages shared with
/// redox-rt, and the kernel never sees a blocked signal arrive): the
/// sender's runtime says that signal `signo` (1..=64) is now pending for
/// process `pid` (> 0), and the signalfds whose mask holds it wake their
/// readers and observers, who then take what is pending through
/// `Kernel::take_signal`. Nothing is queued and nothing is read here, so no
/// permission is checked: a call for a signal that is not pending costs
/// its readers one spurious wake-up and changes no state. Returns the
/// number of readers woken. EINVAL for `signo` outside 1..=64 or `pid` 0.
pub fn signal_queued<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [pid, signo, ..] = a.regs();
    let pid = pid.u32()?;
    let signo = signo.u32()?;
    if pid == 0 || !(1..=64).contains(&signo) {
        return err(EINVAL);
    }
    Ok(k.ipc().signal_queued(k, SignalTarget::process(pid), signo))
}
