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
//! Lock order: the id table, then one queue's state (ids.rs). User memory
//! is reached only through the `deliver` callback, with no lock held.

pub mod index;
pub mod waiters;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::errno::{err, Errno, E2BIG, EACCES, EAGAIN, EIDRM, EINTR, EINVAL, ENOMSG, EPERM};
use crate::ipc::common::perm::Access;
use crate::ipc::sysv::ids::{GetRequest, IdTable, SysvObject};
use crate::ipc::sysv::limits::MsgLimits;
use crate::ipc::sysv::now_seconds;
use crate::ipc::sysv::perm::IpcPerm;
use crate::kernel::{Kernel, Pid};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::syscall::abi::{MsgInfo, MsqidDs};
use index::{Message, MessageIndex, Selector};
use waiters::{settle, wait, Waited, Waiters};

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

/// What a blocked sender waits for: room for this many bytes.
pub struct SendWait {
    len: usize,
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
    receivers: Waiters<RecvWait, Message>,
    senders: Waiters<SendWait, ()>,
}

impl QueueState {
    fn fits(&self, len: usize) -> bool {
        fits(self.messages.bytes(), self.messages.len(), len, self.qbytes)
    }
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

fn limits<K: Kernel + ?Sized>(k: &K) -> MsgLimits {
    k.ipc().sysv.limits.get().msg
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
        let req = GetRequest {
            key,
            flags,
            limit: lim.msgmni,
        };
        self.ids.get(
            &k.credentials(),
            req,
            |_| Ok(()),
            |perm| {
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
                        receivers: Waiters::default(),
                        senders: Waiters::default(),
                    }),
                }))
            },
        )
    }

    /// msgsnd after the syscall layer read the type and text: EINVAL for
    /// a bad id, EACCES, EIDRM, EAGAIN when full and `nowait`, EINTR.
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
        let mut st = q.state.lock();
        loop {
            if !st.perm.allows(&creds, Access::WRITE) {
                return err(EACCES);
            }
            if st.removed {
                return err(EIDRM);
            }
            if st.fits(len) {
                break;
            }
            if nowait {
                return err(EAGAIN);
            }
            let ticket = st.senders.insert(k.current_task(), SendWait { len });
            let (guard, waited) = wait(k, &q.state, st, |s| &mut s.senders, ticket);
            st = guard;
            match waited {
                Waited::Settled(Ok(())) => continue,
                Waited::Settled(Err(e)) => return Err(e),
                Waited::Interrupted => return err(EINTR),
            }
        }
        let now = now_seconds(k);
        st.lspid = k.current_pid();
        st.stime = now;
        let seq = st.messages.stamp();
        let msg = Message { mtype, seq, text };
        if let Some(msg) = hand_off(k, &mut st, msg, now) {
            st.messages.push(msg);
            self.add(1, len);
        }
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
        let mut st = q.state.lock();
        loop {
            if !st.perm.allows(&creds, Access::READ) {
                return err(EACCES);
            }
            if st.removed {
                return err(EIDRM);
            }
            if let Some(found) = st.messages.find(req.selector) {
                if found.len > req.max_len && !req.truncate {
                    return err(E2BIG);
                }
                let Some(msg) = st.messages.take(found.mtype) else {
                    return err(EIDRM);
                };
                self.sub(1, msg.text.len());
                st.rtime = now_seconds(k);
                st.lrpid = k.current_pid();
                wake_senders(k, &mut st);
                return Ok(msg);
            }
            if req.nowait {
                return err(ENOMSG);
            }
            let wanted = RecvWait {
                selector: req.selector,
                max_len: if req.truncate {
                    usize::MAX
                } else {
                    req.max_len
                },
                pid: k.current_pid(),
            };
            let ticket = st.receivers.insert(k.current_task(), wanted);
            let (guard, waited) = wait(k, &q.state, st, |s| &mut s.receivers, ticket);
            st = guard;
            match waited {
                Waited::Settled(Ok(msg)) => return Ok(msg),
                // IPC_SET changed the queue: check again from the top.
                Waited::Settled(Err(e)) if e.errno == EAGAIN => continue,
                Waited::Settled(Err(e)) => return Err(e),
                Waited::Interrupted => return err(EINTR),
            }
        }
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
            self.add(1, msg.text.len());
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
            st.receivers.settle_all(k, || err(EAGAIN));
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
        st.receivers.settle_all(k, || err(EIDRM));
        st.senders.settle_all(k, || err(EIDRM));
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
        Ok((st.receivers.pending(), st.senders.pending()))
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
    for w in st.receivers.pending_mut() {
        let Some(m) = &pending else { break };
        if !w.data.selector.matches(m.mtype) {
            continue;
        }
        if m.text.len() > w.data.max_len {
            settle(k, w, err(E2BIG));
            continue;
        }
        if let Some(m) = pending.take() {
            taker = Some(w.data.pid);
            settle(k, w, Ok(m));
        }
        break;
    }
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
    for w in st.senders.pending_mut() {
        if fits(bytes, num, w.data.len, qbytes) {
            bytes += w.data.len;
            num += 1;
            settle(k, w, Ok(()));
        }
    }
}
