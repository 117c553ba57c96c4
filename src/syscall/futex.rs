//! The futex syscalls: decode, call `FutexTable`, encode.
//!
//! Every register is decoded through `Reg`: the word and timeout are
//! typed user pointers, `expected` and `bitset` are `u32`s and the counts
//! non-negative C `int`s, each refused with EINVAL when the register holds
//! more (Linux's futex(2) reads them from the low 32 bits instead:
//! docs/abi.md).

use crate::errno::Errno;
use crate::ipc::common::time::{self, Timespec};
use crate::ipc::futex::FutexKey;
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::FutexFlags;
use crate::syscall::args::Args;
use crate::syscall::uaccess::UserPtr;

fn key<K: Kernel + ?Sized>(k: &K, word: UserPtr<u32>, f: FutexFlags) -> Result<FutexKey, Errno> {
    FutexKey::for_caller(k, word, f.contains(FutexFlags::SHARED))
}

/// futex_wait(uaddr, expected, timeout_ptr, flags, bitset)
pub fn wait<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [uaddr, expected, timeout, flags, bitset, _] = a.regs();
    let f: FutexFlags = flags.flags()?;
    let expected = expected.u32()?;
    let bitset = bitset.u32()?;
    let word = uaddr.ptr::<u32>();
    let key = key(k, word, f)?;
    let deadline = match timeout.opt_ptr::<Timespec>() {
        None => None,
        Some(ts) => {
            let clock = if f.contains(FutexFlags::CLOCK_REALTIME) {
                ClockId::Realtime
            } else {
                ClockId::Monotonic
            };
            let ts = ts.read(k)?;
            Some(time::deadline(
                k,
                clock,
                ts,
                f.contains(FutexFlags::ABSOLUTE),
            ))
        }
    };
    k.ipc()
        .futex
        .wait(k, word, key, expected, bitset, deadline)?;
    Ok(0)
}

/// futex_wake(uaddr, count, flags, bitset) -> woken
pub fn wake<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [uaddr, count, flags, bitset, _, _] = a.regs();
    let f: FutexFlags = flags.flags()?;
    let (count, bitset) = (count.count()?, bitset.u32()?);
    let key = key(k, uaddr.ptr(), f)?;
    k.ipc().futex.wake(k, key, count, bitset)
}

/// futex_requeue / futex_cmp_requeue
pub fn requeue<K: Kernel + ?Sized>(k: &K, a: Args, compare: bool) -> Result<usize, Errno> {
    let [uaddr, wake, uaddr2, requeue, flags, expected] = a.regs();
    let f: FutexFlags = flags.flags()?;
    let (wake, requeue) = (wake.count()?, requeue.count()?);
    let expected = if compare { Some(expected.u32()?) } else { None };
    let word = uaddr.ptr::<u32>();
    let from = key(k, word, f)?;
    let to = key(k, uaddr2.ptr(), f)?;
    k.ipc()
        .futex
        .requeue(k, word, from, to, wake, requeue, expected)
}
