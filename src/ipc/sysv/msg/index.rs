//! `MessageIndex`: the messages of one queue, indexed so that every
//! msgrcv selector finds its message in O(log n) (Linux scans the queue).
//!
//! Every message gets an arrival number `seq` when it is sent. Messages
//! live in one FIFO per type (`by_type`, a map from type to a deque of
//! `(seq, text)`), and `heads` holds `(seq, type)` of the first message
//! of each type, ordered by `seq`. Every selector takes the head of some
//! type's FIFO:
//! - msgtyp 0: the first of `heads` (the oldest message of all);
//! - msgtyp > 0: the front of that type's FIFO;
//! - MSG_EXCEPT t: the first of `heads` whose type is not t (at most the
//!   second entry, as each type has one head);
//! - msgtyp < 0: the front of the lowest type <= |msgtyp| (the first entry
//!   of `by_type` in range).
//!
//! Cost per message: its text (one allocation, exactly its length) and
//! one `(u64, Box<[u8]>)` deque slot (24 bytes, the deque growing by
//! doubling); per type present: one `by_type` node entry and one `heads`
//! entry. Nothing is allocated on receive. The deque of a type that
//! empties is kept as `spare` (empty, at most `SPARE_SLOTS` slots) for the
//! next type that appears, so a send + receive pair on an otherwise empty
//! queue allocates the text alone. MSG_COPY (read by position)
//! merges the FIFOs and is O(n log k) for the n-th message of k types,
//! as rare as it is (Linux's is O(n) too).

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};

/// How msgrcv picks a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    /// msgtyp 0: the first message.
    Any,
    /// msgtyp > 0: the first message of this type.
    Equal(i64),
    /// msgtyp > 0 with MSG_EXCEPT: the first message not of this type.
    NotEqual(i64),
    /// msgtyp < 0: the first message of the lowest type <= this bound.
    AtMost(i64),
}

impl Selector {
    /// The selector of msgrcv's `msgtyp` and MSG_EXCEPT.
    pub fn new(msgtyp: i64, except: bool) -> Self {
        match msgtyp {
            0 => Selector::Any,
            // i64::MIN has no absolute value; Linux reads it as LONG_MAX
            // (measured on 6.18: it takes the lowest type there is).
            i64::MIN => Selector::AtMost(i64::MAX),
            t if t < 0 => Selector::AtMost(-t),
            t if except => Selector::NotEqual(t),
            t => Selector::Equal(t),
        }
    }

    /// Whether a message of type `mtype` is one this selector takes, when
    /// it is the only candidate (a blocked receiver offered a new message:
    /// none of the queued ones matched it, so the lowest type is this).
    pub fn matches(&self, mtype: i64) -> bool {
        match *self {
            Selector::Any => true,
            Selector::Equal(t) => mtype == t,
            Selector::NotEqual(t) => mtype != t,
            Selector::AtMost(bound) => mtype <= bound,
        }
    }
}

/// A message taken out of a queue.
#[derive(Debug, PartialEq, Eq)]
pub struct Message {
    /// Its type (>= 1).
    pub mtype: i64,
    /// Its arrival number in its queue.
    pub seq: u64,
    /// Its text.
    pub text: Box<[u8]>,
}

/// Where a selected message is, before it is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its type.
    pub mtype: i64,
    /// Its text length.
    pub len: usize,
}

/// The messages of one type, oldest first: (arrival number, text).
type TypeFifo = VecDeque<(u64, Box<[u8]>)>;

/// Largest emptied deque kept for reuse (24 bytes a slot): a queue that
/// once held many messages of one type does not keep their slots.
const SPARE_SLOTS: usize = 16;

/// The messages of one queue.
#[derive(Default)]
pub struct MessageIndex {
    by_type: BTreeMap<i64, TypeFifo>,
    heads: BTreeSet<(u64, i64)>,
    /// An emptied deque, for the next new type.
    spare: Option<TypeFifo>,
    next_seq: u64,
    count: usize,
    bytes: usize,
}

impl MessageIndex {
    /// Number of messages (msg_qnum).
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Bytes of text queued (msg_cbytes).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The arrival number the next message gets; consumed by `stamp`.
    pub fn stamp(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// Appends a message sent now (its `seq` from `stamp`, so the newest).
    pub fn push(&mut self, msg: Message) {
        self.insert(msg)
    }

    /// Puts back a taken message at its arrival position (a receive whose
    /// copy to user memory failed).
    pub fn put_back(&mut self, msg: Message) {
        self.insert(msg)
    }

    fn insert(&mut self, msg: Message) {
        let Message { mtype, seq, text } = msg;
        self.count += 1;
        self.bytes += text.len();
        let spare = &mut self.spare;
        let fifo = self
            .by_type
            .entry(mtype)
            .or_insert_with(|| spare.take().unwrap_or_default());
        let old_head = fifo.front().map(|&(s, _)| s);
        let at = fifo.partition_point(|&(s, _)| s < seq);
        fifo.insert(at, (seq, text));
        if at == 0 {
            if let Some(old) = old_head {
                self.heads.remove(&(old, mtype));
            }
            self.heads.insert((seq, mtype));
        }
    }

    /// The message `sel` would take, if any.
    pub fn find(&self, sel: Selector) -> Option<Found> {
        let mtype = match sel {
            Selector::Any => self.heads.first()?.1,
            Selector::Equal(t) => self.by_type.contains_key(&t).then_some(t)?,
            Selector::NotEqual(t) => self.heads.iter().find(|&&(_, ty)| ty != t)?.1,
            Selector::AtMost(bound) => *self.by_type.range(..=bound).next()?.0,
        };
        let (_, text) = self.by_type.get(&mtype)?.front()?;
        Some(Found {
            mtype,
            len: text.len(),
        })
    }

    /// Takes the oldest message of type `mtype`.
    pub fn take(&mut self, mtype: i64) -> Option<Message> {
        let fifo = self.by_type.get_mut(&mtype)?;
        let (seq, text) = fifo.pop_front()?;
        self.heads.remove(&(seq, mtype));
        match fifo.front() {
            Some(&(next, _)) => {
                self.heads.insert((next, mtype));
            }
            None => {
                if let Some(empty) = self.by_type.remove(&mtype) {
                    if empty.capacity() <= SPARE_SLOTS {
                        self.spare = Some(empty);
                    }
                }
            }
        }
        self.count -= 1;
        self.bytes -= text.len();
        Some(Message { mtype, seq, text })
    }

    /// The `n`-th message in arrival order, counting from 0 (MSG_COPY).
    pub fn nth(&self, n: usize) -> Option<(i64, &[u8])> {
        if n >= self.count {
            return None;
        }
        // Merge the FIFOs: cursors (seq, type, position) ordered by seq.
        let mut cursors: BTreeSet<(u64, i64, usize)> =
            self.heads.iter().map(|&(seq, ty)| (seq, ty, 0)).collect();
        for _ in 0..n {
            let (_, ty, pos) = cursors.pop_first()?;
            if let Some(&(seq, _)) = self.by_type.get(&ty)?.get(pos + 1) {
                cursors.insert((seq, ty, pos + 1));
            }
        }
        let &(_, ty, pos) = cursors.first()?;
        let (_, text) = self.by_type.get(&ty)?.get(pos)?;
        Some((ty, text))
    }

    /// Empties the index (the queue is removed); returns what it held as
    /// (messages, bytes).
    pub fn clear(&mut self) -> (usize, usize) {
        let held = (self.count, self.bytes);
        *self = MessageIndex {
            next_seq: self.next_seq,
            ..MessageIndex::default()
        };
        held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn send(ix: &mut MessageIndex, mtype: i64, len: usize) {
        let seq = ix.stamp();
        ix.push(Message {
            mtype,
            seq,
            text: vec![mtype as u8; len].into_boxed_slice(),
        });
    }

    fn recv(ix: &mut MessageIndex, sel: Selector) -> Option<(i64, u64)> {
        let f = ix.find(sel)?;
        ix.take(f.mtype).map(|m| (m.mtype, m.seq))
    }

    #[test]
    fn each_selector_picks_like_linux() {
        let mut ix = MessageIndex::default();
        for t in [3, 1, 2, 3, 1] {
            send(&mut ix, t, 1);
        }
        assert_eq!(recv(&mut ix, Selector::NotEqual(3)), Some((1, 1)));
        assert_eq!(recv(&mut ix, Selector::AtMost(2)), Some((1, 4)));
        assert_eq!(recv(&mut ix, Selector::Equal(3)), Some((3, 0)));
        assert_eq!(recv(&mut ix, Selector::Any), Some((2, 2)));
        assert_eq!(recv(&mut ix, Selector::AtMost(2)), None);
        assert_eq!(recv(&mut ix, Selector::new(i64::MIN, false)), Some((3, 3)));
        assert!(ix.is_empty() && ix.bytes() == 0);
    }

    #[test]
    fn an_emptied_deque_serves_the_next_type() {
        let mut ix = MessageIndex::default();
        send(&mut ix, 7, 3);
        assert!(ix.spare.is_none());
        assert_eq!(recv(&mut ix, Selector::Equal(7)).map(|(t, _)| t), Some(7));
        assert!(ix.spare.is_some(), "the emptied deque is kept");
        send(&mut ix, 8, 1);
        assert!(ix.spare.is_none(), "and taken by the next new type");
        assert_eq!(recv(&mut ix, Selector::Any).map(|(t, _)| t), Some(8));
        // A deque grown past SPARE_SLOTS is dropped, not kept.
        for _ in 0..=SPARE_SLOTS {
            send(&mut ix, 9, 0);
        }
        for _ in 0..=SPARE_SLOTS {
            assert_eq!(recv(&mut ix, Selector::Equal(9)).map(|(t, _)| t), Some(9));
        }
        assert!(ix.spare.is_none());
        assert!(ix.is_empty());
    }

    #[test]
    fn put_back_restores_arrival_order() {
        let mut ix = MessageIndex::default();
        for t in [5, 5, 6] {
            send(&mut ix, t, 2);
        }
        let f = ix.find(Selector::Any).unwrap();
        let m = ix.take(f.mtype).unwrap();
        send(&mut ix, 5, 2);
        ix.put_back(m);
        assert_eq!(ix.len(), 4);
        assert_eq!(ix.nth(0).map(|x| x.0), Some(5));
        assert_eq!(recv(&mut ix, Selector::Any), Some((5, 0)));
        assert_eq!(recv(&mut ix, Selector::Any), Some((5, 1)));
        assert_eq!(recv(&mut ix, Selector::Any), Some((6, 2)));
        assert_eq!(recv(&mut ix, Selector::Any), Some((5, 3)));
    }

    #[test]
    fn nth_walks_arrival_order_across_types() {
        let mut ix = MessageIndex::default();
        for t in [2, 1, 2, 3] {
            send(&mut ix, t, 1);
        }
        let types: vec::Vec<i64> = (0..4).map(|n| ix.nth(n).unwrap().0).collect();
        assert_eq!(types, [2, 1, 2, 3]);
        assert!(ix.nth(4).is_none());
    }
}
