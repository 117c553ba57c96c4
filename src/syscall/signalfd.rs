//! signalfd4: decode, create or update, install.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::fd::signalfd::SignalFd;
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
