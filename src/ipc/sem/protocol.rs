//! The unnamed semaphore protocol, written once.
//!
//! The kernel helpers (`unnamed`), relibc-shim and the relibc series run
//! these functions over their own access to a semaphore's words
//! ([`SemAccess`]: user memory through `Kernel`, or the words as atomics in
//! the caller's address space); `tests/loom_sem.rs` runs them over loom's
//! atomics. Only the access differs between them, so the steps and their
//! orderings cannot drift apart.
//!
//! The steps that make the user-space fast path safe:
//! - a waiter that finds `value == 0` adds itself to `nwaiters`, then
//!   sleeps on `value` with the futex, which re-reads `value` under its
//!   bucket lock and sleeps only if it is still 0;
//! - a poster raises `value`, then reads `nwaiters`, and wakes one sleeper
//!   only if it is not 0.
//!
//! This is the store-buffering pattern: each side writes one word and then
//! reads the other. It is correct only if neither read can be satisfied
//! before the same thread's write is visible to the other side, which is
//! what sequential consistency gives (all four accesses are SeqCst: the
//! read-modify-writes, the poster's [`WAITERS_ORDER`] load and the futex's
//! value check). With a weaker read of `nwaiters` (a Relaxed or plain
//! load, as the kernel's `post` once made with `read_user`), a weakly
//! ordered machine may read `nwaiters == 0` while the waiter reads the old
//! `value == 0` and sleeps: a lost wake-up. `tests/loom_sem.rs` shows the
//! model finds exactly that execution.

use core::sync::atomic::Ordering;

use crate::errno::{EAGAIN, EINVAL, EOVERFLOW};
use crate::ipc::sem::SEM_VALUE_MAX;

/// One of the two words the protocol works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Word {
    /// The count, 0..=SEM_VALUE_MAX; the futex word.
    Value,
    /// Tasks in or entering a futex wait on `Value`.
    Waiters,
}

/// The ordering of the poster's read of `nwaiters` (module docs: anything
/// weaker loses wake-ups).
pub const WAITERS_ORDER: Ordering = Ordering::SeqCst;

/// Access to one semaphore's words and to the futex on its value word.
pub trait SemAccess {
    /// How an access or a sleep fails (EFAULT, ETIMEDOUT, EINTR, ...).
    type Error;
    /// Atomic load of `word`, at least as strong as `order` (an
    /// implementation may always be stronger, never weaker).
    fn load(&self, word: Word, order: Ordering) -> Result<u32, Self::Error>;
    /// Sequentially consistent compare-exchange of `word`; returns the
    /// value found (the swap happened iff it equals `current`).
    fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, Self::Error>;
    /// Sequentially consistent wrapping add to `word`.
    fn fetch_add(&self, word: Word, delta: u32) -> Result<(), Self::Error>;
    /// Futex wait on `Value` while it holds 0 (the check is a SeqCst load
    /// made atomically with queueing). `Ok` whenever the value must be
    /// tried again: a wake, a spurious return, or the value was not 0
    /// (the futex's EAGAIN). `Err` ends the wait: the deadline passed, a
    /// signal, a fault.
    fn sleep(&self) -> Result<(), Self::Error>;
    /// Futex wake of at most one sleeper on `Value`.
    fn wake_one(&self) -> Result<(), Self::Error>;
}

/// Why a protocol step failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemError<E> {
    /// A post at SEM_VALUE_MAX (EOVERFLOW); the value is unchanged.
    Overflow,
    /// The value is above SEM_VALUE_MAX: not a semaphore `sem_init` made
    /// (EINVAL).
    NotASemaphore,
    /// A non-blocking wait found 0 (EAGAIN).
    WouldBlock,
    /// The access or the sleep failed.
    Access(E),
}

impl<E> SemError<E> {
    /// The errno of this failure; `access` gives the access errors' one.
    pub fn errno(self, access: impl FnOnce(E) -> i32) -> i32 {
        match self {
            SemError::Overflow => EOVERFLOW,
            SemError::NotASemaphore => EINVAL,
            SemError::WouldBlock => EAGAIN,
            SemError::Access(e) => access(e),
        }
    }
}

/// Whether a wait may sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitMode {
    /// Take a unit or fail `WouldBlock` (sem_trywait; also a deadline that
    /// has passed before the wait began).
    Try,
    /// Sleep until a unit is taken or the sleep fails.
    Block,
}

fn access<T, E>(r: Result<T, E>) -> Result<T, SemError<E>> {
    r.map_err(SemError::Access)
}

/// `sem_post`: raises the value (EOVERFLOW at SEM_VALUE_MAX, value
/// unchanged), then wakes one sleeper if any waiter registered.
#[inline]
pub fn post<A: SemAccess + ?Sized>(a: &A) -> Result<(), SemError<A::Error>> {
    // ci/stress-mutation's broken build: the waiter count read first.
    #[cfg(feature = "mutation-sem-post-order")]
    let waiters = access(a.load(Word::Waiters, WAITERS_ORDER))?;
    // A first guess only: the compare-exchange validates it.
    let mut cur = access(a.load(Word::Value, Ordering::Relaxed))?;
    loop {
        if cur >= SEM_VALUE_MAX {
            return Err(SemError::Overflow);
        }
        let seen = access(a.compare_exchange(Word::Value, cur, cur + 1))?;
        if seen == cur {
            break;
        }
        cur = seen;
    }
    #[cfg(not(feature = "mutation-sem-post-order"))]
    let waiters = access(a.load(Word::Waiters, WAITERS_ORDER))?;
    if waiters > 0 {
        access(a.wake_one())?;
    }
    Ok(())
}

/// Takes one unit if the value is positive; whether it did.
#[inline]
pub fn try_take<A: SemAccess + ?Sized>(a: &A) -> Result<bool, SemError<A::Error>> {
    let mut cur = access(a.load(Word::Value, Ordering::Relaxed))?;
    while cur > 0 {
        if cur > SEM_VALUE_MAX {
            return Err(SemError::NotASemaphore);
        }
        let seen = access(a.compare_exchange(Word::Value, cur, cur - 1))?;
        if seen == cur {
            return Ok(true);
        }
        cur = seen;
    }
    Ok(false)
}

/// The user-space fast path's post: one attempt at raising the value.
/// `Ok(None)`, with nothing changed, where the value is at or above
/// SEM_VALUE_MAX or changed under the attempt: the caller then runs
/// [`post`], which reports the overflow or retries. `Ok(Some(wake))`
/// once raised: `wake` is [`post`]'s waiter check, and the caller must
/// then wake one sleeper (`wake_one`), as [`post`] does, itself so that
/// the wake can be its tail call.
#[inline]
pub fn post_once<A: SemAccess + ?Sized>(a: &A) -> Result<Option<bool>, SemError<A::Error>> {
    #[cfg(feature = "mutation-sem-post-order")]
    let waiters = access(a.load(Word::Waiters, WAITERS_ORDER))?;
    let cur = access(a.load(Word::Value, Ordering::Relaxed))?;
    if cur >= SEM_VALUE_MAX || access(a.compare_exchange(Word::Value, cur, cur + 1))? != cur {
        return Ok(None);
    }
    #[cfg(not(feature = "mutation-sem-post-order"))]
    let waiters = access(a.load(Word::Waiters, WAITERS_ORDER))?;
    Ok(Some(waiters > 0))
}

/// The user-space fast path's take: one attempt of [`try_take`]; `false`,
/// with nothing changed, also where the value is above SEM_VALUE_MAX or
/// changed under the attempt (the caller then runs [`try_take`] or
/// [`wait`], which report or retry).
#[inline]
pub fn try_take_once<A: SemAccess + ?Sized>(a: &A) -> Result<bool, SemError<A::Error>> {
    let cur = access(a.load(Word::Value, Ordering::Relaxed))?;
    if cur == 0 || cur > SEM_VALUE_MAX {
        return Ok(false);
    }
    Ok(access(a.compare_exchange(Word::Value, cur, cur - 1))? == cur)
}

/// `sem_wait` and friends: takes a unit, sleeping while there is none
/// (`Block`), or fails `WouldBlock` (`Try`). A wake that chose this
/// waiter wins over its timeout or signal inside the futex (the sleep
/// reports `Ok`), so a wait that fails has consumed no post.
#[inline]
pub fn wait<A: SemAccess + ?Sized>(a: &A, mode: WaitMode) -> Result<(), SemError<A::Error>> {
    loop {
        if try_take(a)? {
            return Ok(());
        }
        if mode == WaitMode::Try {
            return Err(SemError::WouldBlock);
        }
        access(a.fetch_add(Word::Waiters, 1))?;
        // ci/stress-mutation's broken build: out of the count before the sleep.
        #[cfg(feature = "mutation-sem-early-unregister")]
        access(a.fetch_add(Word::Waiters, u32::MAX))?;
        let slept = a.sleep();
        #[cfg(not(feature = "mutation-sem-early-unregister"))]
        access(a.fetch_add(Word::Waiters, u32::MAX))?; // -1
        access(slept)?;
    }
}

/// `sem_getvalue`: the count (never negative, as Linux reports).
#[inline]
pub fn value<A: SemAccess + ?Sized>(a: &A) -> Result<u32, SemError<A::Error>> {
    access(a.load(Word::Value, Ordering::SeqCst))
}
