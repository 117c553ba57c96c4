//! eventfd2: decode, create, install.

use crate::errno::Errno;
use crate::ipc::fd::eventfd::EventFd;
use crate::kernel::Kernel;
use crate::syscall::abi::FdFlags;
use crate::syscall::args::Args;

/// eventfd2(initval, flags, fd_slot) -> fd. `initval` is C's `unsigned
/// int`: EINVAL above `u32::MAX` (Linux reads the low 32 bits).
pub fn eventfd2<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [initval, flags, fd_slot, ..] = a.regs();
    let f: FdFlags = flags.flags()?;
    let initval = initval.u32()?;
    let slot = fd_slot.fd_slot()?;
    let efd = EventFd::create(
        k,
        initval,
        f.contains(FdFlags::SEMAPHORE),
        f.contains(FdFlags::NONBLOCK),
    )?;
    k.install_fd(efd, slot, f.contains(FdFlags::CLOEXEC))
}
