//! Unnamed POSIX semaphores: a counter in user memory over futexes.
//!
//! The user-memory layout (16 bytes at a 4-aligned address, inside the
//! shim's 32-byte `sem_t`):
//!
//! | offset | field      | meaning                                        |
//! |--------|------------|------------------------------------------------|
//! | 0      | `value`    | the count, 0..=SEM_VALUE_MAX; the futex word   |
//! | 4      | `nwaiters` | tasks in or entering a futex wait on `value`   |
//! | 8      | `flags`    | bit 0: process-shared (futex keyed by memory)  |
//! | 12     | reserved   | zero                                           |
//!
//! The protocol that keeps the user-space fast path safe: a waiter adds
//! itself to `nwaiters` *before* it re-reads `value` and sleeps on it; a
//! poster raises `value` *before* it reads `nwaiters`, and wakes one only
//! if someone waits. Both steps are sequentially consistent, so either the
//! waiter sees the new value or the poster sees the waiter.

use crate::errno::{err, Errno, EAGAIN, EFAULT, EINVAL, EOVERFLOW};
use crate::ipc::futex::{FutexKey, BITSET_MATCH_ANY};
use crate::ipc::sem::{SemWait, SEM_VALUE_MAX};
use crate::kernel::{read_user_u32, Kernel};

/// Byte offset of the count.
pub const VALUE_OFFSET: usize = 0;
/// Byte offset of the waiter count.
pub const NWAITERS_OFFSET: usize = 4;
/// Byte offset of the flags word.
pub const FLAGS_OFFSET: usize = 8;
/// Size of the kernel-visible part.
pub const SEM_WORDS_SIZE: usize = 16;
/// Flag: the semaphore is shared between processes.
pub const SEM_FLAG_SHARED: u32 = 1;

/// Writes a fresh semaphore at `uaddr` (`sem_init`). EINVAL for a value
/// above SEM_VALUE_MAX or a misaligned address, EFAULT for bad memory.
pub fn init<K: Kernel + ?Sized>(
    k: &K,
    uaddr: usize,
    shared: bool,
    value: u32,
) -> Result<(), Errno> {
    if value > SEM_VALUE_MAX {
        return err(EINVAL);
    }
    SemAddr::new(uaddr)?;
    let flags = if shared { SEM_FLAG_SHARED } else { 0 };
    let mut raw = [0u8; SEM_WORDS_SIZE];
    raw[VALUE_OFFSET..VALUE_OFFSET + 4].copy_from_slice(&value.to_ne_bytes());
    raw[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&flags.to_ne_bytes());
    k.write_user(uaddr, &raw)?;
    Ok(())
}

/// The user addresses of one semaphore's words, checked once: EINVAL if
/// misaligned, EFAULT if the struct would wrap the address space.
#[derive(Clone, Copy)]
struct SemAddr {
    value: usize,
    nwaiters: usize,
    flags: usize,
}

impl SemAddr {
    fn new(uaddr: usize) -> Result<Self, Errno> {
        if !uaddr.is_multiple_of(4) {
            return err(EINVAL);
        }
        if uaddr.checked_add(SEM_WORDS_SIZE).is_none() {
            return err(EFAULT);
        }
        Ok(SemAddr {
            value: uaddr + VALUE_OFFSET,
            nwaiters: uaddr + NWAITERS_OFFSET,
            flags: uaddr + FLAGS_OFFSET,
        })
    }

    /// The futex key of the value word.
    fn key<K: Kernel + ?Sized>(self, k: &K) -> Result<FutexKey, Errno> {
        let flags = read_user_u32(k, self.flags)?;
        FutexKey::for_caller(k, self.value, flags & SEM_FLAG_SHARED != 0)
    }
}

/// Adds `delta` (wrapping) to the u32 at `uaddr` atomically.
fn add<K: Kernel + ?Sized>(k: &K, uaddr: usize, delta: u32) -> Result<(), Errno> {
    let mut cur = read_user_u32(k, uaddr)?;
    loop {
        let seen = k.cmpxchg_user_u32(uaddr, cur, cur.wrapping_add(delta))?;
        if seen == cur {
            return Ok(());
        }
        cur = seen;
    }
}

/// `sem_post`: EOVERFLOW at SEM_VALUE_MAX (value unchanged); wakes one
/// sleeper if any.
pub fn post<K: Kernel + ?Sized>(k: &K, uaddr: usize) -> Result<(), Errno> {
    let sem = SemAddr::new(uaddr)?;
    let key = sem.key(k)?;
    let value_addr = sem.value;
    let mut cur = read_user_u32(k, value_addr)?;
    loop {
        if cur >= SEM_VALUE_MAX {
            return err(EOVERFLOW);
        }
        let seen = k.cmpxchg_user_u32(value_addr, cur, cur + 1)?;
        if seen == cur {
            break;
        }
        cur = seen;
    }
    if read_user_u32(k, sem.nwaiters)? > 0 {
        k.ipc().futex.wake(k, key, 1, BITSET_MATCH_ANY)?;
    }
    Ok(())
}

/// Takes one unit if the value is positive; returns whether it did.
fn try_take<K: Kernel + ?Sized>(k: &K, value_addr: usize) -> Result<bool, Errno> {
    let mut cur = read_user_u32(k, value_addr)?;
    while cur > 0 {
        if cur > SEM_VALUE_MAX {
            return err(EINVAL); // not a semaphore we initialised
        }
        let seen = k.cmpxchg_user_u32(value_addr, cur, cur - 1)?;
        if seen == cur {
            return Ok(true);
        }
        cur = seen;
    }
    Ok(false)
}

/// `sem_wait`, `sem_trywait`, `sem_timedwait`, `sem_clockwait`.
/// EAGAIN (try, value 0), ETIMEDOUT, EINTR, EFAULT.
pub fn wait<K: Kernel + ?Sized>(k: &K, uaddr: usize, how: SemWait) -> Result<(), Errno> {
    let sem = SemAddr::new(uaddr)?;
    let key = sem.key(k)?;
    let (value_addr, nwaiters_addr) = (sem.value, sem.nwaiters);
    let deadline = how.deadline();
    loop {
        if try_take(k, value_addr)? {
            return Ok(());
        }
        if how == SemWait::Try {
            return err(EAGAIN);
        }
        add(k, nwaiters_addr, 1)?;
        let slept = k
            .ipc()
            .futex
            .wait(k, value_addr, key, 0, BITSET_MATCH_ANY, deadline);
        add(k, nwaiters_addr, u32::MAX)?; // -1
        match slept {
            Ok(()) => {}
            Err(e) if e.errno == EAGAIN => {}
            // A wake that chose us always wins over the timeout or signal
            // (the futex reports Ok), so giving up here loses no post.
            Err(e) => return Err(e),
        }
    }
}

/// `sem_getvalue`: the count (never negative, as Linux reports).
pub fn get_value<K: Kernel + ?Sized>(k: &K, uaddr: usize) -> Result<u32, Errno> {
    Ok(read_user_u32(k, SemAddr::new(uaddr)?.value)?)
}
