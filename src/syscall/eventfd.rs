//! eventfd2: decode, create, install.

use crate::errno::Errno;
use crate::ipc::fd::eventfd::EventFd;
use crate::kernel::Kernel;
use crate::syscall::abi::{flags, FdFlags};
use crate::syscall::user;

/// eventfd2(initval, flags, fd_slot) -> fd
pub fn eventfd2<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [initval, raw_flags, fd_slot, ..] = a;
    let f: FdFlags = flags(raw_flags)?;
    let initval = user::u32_arg(initval)?;
    let efd = EventFd::create(
        k,
        initval,
        f.contains(FdFlags::SEMAPHORE),
        f.contains(FdFlags::NONBLOCK),
    )?;
    k.install_fd(efd, user::placement(fd_slot), f.contains(FdFlags::CLOEXEC))
}
