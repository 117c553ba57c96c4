//! The timer queue: which timerfd expires next, for hosts that must raise
//! readiness at expiry (an fd in an event queue or poll set has no reader
//! to compute it). Blocking readers do not need it: they park with the
//! expiry as their deadline.
//!
//! One binary heap per clock of (deadline, timer id, arm generation).
//! Arming pushes (it may allocate); expiry pops a one-shot entry or moves a
//! periodic one in place (`peek_mut`), so expiry never allocates. A
//! re-armed, disarmed or closed timer leaves its old entry behind; it is
//! recognised by its generation and dropped when it surfaces, and when the
//! stale entries outnumber the live ones the heap is compacted, so its size
//! stays within twice the number of armed timers. O(log n) per arm and per
//! expiry.
//!
//! Lock order: the queue, then a timer's state (`arm` is called with no
//! timer lock held).

use alloc::collections::binary_heap::PeekMut;
use alloc::collections::BinaryHeap;
use alloc::sync::Weak;
use alloc::vec::Vec;
use core::cmp::{Ordering as CmpOrdering, Reverse};

use crate::ipc::fd::timerfd::{Expiry, TimerFd};
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::sync::{AtomicUsize, Mutex, Ordering};

struct Entry {
    at: u64,
    id: u64,
    generation: u64,
    timer: Weak<TimerFd>,
}

impl Entry {
    fn key(&self) -> (u64, u64, u64) {
        (self.at, self.id, self.generation)
    }
}
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.key().cmp(&other.key())
    }
}

const CLOCKS: [ClockId; 3] = [ClockId::Realtime, ClockId::Monotonic, ClockId::Boottime];

fn slot(clock: ClockId) -> usize {
    match clock {
        ClockId::Realtime => 0,
        ClockId::Monotonic => 1,
        ClockId::Boottime => 2,
    }
}

/// The timer queue of one namespace.
#[derive(Default)]
pub struct TimerQueue {
    heaps: Mutex<[BinaryHeap<Reverse<Entry>>; 3]>,
    /// Entries known to be stale; lock-free so a timer dropped anywhere
    /// (even under the queue lock) can report its entry.
    stale: AtomicUsize,
}

impl TimerQueue {
    /// Queues expiry `at` on `clock` of `timer` (id, generation).
    pub(crate) fn arm(
        &self,
        clock: ClockId,
        at: u64,
        id: u64,
        generation: u64,
        timer: Weak<TimerFd>,
    ) {
        let mut heaps = self.heaps.lock();
        heaps[slot(clock)].push(Reverse(Entry {
            at,
            id,
            generation,
            timer,
        }));
        let total: usize = heaps.iter().map(BinaryHeap::len).sum();
        if total > 16 && 2 * self.stale.load(Ordering::Relaxed) > total {
            for heap in heaps.iter_mut() {
                let mut v: Vec<Reverse<Entry>> = core::mem::take(heap).into_vec();
                v.retain(|Reverse(e)| {
                    e.timer
                        .upgrade()
                        .is_some_and(|t| t.is_current(e.generation))
                });
                *heap = BinaryHeap::from(v);
            }
            self.stale.store(0, Ordering::Relaxed);
        }
    }

    /// One queued entry just went stale (re-armed, disarmed, closed).
    pub(crate) fn note_stale(&self) {
        self.stale.fetch_add(1, Ordering::Relaxed);
    }

    /// The earliest queued deadline (possibly of a stale entry: the host
    /// then wakes early and finds nothing to do).
    pub fn next_deadline(&self) -> Option<Deadline> {
        let heaps = self.heaps.lock();
        CLOCKS
            .iter()
            .filter_map(|&c| {
                heaps[slot(c)].peek().map(|Reverse(e)| Deadline {
                    clock: c,
                    at_ns: e.at,
                })
            })
            .min_by_key(|d| d.at_ns)
    }

    /// Fires every timer due by now: its readers and observers wake and a
    /// periodic one moves to its next expiry. Returns how many fired.
    /// Allocates nothing.
    pub fn expire<K: Kernel + ?Sized>(&self, k: &K) -> usize {
        let mut fired = 0;
        let mut heaps = self.heaps.lock();
        for clock in CLOCKS {
            let now = k.now(clock);
            let heap = &mut heaps[slot(clock)];
            while let Some(mut top) = heap.peek_mut() {
                if top.0.at > now {
                    break;
                }
                let outcome = match top.0.timer.upgrade() {
                    Some(timer) => timer.expired(k, top.0.generation, now),
                    None => Expiry::Stale,
                };
                match outcome {
                    Expiry::Again(at) => {
                        fired += 1;
                        top.0.at = at; // re-sifted in place when `top` drops
                    }
                    Expiry::Done => {
                        fired += 1;
                        PeekMut::pop(top);
                    }
                    Expiry::Stale => {
                        core::mem::drop(PeekMut::pop(top));
                        let _ =
                            self.stale
                                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                                    s.checked_sub(1)
                                });
                    }
                }
            }
        }
        fired
    }

    /// Number of queued entries, live and stale (tests).
    pub fn entries(&self) -> usize {
        self.heaps.lock().iter().map(BinaryHeap::len).sum()
    }
}
