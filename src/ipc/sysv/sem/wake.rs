//! The blocked semop callers of one set and how a change completes them
//! (Linux's ipc/sem.c `update_queue`, `wake_const_ops`,
//! `do_smart_update`).
//!
//! A caller whose call has one operation waits on that semaphore's own
//! list (`alter` for a decrement, `zero` for a wait-for-zero); a caller
//! with several operations waits on the set's `complex_alter` or
//! `complex_zero` list. After every change the waker runs the waiting
//! calls that can now proceed, in Linux's order, and completes each in
//! place (`Handoff`: the woken caller returns the result it finds, it
//! does not run its operations again), so nobody is woken to go back to
//! sleep. A change to one semaphore visits only that semaphore's lists
//! while no complex caller waits: its cost does not grow with the size of
//! the set.
//!
//! Linux's order without moving anyone: while a complex caller waits,
//! Linux puts every decrement waiter on the global list (`merge_queues`:
//! those already waiting first, then arrivals in order) and walks it from
//! the head again after each completion; when the last complex caller
//! has gone it puts them back on their semaphores' lists. Here a
//! decrement waiter that arrives while either complex list is non-empty
//! joins `complex_alter` (Linux: the global list) and stays there; those
//! already on a semaphore's list stay there and are served first (they
//! are at the head of Linux's merged list); and the walk of
//! `complex_alter` stops after each completion, the semaphores' lists
//! are served again and the walk starts over (Linux's `check_restart`).
//! Per semaphore that is arrival order, as Linux's lists are.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use core::ops::Deref;

use arrayvec::ArrayVec;

use crate::errno::{Errno, ENOMEM};
use crate::ipc::common::wait::Handoff;
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::ipc::sysv::sem::ops::{apply, OpsFailed, Sem, SemBuf};
use crate::kernel::{Kernel, Pid};

/// Calls with at most this many operations keep them on the stack (Linux's
/// SEMOPM_FAST); longer ones, up to semopm, are allocated.
pub const SEMOPM_FAST: usize = 64;

/// One call's operations.
// The inline variant is large on purpose: it is what keeps the common
// call free of allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Batch {
    /// Up to `SEMOPM_FAST` operations, inline.
    Inline(ArrayVec<SemBuf, SEMOPM_FAST>),
    /// More, on the heap.
    Heap(Box<[SemBuf]>),
}

impl Batch {
    /// A batch of `n` zeroed operations to fill in: inline when it fits,
    /// else allocated (ENOMEM).
    pub fn zeroed(n: usize) -> Result<Batch, Errno> {
        if n <= SEMOPM_FAST {
            let mut v = ArrayVec::new();
            for _ in 0..n {
                v.push(SemBuf::default());
            }
            return Ok(Batch::Inline(v));
        }
        let mut v = alloc::vec::Vec::new();
        v.try_reserve_exact(n).map_err(|_| Errno::new(ENOMEM))?;
        v.resize(n, SemBuf::default());
        Ok(Batch::Heap(v.into_boxed_slice()))
    }

    /// The operations, to fill in.
    pub fn as_mut_slice(&mut self) -> &mut [SemBuf] {
        match self {
            Batch::Inline(v) => v.as_mut_slice(),
            Batch::Heap(v) => v,
        }
    }
}

impl Deref for Batch {
    type Target = [SemBuf];
    fn deref(&self) -> &[SemBuf] {
        match self {
            Batch::Inline(v) => v,
            Batch::Heap(v) => v,
        }
    }
}

/// What a blocked caller asked for.
#[derive(Debug)]
pub struct Pending {
    /// Its operations.
    pub ops: Batch,
    /// Its process (sempid, and whose SEM_UNDO adjustments).
    pub pid: Pid,
    /// The operation it waits on now (GETNCNT / GETZCNT count it there).
    pub blocking: usize,
}

impl Pending {
    fn waits_on(&self, num: usize, zero: bool) -> bool {
        self.ops.get(self.blocking).is_some_and(|op| {
            usize::from(op.num) == num && if zero { op.op == 0 } else { op.op < 0 }
        })
    }
}

/// A wait-queue node's payload: the request and the waker's result.
pub type Node = Handoff<Pending, ()>;

/// SEM_UNDO adjustments of one set, per process.
pub type UndoMap = BTreeMap<Pid, Box<[i16]>>;

/// Which list a blocking caller joins (`Waiters::route`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Semaphore `n`'s decrement list.
    Alter(usize),
    /// Semaphore `n`'s wait-for-zero list.
    Zero(usize),
    /// The set's list of complex calls that alter.
    ComplexAlter,
    /// The set's list of complex calls that only wait for zero.
    ComplexZero,
}

/// Every blocked caller of one set.
pub struct Waiters {
    alter: Box<[WaitQueue<Node>]>,
    zero: Box<[WaitQueue<Node>]>,
    complex_alter: WaitQueue<Node>,
    complex_zero: WaitQueue<Node>,
}

/// What a change touched, for `Waiters::update`.
#[derive(Clone, Copy)]
pub enum Changed<'a> {
    /// The semaphores these operations name (a completed semop).
    Ops(&'a [SemBuf]),
    /// Any of them (SETVAL, SETALL, an exit's adjustments).
    All,
}

fn queues(n: usize) -> Result<Box<[WaitQueue<Node>]>, Errno> {
    let mut v = alloc::vec::Vec::new();
    v.try_reserve_exact(n).map_err(|_| Errno::new(ENOMEM))?;
    v.resize_with(n, WaitQueue::new);
    Ok(v.into_boxed_slice())
}

/// Runs the operations of one waiter against the values; says whether
/// to complete it and with what.
fn try_complete(sems: &mut [Sem], undo: &mut UndoMap, node: &mut Node) -> Visit {
    let p = &mut node.request;
    let adj = if p.ops.iter().any(SemBuf::undo) {
        undo.get_mut(&p.pid).map(|a| &mut a[..])
    } else {
        None
    };
    match apply(sems, adj, &p.ops, p.pid) {
        Ok(()) => {
            node.result = Some(Ok(()));
            Visit::Complete
        }
        Err(OpsFailed::Block { index }) => {
            p.blocking = index;
            Visit::Keep
        }
        Err(OpsFailed::Error(e)) => {
            node.result = Some(Err(e));
            Visit::Complete
        }
    }
}

/// How far one walk of a list goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// To the end.
    All,
    /// Until semaphore `n` is 0 (no decrement of it can proceed then).
    WhileNonZero(usize),
    /// Until one waiter completed successfully (the caller starts over).
    One,
}

/// Visits `q` in order, completing each waiter that can proceed, as far
/// as `walk` says. Returns how many completed successfully.
fn serve<K: Kernel + ?Sized>(
    k: &K,
    q: &mut WaitQueue<Node>,
    sems: &mut [Sem],
    undo: &mut UndoMap,
    walk: Walk,
) -> usize {
    if q.is_empty() {
        return 0;
    }
    let mut ok = 0;
    q.visit(k, |node| {
        let stop = match walk {
            Walk::All => false,
            Walk::WhileNonZero(i) => sems.get(i).is_some_and(|s| s.val == 0),
            Walk::One => ok > 0,
        };
        if stop {
            return Visit::Stop;
        }
        let verdict = try_complete(sems, undo, node);
        if verdict == Visit::Complete && node.result == Some(Ok(())) {
            ok += 1;
        }
        verdict
    });
    ok
}

impl Waiters {
    /// Empty lists for a set of `n` semaphores (ENOMEM).
    pub fn new(n: usize) -> Result<Self, Errno> {
        Ok(Waiters {
            alter: queues(n)?,
            zero: queues(n)?,
            complex_alter: WaitQueue::new(),
            complex_zero: WaitQueue::new(),
        })
    }

    /// Where a call with `ops` waits when it blocks: a single decrement
    /// on its semaphore's list unless a complex list is in use (then on
    /// `complex_alter`, see the module docs), a single wait-for-zero on
    /// its semaphore's list, a complex call on a complex list.
    pub fn route(&self, ops: &[SemBuf]) -> Target {
        let alters = ops.iter().any(SemBuf::alters);
        let global = !self.complex_alter.is_empty() || !self.complex_zero.is_empty();
        match (ops, alters) {
            ([one], true) if !global => Target::Alter(usize::from(one.num)),
            ([one], false) => Target::Zero(usize::from(one.num)),
            (_, true) => Target::ComplexAlter,
            (_, false) => Target::ComplexZero,
        }
    }

    /// The list `t` names (a `Target` from `route`, in range).
    pub fn queue(&mut self, t: Target) -> &mut WaitQueue<Node> {
        match t {
            Target::Alter(i) if i < self.alter.len() => &mut self.alter[i],
            Target::Zero(i) if i < self.zero.len() => &mut self.zero[i],
            Target::ComplexZero | Target::Zero(_) => &mut self.complex_zero,
            Target::ComplexAlter | Target::Alter(_) => &mut self.complex_alter,
        }
    }

    /// One semaphore's part of an update: its zero waiters if it is 0,
    /// its decrement waiters if it may have grown.
    fn sem_pass<K: Kernel + ?Sized>(
        &mut self,
        k: &K,
        sems: &mut [Sem],
        undo: &mut UndoMap,
        i: usize,
        grew: bool,
    ) -> usize {
        let mut ok = 0;
        let is_zero = |s: &[Sem]| s.get(i).is_some_and(|s| s.val == 0);
        if is_zero(sems) {
            if let Some(q) = self.zero.get_mut(i) {
                ok += serve(k, q, sems, undo, Walk::All);
            }
        }
        if grew {
            if let Some(q) = self.alter.get_mut(i) {
                let done = serve(k, q, sems, undo, Walk::WhileNonZero(i));
                ok += done;
                if done > 0 && is_zero(sems) {
                    if let Some(q) = self.zero.get_mut(i) {
                        ok += serve(k, q, sems, undo, Walk::All);
                    }
                }
            }
        }
        ok
    }

    /// After a change: completes every waiting call that can now
    /// proceed, until none can. Returns how many completed successfully
    /// (each one is a semop: sem_otime moves).
    pub fn update<K: Kernel + ?Sized>(
        &mut self,
        k: &K,
        sems: &mut [Sem],
        undo: &mut UndoMap,
        changed: Changed<'_>,
    ) -> usize {
        let mut scope = changed;
        let mut ok = 0;
        loop {
            match scope {
                Changed::Ops(ops) => {
                    for op in ops {
                        ok += self.sem_pass(k, sems, undo, usize::from(op.num), op.op > 0);
                    }
                }
                Changed::All => {
                    for i in 0..sems.len() {
                        ok += self.sem_pass(k, sems, undo, i, true);
                    }
                }
            }
            ok += serve(k, &mut self.complex_zero, sems, undo, Walk::All);
            let global = serve(k, &mut self.complex_alter, sems, undo, Walk::One);
            if global == 0 {
                return ok;
            }
            // Linux restarts its walk after a completion on the global
            // list: serve the semaphores' lists (the head of that list),
            // then walk from the start again.
            ok += global;
            scope = Changed::All;
        }
    }

    /// Fails every waiter with EIDRM (the set is removed).
    pub fn remove_all<K: Kernel + ?Sized>(&mut self, k: &K) {
        for q in self.alter.iter_mut().chain(self.zero.iter_mut()) {
            q.remove_all(k);
        }
        self.complex_alter.remove_all(k);
        self.complex_zero.remove_all(k);
    }

    /// GETNCNT (`zero` false) or GETZCNT (`zero` true) of semaphore `num`:
    /// the waiters of its own list, and the complex waiters whose
    /// blocking operation is on it (Linux's `count_semcnt`).
    pub fn count<K: Kernel + ?Sized>(&mut self, k: &K, num: usize, zero: bool) -> usize {
        let own = if zero { &self.zero } else { &self.alter };
        let mut n = own.get(num).map_or(0, WaitQueue::len);
        let mut count = |q: &mut WaitQueue<Node>| {
            q.visit(k, |node| {
                if node.request.waits_on(num, zero) {
                    n += 1;
                }
                Visit::Keep
            });
        };
        count(&mut self.complex_alter);
        if zero {
            count(&mut self.complex_zero);
        }
        n
    }

    /// Number of blocked callers (tests wait until one is asleep).
    pub fn len(&self) -> usize {
        let own: usize = self
            .alter
            .iter()
            .chain(self.zero.iter())
            .map(WaitQueue::len)
            .sum();
        own + self.complex_alter.len() + self.complex_zero.len()
    }

    /// Whether nobody is blocked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
