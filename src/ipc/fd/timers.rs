//! The timer queue: which timerfd expires next, so the host's timer tick
//! can raise readiness at expiry (an fd in an event queue or poll set has
//! no reader to compute it). Blocking readers do not need it: they park
//! with the expiry as their deadline.
//!
//! One slot per timerfd, reserved when the timer is created (charged to
//! its creator with the timer, `Resource::TimerSlots`) and freed when it is
//! dropped; one indexed binary min-heap of (expiry, slot) cells per clock, each
//! slot knowing its heap position. A slot is in its heap exactly while its
//! timer is armed, at the timer's next expiry: the timer moves, queues or
//! removes its slot (`set`) under its own state lock whenever its arming
//! changes (settime, a fired one-shot, a periodic timer's next period), so
//! a disarmed, re-armed, fired or closed timer never leaves an entry
//! behind. The queue therefore holds at most one entry per armed timerfd,
//! whoever drives expiry, and re-arming never grows it. Capacity for every
//! slot is reserved at create, so arming, disarming, expiry and release
//! never allocate; each is O(log n).
//!
//! Expiry (`expire`, `try_expire`) is driven by the host's timer tick: it
//! takes the earliest due slot under the queue lock, lets the queue lock
//! go, and settles that timer under the timer's lock (which moves or
//! removes its slot), so no timer lock is ever taken inside the queue lock
//! and a timer reference is never dropped with the queue lock held.
//!
//! Lock order: a timer's state, then the queue (innermost, before
//! accounting).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use crate::ipc::fd::timerfd::TimerFd;
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::sync::{Mutex, MutexGuard};

/// A timer's slot number in its queue, fixed for the timer's life.
pub(crate) type SlotId = usize;

/// The queue could not take a lock without waiting (the tick interrupted
/// a holder); what was not done is left for the next tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Busy;

const NO_POS: usize = usize::MAX;

enum Slot {
    Free {
        next: Option<SlotId>,
    },
    Used {
        clock: usize,
        timer: Weak<TimerFd>,
        /// Position in its clock's heap, `NO_POS` if not queued.
        pos: usize,
    },
}

/// A heap cell: the expiry is kept beside the slot number, so sifting
/// compares cells without a look into `slots` (at 10 000 armed timers
/// that look and the swaps of whole positions cost about 90 instructions
/// per level walked; docs/performance.md).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: u64,
    slot: SlotId,
}

const CLOCKS: [ClockId; 3] = [ClockId::Realtime, ClockId::Monotonic, ClockId::Boottime];

fn clock_slot(clock: ClockId) -> usize {
    match clock {
        ClockId::Realtime => 0,
        ClockId::Monotonic => 1,
        ClockId::Boottime => 2,
    }
}

#[derive(Default)]
struct Inner {
    slots: Vec<Slot>,
    free: Option<SlotId>,
    used: usize,
    /// Per clock: a min-heap of (expiry, slot).
    heaps: [Vec<Entry>; 3],
    /// Per clock: slots of that clock (the capacity its heap keeps).
    reserved: [usize; 3],
}

fn set_pos(slots: &mut [Slot], s: SlotId, p: usize) {
    if let Some(Slot::Used { pos, .. }) = slots.get_mut(s) {
        *pos = p;
    }
}

/// Moves the hole at `i` of `heap` up until `e` fits there, and puts `e`
/// in it; each cell moved down is told its new position.
fn sift_up(heap: &mut [Entry], slots: &mut [Slot], mut i: usize, e: Entry) {
    while i > 0 {
        let parent = (i - 1) / 2;
        let pe = heap[parent];
        if e >= pe {
            break;
        }
        heap[i] = pe;
        set_pos(slots, pe.slot, i);
        i = parent;
    }
    heap[i] = e;
    set_pos(slots, e.slot, i);
}

/// The same downwards.
fn sift_down(heap: &mut [Entry], slots: &mut [Slot], mut i: usize, e: Entry) {
    let len = heap.len();
    loop {
        let l = 2 * i + 1;
        if l >= len {
            break;
        }
        let mut child = l;
        if l + 1 < len && heap[l + 1] < heap[l] {
            child = l + 1;
        }
        let ce = heap[child];
        if ce >= e {
            break;
        }
        heap[i] = ce;
        set_pos(slots, ce.slot, i);
        i = child;
    }
    heap[i] = e;
    set_pos(slots, e.slot, i);
}

/// Puts `e` into the hole at `i`, up or down as its order says.
fn place(heap: &mut [Entry], slots: &mut [Slot], i: usize, e: Entry) {
    if i > 0 && e < heap[(i - 1) / 2] {
        sift_up(heap, slots, i, e);
    } else {
        sift_down(heap, slots, i, e);
    }
}

impl Inner {
    /// Takes slot `s` out of its heap, if it is in it.
    fn dequeue(&mut self, s: SlotId) {
        let (c, p) = match self.slots[s] {
            Slot::Used { clock, pos, .. } if pos != NO_POS => (clock, pos),
            _ => return,
        };
        let Inner { slots, heaps, .. } = self;
        let heap = &mut heaps[c];
        let Some(last) = heap.pop() else {
            return;
        };
        set_pos(slots, s, NO_POS);
        if p < heap.len() {
            place(heap, slots, p, last);
        }
    }

    /// Queues slot `s` at `when` (moving it if queued). Allocates nothing:
    /// the heap has room for every slot of its clock.
    fn enqueue(&mut self, s: SlotId, when: u64) {
        let (c, p) = match self.slots[s] {
            Slot::Used { clock, pos, .. } => (clock, pos),
            Slot::Free { .. } => return,
        };
        let e = Entry { at: when, slot: s };
        let Inner { slots, heaps, .. } = self;
        let heap = &mut heaps[c];
        if p == NO_POS {
            debug_assert!(heap.len() < heap.capacity(), "reserved at create");
            heap.push(e);
            let i = heap.len() - 1;
            sift_up(heap, slots, i, e);
        } else {
            place(heap, slots, p, e);
        }
    }

    /// The earliest due slot over all clocks (`now` per clock), or None.
    fn due(&self, now: &[u64; 3]) -> Option<(SlotId, usize)> {
        (0..3)
            .filter_map(|c| {
                let e = self.heaps[c].first()?;
                (e.at <= now[c]).then_some((e.slot, c))
            })
            .next()
    }
}

/// The timer queue of one namespace.
#[derive(Default)]
pub struct TimerQueue {
    inner: Mutex<Inner>,
}

impl TimerQueue {
    /// Kernel bytes one timer's slot holds (the slot and its heap cell),
    /// charged with the timer.
    pub const SLOT_COST: usize = core::mem::size_of::<Slot>() + core::mem::size_of::<Entry>();

    /// Reserves a slot for a new timer on `clock` (allocates: call it at
    /// timerfd_create, in syscall context).
    pub(crate) fn reserve(&self, clock: ClockId, timer: Weak<TimerFd>) -> SlotId {
        let c = clock_slot(clock);
        let mut q = self.inner.lock();
        q.reserved[c] += 1;
        let want = q.reserved[c];
        let len = q.heaps[c].len();
        q.heaps[c].reserve(want - len);
        let slot = Slot::Used {
            clock: c,
            timer,
            pos: NO_POS,
        };
        q.used += 1;
        match q.free {
            Some(s) => {
                q.free = match q.slots[s] {
                    Slot::Free { next } => next,
                    Slot::Used { .. } => None,
                };
                q.slots[s] = slot;
                s
            }
            None => {
                q.slots.push(slot);
                q.slots.len() - 1
            }
        }
    }

    /// Frees slot `s` (its timer is being dropped). Allocates nothing.
    pub(crate) fn release(&self, s: SlotId) {
        let mut q = self.inner.lock();
        q.dequeue(s);
        if let Slot::Used { clock, .. } = q.slots[s] {
            q.reserved[clock] -= 1;
            q.used -= 1;
        }
        // The Weak is dropped here, with the lock held: dropping a Weak
        // never runs the timer's destructor.
        q.slots[s] = Slot::Free { next: q.free };
        q.free = Some(s);
    }

    /// Queues slot `s` at `at` (moving it), or with `None` takes it out.
    /// Called by its timer under the timer's state lock. Allocates nothing.
    pub(crate) fn set(&self, s: SlotId, at: Option<u64>) {
        let mut q = self.inner.lock();
        match at {
            Some(at) => q.enqueue(s, at),
            None => q.dequeue(s),
        }
    }

    /// The earliest queued expiry.
    pub fn next_deadline(&self) -> Option<Deadline> {
        let q = self.inner.lock();
        CLOCKS
            .iter()
            .enumerate()
            .filter_map(|(c, &clock)| q.heaps[c].first().map(|e| Deadline { clock, at_ns: e.at }))
            .min_by_key(|d| d.at_ns)
    }

    /// Fires every timer due by now: its readers and observers wake and a
    /// periodic one moves to its next expiry. Returns how many fired.
    /// Allocates nothing; waits for locks (call it where a lock holder
    /// cannot be the interrupted code: a poll loop, a clock step).
    pub fn expire<K: Kernel + ?Sized>(&self, k: &K) -> usize {
        self.run(k, false).unwrap_or(0)
    }

    /// `expire` for the timer tick (an interrupt): takes every lock with
    /// `try_lock` and stops at the first busy one (`Busy`: the rest is
    /// left for the next tick). Allocates nothing.
    pub fn try_expire<K: Kernel + ?Sized>(&self, k: &K) -> Result<usize, Busy> {
        self.run(k, true)
    }

    fn lock(&self, try_only: bool) -> Result<MutexGuard<'_, Inner>, Busy> {
        if try_only {
            self.inner.try_lock().ok_or(Busy)
        } else {
            Ok(self.inner.lock())
        }
    }

    fn run<K: Kernel + ?Sized>(&self, k: &K, try_only: bool) -> Result<usize, Busy> {
        let now = CLOCKS.map(|c| k.now(c));
        let mut fired = 0;
        loop {
            let timer: Arc<TimerFd> = {
                let mut q = self.lock(try_only)?;
                let Some((s, _)) = q.due(&now) else {
                    return Ok(fired);
                };
                let timer = match &q.slots[s] {
                    Slot::Used { timer, .. } => timer.upgrade(),
                    Slot::Free { .. } => None,
                };
                match timer {
                    Some(t) => t,
                    None => {
                        // Being dropped: its `release` frees the slot.
                        q.dequeue(s);
                        continue;
                    }
                }
            };
            // The queue lock is released: the timer settles under its own
            // lock, which moves its slot past `now` or removes it.
            let clock = clock_slot(timer.clock());
            if timer.expire_due(k, now[clock], try_only)? {
                fired += 1;
            }
            drop(timer);
        }
    }

    /// Number of queued entries (armed timers), for tests and leak checks.
    pub fn entries(&self) -> usize {
        self.inner.lock().heaps.iter().map(Vec::len).sum()
    }

    /// Number of reserved slots (live timerfds), for leak checks.
    pub fn slots(&self) -> usize {
        self.inner.lock().used
    }
}

#[cfg(all(test, feature = "hosted"))]
mod tests {
    use super::*;
    use crate::hosted::{ClockMode, HostedKernel};
    use crate::ipc::common::time::Timespec;
    use crate::ipc::fd::timerfd::{ItimerSpec, SetFlags};
    use crate::kernel::Credentials;

    const SEC: u64 = 1_000_000_000;

    fn arm(k: &HostedKernel, f: &crate::kernel::FileRef, at: u64) {
        let t = f.downcast::<TimerFd>().unwrap();
        let spec = ItimerSpec {
            interval: Timespec::from_ns(0),
            value: Timespec::from_ns(at),
        };
        t.set(k, spec, SetFlags::default());
    }

    /// Every cell's slot records its position, and no cell is earlier
    /// than its parent.
    fn check_heap(q: &Inner, c: usize) {
        let h = &q.heaps[c];
        for (i, e) in h.iter().enumerate() {
            match q.slots[e.slot] {
                Slot::Used { pos, clock, .. } => assert_eq!((pos, clock), (i, c)),
                Slot::Free { .. } => panic!("a free slot is queued"),
            }
            if i > 0 {
                assert!(h[(i - 1) / 2] <= *e, "cell {i} is earlier than its parent");
            }
        }
    }

    #[test]
    fn the_heap_keeps_its_order_and_positions_through_random_moves_against_a_model() {
        let q = TimerQueue::default();
        let n = 64;
        let slots: Vec<SlotId> = (0..n)
            .map(|_| q.reserve(ClockId::Monotonic, Weak::new()))
            .collect();
        // The model: each slot's queued expiry.
        let mut model: Vec<Option<u64>> = vec![None; n];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = (x % n as u64) as usize;
            // Few distinct expiries, so ties (ordered by slot) are common.
            let at = (x >> 8) % 50;
            if (x >> 40).is_multiple_of(3) {
                q.set(slots[s], None);
                model[s] = None;
            } else {
                q.set(slots[s], Some(at));
                model[s] = Some(at);
            }
            let inner = q.inner.lock();
            check_heap(&inner, 1);
            let want = model
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.map(|a| (a, slots[i])))
                .min();
            let got = inner.heaps[1].first().map(|e| (e.at, e.slot));
            assert_eq!(got, want);
            assert_eq!(inner.heaps[1].len(), model.iter().flatten().count());
        }
        for s in slots {
            q.release(s);
        }
        assert_eq!((q.entries(), q.slots()), (0, 0));
    }

    #[test]
    fn expiry_follows_deadline_order_and_a_busy_queue_is_left_for_the_next_tick() {
        let k = HostedKernel::new(ClockMode::Virtual);
        let p = k.spawn_process(Credentials::new(1000, 1000));
        let _t = k.enter(&p);
        let q = &k.ipc().timers;
        // Deadlines 1..=40 s in a scrambled order, on two clocks.
        let files: Vec<_> = (0..40u64)
            .map(|i| {
                let clock = if i % 2 == 0 {
                    ClockId::Monotonic
                } else {
                    ClockId::Boottime
                };
                let f = TimerFd::create(&*k, clock, true).unwrap();
                arm(&k, &f, ((i * 17) % 40 + 1) * SEC);
                f
            })
            .collect();
        assert_eq!((q.entries(), q.slots()), (40, 40));
        let start = k.now(ClockId::Monotonic);
        assert_eq!(q.next_deadline().map(|d| d.at_ns), Some(start + SEC));
        {
            let _held = q.inner.lock();
            k.clock().advance(SEC);
            assert_eq!(q.try_expire(&*k), Err(Busy), "busy: nothing waits");
        }
        assert_eq!(q.try_expire(&*k), Ok(1), "the next tick does it");
        for n in 2..=40u64 {
            k.clock().advance(SEC);
            assert_eq!(q.expire(&*k), 1);
            assert_eq!(q.entries() as u64, 40 - n);
            if n < 40 {
                assert_eq!(
                    q.next_deadline().map(|d| d.at_ns),
                    Some(start + (n + 1) * SEC)
                );
            }
        }
        drop(files);
        assert_eq!((q.entries(), q.slots()), (0, 0));
    }
}
