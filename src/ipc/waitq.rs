//! Wait queues: intrusive FIFO lists of blocked tasks.
//!
//! A waiter's `WaitNode` lives on its own kernel stack for as long as it is
//! queued, so queueing and waking allocate nothing and unlinking any node
//! is O(1). A queue is not locked by itself: it is a field of some state
//! behind a `Mutex` (a futex bucket, an object's state), and every link
//! access happens with that lock held. This module holds all the unsafe
//! code of the wait machinery; its invariants:
//!
//! 1. A node is on at most one queue, and only while its owner is inside
//!    [`block`] or a function keeping the same protocol (futex wait).
//! 2. A node's links are read or written only with the lock of the queue
//!    it is on held.
//! 3. A waker unlinks the node, copies the task id, and stores the final
//!    state as its *last* access to the node; it may then `unpark` the
//!    copied task id. The owner may free the node once it has observed a
//!    final state under the queue's lock, or after unlinking it itself.

use core::cell::Cell;
use core::ptr;

use crate::kernel::{Deadline, Kernel, ParkOutcome, TaskId};
use crate::sync::{AtomicU32, AtomicUsize, Mutex, MutexGuard, Ordering};

const WAITING: u32 = 0;
const WOKEN: u32 = 1;
const REMOVED: u32 = 2;

/// How a wait ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitOutcome {
    /// A waker chose this waiter.
    Woken,
    /// The object was destroyed while the task waited (EIDRM).
    Removed,
    /// The deadline passed first.
    TimedOut,
    /// A signal arrived first (EINTR).
    Interrupted,
}

/// One blocked task on a wait queue.
pub struct WaitNode {
    task: TaskId,
    state: AtomicU32,
    /// Owner-defined match data (a futex bitset, a message type, ...).
    /// Guarded like the links.
    tag: Cell<u64>,
    /// Second owner-defined word (a futex key hash, a wanted size, ...).
    aux: Cell<[u64; 2]>,
    /// Which queue of a family (a futex bucket index) holds the node now;
    /// changed only with that queue's lock held (and the new one's).
    home: AtomicUsize,
    prev: Cell<*const WaitNode>,
    next: Cell<*const WaitNode>,
}

// SAFETY: the Cells are only touched with the lock of the queue holding the
// node (invariant 2), and `task`/`state`/`home` are immutable or atomic.
unsafe impl Sync for WaitNode {}
// SAFETY: as above; a node carries no thread-bound data.
unsafe impl Send for WaitNode {}

impl WaitNode {
    /// A node for `task` carrying `tag`/`aux` as match data.
    pub fn new(task: TaskId, tag: u64, aux: [u64; 2]) -> Self {
        WaitNode {
            task,
            state: AtomicU32::new(WAITING),
            tag: Cell::new(tag),
            aux: Cell::new(aux),
            home: AtomicUsize::new(0),
            prev: Cell::new(ptr::null()),
            next: Cell::new(ptr::null()),
        }
    }

    /// The blocked task.
    pub fn task(&self) -> TaskId {
        self.task
    }
    /// Match data; read only with the queue's lock held.
    pub fn tag(&self) -> u64 {
        self.tag.get()
    }
    /// More match data; read only with the queue's lock held.
    pub fn aux(&self) -> [u64; 2] {
        self.aux.get()
    }
    /// Changes the extra match data (futex requeue); lock held.
    pub fn set_aux(&self, aux: [u64; 2]) {
        self.aux.set(aux)
    }
    /// The queue index recorded by `set_home`.
    pub fn home(&self) -> usize {
        self.home.load(Ordering::Acquire)
    }
    /// Records which queue of a family holds the node; lock(s) held.
    pub fn set_home(&self, home: usize) {
        self.home.store(home, Ordering::Release)
    }
    fn outcome(&self) -> Option<WaitOutcome> {
        match self.state.load(Ordering::Acquire) {
            WOKEN => Some(WaitOutcome::Woken),
            REMOVED => Some(WaitOutcome::Removed),
            _ => None,
        }
    }
}

/// An intrusive FIFO of `WaitNode`s; see the module invariants.
pub struct WaitQueue {
    head: *const WaitNode,
    tail: *const WaitNode,
    len: usize,
}

// SAFETY: the raw pointers are only followed with the enclosing lock held
// (invariant 2); the nodes themselves are Sync.
unsafe impl Send for WaitQueue {}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        WaitQueue {
            head: ptr::null(),
            tail: ptr::null(),
            len: 0,
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

    /// Appends `node`.
    ///
    /// # Safety
    /// `node` is on no queue, and stays alive and unmoved until it has been
    /// unlinked (by `remove` or a wake) and its owner has seen that.
    pub unsafe fn push_back(&mut self, node: &WaitNode) {
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
    }

    /// Unlinks `node`, which must be on this queue.
    fn unlink(&mut self, node: &WaitNode) {
        let (prev, next) = (node.prev.get(), node.next.get());
        if prev.is_null() {
            self.head = next;
        } else {
            // SAFETY: prev is a live node on this queue.
            unsafe { (*prev).next.set(next) };
        }
        if next.is_null() {
            self.tail = prev;
        } else {
            // SAFETY: next is a live node on this queue.
            unsafe { (*next).prev.set(prev) };
        }
        node.prev.set(ptr::null());
        node.next.set(ptr::null());
        self.len -= 1;
    }

    /// Visits waiters in FIFO order. `visit` returns what to do with each:
    /// keep it, wake it, or take it out to hand to `moved` (requeue). Stops
    /// when `visit` says so. Returns how many were woken or moved.
    pub fn drain_filter<K: Kernel + ?Sized>(
        &mut self,
        k: &K,
        mut visit: impl FnMut(&WaitNode) -> Visit,
        mut moved: impl FnMut(&WaitNode),
    ) -> usize {
        let mut count = 0;
        let mut cur = self.head;
        while !cur.is_null() {
            // SAFETY: cur is a live node on this queue, we hold its lock.
            let node = unsafe { &*cur };
            cur = node.next.get();
            match visit(node) {
                Visit::Keep => {}
                Visit::Stop => break,
                Visit::Wake => {
                    self.unlink(node);
                    finish(k, node, WOKEN);
                    count += 1;
                }
                Visit::Move => {
                    self.unlink(node);
                    moved(node);
                    count += 1;
                }
            }
        }
        count
    }

    /// Wakes up to `n` waiters from the front; returns how many.
    pub fn wake<K: Kernel + ?Sized>(&mut self, k: &K, n: usize) -> usize {
        let mut left = n;
        self.drain_filter(
            k,
            |_| {
                if left == 0 {
                    Visit::Stop
                } else {
                    left -= 1;
                    Visit::Wake
                }
            },
            |_| {},
        )
    }

    /// Wakes every waiter with `Removed`: the object is gone (EIDRM).
    pub fn remove_all<K: Kernel + ?Sized>(&mut self, k: &K) -> usize {
        let mut count = 0;
        while !self.head.is_null() {
            // SAFETY: head is a live node on this queue, we hold its lock.
            let node = unsafe { &*self.head };
            self.unlink(node);
            finish(k, node, REMOVED);
            count += 1;
        }
        count
    }

    /// The first waiter, if any (e.g. to ask whether it can proceed).
    pub fn front(&self) -> Option<&WaitNode> {
        // SAFETY: head is null or a live node on this queue.
        unsafe { self.head.as_ref() }
    }
}

/// What `drain_filter` does with one waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visit {
    /// Leave it queued.
    Keep,
    /// Unlink it and wake it.
    Wake,
    /// Unlink it and pass it to `moved` (which must queue it elsewhere).
    Move,
    /// Stop the walk here.
    Stop,
}

/// Sets a final state and unparks (invariant 3: the state store is the last
/// access to the node).
fn finish<K: Kernel + ?Sized>(k: &K, node: &WaitNode, state: u32) {
    let task = node.task;
    node.state.store(state, Ordering::Release);
    k.unpark(task);
}

/// Parks until `node` gets a final state or the wait is cut short; returns
/// the reason parking stopped (`None` if a final state was seen).
fn park_until_final<K: Kernel + ?Sized>(
    k: &K,
    node: &WaitNode,
    deadline: Option<Deadline>,
) -> Option<WaitOutcome> {
    loop {
        if node.outcome().is_some() {
            return None;
        }
        match k.park(deadline) {
            ParkOutcome::Unparked => continue,
            ParkOutcome::TimedOut => return Some(WaitOutcome::TimedOut),
            ParkOutcome::Interrupted => return Some(WaitOutcome::Interrupted),
        }
    }
}

/// Blocks the caller on the queue that `queue` selects in the state behind
/// `lock`, releasing `guard` while it sleeps, and returns the re-taken
/// guard with the outcome. The caller re-checks its condition after
/// `Woken` (another task may have been faster).
pub fn block<'a, K: Kernel + ?Sized, T>(
    k: &K,
    lock: &'a Mutex<T>,
    mut guard: MutexGuard<'a, T>,
    queue: impl Fn(&mut T) -> &mut WaitQueue,
    tag: u64,
    deadline: Option<Deadline>,
) -> (MutexGuard<'a, T>, WaitOutcome) {
    let node = WaitNode::new(k.current_task(), tag, [0; 2]);
    // SAFETY: `node` lives on this frame, which does not return before the
    // node is off the queue: either a waker unlinked it (final state seen
    // under the lock below) or we unlink it ourselves below.
    unsafe { queue(&mut guard).push_back(&node) };
    drop(guard);
    let cut_short = park_until_final(k, &node, deadline);
    let mut guard = lock.lock();
    let outcome = match node.outcome() {
        Some(done) => done,
        None => {
            queue(&mut guard).unlink(&node);
            cut_short.unwrap_or(WaitOutcome::Interrupted)
        }
    };
    (guard, outcome)
}

/// The futex flavour of `block`: the node may migrate between the queues
/// of `family` (requeue), so the settle step finds its current home.
///
/// # Safety contract (upheld by the futex module, checked here in code):
/// the node was pushed on `family[home]` by the caller through
/// `enqueue_in_family`.
pub fn block_in_family<K: Kernel + ?Sized>(
    k: &K,
    family: &[Mutex<WaitQueue>],
    node: &WaitNode,
    deadline: Option<Deadline>,
) -> WaitOutcome {
    let cut_short = park_until_final(k, node, deadline);
    loop {
        let home = node.home();
        let Some(lock) = family.get(home) else {
            return WaitOutcome::Interrupted;
        };
        let mut q = lock.lock();
        if node.home() != home {
            continue; // requeued between the load and the lock
        }
        return match node.outcome() {
            Some(done) => done,
            None => {
                q.unlink(node);
                cut_short.unwrap_or(WaitOutcome::Interrupted)
            }
        };
    }
}

/// Queues `node` on `family[home]` whose guard the caller holds.
///
/// # Safety
/// As `WaitQueue::push_back`; additionally the caller must go on to
/// `block_in_family` with the same node and family before `node` dies.
pub unsafe fn enqueue_in_family(q: &mut WaitQueue, node: &WaitNode, home: usize) {
    node.set_home(home);
    // SAFETY: forwarded from the caller.
    unsafe { q.push_back(node) };
}

/// Moves an unlinked node onto another queue of its family (requeue); both
/// locks are held by the caller.
pub fn rehome(q: &mut WaitQueue, node: &WaitNode, home: usize) {
    node.set_home(home);
    // SAFETY: node was just unlinked by `drain_filter` (Visit::Move) from a
    // queue of the same family; its owner is still in `block_in_family`,
    // which keeps it alive until it sees a final state or unlinks it from
    // its current home.
    unsafe { q.push_back(node) };
}
