//! signalfd4: decode, create or update, install.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::fd::signalfd::SignalFd;
use crate::kernel::Kernel;
use crate::syscall::abi::{flags, FdFlags, FD_NEW, SIGSET_SIZE};
use crate::syscall::user;

/// signalfd4(fd, mask_ptr, masksize, flags, fd_slot) -> fd. With `fd` =
/// FD_NEW a new signalfd; otherwise `fd` must be a signalfd (EINVAL for
/// another kind, EBADF if not open) whose mask is replaced.
pub fn signalfd4<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [fd, mask_ptr, mask_size, raw_flags, fd_slot, _] = a;
    let f: FdFlags = flags(raw_flags)?;
    if f.contains(FdFlags::SEMAPHORE) || mask_size != SIGSET_SIZE {
        return err(EINVAL);
    }
    let mut raw = [0u8; SIGSET_SIZE];
    k.read_user(mask_ptr, &mut raw)?;
    let mask = u64::from_ne_bytes(raw);
    if fd != FD_NEW {
        let file = k.get_fd(fd)?;
        let Some(sfd) = file.as_any().downcast_ref::<SignalFd>() else {
            return err(EINVAL);
        };
        sfd.set_mask(k, mask);
        return Ok(fd);
    }
    let sfd = SignalFd::create(k, mask, f.contains(FdFlags::NONBLOCK))?;
    k.install_fd(sfd, user::placement(fd_slot), f.contains(FdFlags::CLOEXEC))
}
