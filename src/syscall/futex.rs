//! The futex syscalls: decode, call `FutexTable`, encode.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::time;
use crate::ipc::futex::FutexKey;
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{flags, FutexFlags};
use crate::syscall::user::read_timespec;

fn key<K: Kernel + ?Sized>(k: &K, uaddr: usize, f: FutexFlags) -> Result<FutexKey, Errno> {
    FutexKey::for_caller(k, uaddr, f.contains(FutexFlags::SHARED))
}

/// A count is a C `int` that must not be negative: the whole register is
/// validated, so anything above `i32::MAX` (a negative int, or high bits
/// set above the low 32) is EINVAL rather than silently truncated.
fn count(raw: usize) -> Result<usize, Errno> {
    match i32::try_from(raw) {
        Ok(n) if n >= 0 => Ok(raw),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_validates_the_whole_register() {
        assert_eq!(count(0).map_err(|e| e.errno), Ok(0));
        assert_eq!(count(1).map_err(|e| e.errno), Ok(1));
        assert_eq!(
            count(i32::MAX as usize).map_err(|e| e.errno),
            Ok(i32::MAX as usize)
        );
        for bad in [
            i32::MAX as usize + 1,
            u32::MAX as usize,
            (1usize << 32) | 1,
            usize::MAX,
        ] {
            assert_eq!(count(bad).map_err(|e| e.errno), Err(EINVAL), "{bad:#x}");
        }
    }
}
