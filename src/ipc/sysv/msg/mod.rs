//! SysV message queues (sys/msg.h): the queue object and the namespace's
//! table of them.
//!
//! A queue is a `MessageIndex` (every msgrcv selector in O(log n)), its
//! `ipc_perm`, the msqid_ds counters, and its blocked senders and
//! receivers. The calls follow Linux's ipc/msg.c in their checks and their
//! order; what differs is written where it happens:
//! - a sender whose message a blocked receiver matches hands it over in
//!   place (Linux's pipelined send), to the first such receiver in
//!   arrival order; a receiver whose buffer is too small gets E2BIG and
//!   the message goes on to the next (as Linux);
//! - a receive frees space for the blocked senders whose messages now fit
//!   in turn, and wakes only those (Linux wakes each that fits alone);
//! - a receive whose copy to user memory fails puts the message back where
//!   it was and fails EFAULT (Linux loses the message);
//! - on a hand-off msg_lrpid is the receiver's process id (Linux records
//!   the receiving thread's id there, unlike a plain receive).
//!
//! Accounting: a queue is charged to its creator (`ObjectKind::MsgQueue`,
//! counted against msgmni, and its own size in `Resource::MsgBytes`),
//! and so is every message queued on it (`Resource::MsgBytes` again: its
//! text and `MSG_BOOKKEEPING` bytes of index), grown on send and shrunk
//! on receive, so one user's queues cannot take kernel memory without bound
//! (Linux bounds a queue by msgmnb and the queues by msgmni, not a user:
//! past the user's limit msgsnd fails ENOMEM, one of msgsnd's documented
//! errors). Everything is refunded when the queue is removed and freed.
//!
//! Blocked senders and receivers wait through the crate's one blocking
//! helper (`ipc::common::wait`) on the queue's two wait queues: a
//! receiver's node carries its selector and a slot for the message a
//! sender hands over; a sender's node carries its size, and a receive
//! wakes those that now fit.
//!
//! Lock order: the id table, then one queue's state (ids.rs), then the
//! accounting table (innermost). User memory is reached only through the
//! `deliver` callback, with no lock held.

pub mod index;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::mem::size_of;

use crate::errno::{err, Errno, E2BIG, EACCES, EAGAIN, EIDRM, EINVAL, ENOMEM, ENOMSG, EPERM};
use crate::ipc::common::limits::{Charge, ObjectKind, Resource, UNLIMITED};
use crate::ipc::common::perm::Access;
use crate::ipc::common::wait::{wait, Blocking, Handoff, Payload, Step};
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::ipc::sysv::ids::{GetRequest, IdTable, SysvObject};
use crate::ipc::sysv::limits::SysvLimits;
use crate::ipc::sysv::now_seconds;
use crate::ipc::sysv::perm::IpcPerm;
use crate::kernel::{Kernel, Pid};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::syscall::abi::{MsgInfo, MsqidDs};
use index::{Message, MessageIndex, Selector};

/// Linux's MSGSSZ (IPC_INFO only; nothing here is segmented).
pub const MSGSSZ: i32 = 16;
/// Linux's MSGSEG as IPC_INFO reports it (capped at 0xffff).
pub const MSGSEG: u16 = 0xffff;

/// What a blocked receiver waits for.
pub struct RecvWait {
    selector: Selector,
    /// The longest message it takes (usize::MAX with MSG_NOERROR).
    max_len: usize,
    pid: Pid,
}

/// What a blocked sender waits for: room for this many bytes. A receive
/// wakes it to try again; nothing is handed over.
pub struct SendWait {
    len: usize,
}

impl Payload<()> for SendWait {
    fn take_result(&mut self) -> Option<Result<(), Errno>> {
        None
    }
}

/// A blocked receiver's node: its request and the message handed to it.
type RecvNode = Handoff<RecvWait, Message>;

/// Bytes charged per queued message beside its text: its deque slot (24
/// bytes, doubled for the deque's spare room) and a share of the per-type
/// index entries (index.rs lists the costs).
pub const MSG_BOOKKEEPING: usize = 64;

/// What a queued message of `len` bytes is charged.
fn message_cost(len: usize) -> usize {
    len.saturating_add(MSG_BOOKKEEPING)
}

struct QueueState {
    perm: IpcPerm,
    removed: bool,
    messages: MessageIndex,
    qbytes: u64,
    stime: i64,
    rtime: i64,
    ctime: i64,
    lspid: Pid,
    lrpid: Pid,
    receivers: WaitQueue<RecvNode>,
    senders: WaitQueue<SendWait>,
    /// The creator's charge: the queue, and its queued messages.
    charge: Charge,
}

impl QueueState {
    fn fits(&self, len: usize) -> bool {
        fits(self.messages.bytes(), self.messages.len(), len, self.qbytes)
    }
}

fn senders(st: &mut QueueState) -> &mut WaitQueue<SendWait> {
    &mut st.senders
}

fn receivers(st: &mut QueueState) -> &mut WaitQueue<RecvNode> {
    &mut st.receivers
}

/// The queue-full rule: cbytes + size <= qbytes and qnum + 1 <= qbytes.
fn fits(cbytes: usize, qnum: usize, len: usize, qbytes: u64) -> bool {
    let qbytes = u128::from(qbytes);
    (cbytes as u128 + len as u128) <= qbytes && (qnum as u128 + 1) <= qbytes
}

/// One message queue.
pub struct MsgQueue {
    state: Mutex<QueueState>,
}

impl SysvObject for MsgQueue {
    fn perm(&self) -> IpcPerm {
        self.state.lock().perm
    }
}

/// A msgrcv request (the syscall layer decodes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Receive {
    /// Which message.
    pub selector: Selector,
    /// The caller's buffer size for the text.
    pub max_len: usize,
    /// MSG_NOERROR: truncate a longer message.
    pub truncate: bool,
    /// IPC_NOWAIT: ENOMSG instead of sleeping.
    pub nowait: bool,
}

/// IPC_SET's input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetRequest {
    /// New owner uid.
    pub uid: u32,
    /// New owner gid.
    pub gid: u32,
    /// New mode (low 9 bits).
    pub mode: u32,
    /// New msg_qbytes.
    pub qbytes: u64,
}

/// The message queues of one namespace.
#[derive(Default)]
pub struct MsgNamespace {
    ids: IdTable<MsgQueue>,
    /// Messages queued in all queues (MSG_INFO's msgmap).
    messages: AtomicUsize,
    /// Bytes queued in all queues (MSG_INFO's msgtql).
    bytes: AtomicUsize,
}

fn limits<K: Kernel + ?Sized>(k: &K) -> SysvLimits {
    crate::ipc::sysv::limits::get(&k.ipc().acct)
}

impl MsgNamespace {
    fn add(&self, messages: usize, bytes: usize) {
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub(&self, messages: usize, bytes: usize) {
        self.messages.fetch_sub(messages, Ordering::Relaxed);
        self.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// msgget(key, msgflg) -> id.
    pub fn get<K: Kernel + ?Sized>(&self, k: &K, key: i32, flags: u32) -> Result<i32, Errno> {
        let lim = limits(k);
        let now = now_seconds(k);
        let creds = k.credentials();
        let req = GetRequest {
            key,
            flags,
            limit: lim.msgmni,
        };
        self.ids.get(
            &creds,
            req,
            |_| Ok(()),
            |perm| {
                let charge = k.ipc().acct.charge_with(
                    creds.euid,
                    creds.privileged(),
                    ObjectKind::MsgQueue,
                    &[(Resource::MsgBytes, size_of::<MsgQueue>())],
                )?;
                Ok(Arc::new(MsgQueue {
                    state: Mutex::new(QueueState {
                        perm,
                        removed: false,
                        messages: MessageIndex::default(),
                        qbytes: u64::from(lim.msgmnb),
                        stime: 0,
                        rtime: 0,
                        ctime: now,
                        lspid: 0,
                        lrpid: 0,
                        receivers: WaitQueue::new(),
                        senders: WaitQueue::new(),
                        charge,
                    }),
                }))
            },
        )
    }

    /// msgsnd after the syscall layer read the type and text: EINVAL for
    /// a bad id, EACCES, EIDRM, EAGAIN when full and `nowait`, ENOMEM past
    /// the owner's limit of queued bytes, EINTR.
    pub fn send<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        mtype: i64,
        text: Box<[u8]>,
        nowait: bool,
    ) -> Result<(), Errno> {
        let q = self.ids.lookup(id)?;
        let creds = k.credentials();
        let len = text.len();
        let mut text = Some(text);
        wait(k, &q.state, Blocking::Forever, senders, |st| {
            if !st.perm.allows(&creds, Access::WRITE) {
                return Step::Done(err(EACCES));
            }
            if st.removed {
                return Step::Done(err(EIDRM));
            }
            if !st.fits(len) {
                return match nowait {
                    true => Step::Done(err(EAGAIN)),
                    false => Step::Block(SendWait { len }),
                };
            }
            let Some(text) = text.take() else {
                return Step::Done(err(EINVAL));
            };
            Step::Done(self.enqueue(k, st, mtype, text))
        })
    }

    /// Sends a message that fits: to a blocked receiver, else onto the
    /// queue, charged to its owner (ENOMEM past the owner's limit).
    fn enqueue<K: Kernel + ?Sized>(
        &self,
        k: &K,
        st: &mut QueueState,
        mtype: i64,
        text: Box<[u8]>,
    ) -> Result<(), Errno> {
        let now = now_seconds(k);
        let len = text.len();
        let seq = st.messages.stamp();
        if let Some(msg) = hand_off(k, st, Message { mtype, seq, text }, now) {
            st.charge
                .grow(Resource::MsgBytes, message_cost(len), UNLIMITED, ENOMEM)?;
            st.messages.push(msg);
            self.add(1, len);
        }
        st.lspid = k.current_pid();
        st.stime = now;
        Ok(())
    }

    /// msgrcv: takes the message `req` selects and passes it to `deliver`
    /// (the copy to user memory, run with no lock held), returning what
    /// `deliver` returns. If `deliver` fails the message goes back where
    /// it was. EINVAL, EACCES, EIDRM, E2BIG, ENOMSG when `nowait`, EINTR.
    pub fn receive<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        req: Receive,
        deliver: impl FnOnce(&Message) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let q = self.ids.lookup(id)?;
        let msg = self.take(k, &q, req)?;
        match deliver(&msg) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.put_back(k, &q, msg);
                Err(e)
            }
        }
    }

    fn take<K: Kernel + ?Sized>(
        &self,
        k: &K,
        q: &MsgQueue,
        req: Receive,
    ) -> Result<Message, Errno> {
        let creds = k.credentials();
        wait(k, &q.state, Blocking::Forever, receivers, |st| {
            if !st.perm.allows(&creds, Access::READ) {
                return Step::Done(err(EACCES));
            }
            if st.removed {
                return Step::Done(err(EIDRM));
            }
            if let Some(found) = st.messages.find(req.selector) {
                if found.len > req.max_len && !req.truncate {
                    return Step::Done(err(E2BIG));
                }
                let Some(msg) = st.messages.take(found.mtype) else {
                    return Step::Done(err(EIDRM));
                };
                let len = msg.text.len();
                self.sub(1, len);
                st.charge.shrink(Resource::MsgBytes, message_cost(len));
                st.rtime = now_seconds(k);
                st.lrpid = k.current_pid();
                wake_senders(k, st);
                return Step::Done(Ok(msg));
            }
            if req.nowait {
                return Step::Done(err(ENOMSG));
            }
            // Woken without a message (IPC_SET changed the queue): the
            // next round checks again from the top.
            Step::Block(Handoff::new(RecvWait {
                selector: req.selector,
                max_len: if req.truncate {
                    usize::MAX
                } else {
                    req.max_len
                },
                pid: k.current_pid(),
            }))
        })
    }

    /// Returns a taken message whose delivery failed: to a receiver that
    /// blocked meanwhile and wants it, else to its arrival position (the
    /// queue may then briefly hold more than msg_qbytes). Dropped if the
    /// queue was removed meanwhile.
    fn put_back<K: Kernel + ?Sized>(&self, k: &K, q: &MsgQueue, msg: Message) {
        let mut st = q.state.lock();
        if st.removed {
            return;
        }
        let now = now_seconds(k);
        if let Some(msg) = hand_off(k, &mut st, msg, now) {
            let len = msg.text.len();
            self.add(1, len);
            // Refunded by `take` a moment ago: taken back unchecked.
            st.charge.regrow(Resource::MsgBytes, message_cost(len));
            st.messages.put_back(msg);
        }
    }

    /// msgrcv with MSG_COPY: passes a copy of the message at `position`
    /// in arrival order to `deliver`, removing nothing. ENOMSG if there is
    /// none, E2BIG if longer than `max_len` (EINVAL with MSG_NOERROR, or
    /// if longer than msgmax, as Linux's copy buffer is that size).
    pub fn copy<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        position: i64,
        max_len: usize,
        truncate: bool,
        deliver: impl FnOnce(&Message) -> Result<usize, Errno>,
    ) -> Result<usize, Errno> {
        let buffer = max_len.min(limits(k).msgmax as usize);
        let q = self.ids.lookup(id)?;
        let creds = k.credentials();
        let msg = {
            let st = q.state.lock();
            if !st.perm.allows(&creds, Access::READ) {
                return err(EACCES);
            }
            if st.removed {
                return err(EIDRM);
            }
            let found = usize::try_from(position)
                .ok()
                .and_then(|n| st.messages.nth(n));
            let Some((mtype, text)) = found else {
                return err(ENOMSG);
            };
            if text.len() > max_len && !truncate {
                return err(E2BIG);
            }
            if text.len() > buffer {
                return err(EINVAL);
            }
            Message {
                mtype,
                seq: 0,
                text: Box::from(text),
            }
        };
        deliver(&msg)
    }

    fn with_queue<R>(
        &self,
        q: &MsgQueue,
        id: i32,
        f: impl FnOnce(&QueueState) -> R,
    ) -> Result<(i32, R), Errno> {
        let st = q.state.lock();
        if st.removed {
            return err(EIDRM);
        }
        Ok((id, f(&st)))
    }

    /// IPC_STAT: EINVAL, EACCES without read permission.
    pub fn stat<K: Kernel + ?Sized>(&self, k: &K, id: i32) -> Result<MsqidDs, Errno> {
        let q = self.ids.lookup(id)?;
        self.stat_of(k, &q, id, true).map(|(_, ds)| ds)
    }

    /// MSG_STAT / MSG_STAT_ANY: by table index; returns the full id too.
    /// `check` is false for MSG_STAT_ANY.
    pub fn stat_index<K: Kernel + ?Sized>(
        &self,
        k: &K,
        index: i32,
        check: bool,
    ) -> Result<(i32, MsqidDs), Errno> {
        let (id, q) = self.ids.by_index(index)?;
        self.stat_of(k, &q, id, check)
    }

    fn stat_of<K: Kernel + ?Sized>(
        &self,
        k: &K,
        q: &MsgQueue,
        id: i32,
        check: bool,
    ) -> Result<(i32, MsqidDs), Errno> {
        if check && !q.perm().allows(&k.credentials(), Access::READ) {
            return err(EACCES);
        }
        self.with_queue(q, id, |st| MsqidDs {
            perm: st.perm.to_abi(),
            stime: st.stime,
            rtime: st.rtime,
            ctime: st.ctime,
            cbytes: st.messages.bytes() as u64,
            qnum: st.messages.len() as u64,
            qbytes: st.qbytes,
            lspid: st.lspid,
            lrpid: st.lrpid,
        })
    }

    /// IPC_SET: EINVAL, EPERM (not the owner or creator; or msg_qbytes
    /// above msgmnb without privilege), EINVAL for an invalid uid or gid.
    /// Blocked receivers check their permission again; blocked senders
    /// whose messages now fit are woken.
    pub fn set<K: Kernel + ?Sized>(&self, k: &K, id: i32, new: SetRequest) -> Result<(), Errno> {
        let creds = k.credentials();
        let mnb = u64::from(limits(k).msgmnb);
        let now = now_seconds(k);
        self.ids.control(&creds, id, |q| {
            if new.qbytes > mnb && !creds.privileged() {
                return err(EPERM);
            }
            let mut st = q.state.lock();
            st.perm.set(new.uid, new.gid, new.mode)?;
            st.qbytes = new.qbytes;
            st.ctime = now;
            st.receivers.wake_all(k);
            wake_senders(k, &mut st);
            Ok(())
        })
    }

    /// IPC_RMID: EINVAL, EPERM. Every blocked caller fails EIDRM and the
    /// messages are freed; the key is free at once.
    pub fn remove<K: Kernel + ?Sized>(&self, k: &K, id: i32) -> Result<(), Errno> {
        self.ids
            .remove(&k.credentials(), id, |q| self.destroy(k, q))
    }

    fn destroy<K: Kernel + ?Sized>(&self, k: &K, q: &MsgQueue) {
        let mut st = q.state.lock();
        st.removed = true;
        let (messages, bytes) = st.messages.clear();
        self.sub(messages, bytes);
        let cost = bytes.saturating_add(messages.saturating_mul(MSG_BOOKKEEPING));
        st.charge.shrink(Resource::MsgBytes, cost);
        st.receivers.remove_all(k);
        st.senders.remove_all(k);
    }

    /// IPC_INFO (`usage` false) or MSG_INFO (`usage` true), and the value
    /// both return: the highest index in use, or 0.
    pub fn info<K: Kernel + ?Sized>(&self, k: &K, usage: bool) -> (MsgInfo, usize) {
        let lim = limits(k);
        let clamp = |n: usize| n.min(i32::MAX as usize) as i32;
        let pool = (lim.msgmni as u64 * lim.msgmnb as u64 / 1024).min(i32::MAX as u64) as i32;
        let mut info = MsgInfo {
            msgpool: pool,
            msgmap: lim.msgmnb as i32,
            msgmax: lim.msgmax as i32,
            msgmnb: lim.msgmnb as i32,
            msgmni: lim.msgmni as i32,
            msgssz: MSGSSZ,
            msgtql: lim.msgmnb as i32,
            msgseg: MSGSEG,
        };
        if usage {
            info.msgpool = clamp(self.ids.in_use());
            info.msgmap = clamp(self.messages.load(Ordering::Relaxed));
            info.msgtql = clamp(self.bytes.load(Ordering::Relaxed));
        }
        let max = self.ids.max_index().unwrap_or(0) as usize;
        (info, max)
    }

    /// Removes every queue (the namespace is going away), failing their
    /// blocked callers with EIDRM.
    pub fn remove_all<K: Kernel + ?Sized>(&self, k: &K) {
        let root = crate::kernel::Credentials::new(0, 0);
        let ids: Vec<i32> = self.ids.snapshot().into_iter().map(|(id, _)| id).collect();
        for id in ids {
            let _ = self.ids.remove(&root, id, |q| self.destroy(k, q));
        }
    }

    /// Number of queues.
    pub fn queues(&self) -> usize {
        self.ids.in_use()
    }

    /// Every queue's id, message count and text bytes, as IPC_STAT's
    /// msg_qnum and msg_cbytes (a harness compares them with what its
    /// model of the calls predicts; no permission check).
    pub fn contents(&self) -> Vec<(i32, usize, usize)> {
        self.ids
            .snapshot()
            .into_iter()
            .map(|(id, q)| {
                let st = q.state.lock();
                (id, st.messages.len(), st.messages.bytes())
            })
            .collect()
    }

    /// What one queue is charged in `Resource::MsgBytes` before any
    /// message is queued on it.
    pub const QUEUE_CHARGE: usize = size_of::<MsgQueue>();

    /// Messages and bytes queued in the namespace (for leak checks).
    pub fn queued(&self) -> (usize, usize) {
        (
            self.messages.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }

    /// Blocked (receivers, senders) of queue `id`, for tests that wait
    /// until a caller is really asleep.
    pub fn blocked(&self, id: i32) -> Result<(usize, usize), Errno> {
        let q = self.ids.lookup(id)?;
        let st = q.state.lock();
        Ok((st.receivers.len(), st.senders.len()))
    }
}

/// Gives `msg` to the first blocked receiver that wants it, in arrival
/// order; receivers it matches whose buffers are too small fail E2BIG on
/// the way (as Linux). Returns the message if nobody took it.
fn hand_off<K: Kernel + ?Sized>(
    k: &K,
    st: &mut QueueState,
    msg: Message,
    now: i64,
) -> Option<Message> {
    let mut pending = Some(msg);
    let mut taker = None;
    st.receivers.visit(k, |w| {
        let Some(m) = &pending else {
            return Visit::Stop;
        };
        if !w.request.selector.matches(m.mtype) {
            return Visit::Keep;
        }
        if m.text.len() > w.request.max_len {
            w.result = Some(err(E2BIG));
            return Visit::Complete;
        }
        taker = Some(w.request.pid);
        w.result = pending.take().map(Ok);
        Visit::Complete
    });
    if let Some(pid) = taker {
        st.lrpid = pid;
        st.rtime = now;
    }
    pending
}

/// Wakes the blocked senders whose messages fit, oldest first, counting
/// each woken one's message as sent so that no more wake than fit.
fn wake_senders<K: Kernel + ?Sized>(k: &K, st: &mut QueueState) {
    let (mut bytes, mut num, qbytes) = (st.messages.bytes(), st.messages.len(), st.qbytes);
    st.senders.visit(k, |w| {
        if !fits(bytes, num, w.len, qbytes) {
            return Visit::Keep;
        }
        bytes += w.len;
        num += 1;
        Visit::Wake
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipc::common::limits::Limits;

    #[test]
    fn one_user_may_hold_msgmni_queues_as_on_linux() {
        // The queues' own bytes stay under one user's limit even at
        // msgmni queues: only queued messages can reach it.
        let l = Limits::default();
        let msgmni = l.total_objects[ObjectKind::MsgQueue as usize];
        let per_user = l.per_user_amounts[Resource::MsgBytes as usize];
        assert!(
            msgmni * size_of::<MsgQueue>() <= per_user,
            "{msgmni} queues of {} bytes exceed {per_user}",
            size_of::<MsgQueue>()
        );
    }
}
