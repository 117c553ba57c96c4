//! Transitional register and user-memory helpers of the syscall files not
//! yet decoded through `args` and `uaccess` (timerfd). Remove this file
//! with their last use.

use crate::errno::Errno;
use crate::ipc::common::time::Timespec;
use crate::ipc::fd::timerfd::ItimerSpec;
use crate::kernel::{FdPlacement, Kernel};
use crate::syscall::abi::FD_SLOT_ANY;

/// Decodes an `fd_slot` argument.
pub fn placement(fd_slot: usize) -> FdPlacement {
    if fd_slot == FD_SLOT_ANY {
        FdPlacement::Lowest
    } else {
        FdPlacement::Exact(fd_slot)
    }
}

fn split_i64_pair(raw: &[u8; 16]) -> (i64, i64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&raw[..8]);
    b.copy_from_slice(&raw[8..]);
    (i64::from_ne_bytes(a), i64::from_ne_bytes(b))
}

fn timespec_bytes(ts: Timespec) -> [u8; 16] {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&ts.sec.to_ne_bytes());
    raw[8..].copy_from_slice(&ts.nsec.to_ne_bytes());
    raw
}

/// Reads and validates a kernel-ABI itimerspec (interval, then value).
pub fn read_itimerspec<K: Kernel + ?Sized>(k: &K, uaddr: usize) -> Result<ItimerSpec, Errno> {
    let mut raw = [0u8; 32];
    k.read_user(uaddr, &mut raw)?;
    let mut half = [0u8; 16];
    half.copy_from_slice(&raw[..16]);
    let (isec, insec) = split_i64_pair(&half);
    half.copy_from_slice(&raw[16..]);
    let (vsec, vnsec) = split_i64_pair(&half);
    Ok(ItimerSpec {
        interval: Timespec::validate(isec, insec)?,
        value: Timespec::validate(vsec, vnsec)?,
    })
}

/// Writes a kernel-ABI itimerspec.
pub fn write_itimerspec<K: Kernel + ?Sized>(
    k: &K,
    uaddr: usize,
    spec: ItimerSpec,
) -> Result<(), Errno> {
    let mut raw = [0u8; 32];
    raw[..16].copy_from_slice(&timespec_bytes(spec.interval));
    raw[16..].copy_from_slice(&timespec_bytes(spec.value));
    k.write_user(uaddr, &raw)?;
    Ok(())
}
