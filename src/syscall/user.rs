//! User-pointer helpers of the syscall layer: every pointer from user space
//! goes through the `Kernel` copy routines, which fail with EFAULT.

use alloc::vec;

use crate::errno::{err, Errno, ENAMETOOLONG};
use crate::ipc::name::{IpcName, NAME_MAX};
use crate::kernel::{FdPlacement, Kernel};
use crate::syscall::abi::FD_SLOT_ANY;

/// Reads a POSIX IPC name given as (pointer, length without NUL).
/// ENAMETOOLONG before touching memory if it cannot fit, EFAULT, then the
/// name rules of `IpcName::parse`.
pub fn read_name<K: Kernel + ?Sized>(k: &K, ptr: usize, len: usize) -> Result<IpcName, Errno> {
    if len > NAME_MAX + 1 {
        return err(ENAMETOOLONG);
    }
    let mut raw = vec![0u8; len];
    k.read_user(ptr, &mut raw)?;
    IpcName::parse(&raw)
}

/// Decodes an `fd_slot` argument.
pub fn placement(fd_slot: usize) -> FdPlacement {
    if fd_slot == FD_SLOT_ANY {
        FdPlacement::Lowest
    } else {
        FdPlacement::Exact(fd_slot)
    }
}
