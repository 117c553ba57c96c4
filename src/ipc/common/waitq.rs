//! Wait queues: intrusive, allocation-free FIFO lists of blocked tasks,
//! and all the unsafe code of the wait machinery.
//!
//! A waiter's [`WaitNode`] lives on its own kernel stack, inside [`sleep`],
//! for as long as it is queued: queueing and
//! waking allocate nothing and unlinking any node is O(1). A queue is not
//! locked by itself; it is a field of some state behind a `Mutex` (an
//! object's state, a futex bucket), and every link access happens with
//! that lock held. Families do not use this module's blocking primitives
//! directly: `ipc::common::wait::wait` is the one blocking helper, built on
//! [`sleep`]; this module gives wakers their side ([`WaitQueue::visit`],
//! `wake`, `remove_all`).
//!
//! # How a node ends
//! Every node carries a typed payload `P` (the family's request and,
//! where the family hands results over, a result slot) and an atomic
//! status: `WAITING`, then exactly one final state set by a waker under
//! the queue's lock: `WOKEN` (re-try), `COMPLETED` (the waker put the
//! result in the payload) or `REMOVED` (the object is gone: EIDRM). A
//! waiter whose park ended by timeout or signal settles the race in one
//! place, `WaitQueue::settle`, under the same lock: if a final state is
//! already there, the waker won (its result is never lost); otherwise the
//! waiter unlinks itself, and from then on no waker can reach it (a
//! waiter that gave up is never completed).
//!
//! # Invariants (the safety argument of every `unsafe` block here)
//! 1. A node is linked on at most one queue, and only while its owner is
//!    inside [`sleep`], which neither returns nor moves the node before
//!    the node is off every queue (it saw a final state, or unlinked
//!    itself); if the frame unwinds meanwhile (a panicking closure or
//!    host), a drop guard keeps it alive until a waker ends the node.
//!    The node is private to that frame:
//!    callers never get a reference to a queued node, only `&mut P`
//!    inside a visit, so safe code cannot move or free one.
//! 2. A node's links and payload are touched only by the holder of the
//!    lock of the queue it is on. The owner reads its status atomically
//!    at any time, and touches links and payload only after it is off
//!    every queue.
//! 3. A node records the id of the queue it is on (`queue`, written only
//!    under that queue's lock). Ids are unique for the program's life (a
//!    64-bit counter) and move with a queue's contents, so a waiter
//!    unlinks itself only from the queue that really holds it: a selector
//!    closure that returns another queue the second time cannot make it
//!    corrupt a list. It then waits for whoever holds the node to end it.
//! 4. A waker takes the node off its queue, copies the task id, and
//!    stores the final state (Release) as its *last* access to the node;
//!    it may then `unpark` the copied id. An owner that loads a final
//!    state (Acquire) may therefore read its payload and free the node
//!    without taking the lock.
//! 5. A queue dropped while nodes are still on it (only possible through
//!    `mem::replace` on a live queue: objects outlive their waiters) ends
//!    them `REMOVED` without unparking; that is sound, and their owners
//!    see EIDRM at their next wake-up.

use alloc::boxed::Box;
use core::cell::{Cell, UnsafeCell};
use core::marker::PhantomData;
use core::ptr;

use crate::errno::{Errno, EINVAL};
use crate::kernel::{Deadline, Kernel, ParkOutcome, TaskId};
use crate::sync::{AtomicU32, AtomicU64, AtomicUsize, Mutex, MutexGuard, Ordering};

const WAITING: u32 = 0;
const WOKEN: u32 = 1;
const COMPLETED: u32 = 2;
const REMOVED: u32 = 3;

/// The ordering of a waker's store of a node's final state, made after it
/// placed the result in the payload; and of the waiter's load of it,
/// after which it reads the payload without the lock. The weak-memory
/// model of this hand-off (tests/loom_futex.rs) uses these constants.
pub const STATUS_PUBLISH: core::sync::atomic::Ordering = core::sync::atomic::Ordering::Release;
/// See [`STATUS_PUBLISH`].
pub const STATUS_OBSERVE: core::sync::atomic::Ordering = core::sync::atomic::Ordering::Acquire;

/// No queue: the `queue` id of a node that is on none.
const NO_QUEUE: u64 = 0;

/// Source of queue ids. Not a modelled atomic: it only has to hand out
/// distinct numbers, whatever the interleaving.
static NEXT_QUEUE_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

/// The deliberately broken build of ci/stress-mutation (feature
/// `mutation-drop-wake`): every 64th wake-up is dropped.
#[cfg(feature = "mutation-drop-wake")]
mod mutation {
    static WAKES: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

    /// Whether this wake-up is the one in 64 that is not delivered.
    pub(super) fn drop_this_wake() -> bool {
        WAKES.fetch_add(1, core::sync::atomic::Ordering::Relaxed) % 64 == 63
    }
}

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A waker chose this waiter; it re-tries its operation.
    Woken,
    /// A waker did the operation for the waiter and left the result in
    /// the payload.
    Completed,
    /// The object was destroyed while the task waited (EIDRM).
    Removed,
    /// The deadline passed first.
    TimedOut,
    /// A signal arrived first (EINTR).
    Interrupted,
}

/// One blocked task with its request `P`. Only this module creates and
/// queues nodes (invariant 1); a waker sees the payload alone.
pub struct WaitNode<P> {
    task: TaskId,
    status: AtomicU32,
    /// Id of the queue the node is on, or `NO_QUEUE` (invariant 3).
    queue: AtomicU64,
    /// Index of its home (`Home`): where to settle, checked by id.
    home: AtomicUsize,
    prev: Cell<*const WaitNode<P>>,
    next: Cell<*const WaitNode<P>>,
    payload: UnsafeCell<P>,
}

impl<P> WaitNode<P> {
    fn new(task: TaskId, payload: P) -> Self {
        WaitNode {
            task,
            status: AtomicU32::new(WAITING),
            queue: AtomicU64::new(NO_QUEUE),
            home: AtomicUsize::new(0),
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
            payload: UnsafeCell::new(payload),
        }
    }

    fn final_state(&self) -> Option<Ended> {
        match self.status.load(STATUS_OBSERVE) {
            WOKEN => Some(Ended::Woken),
            COMPLETED => Some(Ended::Completed),
            REMOVED => Some(Ended::Removed),
            _ => None,
        }
    }

    /// The payload back, once the node is off every queue.
    fn into_payload(self) -> P {
        self.payload.into_inner()
    }
}

/// What a waker's visit does with one waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Leave it queued.
    Keep,
    /// Unlink it and wake it: it re-tries its operation.
    Wake,
    /// Unlink it and wake it with the result the visitor just placed in
    /// its payload: it returns that result without re-trying.
    Complete,
    /// Leave it and every later waiter queued.
    Stop,
}

/// What [`WaitQueue::walk`] does with one node.
enum Walk {
    Keep,
    Stop,
    /// Unlink it and end it with this final state.
    End(u32),
    /// Unlink it and hand it over (it stays `WAITING`).
    Take,
}

/// An intrusive FIFO of waiters carrying payloads `P`; see the module
/// invariants.
pub struct WaitQueue<P = ()> {
    id: u64,
    head: *const WaitNode<P>,
    tail: *const WaitNode<P>,
    len: usize,
    _nodes: PhantomData<P>,
}

// SAFETY: the raw pointers are followed only by the holder of the lock
// around the queue (invariant 2), and what they reach across threads is
// the payload (P: Send) and atomics.
unsafe impl<P: Send> Send for WaitQueue<P> {}

impl<P> Default for WaitQueue<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P> WaitQueue<P> {
    /// An empty queue with a fresh id.
    pub fn new() -> Self {
        WaitQueue {
            id: NEXT_QUEUE_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed),
            head: ptr::null(),
            tail: ptr::null(),
            len: 0,
            _nodes: PhantomData,
        }
    }

    /// Number of queued waiters.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The payload of the first waiter, if any (can it proceed?).
    pub fn front(&self) -> Option<&P> {
        // SAFETY: head is null or a live node on this queue (invariant 1),
        // and `&self` means the caller holds the queue's lock (invariant 2).
        unsafe { self.head.as_ref().map(|n| &*n.payload.get()) }
    }

    /// Appends `node` and records this queue as its home.
    ///
    /// # Safety
    /// `node` is on no queue and stays alive and unmoved until it is off
    /// this one (invariant 1).
    unsafe fn push_back(&mut self, node: &WaitNode<P>) {
        node.prev.set(self.tail);
        node.next.set(ptr::null());
        if self.tail.is_null() {
            self.head = node;
        } else {
            // SAFETY: tail is a live node on this queue (invariants 1, 2).
            unsafe { (*self.tail).next.set(node) };
        }
        self.tail = node;
        self.len += 1;
        node.queue.store(self.id, Ordering::Relaxed);
    }

    /// Unlinks `node`, which is on this queue (its `queue` is our id).
    fn unlink(&mut self, node: &WaitNode<P>) {
        let (prev, next) = (node.prev.get(), node.next.get());
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: prev is a live node on this queue (invariants 1, 2).
            unsafe { (*prev).next.set(next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: next is a live node on this queue (invariants 1, 2).
            unsafe { (*next).prev.set(prev) };
        }
        node.prev.set(ptr::null());
        node.next.set(ptr::null());
        node.queue.store(NO_QUEUE, Ordering::Relaxed);
        self.len -= 1;
    }

    /// Takes `node` (on this queue) off and ends it with `state`
    /// (invariant 4: the state store is the last access).
    fn end<K: Kernel + ?Sized>(&mut self, k: &K, node: &WaitNode<P>, state: u32) {
        self.unlink(node);
        let task = node.task;
        node.status.store(state, STATUS_PUBLISH);
        #[cfg(feature = "mutation-drop-wake")]
        if state != REMOVED && mutation::drop_this_wake() {
            return;
        }
        k.unpark(task);
    }

    /// Visits waiters in FIFO order; `visit` sees each payload (to match
    /// it, or to place a result in it) and says what to do with it.
    /// Returns how many were taken off (woken or completed).
    pub fn visit<K: Kernel + ?Sized>(
        &mut self,
        k: &K,
        mut visit: impl FnMut(&mut P) -> Visit,
    ) -> usize {
        let verdict = |p: &mut P| match visit(p) {
            Visit::Keep => Walk::Keep,
            Visit::Stop => Walk::Stop,
            Visit::Wake => Walk::End(WOKEN),
            Visit::Complete => Walk::End(COMPLETED),
        };
        self.walk(k, verdict, |_| {})
    }

    /// The one traversal of a queue: FIFO, each payload judged by
    /// `judge`; a node it ends is unlinked and ended, one it takes is
    /// unlinked and handed to `take` (a requeue's move). Returns how many
    /// were ended or taken.
    fn walk<K: Kernel + ?Sized>(
        &mut self,
        k: &K,
        mut judge: impl FnMut(&mut P) -> Walk,
        mut take: impl FnMut(&WaitNode<P>),
    ) -> usize {
        let mut count = 0;
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: cur is a live node on this queue and we hold its lock
            // (`&mut self`; invariants 1, 2).
            let node = unsafe { &*cur };
            cur = node.next.get();
            // SAFETY: as above; no other reference to this payload exists
            // while the node is queued (invariant 2), and the judge cannot
            // reach this queue again (it is borrowed by this call).
            match judge(unsafe { &mut *node.payload.get() }) {
                Walk::Keep => continue,
                Walk::Stop => break,
                Walk::End(state) => self.end(k, node, state),
                Walk::Take => {
                    self.unlink(node);
                    take(node);
                }
            }
            count += 1;
        }
        count
    }

    /// Wakes up to `n` waiters from the front; returns how many.
    pub fn wake<K: Kernel + ?Sized>(&mut self, k: &K, n: usize) -> usize {
        let mut left = n;
        self.visit(k, |_| {
            if left == 0 {
                Visit::Stop
            } else {
                left -= 1;
                Visit::Wake
            }
        })
    }

    /// Wakes every waiter; returns how many.
    pub fn wake_all<K: Kernel + ?Sized>(&mut self, k: &K) -> usize {
        self.visit(k, |_| Visit::Wake)
    }

    /// Ends every waiter with `Removed`: the object is gone (EIDRM).
    pub fn remove_all<K: Kernel + ?Sized>(&mut self, k: &K) -> usize {
        let mut count = 0;
        while !self.head.is_null() {
            // SAFETY: head is a live node on this queue, we hold its lock.
            let node = unsafe { &*self.head };
            self.end(k, node, REMOVED);
            count += 1;
        }
        count
    }

    /// The waiter's side of the race with wakers, settled under the
    /// queue's lock; `cut` is why its park stopped. `None` if the node is
    /// on some other queue (invariant 3): not ours to unlink.
    fn settle(&mut self, node: &WaitNode<P>, cut: Option<Ended>) -> Option<Ended> {
        if let Some(done) = node.final_state() {
            // A waker chose it first: its wake or result wins.
            return Some(done);
        }
        if node.queue.load(Ordering::Relaxed) != self.id {
            return None;
        }
        self.unlink(node);
        Some(cut.unwrap_or(Ended::Interrupted))
    }
}

impl<P> Drop for WaitQueue<P> {
    fn drop(&mut self) {
        // Invariant 5: detach whoever is left, so no list points at them.
        while !self.head.is_null() {
            // SAFETY: head is a live node on this queue; `&mut self`.
            let node = unsafe { &*self.head };
            self.unlink(node);
            node.status.store(REMOVED, STATUS_PUBLISH);
        }
    }
}

/// Parks until `node` gets a final state or the wait is cut short;
/// returns why parking stopped (`None`: a final state was seen).
fn park_until_final<K: Kernel + ?Sized, P>(
    k: &K,
    node: &WaitNode<P>,
    deadline: Option<Deadline>,
) -> Option<Ended> {
    loop {
        if node.final_state().is_some() {
            return None;
        }
        match k.park(deadline) {
            ParkOutcome::Unparked => continue,
            ParkOutcome::TimedOut => return Some(Ended::TimedOut),
            ParkOutcome::Interrupted => return Some(Ended::Interrupted),
        }
    }
}

/// Where a sleeping node lives: the lock to take to settle its wait, and
/// the queue inside the state behind it. A node's home is an index (its
/// `home` field), read again each time the waiter settles, because a
/// family's requeue may move a node between homes.
///
/// [`InObject`] is the one home of a queue inside an object's state (the
/// index is always 0); a [`QueueFamily`] has `N` homes, one per queue.
pub trait Home<P> {
    /// The state behind each home's lock.
    type State;
    /// The lock of home `index`, if there is one.
    fn lock(&self, index: usize) -> Option<&Mutex<Self::State>>;
    /// The queue inside a home's locked state.
    fn queue<'s>(&self, state: &'s mut Self::State) -> &'s mut WaitQueue<P>;
}

/// The queue `select` picks inside the state behind `lock`: the home of
/// an object's waiters.
pub struct InObject<'a, T, F> {
    /// The object's state lock.
    pub lock: &'a Mutex<T>,
    /// Picks the queue (the same one every time, or the waiter can only
    /// wait to be ended: invariant 3).
    pub select: F,
}

impl<P, T, F> Home<P> for InObject<'_, T, F>
where
    F: Fn(&mut T) -> &mut WaitQueue<P>,
{
    type State = T;
    fn lock(&self, _index: usize) -> Option<&Mutex<T>> {
        Some(self.lock)
    }
    fn queue<'s>(&self, state: &'s mut T) -> &'s mut WaitQueue<P> {
        (self.select)(state)
    }
}

/// What [`sleep`] hands back.
pub struct Slept<'a, T, P> {
    /// How the wait ended.
    pub ended: Ended,
    /// The node's payload (with its result slot filled after `Completed`).
    pub payload: P,
    /// The re-taken lock of the home the node was queued on, when settling
    /// needed it (`None` when a final state was seen without it, or the
    /// node ended in another home: the waiter re-locks if it must re-try).
    pub guard: Option<MutexGuard<'a, T>>,
}

/// Queues a node carrying `payload` on the queue of home `index` (whose
/// locked state the caller hands over as `guard`), sleeps with
/// `deadline`, and settles the wait in whichever home holds the node by
/// then. The one primitive under `ipc::common::wait`.
pub fn sleep<'a, K, H, P>(
    k: &K,
    home: &'a H,
    index: usize,
    mut guard: MutexGuard<'a, H::State>,
    payload: P,
    deadline: Option<Deadline>,
) -> Slept<'a, H::State, P>
where
    K: Kernel + ?Sized,
    H: Home<P>,
{
    let node = WaitNode::new(k.current_task(), payload);
    node.home.store(index, Ordering::Relaxed);
    // SAFETY: `node` lives on this frame, which neither returns nor moves
    // it before it is off every queue: below, either a final state is seen
    // (a waker unlinked it) or `settle` unlinks it; an unwinding frame
    // waits in `Queued::drop` (invariant 1).
    unsafe { home.queue(&mut guard).push_back(&node) };
    let queued = Queued { k, node: &node };
    drop(guard);
    let mut cut = park_until_final(k, &node, deadline);
    if let Some(ended @ (Ended::Completed | Ended::Removed)) = node.final_state() {
        // Nothing to re-try: skip the lock (invariant 4).
        core::mem::forget(queued);
        return Slept {
            ended,
            payload: node.into_payload(),
            guard: None,
        };
    }
    loop {
        // `home` changes only under the locks of the old and the new home
        // (a family's requeue), so under the lock of the home it names the
        // queue-id check in `settle` is final.
        let at = node.home.load(Ordering::Relaxed);
        if let Some(lock) = home.lock(at) {
            let mut guard = lock.lock();
            if let Some(ended) = home.queue(&mut guard).settle(&node, cut) {
                core::mem::forget(queued); // off every queue now
                return Slept {
                    ended,
                    payload: node.into_payload(),
                    guard: (at == index).then_some(guard),
                };
            }
        }
        if node.home.load(Ordering::Relaxed) == at {
            // The home picked a queue that does not hold the node (a
            // selector that changed its mind): wait for whoever holds it
            // to end it (invariant 3).
            cut = park_until_final(k, &node, None).or(cut);
        }
    }
}

/// Armed while a node of this frame may be on a queue. If the frame
/// unwinds then (a panicking selector or host `park`), the drop waits for
/// a waker to end the node before the frame may die (invariant 1); the
/// normal paths disarm it with `mem::forget` once the node is off.
struct Queued<'n, K: Kernel + ?Sized, P> {
    k: &'n K,
    node: &'n WaitNode<P>,
}

impl<K: Kernel + ?Sized, P> Drop for Queued<'_, K, P> {
    fn drop(&mut self) {
        while self.node.final_state().is_none() {
            let _ = self.k.park(None);
        }
    }
}

/// What the check of a [`QueueFamily::requeue`], run under both queues'
/// locks, says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Go on: do the requeue.
    Proceed,
    /// Stop with this error.
    Fail(Errno),
    /// Drop the lock, run the caller's unlocked step (a page fault-in),
    /// and check again.
    Retry,
}

/// What a requeue does with one waiter of the source queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// Leave it where it is.
    Keep,
    /// Take it off and complete it (a futex wake ends the wait: the
    /// waiter returns without re-checking its word).
    Complete,
    /// Move it to the destination queue (the picker has updated its
    /// payload to match there).
    Move,
    /// Leave it and every later waiter.
    Stop,
}

/// A fixed array of wait queues, each under its own lock, between which
/// waiters can be moved (futex buckets and requeue); waiters sleep on one
/// through `ipc::common::wait::wait_in`. The family does every move
/// itself and records the node's new home index under both locks, so a
/// waiter that gives up finds the queue that holds it now and checks it
/// by id (invariant 3).
pub struct QueueFamily<P, const N: usize> {
    /// On the heap: a large family (the futex table's) would not fit on a
    /// kernel stack while it is built.
    queues: Box<[Mutex<WaitQueue<P>>]>,
}

impl<P, const N: usize> Default for QueueFamily<P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<P, const N: usize> Home<P> for QueueFamily<P, N> {
    type State = WaitQueue<P>;
    fn lock(&self, index: usize) -> Option<&Mutex<WaitQueue<P>>> {
        self.queues.get(index)
    }
    fn queue<'s>(&self, state: &'s mut WaitQueue<P>) -> &'s mut WaitQueue<P> {
        state
    }
}

impl<P, const N: usize> QueueFamily<P, N> {
    /// `N` empty queues.
    pub fn new() -> Self {
        QueueFamily {
            queues: (0..N).map(|_| Mutex::new(WaitQueue::new())).collect(),
        }
    }

    fn queue(&self, index: usize) -> Result<&Mutex<WaitQueue<P>>, Errno> {
        self.queues.get(index).ok_or(Errno::new(EINVAL))
    }

    /// Visits queue `index` as [`WaitQueue::visit`]; EINVAL for a bad
    /// index.
    pub fn visit<K: Kernel + ?Sized>(
        &self,
        k: &K,
        index: usize,
        visit: impl FnMut(&mut P) -> Visit,
    ) -> Result<usize, Errno> {
        Ok(self.queue(index)?.lock().visit(k, visit))
    }

    /// Walks queue `src` in FIFO order, waking or moving waiters to queue
    /// `dst` as `pick` says, once `gate` (run with both locks held) lets
    /// it. Two queues are locked in ascending index order. Returns completed
    /// + moved.
    pub fn requeue<K: Kernel + ?Sized>(
        &self,
        k: &K,
        src: usize,
        dst: usize,
        mut gate: impl FnMut(&K) -> Gate,
        mut outside: impl FnMut(&K) -> Result<(), Errno>,
        mut pick: impl FnMut(&mut P) -> Requeue,
    ) -> Result<usize, Errno> {
        let (sl, dl) = (self.queue(src)?, self.queue(dst)?);
        loop {
            if src == dst {
                let mut q = sl.lock();
                match gate(k) {
                    Gate::Proceed => {}
                    Gate::Fail(e) => return Err(e),
                    Gate::Retry => {
                        drop(q);
                        outside(k)?;
                        continue;
                    }
                }
                // Same queue: a moved waiter stays in place, re-keyed.
                let mut moved = 0;
                let woken = q.visit(k, |p| match pick(p) {
                    Requeue::Keep => Visit::Keep,
                    Requeue::Complete => Visit::Complete,
                    Requeue::Stop => Visit::Stop,
                    Requeue::Move => {
                        moved += 1;
                        Visit::Keep
                    }
                });
                return Ok(woken + moved);
            }
            let (lo, hi) = if src < dst { (sl, dl) } else { (dl, sl) };
            let mut first = lo.lock();
            let mut second = hi.lock();
            match gate(k) {
                Gate::Proceed => {}
                Gate::Fail(e) => return Err(e),
                Gate::Retry => {
                    drop((first, second));
                    outside(k)?;
                    continue;
                }
            }
            let (sq, dq) = if src < dst {
                (&mut *first, &mut *second)
            } else {
                (&mut *second, &mut *first)
            };
            let judge = |p: &mut P| match pick(p) {
                Requeue::Keep => Walk::Keep,
                Requeue::Stop => Walk::Stop,
                Requeue::Complete => Walk::End(COMPLETED),
                Requeue::Move => Walk::Take,
            };
            let count = sq.walk(k, judge, |node| {
                node.home.store(dst, Ordering::Relaxed);
                // SAFETY: the node just left `sq` and its owner is still
                // in `sleep` (no final state), which keeps it alive until
                // it is off every queue; we hold both locks (invariants 1,
                // 2).
                unsafe { dq.push_back(node) };
            });
            return Ok(count);
        }
    }

    /// Number of waiters on queue `index` (tests, leak checks).
    pub fn waiters(&self, index: usize) -> usize {
        self.queues.get(index).map_or(0, |q| q.lock().len())
    }
}
