//! User-pointer helpers of the syscall layer: every pointer from user space
//! goes through the `Kernel` copy routines, which fail with EFAULT.

use alloc::vec;
use alloc::vec::Vec;

use crate::errno::{err, Errno, EINVAL, ENAMETOOLONG};
use crate::ipc::common::name::NameRules;
use crate::ipc::common::time::Timespec;
use crate::kernel::{FdPlacement, Kernel};
use crate::syscall::abi::FD_SLOT_ANY;

/// Reads the bytes of a POSIX IPC name given as (pointer, length without
/// NUL), for a family with name rules `rules`: ENAMETOOLONG before touching
/// memory if it is longer than the rules allow at all, then EFAULT. The
/// rules themselves are applied by the family (`NameRules::parse`).
pub fn read_name<K: Kernel + ?Sized>(
    k: &K,
    ptr: usize,
    len: usize,
    rules: NameRules,
) -> Result<Vec<u8>, Errno> {
    if len > rules.max_raw_len() {
        return err(ENAMETOOLONG);
    }
    let mut raw = vec![0u8; len];
    k.read_user(ptr, &mut raw)?;
    Ok(raw)
}

/// Decodes an `fd_slot` argument.
pub fn placement(fd_slot: usize) -> FdPlacement {
    if fd_slot == FD_SLOT_ANY {
        FdPlacement::Lowest
    } else {
        FdPlacement::Exact(fd_slot)
    }
}

/// Reads and validates a kernel-ABI timespec (two i64s): EFAULT, EINVAL.
pub fn read_timespec<K: Kernel + ?Sized>(k: &K, uaddr: usize) -> Result<Timespec, Errno> {
    let mut raw = [0u8; 16];
    k.read_user(uaddr, &mut raw)?;
    let (sec, nsec) = split_i64_pair(&raw);
    Timespec::validate(sec, nsec)
}

fn split_i64_pair(raw: &[u8; 16]) -> (i64, i64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&raw[..8]);
    b.copy_from_slice(&raw[8..]);
    (i64::from_ne_bytes(a), i64::from_ne_bytes(b))
}

/// A u32 argument that arrived in a register: EINVAL above u32::MAX.
pub fn u32_arg(raw: usize) -> Result<u32, Errno> {
    u32::try_from(raw).map_err(|_| Errno::new(EINVAL))
}
