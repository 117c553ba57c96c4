//! User-pointer helpers of the syscall layer: every pointer from user space
//! goes through the `Kernel` copy routines, which fail with EFAULT.

use alloc::vec;
use alloc::vec::Vec;

use crate::errno::{err, Errno, EINVAL, ENAMETOOLONG};
use crate::ipc::common::name::NameRules;
use crate::ipc::common::time::Timespec;
use crate::ipc::fd::timerfd::ItimerSpec;
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

/// A u32 argument that arrived in a register: EINVAL above u32::MAX.
pub fn u32_arg(raw: usize) -> Result<u32, Errno> {
    u32::try_from(raw).map_err(|_| Errno::new(EINVAL))
}
