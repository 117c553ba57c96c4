//! Blocked msgsnd / msgrcv callers of one queue, in arrival order, each
//! with a result slot a waker fills in place.
//!
//! A waiter is entered (one map node, allocated when it blocks) under the
//! queue's lock and stays until its owner takes it out; a waker stores
//! the outcome in `done` and unparks the task, allocating nothing. The
//! owner checks its slot under the lock after every park, so a wake that
//! races with a signal is never lost: a filled slot wins.
//!
//! This is the queue's own waiter list, safe code over a `BTreeMap`; the
//! crate-wide blocking helper with typed wait nodes replaces it when it
//! lands (docs/design.md).

use alloc::collections::BTreeMap;

use crate::errno::Errno;
use crate::kernel::{Kernel, ParkOutcome, TaskId};
use crate::sync::{Mutex, MutexGuard};

/// One blocked caller: who, what it waits for, and its outcome once set.
pub struct Waiter<D, P> {
    /// The blocked task.
    pub task: TaskId,
    /// What it waits for (a selector, a size).
    pub data: D,
    done: Option<Result<P, Errno>>,
}

impl<D, P> Waiter<D, P> {
    /// Whether a waker has already settled this waiter.
    pub fn is_settled(&self) -> bool {
        self.done.is_some()
    }
}

/// The blocked callers of one kind, oldest first.
pub struct Waiters<D, P> {
    next: u64,
    map: BTreeMap<u64, Waiter<D, P>>,
}

impl<D, P> Default for Waiters<D, P> {
    fn default() -> Self {
        Waiters {
            next: 0,
            map: BTreeMap::new(),
        }
    }
}

impl<D, P> Waiters<D, P> {
    /// Enters a waiter; returns its ticket.
    pub fn insert(&mut self, task: TaskId, data: D) -> u64 {
        let ticket = self.next;
        self.next += 1;
        self.map.insert(
            ticket,
            Waiter {
                task,
                data,
                done: None,
            },
        );
        ticket
    }

    /// Unsettled waiters, oldest first.
    pub fn pending_mut(&mut self) -> impl Iterator<Item = &mut Waiter<D, P>> {
        self.map.values_mut().filter(|w| !w.is_settled())
    }

    /// Number of unsettled waiters.
    pub fn pending(&self) -> usize {
        self.map.values().filter(|w| !w.is_settled()).count()
    }

    /// Settles every unsettled waiter with `result()`.
    pub fn settle_all<K: Kernel + ?Sized>(&mut self, k: &K, result: impl Fn() -> Result<P, Errno>) {
        for w in self.pending_mut() {
            settle(k, w, result());
        }
    }

    fn take(&mut self, ticket: u64) -> Option<Result<P, Errno>> {
        let done = self.map.get_mut(&ticket)?.done.take()?;
        self.map.remove(&ticket);
        Some(done)
    }

    fn remove(&mut self, ticket: u64) {
        self.map.remove(&ticket);
    }
}

/// Stores `result` as `w`'s outcome and wakes it (never allocates).
pub fn settle<K: Kernel + ?Sized, D, P>(k: &K, w: &mut Waiter<D, P>, result: Result<P, Errno>) {
    w.done = Some(result);
    k.unpark(w.task);
}

/// How a wait ended.
pub enum Waited<P> {
    /// A waker settled it.
    Settled(Result<P, Errno>),
    /// A signal arrived first (EINTR; SysV calls are never restarted).
    Interrupted,
}

/// Parks the caller, entered as `ticket` in the waiters `pick` selects
/// from the state behind `lock`, until a waker settles it or a signal
/// comes; returns the re-taken guard. The waiter is out of the list when
/// this returns.
pub fn wait<'a, K: Kernel + ?Sized, S, D, P>(
    k: &K,
    lock: &'a Mutex<S>,
    mut guard: MutexGuard<'a, S>,
    pick: impl Fn(&mut S) -> &mut Waiters<D, P>,
    ticket: u64,
) -> (MutexGuard<'a, S>, Waited<P>) {
    loop {
        drop(guard);
        let parked = k.park(None);
        guard = lock.lock();
        let waiters = pick(&mut guard);
        if let Some(done) = waiters.take(ticket) {
            return (guard, Waited::Settled(done));
        }
        if parked != ParkOutcome::Unparked {
            waiters.remove(ticket);
            return (guard, Waited::Interrupted);
        }
    }
}
