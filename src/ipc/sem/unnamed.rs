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
//! The protocol that keeps the user-space fast path safe is
//! `ipc::sem::protocol`, which the shim runs too; this module runs it over
//! user memory reached through `UserPtr<u32>` (every load is
//! `Kernel::load_user_u32`, sequentially consistent).

use core::sync::atomic::Ordering;

use crate::errno::{err, Errno, EAGAIN, EINVAL};
use crate::ipc::futex::{FutexKey, BITSET_MATCH_ANY};
use crate::ipc::sem::protocol::{self, SemAccess, SemError, WaitMode, Word};
use crate::ipc::sem::{SemWait, SEM_VALUE_MAX};
use crate::kernel::{Deadline, Kernel};
use crate::syscall::uaccess::{UserPtr, UserValue};

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

/// The kernel-visible words of one unnamed semaphore, as `sem_init`
/// writes them (the table above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemWords {
    /// The count.
    pub value: u32,
    /// Tasks in or entering a futex wait.
    pub nwaiters: u32,
    /// `SEM_FLAG_SHARED` or 0.
    pub flags: u32,
}

impl UserValue for SemWords {
    const SIZE: usize = SEM_WORDS_SIZE;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        let word = |at: usize| u32::decode(&raw[at..at + 4]);
        Ok(SemWords {
            value: word(VALUE_OFFSET)?,
            nwaiters: word(NWAITERS_OFFSET)?,
            flags: word(FLAGS_OFFSET)?,
        })
    }
    fn encode(&self, out: &mut [u8]) {
        out.fill(0);
        self.value.encode(&mut out[VALUE_OFFSET..VALUE_OFFSET + 4]);
        self.nwaiters
            .encode(&mut out[NWAITERS_OFFSET..NWAITERS_OFFSET + 4]);
        self.flags.encode(&mut out[FLAGS_OFFSET..FLAGS_OFFSET + 4]);
    }
}

/// Writes a fresh semaphore at `sem` (`sem_init`). EINVAL for a value
/// above SEM_VALUE_MAX or a misaligned address, EFAULT for bad memory.
pub fn init<K: Kernel + ?Sized>(
    k: &K,
    sem: UserPtr<SemWords>,
    shared: bool,
    value: u32,
) -> Result<(), Errno> {
    if value > SEM_VALUE_MAX {
        return err(EINVAL);
    }
    SemAddr::new(sem)?;
    let flags = if shared { SEM_FLAG_SHARED } else { 0 };
    sem.write(
        k,
        &SemWords {
            value,
            nwaiters: 0,
            flags,
        },
    )
}

/// The words of one semaphore, checked once: EINVAL if misaligned, EFAULT
/// if the struct would wrap the address space.
#[derive(Clone, Copy)]
struct SemAddr {
    value: UserPtr<u32>,
    nwaiters: UserPtr<u32>,
    flags: UserPtr<u32>,
}

impl SemAddr {
    fn new(sem: UserPtr<SemWords>) -> Result<Self, Errno> {
        if !sem.is_aligned(4) {
            return err(EINVAL);
        }
        sem.bytes()?;
        Ok(SemAddr {
            value: sem.field(VALUE_OFFSET)?,
            nwaiters: sem.field(NWAITERS_OFFSET)?,
            flags: sem.field(FLAGS_OFFSET)?,
        })
    }

    /// The futex key of the value word.
    fn key<K: Kernel + ?Sized>(self, k: &K) -> Result<FutexKey, Errno> {
        let flags = self.flags.read(k)?;
        FutexKey::for_caller(k, self.value, flags & SEM_FLAG_SHARED != 0)
    }

    fn of(self, word: Word) -> UserPtr<u32> {
        match word {
            Word::Value => self.value,
            Word::Waiters => self.nwaiters,
        }
    }
}

/// One semaphore in the caller's user memory, as the protocol reaches it.
struct UserSem<'k, K: ?Sized> {
    k: &'k K,
    addr: SemAddr,
    key: FutexKey,
    deadline: Option<Deadline>,
}

impl<'k, K: Kernel + ?Sized> UserSem<'k, K> {
    fn new(k: &'k K, sem: UserPtr<SemWords>, deadline: Option<Deadline>) -> Result<Self, Errno> {
        let addr = SemAddr::new(sem)?;
        let key = addr.key(k)?;
        Ok(UserSem {
            k,
            addr,
            key,
            deadline,
        })
    }
}

impl<K: Kernel + ?Sized> SemAccess for UserSem<'_, K> {
    type Error = Errno;

    fn load(&self, word: Word, _order: Ordering) -> Result<u32, Errno> {
        // SeqCst whatever was asked: never weaker.
        self.addr.of(word).load(self.k)
    }

    fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, Errno> {
        self.addr.of(word).cmpxchg(self.k, current, new)
    }

    fn fetch_add(&self, word: Word, delta: u32) -> Result<(), Errno> {
        let at = self.addr.of(word);
        let mut cur = at.load(self.k)?;
        loop {
            let seen = at.cmpxchg(self.k, cur, cur.wrapping_add(delta))?;
            if seen == cur {
                return Ok(());
            }
            cur = seen;
        }
    }

    fn sleep(&self) -> Result<(), Errno> {
        let futex = &self.k.ipc().futex;
        match futex.wait(
            self.k,
            self.addr.value,
            self.key,
            0,
            BITSET_MATCH_ANY,
            self.deadline,
        ) {
            Err(e) if e.errno == EAGAIN => Ok(()),
            r => r,
        }
    }

    fn wake_one(&self) -> Result<(), Errno> {
        let futex = &self.k.ipc().futex;
        futex.wake(self.k, self.key, 1, BITSET_MATCH_ANY).map(drop)
    }
}

fn errno(e: SemError<Errno>) -> Errno {
    Errno::new(e.errno(|e| e.errno))
}

/// `sem_post`: EOVERFLOW at SEM_VALUE_MAX (value unchanged); wakes one
/// sleeper if any.
pub fn post<K: Kernel + ?Sized>(k: &K, sem: UserPtr<SemWords>) -> Result<(), Errno> {
    protocol::post(&UserSem::new(k, sem, None)?).map_err(errno)
}

/// `sem_wait`, `sem_trywait`, `sem_timedwait`, `sem_clockwait`.
/// EAGAIN (try, value 0), ETIMEDOUT, EINTR, EFAULT.
pub fn wait<K: Kernel + ?Sized>(k: &K, sem: UserPtr<SemWords>, how: SemWait) -> Result<(), Errno> {
    let sem = UserSem::new(k, sem, how.deadline())?;
    let mode = match how {
        SemWait::Try => WaitMode::Try,
        SemWait::Forever | SemWait::Until(_) => WaitMode::Block,
    };
    protocol::wait(&sem, mode).map_err(errno)
}

/// `sem_getvalue`: the count (never negative, as Linux reports).
pub fn get_value<K: Kernel + ?Sized>(k: &K, sem: UserPtr<SemWords>) -> Result<u32, Errno> {
    SemAddr::new(sem)?.value.load(k)
}
