//! What the objects must hold, predicted from the calls that succeeded:
//! the harness's model of the SysV message queues (message count and text
//! bytes), the SysV semaphore sets (every value), the eventfds (the
//! count) and the POSIX message queues (message count). After every step
//! the world compares it with what the objects hold (`World::step`).
//!
//! The model learns only from results: a call that failed changed
//! nothing, one that succeeded changed what its arguments say. A call on
//! a thread of its own is applied once it has returned, so an object some
//! such call is still running on is not compared (its effect may be in
//! the object and not yet in the model). What the model cannot know it
//! marks unknown instead of guessing:
//! - the text bytes of a queue after a msgrcv with MSG_NOERROR that may
//!   have cut its message short (known again once the queue is empty);
//! - a semaphore's value once a process that made SEM_UNDO adjustments to
//!   it has exited (known again at a SETVAL or SETALL), a value a SETVAL
//!   or SETALL set while another call ran on the set (the order of the two
//!   is not known), and values read from user memory that changed while
//!   the call read them (another call's thread wrote there);
//! - an eventfd's count after a write whose 8 bytes changed while it ran.
//!
//! It does not model what lives in user memory (futex words, unnamed and
//! named semaphore values, which any call or poke may overwrite), the
//! timerfds' expiry counts (the timer arithmetic of the virtual clock),
//! the signalfds (the host's pending signals) or the POSIX queues' bytes
//! (RLIMIT_MSGQUEUE is charged for a queue's capacity, at mq_open).

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use redbear_ipc::ipc::common::file::FileObject;
use redbear_ipc::ipc::fd::eventfd::EventFd;
use redbear_ipc::ipc::mq::queue::MessageQueue;
use redbear_ipc::ipc::Ipc;
use redbear_ipc::kernel::Pid;
use redbear_ipc::syscall::abi::{IPC_RMID, MSG_COPY, MSG_NOERROR, SETALL, SETVAL};

/// SEM_UNDO in a sembuf's flags.
const SEM_UNDO: i16 = 0x1000;
/// Bytes of one sembuf (num u16, op i16, flg i16).
const SEMBUF: usize = 6;
/// The most operations one semop takes (semopm).
const SEMOPM: usize = 500;

/// An object a call is about, for not comparing it while the call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// SysV queue `id`.
    Msg(i32),
    /// SysV set `id`.
    Sem(i32),
    /// Which SysV sets exist (a semget or IPC_RMID is running).
    SemIds,
    /// Which SysV queues exist (a msgget or IPC_RMID is running).
    MsgIds,
    /// An object an fd reaches, by address.
    Obj(usize),
}

/// What a call does if it succeeds, worked out before it runs.
#[derive(Debug)]
pub enum Effect {
    /// Nothing the model follows.
    None,
    /// msgget: the returned id exists (new ones empty), made at `step`.
    MsgGet { step: u64 },
    /// msgsnd of `len` text bytes.
    MsgSnd { id: i32, gen: u64, len: usize },
    /// msgrcv (not MSG_COPY) into `max_len` bytes, cut short if `noerror`.
    MsgRcv {
        id: i32,
        gen: u64,
        max_len: usize,
        noerror: bool,
    },
    /// msgctl IPC_RMID.
    MsgRmid { id: i32, gen: u64 },
    /// semget: the returned id exists (new sets all zero).
    SemGet { step: u64 },
    /// semop: the sum of each semaphore's operations; `undo` the ones with
    /// SEM_UNDO; `stable` whether the sembufs read the same after the call.
    SemOp {
        pid: Pid,
        id: i32,
        gen: u64,
        deltas: Vec<(u16, i64)>,
        undo: Vec<u16>,
        stable: bool,
    },
    /// semctl SETVAL.
    SetVal {
        id: i32,
        gen: u64,
        num: u16,
        val: i64,
    },
    /// semctl SETALL of these values (`None`: they changed while read).
    SetAll {
        id: i32,
        gen: u64,
        vals: Option<Vec<u16>>,
    },
    /// semctl IPC_RMID.
    SemRmid { id: i32, gen: u64 },
    /// mq_timedsend (`true`) or mq_timedreceive through an fd of this
    /// queue.
    Mq { at: usize, send: bool },
    /// eventfd2 at `step` (the world resolves the fd it returns).
    EventFd {
        initval: u32,
        semaphore: bool,
        step: u64,
    },
    /// mq_open at `step` (the world resolves the fd it returns).
    MqOpen { step: u64 },
    /// A write of these 8 bytes to an eventfd (`None`: they changed while
    /// it ran).
    EventFdWrite { at: usize, value: Option<u64> },
    /// A read of an eventfd.
    EventFdRead { at: usize },
}

impl Effect {
    /// The SysV object this call works on: (a set rather than a queue,
    /// its id).
    pub fn sysv_object(&self) -> Option<(bool, i32)> {
        match *self {
            Effect::MsgSnd { id, .. } | Effect::MsgRcv { id, .. } => Some((false, id)),
            Effect::SemOp { id, .. } | Effect::SetVal { id, .. } | Effect::SetAll { id, .. } => {
                Some((true, id))
            }
            _ => None,
        }
    }

    /// The SysV object this call removes, if it succeeded.
    pub fn removal(&self) -> Option<(bool, i32)> {
        match *self {
            Effect::MsgRmid { id, .. } => Some((false, id)),
            Effect::SemRmid { id, .. } => Some((true, id)),
            _ => None,
        }
    }

    /// The object this call is about, while it runs.
    pub fn target(&self) -> Option<Target> {
        Some(match *self {
            Effect::None
            | Effect::EventFd { .. }
            | Effect::MqOpen { .. }
            | Effect::EventFdWrite { .. }
            | Effect::EventFdRead { .. } => return None,
            Effect::MsgGet { .. } | Effect::MsgRmid { .. } => Target::MsgIds,
            Effect::MsgSnd { id, .. } | Effect::MsgRcv { id, .. } => Target::Msg(id),
            Effect::SemGet { .. } => Target::SemIds,
            Effect::SemRmid { .. } => Target::SemIds,
            Effect::SemOp { id, .. } | Effect::SetVal { id, .. } | Effect::SetAll { id, .. } => {
                Target::Sem(id)
            }
            Effect::Mq { at, .. } => Target::Obj(at),
        })
    }
}

struct MsgQ {
    gen: u64,
    /// `None` once unknown for good (a msgget that came back late).
    qnum: Option<i64>,
    cbytes: Option<i64>,
}

struct SemS {
    gen: u64,
    vals: Vec<Option<i64>>,
}

struct Efd {
    obj: Weak<dyn FileObject>,
    count: Option<u64>,
    semaphore: bool,
}

struct Mq {
    obj: Weak<dyn FileObject>,
    curmsgs: Option<i64>,
}

/// The model.
#[derive(Default)]
pub struct Model {
    next_gen: u64,
    msg: HashMap<i32, MsgQ>,
    sem: HashMap<i32, SemS>,
    /// (pid, set, its generation, semaphore) with a SEM_UNDO adjustment.
    undo: Vec<(Pid, i32, u64, u16)>,
    efd: HashMap<usize, Efd>,
    mq: HashMap<usize, Mq>,
    /// An mq_open's queue was never resolved: a queue seen first later
    /// may hold messages.
    mq_blind: bool,
}

/// `Reg::int` of the message calls: a C int, sign- or zero-extended.
pub fn msg_int(w: usize) -> Option<i32> {
    i32::try_from(w as isize)
        .ok()
        .or_else(|| u32::try_from(w).ok().map(|v| v as i32))
}

/// `c_int` of the semaphore calls: a C int, sign-extended.
pub fn sem_int(w: usize) -> Option<i32> {
    i32::try_from(w as isize).ok()
}

/// The address that names an object (the model holds a `Weak`, so it is
/// not reused while the model follows the object).
pub fn addr(obj: &Arc<dyn FileObject>) -> usize {
    Arc::as_ptr(obj) as *const () as usize
}

/// Decodes `n` sembufs: the sum of each semaphore's operations, and the
/// semaphores with a SEM_UNDO adjustment.
pub fn sembufs(raw: &[u8]) -> (Vec<(u16, i64)>, Vec<u16>) {
    let mut deltas: Vec<(u16, i64)> = Vec::new();
    let mut undo = Vec::new();
    for b in raw.chunks_exact(SEMBUF) {
        let num = u16::from_ne_bytes([b[0], b[1]]);
        let op = i16::from_ne_bytes([b[2], b[3]]);
        let flg = i16::from_ne_bytes([b[4], b[5]]);
        match deltas.iter_mut().find(|(n, _)| *n == num) {
            Some((_, d)) => *d += i64::from(op),
            None => deltas.push((num, i64::from(op))),
        }
        if flg & SEM_UNDO != 0 && op != 0 && !undo.contains(&num) {
            undo.push(num);
        }
    }
    (deltas, undo)
}

impl Model {
    fn msg_gen(&self, id: i32) -> u64 {
        self.msg.get(&id).map_or(u64::MAX, |q| q.gen)
    }

    fn sem_gen(&self, id: i32) -> u64 {
        self.sem.get(&id).map_or(u64::MAX, |s| s.gen)
    }

    fn new_gen(&mut self) -> u64 {
        self.next_gen += 1;
        self.next_gen
    }

    /// The effect of msgsnd / msgrcv / msgctl with registers `a`.
    pub fn msg_effect(&self, nr: MsgCall, a: &[usize; 6], step: u64) -> Effect {
        if let MsgCall::Get = nr {
            return Effect::MsgGet { step };
        }
        let Some(id) = msg_int(a[0]) else {
            return Effect::None;
        };
        let gen = self.msg_gen(id);
        match nr {
            MsgCall::Get => Effect::None,
            MsgCall::Snd => Effect::MsgSnd { id, gen, len: a[2] },
            MsgCall::Rcv => match msg_int(a[4]) {
                Some(f) if f as u32 & MSG_COPY != 0 => Effect::None,
                Some(f) => Effect::MsgRcv {
                    id,
                    gen,
                    max_len: a[2],
                    noerror: f as u32 & MSG_NOERROR != 0,
                },
                None => Effect::None,
            },
            MsgCall::Ctl => match msg_int(a[1]) {
                Some(IPC_RMID) => Effect::MsgRmid { id, gen },
                _ => Effect::None,
            },
        }
    }

    /// The effect of semop / semctl with registers `a`; `read` reads user
    /// memory of the caller, `nsems` a set's size.
    pub fn sem_effect(
        &self,
        pid: Pid,
        call: SemCall,
        a: &[usize; 6],
        step: u64,
        mut read: impl FnMut(usize, usize) -> Option<Vec<u8>>,
        nsems: impl Fn(i32) -> Option<usize>,
    ) -> Effect {
        if let SemCall::Get = call {
            return Effect::SemGet { step };
        }
        let Some(id) = sem_int(a[0]) else {
            return Effect::None;
        };
        let gen = self.sem_gen(id);
        match call {
            SemCall::Get => Effect::None,
            SemCall::Op => {
                if a[2] == 0 || a[2] > SEMOPM {
                    return Effect::None;
                }
                let Some(raw) = read(a[1], a[2] * SEMBUF) else {
                    return Effect::None;
                };
                let (deltas, undo) = sembufs(&raw);
                Effect::SemOp {
                    pid,
                    id,
                    gen,
                    deltas,
                    undo,
                    stable: true,
                }
            }
            SemCall::Ctl => match sem_int(a[2]) {
                Some(SETVAL) => match sem_int(a[1]).and_then(|n| u16::try_from(n).ok()) {
                    Some(num) => Effect::SetVal {
                        id,
                        gen,
                        num,
                        val: i64::from(a[3] as u32 as i32),
                    },
                    None => Effect::None,
                },
                Some(SETALL) => {
                    let vals = nsems(id).and_then(|n| read(a[3], n * 2)).map(|raw| {
                        raw.chunks_exact(2)
                            .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                            .collect()
                    });
                    Effect::SetAll { id, gen, vals }
                }
                Some(IPC_RMID) => Effect::SemRmid { id, gen },
                _ => Effect::None,
            },
        }
    }

    /// Applies `e`, whose call returned `ret`. `busy` are the targets of
    /// the other calls still running; `step` the step it is applied at;
    /// `nsems` a set's size.
    pub fn apply(
        &mut self,
        e: &Effect,
        ret: usize,
        busy: &[Target],
        step: u64,
        nsems: impl Fn(i32) -> Option<usize>,
    ) {
        match *e {
            Effect::None | Effect::EventFd { .. } | Effect::MqOpen { .. } => {}
            Effect::EventFdWrite { at, value } => {
                if let Some(e) = self.efd.get_mut(&at) {
                    e.count = match (e.count, value) {
                        (Some(c), Some(v)) => c.checked_add(v),
                        _ => None,
                    };
                }
            }
            Effect::EventFdRead { at } => {
                if let Some(e) = self.efd.get_mut(&at) {
                    // A read takes the whole count, or 1 in semaphore
                    // mode (a read of 0 fails EAGAIN, so a model of 0
                    // going below shows as a mismatch).
                    e.count = if e.semaphore {
                        e.count.map(|c| c.wrapping_sub(1))
                    } else {
                        Some(0)
                    };
                }
            }
            Effect::MsgGet { step: at } => {
                let id = ret as i32;
                if !self.msg.contains_key(&id) {
                    let gen = self.new_gen();
                    // Made empty; unless the msgget came back only at a
                    // later step, when a msgsnd may already have used it.
                    let known = at == step;
                    self.msg.insert(
                        id,
                        MsgQ {
                            gen,
                            qnum: known.then_some(0),
                            cbytes: known.then_some(0),
                        },
                    );
                }
            }
            Effect::MsgSnd { id, gen, len } => {
                if let Some(q) = self.msg.get_mut(&id).filter(|q| q.gen == gen) {
                    q.qnum = q.qnum.map(|n| n + 1);
                    q.cbytes = q.cbytes.map(|b| b + len as i64);
                }
            }
            Effect::MsgRcv {
                id,
                gen,
                max_len,
                noerror,
            } => {
                if let Some(q) = self.msg.get_mut(&id).filter(|q| q.gen == gen) {
                    q.qnum = q.qnum.map(|n| n - 1);
                    // A message of exactly `max_len` bytes or a longer one
                    // cut short: the model cannot tell which.
                    let cut = noerror && ret == max_len;
                    q.cbytes = q.cbytes.filter(|_| !cut).map(|b| b - ret as i64);
                }
            }
            Effect::MsgRmid { id, gen } => {
                if self.msg.get(&id).is_some_and(|q| q.gen == gen) {
                    self.msg.remove(&id);
                }
            }
            Effect::SemGet { step: at } => {
                let id = ret as i32;
                if !self.sem.contains_key(&id) {
                    let gen = self.new_gen();
                    let n = nsems(id).unwrap_or(0);
                    // Created with every value 0; unless the semget came
                    // back only at a later step, when a semop may already
                    // have changed it.
                    let v = (at == step).then_some(0);
                    self.sem.insert(
                        id,
                        SemS {
                            gen,
                            vals: vec![v; n],
                        },
                    );
                }
            }
            Effect::SemOp {
                pid,
                id,
                gen,
                ref deltas,
                ref undo,
                stable,
            } => {
                let Some(s) = self.sem.get_mut(&id).filter(|s| s.gen == gen) else {
                    return;
                };
                for &(num, d) in deltas {
                    if let Some(v) = s.vals.get_mut(num as usize) {
                        *v = v.filter(|_| stable).map(|x| x + d);
                    }
                }
                if !stable {
                    s.vals.iter_mut().for_each(|v| *v = None);
                }
                for &num in undo {
                    if !self.undo.contains(&(pid, id, gen, num)) {
                        self.undo.push((pid, id, gen, num));
                    }
                }
            }
            Effect::SetVal { id, gen, num, val } => {
                let alone = !busy.contains(&Target::Sem(id));
                let Some(s) = self.sem.get_mut(&id).filter(|s| s.gen == gen) else {
                    return;
                };
                if let Some(v) = s.vals.get_mut(num as usize) {
                    *v = alone.then_some(val);
                }
                self.undo
                    .retain(|u| !(u.1 == id && u.2 == gen && u.3 == num));
            }
            Effect::SetAll { id, gen, ref vals } => {
                let alone = !busy.contains(&Target::Sem(id));
                let Some(s) = self.sem.get_mut(&id).filter(|s| s.gen == gen) else {
                    return;
                };
                for (i, v) in s.vals.iter_mut().enumerate() {
                    *v = vals
                        .as_ref()
                        .filter(|_| alone)
                        .and_then(|vs| vs.get(i))
                        .map(|x| i64::from(*x));
                }
                self.undo.retain(|u| !(u.1 == id && u.2 == gen));
            }
            Effect::SemRmid { id, gen } => {
                if self.sem.get(&id).is_some_and(|s| s.gen == gen) {
                    self.sem.remove(&id);
                    self.undo.retain(|u| !(u.1 == id && u.2 == gen));
                }
            }
            Effect::Mq { at, send } => {
                if let Some(q) = self.mq.get_mut(&at) {
                    q.curmsgs = q.curmsgs.map(|n| n + if send { 1 } else { -1 });
                }
            }
        }
    }

    /// Process `pid` has exited: the values its SEM_UNDO adjustments
    /// touched are no longer known.
    pub fn exited(&mut self, pid: Pid) {
        let (gone, kept): (Vec<_>, Vec<_>) = self.undo.drain(..).partition(|u| u.0 == pid);
        self.undo = kept;
        for (_, id, gen, num) in gone {
            if let Some(s) = self.sem.get_mut(&id).filter(|s| s.gen == gen) {
                if let Some(v) = s.vals.get_mut(num as usize) {
                    *v = None;
                }
            }
        }
    }

    /// A new eventfd.
    pub fn eventfd(&mut self, obj: &Arc<dyn FileObject>, initval: u32, semaphore: bool) {
        self.efd.insert(
            addr(obj),
            Efd {
                obj: Arc::downgrade(obj),
                count: Some(u64::from(initval)),
                semaphore,
            },
        );
    }

    /// A queue an mq_open returned an fd of (new ones empty, unless an
    /// earlier queue was lost: this may be that one).
    pub fn mq_opened(&mut self, obj: &Arc<dyn FileObject>) {
        let known = !self.mq_blind;
        self.mq.entry(addr(obj)).or_insert_with(|| Mq {
            obj: Arc::downgrade(obj),
            curmsgs: known.then_some(0),
        });
    }

    /// An mq_open succeeded but its fd could not be resolved.
    pub fn mq_lost(&mut self) {
        self.mq_blind = true;
    }

    /// `obj` may be the channel of a SIGEV_THREAD registration: the kernel
    /// posts notices on it that no call sent, so its count is not known
    /// from now on.
    pub fn mq_channel(&mut self, obj: &Arc<dyn FileObject>) {
        self.mq
            .entry(addr(obj))
            .or_insert_with(|| Mq {
                obj: Arc::downgrade(obj),
                curmsgs: None,
            })
            .curmsgs = None;
    }

    /// An mq_notify's sigevent changed while it ran: any queue may be a
    /// channel.
    pub fn mq_all_unknown(&mut self) {
        self.mq.values_mut().for_each(|q| q.curmsgs = None);
        self.mq_blind = true;
    }

    /// The effect, with the user memory it was worked out from changed
    /// while the call ran: what it depends on is no longer known.
    pub fn poison(&mut self, e: &mut Effect) {
        match e {
            Effect::SemOp { stable, .. } => *stable = false,
            Effect::SetAll { vals, .. } => *vals = None,
            Effect::EventFdWrite { value, .. } => *value = None,
            _ => self.mq_all_unknown(),
        }
    }

    /// Compares the model with what the objects hold; the objects a call
    /// still running is about (`busy`) are left out.
    pub fn check(&mut self, ipc: &Ipc, busy: &[Target]) {
        // SysV queues: the ids (msgget and IPC_RMID run on the main
        // task, so they are always known), then counts and bytes.
        let queues = ipc.sysv.msg.contents();
        let mut ids: Vec<i32> = queues.iter().map(|q| q.0).collect();
        let mut known: Vec<i32> = self.msg.keys().copied().collect();
        ids.sort_unstable();
        known.sort_unstable();
        if !busy.contains(&Target::MsgIds) {
            assert_eq!(ids, known, "the SysV queues are not the ones msgget made");
        }
        for (id, qnum, cbytes) in queues {
            if busy.contains(&Target::Msg(id)) || busy.contains(&Target::MsgIds) {
                continue;
            }
            let Some(q) = self.msg.get_mut(&id) else {
                continue;
            };
            let Some(n) = q.qnum else { continue };
            assert_eq!(
                qnum as i64, n,
                "SysV queue {id} holds {qnum} messages, the calls that succeeded sent {n} more than they received"
            );
            if qnum == 0 {
                q.cbytes = Some(0);
            }
            if let Some(b) = q.cbytes {
                assert_eq!(
                    cbytes as i64, b,
                    "SysV queue {id} holds {cbytes} bytes of text, the calls that succeeded leave {b}"
                );
            }
        }
        // SysV sets: the ids unless a semget or IPC_RMID is running.
        let sets = ipc.sysv.sem.contents();
        if !busy.contains(&Target::SemIds) {
            let mut ids: Vec<i32> = sets.iter().map(|s| s.0).collect();
            let mut known: Vec<i32> = self.sem.keys().copied().collect();
            ids.sort_unstable();
            known.sort_unstable();
            assert_eq!(ids, known, "the SysV sets are not the ones semget made");
        }
        for (id, vals) in sets {
            if busy.contains(&Target::Sem(id)) || busy.contains(&Target::SemIds) {
                continue;
            }
            let Some(s) = self.sem.get(&id) else {
                continue;
            };
            assert_eq!(vals.len(), s.vals.len(), "SysV set {id} changed size");
            for (num, (got, want)) in vals.iter().zip(&s.vals).enumerate() {
                if let Some(w) = want {
                    assert_eq!(
                        i64::from(*got),
                        *w,
                        "SysV set {id} semaphore {num} holds {got}, the semops and semctls that succeeded leave {w}"
                    );
                }
            }
        }
        self.efd.retain(|_, e| e.obj.strong_count() > 0);
        for e in self.efd.values() {
            let (Some(obj), Some(want)) = (e.obj.upgrade(), e.count) else {
                continue;
            };
            if let Some(efd) = obj.as_any().downcast_ref::<EventFd>() {
                assert_eq!(
                    efd.count(),
                    want,
                    "an eventfd's count is not what its writes and reads leave"
                );
            }
        }
        self.mq.retain(|_, q| q.obj.strong_count() > 0);
        for (at, q) in &self.mq {
            if busy.contains(&Target::Obj(*at)) {
                continue;
            }
            let (Some(obj), Some(want)) = (q.obj.upgrade(), q.curmsgs) else {
                continue;
            };
            if let Some(mq) = obj.as_any().downcast_ref::<MessageQueue>() {
                assert_eq!(
                    mq.curmsgs() as i64,
                    want,
                    "a POSIX queue holds {} messages, the sends and receives that succeeded leave {want}",
                    mq.curmsgs()
                );
            }
        }
    }
}

/// The SysV message calls the model follows.
#[derive(Clone, Copy, Debug)]
pub enum MsgCall {
    /// msgget.
    Get,
    /// msgsnd.
    Snd,
    /// msgrcv.
    Rcv,
    /// msgctl.
    Ctl,
}

/// The SysV semaphore calls the model follows.
#[derive(Clone, Copy, Debug)]
pub enum SemCall {
    /// semget.
    Get,
    /// semop / semtimedop.
    Op,
    /// semctl.
    Ctl,
}
