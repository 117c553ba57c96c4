//! Futexes: wait on a user word, wake, requeue, with bitsets and deadlines.
//!
//! Waiters hash by key into a fixed array of buckets, each a `WaitQueue`
//! under its own lock, so a wake touches one bucket and allocates nothing.
//! A key is (address space, user address) for process-private words and
//! (shared marker, `Kernel::shared_key`) for process-shared ones, so the same
//! memory mapped at different addresses in two processes meets in one
//! queue. Unlike Redox's futex, a timed-out or interrupted waiter leaves the
//! table at once and an interrupted wait reports EINTR.

use crate::errno::{err, Errno, EAGAIN, EINTR, EINVAL, ETIMEDOUT};
use crate::ipc::waitq::{self, Visit, WaitNode, WaitOutcome, WaitQueue};
use crate::kernel::{Deadline, Kernel};
use crate::sync::Mutex;

/// Number of hash buckets; a power of two.
const BUCKETS: usize = 256;
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
    /// The key of the word at `uaddr` for the caller: EINVAL if misaligned,
    /// EFAULT if a shared word is unmapped.
    pub fn for_caller<K: Kernel + ?Sized>(
        k: &K,
        uaddr: usize,
        shared: bool,
    ) -> Result<Self, Errno> {
        if !uaddr.is_multiple_of(4) {
            return err(EINVAL);
        }
        Ok(if shared {
            FutexKey {
                space: SHARED_SPACE,
                addr: k.shared_key(uaddr)?,
            }
        } else {
            FutexKey {
                space: k.address_space(),
                addr: uaddr as u64,
            }
        })
    }

    fn words(self) -> [u64; 2] {
        [self.space, self.addr]
    }

    fn bucket(self) -> usize {
        // Fibonacci hashing of both words; words are 4-aligned so drop 2 bits.
        let mixed = (self.addr >> 2) ^ self.space.rotate_left(29);
        (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - BUCKETS.trailing_zeros())) as usize
    }
}

/// Compares the word at `uaddr` with `expected` without sleeping: `None`
/// if its page must be faulted in first (with no lock held).
fn word_equals<K: Kernel + ?Sized>(
    k: &K,
    uaddr: usize,
    expected: u32,
) -> Result<Option<bool>, Errno> {
    Ok(k.read_user_u32_nofault(uaddr)?.map(|v| v == expected))
}

/// The futex table of one IPC namespace.
pub struct FutexTable {
    buckets: [Mutex<WaitQueue>; BUCKETS],
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
            buckets: core::array::from_fn(|_| Mutex::new(WaitQueue::new())),
        }
    }

    /// Blocks while the word at `uaddr` equals `expected`, until a wake
    /// whose bitset meets `bitset`, the deadline, or a signal.
    /// EAGAIN if the word differs at the time of the call, EINVAL for a
    /// zero bitset, ETIMEDOUT, EINTR; EFAULT if the word cannot be read.
    pub fn wait<K: Kernel + ?Sized>(
        &self,
        k: &K,
        uaddr: usize,
        key: FutexKey,
        expected: u32,
        bitset: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), Errno> {
        self.wait_if(k, uaddr, key, bitset, deadline, |k| {
            word_equals(k, uaddr, expected)
        })
    }

    /// `wait` with the caller's own value check, run under the bucket lock
    /// (e.g. a 64-bit compare for Redox's FUTEX_WAIT64): `Ok(Some(true))`
    /// sleep, `Ok(Some(false))` EAGAIN, `Ok(None)` the page at `uaddr` must
    /// be faulted in first (done here with the lock dropped, then retried).
    pub fn wait_if<K: Kernel + ?Sized>(
        &self,
        k: &K,
        uaddr: usize,
        key: FutexKey,
        bitset: u32,
        deadline: Option<Deadline>,
        mut still_expected: impl FnMut(&K) -> Result<Option<bool>, Errno>,
    ) -> Result<(), Errno> {
        if bitset == 0 {
            return err(EINVAL);
        }
        let home = key.bucket();
        let node = WaitNode::new(k.current_task(), u64::from(bitset), key.words());
        loop {
            let mut q = self.buckets[home].lock();
            // Check under the bucket lock: a waker that changed the word
            // before waking must take this lock after us, so no wake is lost.
            match still_expected(k)? {
                None => {
                    drop(q);
                    k.fault_in_user(uaddr)?;
                    continue;
                }
                Some(false) => return err(EAGAIN),
                Some(true) => {}
            }
            // SAFETY: `node` lives on this frame and we go straight on to
            // `block_in_family`, which returns only once the node is off
            // every queue.
            unsafe { waitq::enqueue_in_family(&mut q, &node, home) };
            break;
        }
        match waitq::block_in_family(k, &self.buckets, &node, deadline) {
            WaitOutcome::Woken => Ok(()),
            WaitOutcome::TimedOut => err(ETIMEDOUT),
            // Futexes are never removed; treat like a signal.
            WaitOutcome::Interrupted | WaitOutcome::Removed => err(EINTR),
        }
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
        let mut q = self.buckets[key.bucket()].lock();
        let woken = q.drain_filter(
            k,
            |node| {
                if left == 0 {
                    Visit::Stop
                } else if node.aux() == key.words() && node.tag() & u64::from(bitset) != 0 {
                    left -= 1;
                    Visit::Wake
                } else {
                    Visit::Keep
                }
            },
            |_| {},
        );
        Ok(woken)
    }

    /// Wakes up to `wake` waiters on `from` and moves up to `requeue` more
    /// to `to`. With `expected`, first checks the word at `uaddr` (EAGAIN
    /// if it differs). Returns woken + moved, as Linux does.
    #[allow(clippy::too_many_arguments)]
    pub fn requeue<K: Kernel + ?Sized>(
        &self,
        k: &K,
        uaddr: usize,
        from: FutexKey,
        to: FutexKey,
        wake: usize,
        requeue: usize,
        expected: Option<u32>,
    ) -> Result<usize, Errno> {
        let (src, dst) = (from.bucket(), to.bucket());
        let (mut left_wake, mut left_move) = (wake, requeue);
        let mut pick = |node: &WaitNode| {
            if node.aux() != from.words() {
                Visit::Keep
            } else if left_wake > 0 {
                left_wake -= 1;
                Visit::Wake
            } else if left_move > 0 {
                left_move -= 1;
                Visit::Move
            } else {
                Visit::Stop
            }
        };
        // Checks the word under the lock(s) held: Ok(true) go on, Ok(false)
        // the page must be faulted in (locks dropped) first.
        let check = |k: &K| -> Result<bool, Errno> {
            match expected.map(|v| word_equals(k, uaddr, v)).transpose()? {
                Some(None) => Ok(false),
                Some(Some(false)) => err(EAGAIN),
                _ => Ok(true),
            }
        };
        loop {
            if src == dst {
                let mut q = self.buckets[src].lock();
                if !check(k)? {
                    drop(q);
                    k.fault_in_user(uaddr)?;
                    continue;
                }
                // Same bucket: a moved waiter only changes its key, in place.
                let mut moved = 0;
                let woken = q.drain_filter(
                    k,
                    |node| match pick(node) {
                        Visit::Move => {
                            node.set_aux(to.words());
                            moved += 1;
                            Visit::Keep
                        }
                        other => other,
                    },
                    |_| {},
                );
                return Ok(woken + moved);
            }
            // Two buckets: lock in ascending index order (sync.rs lock order).
            let (lo, hi) = if src < dst { (src, dst) } else { (dst, src) };
            let mut first = self.buckets[lo].lock();
            let mut second = self.buckets[hi].lock();
            if !check(k)? {
                drop((first, second));
                k.fault_in_user(uaddr)?;
                continue;
            }
            let (sq, dq) = if src < dst {
                (&mut *first, &mut *second)
            } else {
                (&mut *second, &mut *first)
            };
            let n = sq.drain_filter(k, &mut pick, |node| {
                node.set_aux(to.words());
                waitq::rehome(dq, node, dst);
            });
            return Ok(n);
        }
    }
}
