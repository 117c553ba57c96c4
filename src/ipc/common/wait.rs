//! The one blocking helper: every blocking call of the crate goes through
//! [`wait`], or [`wait_in`] where the queue is one of a hashed family
//! (futex buckets) rather than a field of the object.
//!
//! [`wait`] runs the operation under the object's lock. If it says it
//! would block, a node carrying the operation's request is queued on the
//! queue the selector picks, the lock is released and the task parks with
//! the deadline. An operation that must touch user memory with the lock
//! dropped (the futex's fault-in) says [`Step::Unlock`]: the helper drops
//! the lock, runs the caller's unlocked step and tries again. It returns the operation's own result, EAGAIN
//! (nonblocking), ETIMEDOUT, EINTR, or EIDRM when the object was removed
//! (`WaitQueue::remove_all`). After a plain wake it runs the operation
//! again; after a completion it returns the result the waker handed over,
//! without running the operation again.
//!
//! # How a family uses it
//! The object keeps its queues in the state behind its lock; the
//! operation returns a [`Step`] (or a `Result`, where EAGAIN means
//! "would block" and no request data is needed); a waker either wakes
//! (`wake`, `Visit::Wake`: the waiter re-tries) or does the waiter's
//! operation and completes it (`Visit::Complete`: a result handed over in
//! place, as a message send to a blocked receiver).
//!
//! ```
//! # use redbear_ipc::errno::Errno;
//! # use redbear_ipc::ipc::common::wait::{wait, Blocking, Handoff, Step};
//! # use redbear_ipc::ipc::common::waitq::{Visit, WaitQueue};
//! # use redbear_ipc::kernel::Kernel;
//! # use redbear_ipc::sync::Mutex;
//! /// A mailbox of one word: a receiver wants a word of at least `min`.
//! struct Mailbox {
//!     word: Option<u64>,
//!     receivers: WaitQueue<Handoff<u64, u64>>,
//! }
//!
//! fn receive<K: Kernel>(k: &K, m: &Mutex<Mailbox>, min: u64) -> Result<u64, Errno> {
//!     wait(k, m, Blocking::Forever, |m| &mut m.receivers, |m| match m.word {
//!         Some(w) if w >= min => {
//!             m.word = None;
//!             Step::Done(Ok(w))
//!         }
//!         _ => Step::Block(Handoff::new(min)),
//!     })
//! }
//!
//! fn send<K: Kernel>(k: &K, m: &Mutex<Mailbox>, w: u64) {
//!     let mut m = m.lock();
//!     let mut delivered = false;
//!     // Pipelined send: hand the word to the first receiver it suits.
//!     m.receivers.visit(k, |r| {
//!         if delivered || w < r.request {
//!             return Visit::Keep;
//!         }
//!         r.result = Some(Ok(w));
//!         delivered = true;
//!         Visit::Complete
//!     });
//!     if !delivered {
//!         m.word = Some(w);
//!     }
//! }
//! ```

use crate::errno::{err, Errno, EAGAIN, EIDRM, EINTR, EINVAL, ETIMEDOUT};
use crate::ipc::common::waitq::{self, Ended, Home, InObject, QueueFamily, WaitQueue};
use crate::kernel::{Deadline, Kernel};
use crate::sync::Mutex;

/// How long a caller is willing to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Blocking {
    /// Not at all: EAGAIN instead (O_NONBLOCK, trywait).
    NonBlocking,
    /// Until the operation can proceed, or a signal.
    Forever,
    /// At most until the deadline (then ETIMEDOUT).
    Until(Deadline),
}

impl Blocking {
    /// From an fd's O_NONBLOCK and an optional deadline.
    pub fn new(nonblocking: bool, deadline: Option<Deadline>) -> Self {
        match (nonblocking, deadline) {
            (true, _) => Blocking::NonBlocking,
            (false, None) => Blocking::Forever,
            (false, Some(d)) => Blocking::Until(d),
        }
    }
}

/// What one try of the operation says.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<R, P = ()> {
    /// It finished, with a result or a final error.
    Done(Result<R, Errno>),
    /// It would block: queue a node carrying this request.
    Block(P),
    /// It would block, but the answer changes by itself at this point (a
    /// timer's next expiry): sleep at most until then and try again.
    /// Reaching it is not a timeout.
    BlockUntil(P, Deadline),
    /// It cannot tell under the lock (a user page must be faulted in):
    /// drop the lock, run the unlocked step ([`wait_in`]'s `outside`;
    /// nothing for [`wait`]) and try again.
    Unlock,
}

/// What an operation may return: a [`Step`], or a plain `Result` whose
/// EAGAIN means "would block" with no request data.
pub trait IntoStep<R, P> {
    /// The step this value means.
    fn into_step(self) -> Step<R, P>;
}

impl<R, P> IntoStep<R, P> for Step<R, P> {
    fn into_step(self) -> Step<R, P> {
        self
    }
}

impl<R> IntoStep<R, ()> for Result<R, Errno> {
    fn into_step(self) -> Step<R, ()> {
        match self {
            Err(e) if e.errno == EAGAIN => Step::Block(()),
            done => Step::Done(done),
        }
    }
}

/// A node payload: the family's request, and the slot where a completing
/// waker leaves the result.
pub trait Payload<R> {
    /// The handed-over result, after the node was completed. `None` (a
    /// payload without a slot, or an empty slot) makes the waiter re-try.
    fn take_result(&mut self) -> Option<Result<R, Errno>>;
}

/// No request data and no result slot: every wake makes the waiter
/// re-try its operation.
impl<R> Payload<R> for () {
    fn take_result(&mut self) -> Option<Result<R, Errno>> {
        None
    }
}

/// A request `Q` with a result slot for `R`: the usual payload of a
/// family whose wakers complete operations.
#[derive(Debug, PartialEq, Eq)]
pub struct Handoff<Q, R> {
    /// What the waiter asked for (a selector, a size, an operation).
    pub request: Q,
    /// Filled by the waker before `Visit::Complete`.
    pub result: Option<Result<R, Errno>>,
}

impl<Q, R> Handoff<Q, R> {
    /// A request with an empty result slot.
    pub fn new(request: Q) -> Self {
        Handoff {
            request,
            result: None,
        }
    }
}

impl<Q, R> Payload<R> for Handoff<Q, R> {
    fn take_result(&mut self) -> Option<Result<R, Errno>> {
        self.result.take()
    }
}

/// The deadline to park with, and whether reaching it is the caller's
/// timeout (rather than a re-check point).
fn park_deadline(user: Option<Deadline>, recheck: Option<Deadline>) -> (Option<Deadline>, bool) {
    match (user, recheck) {
        (u, None) => (u, true),
        (None, r) => (r, false),
        (Some(u), Some(r)) if u.clock == r.clock && u.at_ns <= r.at_ns => (Some(u), true),
        // Different clocks: park until the re-check; the caller's
        // deadline is compared with its clock after each timeout.
        (Some(_), r) => (r, false),
    }
}

/// Runs `op` on the state behind `lock` until it finishes, blocking on the
/// queue `select` picks whenever it says so; see the module docs.
pub fn wait<K, T, P, R, S>(
    k: &K,
    lock: &Mutex<T>,
    how: Blocking,
    select: impl Fn(&mut T) -> &mut WaitQueue<P>,
    op: impl FnMut(&mut T) -> S,
) -> Result<R, Errno>
where
    K: Kernel + ?Sized,
    P: Payload<R>,
    S: IntoStep<R, P>,
{
    let home = InObject { lock, select };
    run(k, &home, 0, how, op, || Ok(()))
}

/// As [`wait`], on queue `index` of `family` (each queue under its own
/// lock; `op` runs with it held): EINVAL for a bad index. After
/// [`Step::Unlock`], `outside` runs with no lock held (its error ends the
/// call). A requeue may move the node to another queue of the family
/// meanwhile; its wait is then settled there.
pub fn wait_in<K, P, R, S, const N: usize>(
    k: &K,
    family: &QueueFamily<P, N>,
    index: usize,
    how: Blocking,
    op: impl FnMut(&mut WaitQueue<P>) -> S,
    outside: impl FnMut() -> Result<(), Errno>,
) -> Result<R, Errno>
where
    K: Kernel + ?Sized,
    P: Payload<R>,
    S: IntoStep<R, P>,
{
    run(k, family, index, how, op, outside)
}

/// The loop of [`wait`] and [`wait_in`], over any [`Home`].
fn run<K, H, P, R, S>(
    k: &K,
    home: &H,
    index: usize,
    how: Blocking,
    mut op: impl FnMut(&mut H::State) -> S,
    mut outside: impl FnMut() -> Result<(), Errno>,
) -> Result<R, Errno>
where
    K: Kernel + ?Sized,
    H: Home<P>,
    P: Payload<R>,
    S: IntoStep<R, P>,
{
    let user = match how {
        Blocking::Until(d) => Some(d),
        _ => None,
    };
    let lock = home.lock(index).ok_or(Errno::new(EINVAL))?;
    let mut guard = lock.lock();
    loop {
        let (payload, recheck) = match op(&mut guard).into_step() {
            Step::Done(done) => return done,
            Step::Block(p) => (p, None),
            Step::BlockUntil(p, at) => (p, Some(at)),
            Step::Unlock => {
                drop(guard);
                outside()?;
                guard = lock.lock();
                continue;
            }
        };
        if how == Blocking::NonBlocking {
            return err(EAGAIN);
        }
        let (park_at, is_timeout) = park_deadline(user, recheck);
        let slept = waitq::sleep(k, home, index, guard, payload, park_at);
        let mut payload = slept.payload;
        match slept.ended {
            Ended::Woken => {}
            Ended::Completed => {
                if let Some(done) = payload.take_result() {
                    return done;
                }
            }
            Ended::Removed => return err(EIDRM),
            Ended::Interrupted => return err(EINTR),
            Ended::TimedOut => {
                if is_timeout || user.is_some_and(|d| k.now(d.clock) >= d.at_ns) {
                    return err(ETIMEDOUT);
                }
            }
        }
        guard = match slept.guard {
            Some(g) => g,
            None => lock.lock(),
        };
    }
}

// Plain locks only: shuttle's need a model-check run (tests/model_check.rs).
#[cfg(all(test, not(feature = "model-check")))]
#[path = "wait_tests.rs"]
mod tests;
