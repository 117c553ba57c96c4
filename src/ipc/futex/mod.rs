//! Futexes: wait on a user word, wake, requeue, with bitsets and deadlines.
//!
//! Waiters hash by key into a fixed array of buckets, a `QueueFamily` of
//! wait queues each under its own lock, so a wake touches one bucket and
//! allocates nothing; requeue moves waiters between buckets. A wait goes
//! through the one blocking helper (`wait::wait_in` on the key's bucket);
//! a wake completes it, so a woken waiter returns 0 without re-reading
//! its word, as Linux's does.
//! A key is (address space, user address) for process-private words and
//! (shared marker, `Kernel::shared_key`) for process-shared ones, so the same
//! memory mapped at different addresses in two processes meets in one
//! queue. Unlike Redox's futex, a timed-out or interrupted waiter leaves the
//! table at once and an interrupted wait reports EINTR.

use crate::errno::{err, Errno, EAGAIN, EFAULT, EIDRM, EINTR, EINVAL};
use crate::ipc::common::wait::{wait_in, Blocking, Payload, Step};
use crate::ipc::common::waitq::{Gate, QueueFamily, Requeue, Visit};
use crate::kernel::{Deadline, Kernel, USER_SPACE_END};
use crate::syscall::uaccess::UserPtr;

/// Number of hash buckets; a power of two. A wake walks every sleeper of
/// its bucket (about 11 instructions each), so the table is sized for
/// about 10 000 sleepers (2.4 a bucket): 256 made a wake with nobody
/// waiting cost 2.2 times as much with 10 000 threads asleep on other
/// words as with 100 (docs/performance.md). 40 bytes a bucket, one heap
/// block of 160 KiB per namespace, allocated with it.
const BUCKETS: usize = 4096;
/// Address-space marker of process-shared keys (no real space has it).
const SHARED_SPACE: u64 = u64::MAX;

/// The match-any bitset of plain WAIT/WAKE.
pub const BITSET_MATCH_ANY: u32 = u32::MAX;

/// Which futex a word is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FutexKey {
    space: u64,
    addr: u64,
}

impl FutexKey {
    /// The key of `word` for the caller: EINVAL if misaligned, EFAULT
    /// past user space (even for a private word, which is never touched
    /// here: Linux's access_ok) or if a shared word is unmapped. A private
    /// word is keyed by its address (its identity, never dereferenced
    /// through the key).
    pub fn for_caller<K: Kernel + ?Sized>(
        k: &K,
        word: UserPtr<u32>,
        shared: bool,
    ) -> Result<Self, Errno> {
        if !word.is_aligned(4) {
            return err(EINVAL);
        }
        if word
            .addr()
            .checked_add(4)
            .is_none_or(|end| end > USER_SPACE_END)
        {
            return err(EFAULT);
        }
        Ok(if shared {
            FutexKey {
                space: SHARED_SPACE,
                addr: word.shared_key(k)?,
            }
        } else {
            FutexKey {
                space: k.address_space(),
                addr: u64::try_from(word.addr()).or_else(|_| err(EINVAL))?,
            }
        })
    }

    /// The key of a process-shared word whose `Kernel::shared_key` is
    /// `key` in every process that maps it (a named semaphore's page,
    /// reached by the kernel without a user address).
    pub fn shared(key: crate::kernel::SharedMemKey) -> Self {
        FutexKey {
            space: SHARED_SPACE,
            addr: key,
        }
    }

    fn bucket(self) -> usize {
        // Fibonacci hashing of both words; words are 4-aligned so drop 2 bits.
        let mixed = (self.addr >> 2) ^ self.space.rotate_left(29);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BUCKETS.trailing_zeros())) as usize
    }
}

/// Compares `word` with `expected` without sleeping: `None` if its page
/// must be faulted in first (with no lock held).
fn word_equals<K: Kernel + ?Sized>(
    k: &K,
    word: UserPtr<u32>,
    expected: u32,
) -> Result<Option<bool>, Errno> {
    Ok(word.read_nofault(k)?.map(|v| v == expected))
}

/// What a futex waiter's node carries.
struct FutexWaiter {
    key: FutexKey,
    bitset: u32,
}

/// A futex waiter's wait is over once a waker chose it (`Visit::Complete`,
/// `Requeue::Complete`): the result is always 0, kept in no slot.
impl Payload<()> for FutexWaiter {
    fn take_result(&mut self) -> Option<Result<(), Errno>> {
        Some(Ok(()))
    }
}

/// The gate of a value check: `Ok(Some(true))` go on, `Ok(Some(false))`
/// EAGAIN, `Ok(None)` fault the page in (unlocked) and check again.
fn gate(check: Result<Option<bool>, Errno>) -> Gate {
    match check {
        Ok(Some(true)) => Gate::Proceed,
        Ok(Some(false)) => Gate::Fail(Errno::new(EAGAIN)),
        Ok(None) => Gate::Retry,
        Err(e) => Gate::Fail(e),
    }
}

/// The futex table of one IPC namespace.
pub struct FutexTable {
    buckets: QueueFamily<FutexWaiter, BUCKETS>,
}

impl Default for FutexTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FutexTable {
    /// An empty table.
    pub fn new() -> Self {
        FutexTable {
            buckets: QueueFamily::new(),
        }
    }

    /// Blocks while `word` holds `expected`, until a wake
    /// whose bitset meets `bitset`, the deadline, or a signal.
    /// EAGAIN if the word differs at the time of the call, EINVAL for a
    /// zero bitset, ETIMEDOUT, EINTR; EFAULT if the word cannot be read.
    pub fn wait<K: Kernel + ?Sized>(
        &self,
        k: &K,
        word: UserPtr<u32>,
        key: FutexKey,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), Errno> {
        self.wait_if(k, word, key, bitset, deadline, |k| {
            word_equals(k, word, expected)
        })
    }

    /// `wait` with the caller's own value check, run under the bucket lock
    /// (e.g. a 64-bit compare for Redox's FUTEX_WAIT64): `Ok(Some(true))`
    /// sleep, `Ok(Some(false))` EAGAIN, `Ok(None)` the page of `word` must
    /// be faulted in first (done here with the lock dropped, then retried).
    pub fn wait_if<K: Kernel + ?Sized>(
        &self,
        k: &K,
        word: UserPtr<u32>,
        key: FutexKey,
        bitset: u32,
        deadline: Option<Deadline>,
        mut still_expected: impl FnMut(&K) -> Result<Option<bool>, Errno>,
    ) -> Result<(), Errno> {
        self.wait_gated(
            k,
            key,
            bitset,
            deadline,
            |k| gate(still_expected(k)),
            |k| word.fault_in(k),
        )
    }

    /// `wait` on a word the kernel reads itself, not through the caller's
    /// memory (a named semaphore's page, `Kernel::SharedPage`): `value`
    /// gives the word under the bucket lock, and the wait sleeps while it
    /// is `expected`. Never faults.
    pub fn wait_kernel_word<K: Kernel + ?Sized>(
        &self,
        k: &K,
        key: FutexKey,
        expected: u32,
        deadline: Option<Deadline>,
        value: impl Fn() -> u32,
    ) -> Result<(), Errno> {
        self.wait_gated(
            k,
            key,
            BITSET_MATCH_ANY,
            deadline,
            |_| gate(Ok(Some(value() == expected))),
            |_| Ok(()),
        )
    }

    fn wait_gated<K: Kernel + ?Sized>(
        &self,
        k: &K,
        key: FutexKey,
        bitset: u32,
        deadline: Option<Deadline>,
        mut check: impl FnMut(&K) -> Gate,
        mut fault_in: impl FnMut(&K) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        if bitset == 0 {
            return err(EINVAL);
        }
        // The check runs under the bucket lock: a waiter queues before the
        // lock drops, and a waker that changed the word before waking must
        // take this lock after us, so no wake is lost.
        let done = wait_in(
            k,
            &self.buckets,
            key.bucket(),
            Blocking::new(false, deadline),
            |_| match check(k) {
                Gate::Proceed => Step::Block(FutexWaiter { key, bitset }),
                Gate::Fail(e) => Step::Done(Err(e)),
                Gate::Retry => Step::Unlock,
            },
            || fault_in(k),
        );
        // Futex queues are never removed; treat it like a signal.
        done.map_err(|e| {
            if e.errno == EIDRM {
                Errno::new(EINTR)
            } else {
                e
            }
        })
    }

    /// Wakes up to `count` waiters on `key` whose bitset meets `bitset`;
    /// returns how many woke. EINVAL for a zero bitset.
    pub fn wake<K: Kernel + ?Sized>(
        &self,
        k: &K,
        key: FutexKey,
        count: usize,
        bitset: u32,
    ) -> Result<usize, Errno> {
        if bitset == 0 {
            return err(EINVAL);
        }
        if count == 0 {
            return Ok(0);
        }
        let mut left = count;
        self.buckets.visit(k, key.bucket(), |w| {
            if left == 0 {
                Visit::Stop
            } else if w.key == key && w.bitset & bitset != 0 {
                left -= 1;
                Visit::Complete
            } else {
                Visit::Keep
            }
        })
    }

    /// Wakes up to `wake` waiters on `from` and moves up to `requeue` more
    /// to `to`. With `expected`, first checks `word` (EAGAIN
    /// if it differs). Returns woken + moved, as Linux does.
    #[allow(clippy::too_many_arguments)]
    pub fn requeue<K: Kernel + ?Sized>(
        &self,
        k: &K,
        word: UserPtr<u32>,
        from: FutexKey,
        to: FutexKey,
        wake: usize,
        requeue: usize,
        expected: Option<u32>,
    ) -> Result<usize, Errno> {
        let (mut left_wake, mut left_move) = (wake, requeue);
        self.buckets.requeue(
            k,
            from.bucket(),
            to.bucket(),
            |k| match expected {
                Some(v) => gate(word_equals(k, word, v)),
                None => Gate::Proceed,
            },
            |k| word.fault_in(k),
            |w| {
                if w.key != from {
                    Requeue::Keep
                } else if left_wake > 0 {
                    left_wake -= 1;
                    Requeue::Complete
                } else if left_move > 0 {
                    left_move -= 1;
                    w.key = to;
                    Requeue::Move
                } else {
                    Requeue::Stop
                }
            },
        )
    }
}
