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

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;

    /// Two words in cells; `race` makes the next compare-exchange find
    /// the value changed to it first (another thread's step between the
    /// load and the exchange).
    #[derive(Default)]
    struct Words {
        value: Cell<u32>,
        waiters: Cell<u32>,
        race: Cell<Option<u32>>,
    }

    impl Words {
        fn with(value: u32, waiters: u32) -> Self {
            let w = Words::default();
            w.value.set(value);
            w.waiters.set(waiters);
            w
        }
        fn cell(&self, word: Word) -> &Cell<u32> {
            match word {
                Word::Value => &self.value,
                Word::Waiters => &self.waiters,
            }
        }
    }

    impl SemAccess for Words {
        type Error = ();
        fn load(&self, word: Word, _: Ordering) -> Result<u32, ()> {
            Ok(self.cell(word).get())
        }
        fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, ()> {
            if let Some(v) = self.race.take() {
                self.cell(word).set(v);
            }
            let seen = self.cell(word).get();
            if seen == current {
                self.cell(word).set(new);
            }
            Ok(seen)
        }
        fn fetch_add(&self, word: Word, delta: u32) -> Result<(), ()> {
            let c = self.cell(word);
            c.set(c.get().wrapping_add(delta));
            Ok(())
        }
        fn sleep(&self) -> Result<(), ()> {
            Err(())
        }
        fn wake_one(&self) -> Result<(), ()> {
            Ok(())
        }
    }

    #[test]
    fn post_once_raises_and_reports_the_waiter_check() {
        let w = Words::with(0, 0);
        assert_eq!(post_once(&w), Ok(Some(false)));
        assert_eq!(w.value.get(), 1);
        let w = Words::with(4, 2);
        assert_eq!(post_once(&w), Ok(Some(true)));
        assert_eq!(w.value.get(), 5);
    }

    #[test]
    fn post_once_changes_nothing_at_the_maximum_above_it_or_under_a_race() {
        for v in [SEM_VALUE_MAX, SEM_VALUE_MAX + 1, u32::MAX] {
            let w = Words::with(v, 1);
            assert_eq!(post_once(&w), Ok(None));
            assert_eq!(w.value.get(), v);
        }
        // post itself then reports the overflow.
        assert_eq!(
            post(&Words::with(SEM_VALUE_MAX, 0)),
            Err(SemError::Overflow)
        );
        let w = Words::with(3, 0);
        w.race.set(Some(7));
        assert_eq!(post_once(&w), Ok(None));
        assert_eq!(w.value.get(), 7, "the racing change stands, nothing added");
    }

    #[test]
    fn try_take_once_takes_one_unit_or_changes_nothing() {
        let w = Words::with(3, 0);
        assert_eq!(try_take_once(&w), Ok(true));
        assert_eq!(w.value.get(), 2);
        for v in [0, SEM_VALUE_MAX + 1, u32::MAX] {
            let w = Words::with(v, 0);
            assert_eq!(try_take_once(&w), Ok(false));
            assert_eq!(w.value.get(), v);
        }
        let w = Words::with(1, 0);
        w.race.set(Some(0));
        assert_eq!(try_take_once(&w), Ok(false));
        assert_eq!(w.value.get(), 0, "the unit another thread took stays taken");
        // try_take then reports what the value is.
        assert_eq!(
            try_take(&Words::with(u32::MAX, 0)),
            Err(SemError::NotASemaphore)
        );
        assert_eq!(try_take(&Words::with(SEM_VALUE_MAX, 0)), Ok(true));
    }
}
