//! The messages of one POSIX message queue: highest priority first, FIFO
//! within a priority, O(log n) per send and per receive whatever the mix
//! of priorities.
//!
//! One binary heap ordered by (priority, reverse arrival number). Its
//! capacity, `maxmsg` entries, is reserved when the queue is created (and
//! charged to the creator with the rest of the queue's capacity), so a
//! send allocates only the message's own bytes and a receive frees them.
//!
//! A receive that cannot copy the message out must lose nothing: `take`
//! hands the message out as `Taken` while its slot stays counted (so no
//! sender can fill it meanwhile), and the receiver either `commit`s it
//! after a successful copy or `restore`s it, which puts it back exactly
//! where it was (same priority, same arrival number).

use alloc::boxed::Box;
use alloc::collections::{BinaryHeap, TryReserveError};
use core::cmp::{Ordering, Reverse};

/// One queued message.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// Priority, 0..MQ_PRIO_MAX.
    pub prio: u32,
    /// Arrival number within the queue: FIFO order within a priority.
    seq: u64,
    /// The bytes.
    pub body: Box<[u8]>,
}

impl Message {
    fn key(&self) -> (u32, Reverse<u64>) {
        (self.prio, Reverse(self.seq))
    }
}

impl PartialOrd for Message {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Message {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// A message handed out by `take`, still holding its slot in the queue
/// until it is committed or restored.
#[derive(Debug)]
#[must_use = "a taken message must be committed or restored"]
pub struct Taken(Message);

impl Taken {
    /// The message's priority.
    pub fn prio(&self) -> u32 {
        self.0.prio
    }
    /// The message's bytes.
    pub fn body(&self) -> &[u8] {
        &self.0.body
    }
}

/// The queue is at its `maxmsg`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Full;

/// The queued messages of one queue.
#[derive(Debug)]
pub struct MsgStore {
    heap: BinaryHeap<Message>,
    maxmsg: usize,
    /// Messages taken but neither committed nor restored yet.
    in_flight: usize,
    next_seq: u64,
}

impl MsgStore {
    /// An empty store for at most `maxmsg` messages, its index reserved
    /// now (an allocation failure is the caller's ENOMEM).
    pub fn with_capacity(maxmsg: usize) -> Result<Self, TryReserveError> {
        let mut heap = BinaryHeap::new();
        heap.try_reserve_exact(maxmsg)?;
        Ok(MsgStore {
            heap,
            maxmsg,
            in_flight: 0,
            next_seq: 0,
        })
    }

    /// Messages in the queue, including taken ones not yet committed
    /// (mq_curmsgs).
    pub fn len(&self) -> usize {
        self.heap.len() + self.in_flight
    }

    /// Whether a receiver would find nothing to take now.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Whether a send must wait.
    pub fn is_full(&self) -> bool {
        self.len() >= self.maxmsg
    }

    /// The most messages the queue holds.
    pub fn capacity(&self) -> usize {
        self.maxmsg
    }

    /// Queues `body` at `prio`; `Full` (and `body` back) at capacity.
    /// Never allocates: the index was reserved at creation.
    pub fn push(&mut self, prio: u32, body: Box<[u8]>) -> Result<(), (Full, Box<[u8]>)> {
        if self.is_full() {
            return Err((Full, body));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Message { prio, seq, body });
        Ok(())
    }

    /// Stamps a message that bypasses the queue (handed straight to a
    /// blocked receiver), so arrival numbers stay unique.
    pub fn stamp_direct(&mut self, prio: u32, body: Box<[u8]>) -> Taken {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight += 1;
        Taken(Message { prio, seq, body })
    }

    /// The priority and length of the message `take` would return.
    pub fn peek(&self) -> Option<(u32, usize)> {
        self.heap.peek().map(|m| (m.prio, m.body.len()))
    }

    /// Takes the highest-priority, oldest message, keeping its slot.
    pub fn take(&mut self) -> Option<Taken> {
        let m = self.heap.pop()?;
        self.in_flight += 1;
        Some(Taken(m))
    }

    /// The copy-out succeeded: the message leaves the queue; returns its
    /// bytes (to free outside any lock).
    pub fn commit(&mut self, taken: Taken) -> Box<[u8]> {
        self.in_flight = self.in_flight.saturating_sub(1);
        taken.0.body
    }

    /// The copy-out failed: the message goes back where it was. Cannot
    /// overflow the reservation: its slot was held all along.
    pub fn restore(&mut self, taken: Taken) {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.heap.push(taken.0);
    }

    /// Drops every message (the queue is destroyed).
    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn body(b: u8) -> Box<[u8]> {
        Box::from([b])
    }

    #[test]
    fn priority_then_fifo_and_capacity() {
        let mut s = MsgStore::with_capacity(4).unwrap();
        s.push(1, body(1)).unwrap();
        s.push(5, body(2)).unwrap();
        s.push(1, body(3)).unwrap();
        s.push(5, body(4)).unwrap();
        assert!(s.is_full());
        assert_eq!(s.push(9, body(5)).unwrap_err().0, Full);
        let order: Vec<u8> = core::iter::from_fn(|| {
            let t = s.take()?;
            Some(s.commit(t)[0])
        })
        .collect();
        assert_eq!(order, [2, 4, 1, 3]);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn restore_puts_the_message_back_in_place_and_holds_its_slot() {
        let mut s = MsgStore::with_capacity(2).unwrap();
        s.push(3, body(1)).unwrap();
        s.push(3, body(2)).unwrap();
        let t = s.take().unwrap();
        assert_eq!(t.body(), &[1]);
        assert!(s.is_full(), "a taken message keeps its slot");
        s.restore(t);
        let t = s.take().unwrap();
        assert_eq!(t.body(), &[1], "restored ahead of the later message");
        let _ = s.commit(t);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn reserved_index_does_not_grow() {
        let mut s = MsgStore::with_capacity(64).unwrap();
        let cap = s.heap.capacity();
        for i in 0..64 {
            s.push(i % 7, body(i as u8)).unwrap();
        }
        assert_eq!(s.heap.capacity(), cap);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        #[derive(Clone, Debug)]
        enum Op {
            Push(u32),
            Take,
            Commit,
            Restore,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (0u32..4).prop_map(Op::Push),
                Just(Op::Take),
                Just(Op::Commit),
                Just(Op::Restore),
            ]
        }

        proptest! {
            /// Against a naive model: a list scanned for the highest
            /// priority, earliest arrival.
            #[test]
            fn matches_a_scanning_model(ops in proptest::collection::vec(op(), 0..200)) {
                let mut s = MsgStore::with_capacity(8).unwrap();
                let mut model: Vec<(u32, u64)> = Vec::new();
                let mut held: Vec<(Taken, (u32, u64))> = Vec::new();
                let mut next = 0u64;
                for op in ops {
                    match op {
                        Op::Push(prio) => {
                            let full = model.len() + held.len() >= 8;
                            let r = s.push(prio, Box::from(next.to_ne_bytes()));
                            prop_assert_eq!(r.is_err(), full);
                            if !full {
                                model.push((prio, next));
                            }
                            next += 1;
                        }
                        Op::Take => {
                            let best = model
                                .iter()
                                .enumerate()
                                .max_by_key(|(_, &(p, q))| (p, Reverse(q)))
                                .map(|(i, _)| i);
                            let got = s.take();
                            prop_assert_eq!(got.is_some(), best.is_some());
                            if let (Some(t), Some(i)) = (got, best) {
                                let want = model.remove(i);
                                prop_assert_eq!(t.prio(), want.0);
                                prop_assert_eq!(t.body(), &want.1.to_ne_bytes()[..]);
                                held.push((t, want));
                            }
                        }
                        Op::Commit => {
                            if let Some((t, _)) = held.pop() {
                                let _ = s.commit(t);
                            }
                        }
                        Op::Restore => {
                            if let Some((t, m)) = held.pop() {
                                s.restore(t);
                                model.push(m);
                            }
                        }
                    }
                    prop_assert_eq!(s.len(), model.len() + held.len());
                }
            }
        }
    }
}
