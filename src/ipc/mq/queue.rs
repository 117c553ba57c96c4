//! One POSIX message queue: the object every open description of the
//! queue shares.
//!
//! The calls follow Linux's ipc/mqueue.c in their checks and their order
//! (the syscall layer does the checks that come before the fd: the
//! timeout, the priority). What they do:
//! - a send that finds a blocked receiver hands its message straight to
//!   the longest-waiting one (Linux's pipelined send); otherwise it queues
//!   the message, and a message arriving on an empty queue fires the
//!   mq_notify registration, if any;
//! - a receive that frees a slot moves the longest-waiting blocked
//!   sender's message into it and completes that sender (Linux's
//!   pipelined receive), so blocked senders go in arrival order;
//! - a receive copies the message out with no lock held, then commits it;
//!   if the copy faults the message goes back where it was (or to a
//!   receiver that blocked meanwhile) and the call fails EFAULT (Linux
//!   loses the message).
//!
//! Lock order: the queue's state lock, then (inside `WaitQueue::visit`)
//! nothing. Signals are sent, SIGEV_THREAD notices posted (which takes
//! the channel queue's lock) and readiness observers told after it is
//! released.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use crate::errno::{err, Errno, EAGAIN, EBADF, EBUSY, EINVAL, EMSGSIZE, ENOMEM};
use crate::ipc::common::file::{FileKind, FileObject};
use crate::ipc::common::limits::Charge;
use crate::ipc::common::names::Named;
use crate::ipc::common::open_file::{Closer, FileRef, OpenFile};
use crate::ipc::common::perm::ObjPerm;
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::ipc::common::wait::{wait, Blocking, Handoff, Step};
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::ipc::mq::notify::{Notice, Notification, Registration, NOTICE_SIZE};
use crate::ipc::mq::store::{MsgStore, Taken};
use crate::kernel::{Deadline, Kernel, SigInfo};
use crate::sync::Mutex;
use crate::syscall::uaccess::{UserPtr, UserSlice};

/// A blocked receiver: no request; a sender completes it with a message.
type RecvWaiter = Handoff<(), Taken>;
/// A blocked sender: its message, which a receiver moves into the slot it
/// freed before completing it (so the request is `None` once taken).
type SendWaiter = Handoff<Option<(u32, Box<[u8]>)>, ()>;

/// What mq_getattr reports (mq_flags is per open description).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MqAttr {
    /// O_NONBLOCK of the description.
    pub nonblocking: bool,
    /// The most messages the queue holds.
    pub maxmsg: usize,
    /// The largest message.
    pub msgsize: usize,
    /// Messages queued now.
    pub curmsgs: usize,
}

struct QueueState {
    store: MsgStore,
    receivers: WaitQueue<RecvWaiter>,
    senders: WaitQueue<SendWaiter>,
    notify: Option<Registration>,
}

/// A POSIX message queue.
pub struct MessageQueue {
    perm: ObjPerm,
    msgsize: usize,
    state: Mutex<QueueState>,
    pollee: Pollee,
    /// queues_max and the RLIMIT_MSGQUEUE bytes of its whole capacity,
    /// refunded when the last reference (name or description) goes.
    _charge: Charge,
}

impl Named for MessageQueue {
    fn perm(&self) -> &ObjPerm {
        &self.perm
    }
}

impl MessageQueue {
    /// A queue of `maxmsg` x `msgsize` owned by `perm`, paid by `charge`;
    /// its index is reserved now (ENOMEM).
    pub fn new(
        perm: ObjPerm,
        maxmsg: usize,
        msgsize: usize,
        charge: Charge,
    ) -> Result<Self, Errno> {
        let store = MsgStore::with_capacity(maxmsg).map_err(|_| Errno::new(ENOMEM))?;
        Ok(MessageQueue {
            perm,
            msgsize,
            state: Mutex::new(QueueState {
                store,
                receivers: WaitQueue::new(),
                senders: WaitQueue::new(),
                notify: None,
            }),
            pollee: Pollee::new(),
            _charge: charge,
        })
    }

    /// Messages queued now (mq_curmsgs; a harness compares it with what
    /// its model of the calls predicts).
    pub fn curmsgs(&self) -> usize {
        self.state.lock().store.len()
    }

    /// The largest message (mq_msgsize).
    pub fn msgsize(&self) -> usize {
        self.msgsize
    }

    /// mq_timedsend through `file`: EBADF unless it was opened for
    /// writing, EMSGSIZE above msgsize, EFAULT (the text is read before
    /// anything changes), then queued or handed over; when full, EAGAIN
    /// (nonblocking), ETIMEDOUT at `deadline`, EINTR.
    pub fn send<K: Kernel + ?Sized>(
        &self,
        k: &K,
        file: &OpenFile,
        text: UserSlice,
        prio: u32,
        deadline: Option<Deadline>,
    ) -> Result<(), Errno> {
        if !file.access().writable() {
            return err(EBADF);
        }
        if text.len() > self.msgsize {
            return err(EMSGSIZE);
        }
        let mut body = Vec::new();
        body.try_reserve_exact(text.len())
            .map_err(|_| Errno::new(ENOMEM))?;
        body.resize(text.len(), 0);
        text.read_into(k, &mut body)?;
        let mut msg = Some((prio, body.into_boxed_slice()));
        let mut fired = None;
        wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), deadline),
            |s| &mut s.senders,
            |s| {
                let Some((prio, body)) = msg.take() else {
                    // Unreachable: a blocked sender is only ever
                    // completed (its message taken), never woken to retry.
                    return Step::Done(err(EAGAIN));
                };
                if s.store.is_full() {
                    return Step::Block(SendWaiter::new(Some((prio, body))));
                }
                fired = deliver(k, s, prio, body, true);
                Step::Done(Ok(()))
            },
        )?;
        self.pollee.notify(Readiness::IN);
        if let Some(n) = fired {
            let creds = k.credentials();
            n.fire(k, k.current_pid(), creds.uid);
        }
        Ok(())
    }

    /// mq_timedreceive through `file` into `buf`, storing the priority at
    /// `prio` if given: EBADF unless opened for reading, EMSGSIZE for a
    /// buffer shorter than msgsize, then the highest-priority, oldest
    /// message (its length returned); when empty, EAGAIN (nonblocking),
    /// ETIMEDOUT at `deadline`, EINTR. EFAULT loses nothing.
    pub fn receive<K: Kernel + ?Sized>(
        &self,
        k: &K,
        file: &OpenFile,
        buf: UserSlice,
        prio: Option<UserPtr<u32>>,
        deadline: Option<Deadline>,
    ) -> Result<usize, Errno> {
        if !file.access().readable() {
            return err(EBADF);
        }
        if buf.len() < self.msgsize {
            return err(EMSGSIZE);
        }
        let taken = wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), deadline),
            |s| &mut s.receivers,
            |s| match s.store.take() {
                Some(t) => Step::Done(Ok(t)),
                None => Step::Block(RecvWaiter::new(())),
            },
        )?;
        let copied = buf.write_from(k, taken.body()).and_then(|n| {
            prio.map_or(Ok(()), |p| p.write(k, &taken.prio()))?;
            Ok(n)
        });
        let mut st = self.state.lock();
        match copied {
            Ok(n) => {
                let body = st.store.commit(taken);
                let refilled = refill(k, &mut st);
                drop(st);
                drop(body);
                self.pollee.notify(if refilled {
                    Readiness::IN
                } else {
                    Readiness::OUT
                });
                Ok(n)
            }
            Err(e) => {
                give_back(k, &mut st, taken);
                drop(st);
                self.pollee.notify(Readiness::IN);
                Err(e)
            }
        }
    }

    /// mq_getsetattr: the attributes as seen through `file`, after setting
    /// its O_NONBLOCK to `set_nonblocking` if given (nothing else can
    /// change); returns the attributes from before the change.
    pub fn getsetattr(&self, file: &OpenFile, set_nonblocking: Option<bool>) -> MqAttr {
        let st = self.state.lock();
        let old = MqAttr {
            nonblocking: file.nonblocking(),
            maxmsg: st.store.capacity(),
            msgsize: self.msgsize,
            curmsgs: st.store.len(),
        };
        if let Some(on) = set_nonblocking {
            file.status().set_nonblocking(on);
        }
        old
    }

    /// mq_notify for the calling process: `Some` registers it (EBUSY if
    /// any process is registered, itself included, as Linux; a signal
    /// when the host cannot send one: `Kernel::send_signal`'s error, e.g.
    /// ENOSYS), `None` removes its own registration (another's stays; not
    /// an error).
    pub fn notify<K: Kernel + ?Sized>(
        &self,
        k: &K,
        how: Option<Notification>,
    ) -> Result<(), Errno> {
        let owner = k.current_pid();
        // A host that cannot send signals from the kernel refuses the
        // registration now (ENOSYS) rather than dropping the notification
        // when it fires.
        if let Some(Notification::Signal { signo, .. }) = how {
            if signo != 0 {
                k.send_signal(owner, SigInfo::default())?;
            }
        }
        let mut st = self.state.lock();
        match how {
            None => {
                if st.notify.as_ref().is_some_and(|r| r.owner == owner) {
                    st.notify = None;
                }
                Ok(())
            }
            Some(_) if st.notify.is_some() => err(EBUSY),
            Some(how) => {
                st.notify = Some(Registration { owner, how });
                Ok(())
            }
        }
    }

    /// The SIGEV_THREAD registration that posts notices carrying
    /// `cookie` on the queue behind `channel` (any description of a
    /// queue, whatever its access mode: the kernel posts, the caller
    /// receives). EINVAL if `channel` is not a queue's or its msgsize is
    /// below `NOTICE_SIZE`.
    pub fn channel(channel: &FileRef, cookie: u64) -> Result<Notification, Errno> {
        match channel.downcast::<MessageQueue>() {
            Some(q) if q.msgsize >= NOTICE_SIZE => Ok(Notification::Channel {
                channel: Arc::downgrade(channel.object()),
                cookie,
            }),
            _ => err(EINVAL),
        }
    }

    /// Posts `notice` without blocking, as the kernel's own send: to a
    /// blocked receiver or into the store, at priority 0, never firing
    /// this queue's own registration (so notices cannot chain). A full
    /// queue or a failed allocation loses it, as a full netlink socket
    /// loses Linux's.
    fn post(&self, k: &(impl Kernel + ?Sized), notice: Notice) {
        let mut body = Vec::new();
        if body.try_reserve_exact(NOTICE_SIZE).is_err() {
            return;
        }
        body.extend_from_slice(&notice.to_bytes());
        let mut st = self.state.lock();
        if st.store.is_full() {
            return;
        }
        let _ = deliver(k, &mut st, 0, body.into_boxed_slice(), false);
        drop(st);
        self.pollee.notify(Readiness::IN);
    }

    /// The process registered for notification, if any (tests, fdinfo).
    pub fn notify_owner(&self) -> Option<crate::kernel::Pid> {
        self.state.lock().notify.as_ref().map(|r| r.owner)
    }

    /// Blocked (receivers, senders), for tests that wait until a caller
    /// is really asleep.
    pub fn blocked(&self) -> (usize, usize) {
        let st = self.state.lock();
        (st.receivers.len(), st.senders.len())
    }

    fn readiness(&self) -> Readiness {
        let st = self.state.lock();
        let mut r = Readiness::empty();
        if !st.store.is_empty() {
            r |= Readiness::IN;
        }
        if !st.store.is_full() {
            r |= Readiness::OUT;
        }
        r
    }
}

/// Puts a message into the queue (which has room): to the first blocked
/// receiver, else into the store. Returns the registration to fire when
/// it landed on an empty queue and `may_notify`.
fn deliver<K: Kernel + ?Sized>(
    k: &K,
    st: &mut QueueState,
    prio: u32,
    body: Box<[u8]>,
    may_notify: bool,
) -> Option<Registration> {
    if !st.receivers.is_empty() {
        let taken = st.store.stamp_direct(prio, body);
        if let Some(left) = hand_to_receiver(k, st, taken) {
            st.store.restore(left);
        }
        return None;
    }
    let was_empty = st.store.is_empty();
    // The caller checked for room; a full store keeps nothing (`Err`
    // hands the body back, dropped here), which cannot happen.
    if st.store.push(prio, body).is_err() {
        return None;
    }
    if was_empty && may_notify {
        st.notify.take()
    } else {
        None
    }
}

/// Completes the longest-waiting receiver with `taken`; returns it if
/// nobody was waiting.
fn hand_to_receiver<K: Kernel + ?Sized>(k: &K, st: &mut QueueState, taken: Taken) -> Option<Taken> {
    let mut msg = Some(taken);
    st.receivers.visit(k, |w| match msg.take() {
        Some(t) => {
            w.result = Some(Ok(t));
            Visit::Complete
        }
        None => Visit::Stop,
    });
    msg
}

/// A message whose copy-out failed goes to a receiver that blocked
/// meanwhile, or back to its place in the queue.
fn give_back<K: Kernel + ?Sized>(k: &K, st: &mut QueueState, taken: Taken) {
    if let Some(left) = hand_to_receiver(k, st, taken) {
        st.store.restore(left);
    }
}

/// After a receive freed a slot: moves the longest-waiting sender's
/// message in and completes that sender. Returns whether one moved.
fn refill<K: Kernel + ?Sized>(k: &K, st: &mut QueueState) -> bool {
    if st.store.is_full() {
        return false;
    }
    let mut moved = None;
    st.senders.visit(k, |w| {
        if moved.is_some() {
            return Visit::Stop;
        }
        moved = w.request.take();
        w.result = Some(Ok(()));
        Visit::Complete
    });
    match moved {
        Some((prio, body)) => {
            // Linux's pipelined receive fires no notification either.
            let _ = deliver(k, st, prio, body, false);
            true
        }
        None => false,
    }
}

impl Registration {
    /// Sends the notification (SIGEV_SIGNAL with a signal number) to its
    /// owner, or posts the notice on its channel (SIGEV_THREAD), as from
    /// the sender `pid` / real `uid`; with no lock held. A process that
    /// has gone (ESRCH), a full signal queue (EAGAIN), a channel gone or
    /// full loses it, as Linux's send does.
    fn fire<K: Kernel + ?Sized>(self, k: &K, pid: crate::kernel::Pid, uid: u32) {
        match self.how {
            Notification::Signal { signo, value } if signo != 0 => {
                let _ = k.send_signal(self.owner, SigInfo::mesgq(signo, value, pid, uid));
            }
            Notification::Channel { channel, cookie } => {
                if let Some(obj) = channel.upgrade() {
                    if let Some(q) = obj.as_any().downcast_ref::<MessageQueue>() {
                        q.post(k, Notice { cookie, pid, uid });
                    }
                }
            }
            _ => {}
        }
    }
}

impl FileObject for MessageQueue {
    fn kind(&self) -> FileKind {
        FileKind::MessageQueue
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn poll(&self, _k: &dyn Kernel) -> Readiness {
        self.readiness()
    }
    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.pollee)
    }
    /// Any close of a descriptor of the queue by the registered process
    /// ends its registration (Linux's mqueue_flush_file runs on every
    /// close, so a dup's close counts too).
    fn closed(&self, _file: &OpenFile, closer: Closer) {
        let mut st = self.state.lock();
        if st.notify.as_ref().is_some_and(|r| r.owner == closer.pid) {
            st.notify = None;
        }
    }
}
