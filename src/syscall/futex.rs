//! The futex syscalls: decode, call `FutexTable`, encode.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::futex::FutexKey;
use crate::ipc::time;
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{flags, FutexFlags};
use crate::syscall::user::read_timespec;

fn key<K: Kernel + ?Sized>(k: &K, uaddr: usize, f: FutexFlags) -> Result<FutexKey, Errno> {
    FutexKey::for_caller(k, uaddr, f.contains(FutexFlags::SHARED))
}

/// Counts arrive as u32 in a register (as Linux's int): above i32::MAX is
/// a negative count, EINVAL.
fn count(raw: usize) -> Result<usize, Errno> {
    match i32::try_from(raw as u32) {
        Ok(n) if n >= 0 => Ok(n as usize),
        _ => err(EINVAL),
    }
}

/// futex_wait(uaddr, expected, timeout_ptr, flags, bitset)
pub fn wait<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [uaddr, expected, timeout, raw_flags, bitset, _] = a;
    let f: FutexFlags = flags(raw_flags)?;
    let key = key(k, uaddr, f)?;
    let deadline = if timeout == 0 {
        None
    } else {
        let clock = if f.contains(FutexFlags::CLOCK_REALTIME) {
            ClockId::Realtime
        } else {
            ClockId::Monotonic
        };
        let ts = read_timespec(k, timeout)?;
        Some(time::deadline(
            k,
            clock,
            ts,
            f.contains(FutexFlags::ABSOLUTE),
        ))
    };
    k.ipc()
        .futex
        .wait(k, uaddr, key, expected as u32, bitset as u32, deadline)?;
    Ok(0)
}

/// futex_wake(uaddr, count, flags, bitset) -> woken
pub fn wake<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [uaddr, n, raw_flags, bitset, _, _] = a;
    let f: FutexFlags = flags(raw_flags)?;
    let key = key(k, uaddr, f)?;
    k.ipc().futex.wake(k, key, count(n)?, bitset as u32)
}

/// futex_requeue / futex_cmp_requeue
pub fn requeue<K: Kernel + ?Sized>(k: &K, a: [usize; 6], compare: bool) -> Result<usize, Errno> {
    let [uaddr, wake, uaddr2, requeue, raw_flags, expected] = a;
    let f: FutexFlags = flags(raw_flags)?;
    let from = key(k, uaddr, f)?;
    let to = key(k, uaddr2, f)?;
    let expected = compare.then_some(expected as u32);
    k.ipc()
        .futex
        .requeue(k, uaddr, from, to, count(wake)?, count(requeue)?, expected)
}
