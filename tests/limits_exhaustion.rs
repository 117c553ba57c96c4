//! Limits under a hostile user: one user who creates objects in a loop
//! stops at the documented per-user bound with the documented errno
//! (`ObjectKind::spec`, the one table of limits; docs/reliability.md lists
//! them), another user keeps working, nothing the refused calls touched
//! stays charged, and once the first user lets go it can create again.
//!
//! The loops run at the default limits. A process holds at most
//! RLIMIT_NOFILE fds (the hosted kernel's `FD_LIMIT`), so a user reaches a
//! per-user bound above it through several processes, as a real user
//! would.

mod common;

use std::sync::Arc;

use common::{sys, user_bytes};
use redbear_ipc::errno::{EAGAIN, EMFILE, ENOMEM, ENOSPC};
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process, FD_LIMIT};
use redbear_ipc::ipc::common::limits::{ObjectKind, Resource};
use redbear_ipc::ipc::sysv::msg::{MsgNamespace, MSG_BOOKKEEPING};
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::{FdFlags, OpenFlags, FD_SLOT_ANY, IPC_NOWAIT, MQ_ATTR_SIZE};
use redbear_ipc::syscall::numbers::*;

const NONBLOCK: usize = FdFlags::NONBLOCK.bits();
/// msgsnd's IPC_NOWAIT as a register.
const NOWAIT_MSG: usize = IPC_NOWAIT as usize;

/// Creates one object of the family as the calling task; `n` tells
/// objects apart where they need names.
type Create = fn(&HostedKernel, usize) -> Result<usize, i32>;

fn eventfd(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    sys(k, SYS_RB_EVENTFD2, &[0, NONBLOCK, FD_SLOT_ANY])
}

fn timerfd(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    sys(k, SYS_RB_TIMERFD_CREATE, &[1, NONBLOCK, FD_SLOT_ANY])
}

fn signalfd(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    let (mask, _) = user_bytes(k, &(1u64 << 9).to_ne_bytes());
    sys(
        k,
        SYS_RB_SIGNALFD4,
        &[usize::MAX, mask, 8, NONBLOCK, FD_SLOT_ANY],
    )
}

fn named_sem(k: &HostedKernel, n: usize) -> Result<usize, i32> {
    let uid = k.credentials().euid;
    let (name, len) = user_bytes(k, format!("/exhaust-{uid}-{n}").as_bytes());
    let creat = OpenFlags::CREATE.bits() | OpenFlags::EXCLUSIVE.bits();
    sys(
        k,
        SYS_RB_SEM_OPEN,
        &[name, len, creat, 0o600, 0, FD_SLOT_ANY],
    )
}

/// A user's processes, entered one at a time.
struct User {
    procs: Vec<Arc<Process>>,
}

impl User {
    fn new(k: &Arc<HostedKernel>, uid: u32) -> Self {
        User {
            procs: vec![k.spawn_process(Credentials::new(uid, uid))],
        }
    }

    /// Creates until a call fails for a reason other than the process's
    /// own fd table being full (then the next process of the user goes
    /// on); returns how many were made and the errno that stopped it.
    fn exhaust(&mut self, k: &Arc<HostedKernel>, create: Create, cap: usize) -> (usize, i32) {
        let mut made = 0;
        loop {
            let p = self.procs.last().expect("a process").clone();
            let _g = k.enter(&p);
            match create(k, made) {
                Ok(_) => made += 1,
                Err(e) if e == EMFILE && p.fds().len() >= FD_LIMIT => {
                    drop(_g);
                    self.procs.push(k.spawn_process(p.credentials()));
                }
                Err(e) => return (made, e),
            }
            assert!(made <= cap, "no bound at all: {made} objects made");
        }
    }

    fn create_one(&self, k: &Arc<HostedKernel>, create: Create, n: usize) -> Result<usize, i32> {
        let p = self.procs.last().expect("a process");
        let _g = k.enter(p);
        create(k, n)
    }

    /// Every process of the user exits (its fds close).
    fn leave(self, k: &HostedKernel) {
        for p in &self.procs {
            k.exit_process(p);
        }
    }
}

fn hostile_user_stops_at_the_bound(kind: ObjectKind, create: Create, named: bool) {
    let k = HostedKernel::new(ClockMode::Virtual);
    let bound = k.ipc().acct.limits().per_user_objects[kind as usize];
    let mut a = User::new(&k, 1000);
    let (made, errno) = a.exhaust(&k, create, bound + 1);
    assert_eq!(
        (made, errno),
        (bound, kind.spec().errno),
        "{kind:?}: bound and errno"
    );
    assert_eq!(
        k.ipc().acct.usage(1000).objects[kind as usize],
        bound,
        "{kind:?}: charged"
    );

    // Another user is not held back by the first one's objects.
    let b = User::new(&k, 1001);
    assert!(
        b.create_one(&k, create, 0).is_ok(),
        "{kind:?}: another user was refused"
    );

    // Refusals charged nothing; letting go refunds everything.
    if named {
        k.ipc().sems.clear();
    }
    a.leave(&k);
    assert_eq!(
        k.ipc().acct.usage(1000).objects[kind as usize],
        0,
        "{kind:?}: refund"
    );
    let again = User::new(&k, 1000);
    assert!(
        again.create_one(&k, create, bound + 7).is_ok(),
        "{kind:?}: no room after refund"
    );
    b.leave(&k);
    again.leave(&k);
    k.ipc().sems.clear();
    let left = k.ipc().acct.outstanding();
    assert!(left.is_zero(), "{kind:?}: still charged {left:?}");
}

#[test]
fn eventfds_stop_at_the_per_user_bound() {
    hostile_user_stops_at_the_bound(ObjectKind::EventFd, eventfd, false);
}

#[test]
fn timerfds_stop_at_the_per_user_bound() {
    hostile_user_stops_at_the_bound(ObjectKind::TimerFd, timerfd, false);
}

#[test]
fn signalfds_stop_at_the_per_user_bound() {
    hostile_user_stops_at_the_bound(ObjectKind::SignalFd, signalfd, false);
}

#[test]
fn named_semaphores_stop_at_the_per_user_bound() {
    hostile_user_stops_at_the_bound(ObjectKind::NamedSem, named_sem, true);
}

#[test]
fn the_documented_errno_is_enospc_for_every_fd_kind() {
    // The table the loops above are checked against says what the docs say.
    for kind in [
        ObjectKind::EventFd,
        ObjectKind::TimerFd,
        ObjectKind::SignalFd,
        ObjectKind::NamedSem,
    ] {
        assert_eq!(kind.spec().errno, ENOSPC, "{kind:?}");
    }
}

/// semget(IPC_PRIVATE, semmsl = 32000 semaphores, IPC_CREAT | 0600).
fn big_sem_set(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    sys(k, SYS_RB_SEMGET, &[0, 32000, 0o1600])
}

/// The kernel bytes held for one user's objects (8 MiB): a user making
/// the largest SysV semaphore sets in a loop (each charges its
/// semaphores' memory as kernel bytes) stops with ENOMEM exactly when
/// the next set would pass 8 MiB, while the namespace's own bounds
/// (semmni, semmns) are far away; another user still makes one; the
/// refusals charged nothing; removing the sets refunds everything.
#[test]
fn kernel_bytes_stop_at_the_per_user_bound() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let bytes = Resource::KernelBytes as usize;
    let bound = k.ipc().acct.limits().per_user_amounts[bytes];
    assert_eq!(bound, 8 << 20, "the documented 8 MiB");
    let mut a = User::new(&k, 1000);
    let (made, errno) = a.exhaust(&k, big_sem_set, 8);
    assert_eq!(errno, Resource::KernelBytes.spec().errno, "the errno");
    assert_eq!(errno, ENOMEM, "the documented errno");
    assert!(made > 0, "not even one set");
    let held = k.ipc().acct.usage(1000).amounts[bytes];
    let per_set = held / made;
    assert_eq!(held, made * per_set, "every set charges the same");
    assert_eq!(made, bound / per_set, "sets made within 8 MiB");
    assert!(
        made < 32000 && made * 32000 < 1_024_000_000,
        "semmni and semmns are not what stopped it"
    );

    let b = User::new(&k, 1001);
    assert!(
        b.create_one(&k, big_sem_set, 0).is_ok(),
        "another user was refused"
    );
    assert_eq!(
        k.ipc().acct.usage(1000).amounts[bytes],
        held,
        "a refused semget charged something"
    );
    k.ipc().sysv.remove_all(&*k);
    assert_eq!(k.ipc().acct.usage(1000).amounts[bytes], 0, "refund");
    assert!(
        a.create_one(&k, big_sem_set, 0).is_ok(),
        "no room after the refund"
    );
    k.ipc().sysv.remove_all(&*k);
    a.leave(&k);
    b.leave(&k);
    let left = k.ipc().acct.outstanding();
    assert!(left.is_zero(), "still charged {left:?}");
}

/// msgget(IPC_PRIVATE, IPC_CREAT | 0600).
fn sysv_queue(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    sys(k, SYS_RB_MSGGET, &[0, 0o1600])
}

/// semget(IPC_PRIVATE, 1 semaphore, IPC_CREAT | 0600).
fn small_sem_set(k: &HostedKernel, _: usize) -> Result<usize, i32> {
    sys(k, SYS_RB_SEMGET, &[0, 1, 0o1600])
}

/// The namespace totals msgmni and semmni (32000 each) at the default
/// limits: one user making queues or sets in a loop stops with ENOSPC
/// exactly at the total (its own per-user amounts are far from their
/// bounds); the namespace is then full for every user, as on Linux; one
/// removal makes room for exactly one more.
#[test]
fn sysv_ids_stop_at_the_namespace_total() {
    for (kind, create) in [
        (ObjectKind::MsgQueue, sysv_queue as Create),
        (ObjectKind::SemSet, small_sem_set),
    ] {
        let k = HostedKernel::new(ClockMode::Virtual);
        let total = k.ipc().acct.limits().total_objects[kind as usize];
        assert_eq!(total, 32000, "{kind:?}: the documented total");
        let mut a = User::new(&k, 1000);
        let (made, errno) = a.exhaust(&k, create, total + 1);
        assert_eq!((made, errno), (total, ENOSPC), "{kind:?}: bound and errno");
        let b = User::new(&k, 1001);
        assert_eq!(
            b.create_one(&k, create, 0),
            Err(ENOSPC),
            "{kind:?}: the namespace is full for everyone"
        );
        let _g = k.enter(&a.procs[0]);
        let first = if kind == ObjectKind::MsgQueue {
            sys(&k, SYS_RB_MSGCTL, &[0, 0, 0])
        } else {
            sys(&k, SYS_RB_SEMCTL, &[0, 0, 0, 0])
        };
        assert_eq!(first, Ok(0), "{kind:?}: IPC_RMID of id 0");
        drop(_g);
        assert!(
            b.create_one(&k, create, 0).is_ok(),
            "{kind:?}: no room after a removal"
        );
        assert_eq!(
            b.create_one(&k, create, 0),
            Err(ENOSPC),
            "{kind:?}: room for one only"
        );
        k.ipc().sysv.remove_all(&*k);
        a.leave(&k);
        b.leave(&k);
        let left = k.ipc().acct.outstanding();
        assert!(left.is_zero(), "{kind:?}: still charged {left:?}");
    }
}

/// mq_open of a new queue `/exhaust-mq-<uid>-<n>` (O_CREAT | O_EXCL |
/// O_RDWR) of one 1-byte message, so that RLIMIT_MSGQUEUE is far away.
fn tiny_mq(k: &HostedKernel, n: usize) -> Result<usize, i32> {
    let uid = k.credentials().euid;
    let (name, len) = user_bytes(k, format!("/exhaust-mq-{uid}-{n}").as_bytes());
    let mut attr = [0u8; MQ_ATTR_SIZE];
    attr[8..16].copy_from_slice(&1i64.to_ne_bytes());
    attr[16..24].copy_from_slice(&1i64.to_ne_bytes());
    let (attr, _) = user_bytes(k, &attr);
    let oflag = 2 | 1 << 2 | 1 << 3; // O_RDWR | O_CREAT | O_EXCL
    sys(
        k,
        SYS_RB_MQ_OPEN,
        &[name, len, oflag, 0o600, attr, FD_SLOT_ANY],
    )
}

/// queues_max (256) at the default limits: one unprivileged user making
/// small queues in a loop stops with ENOSPC exactly at the total (its
/// RLIMIT_MSGQUEUE bytes far from their bound); the namespace is then
/// full for every unprivileged user, as on Linux; unlinking one makes
/// room for one.
#[test]
fn posix_queues_stop_at_the_namespace_total() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let kind = ObjectKind::MqQueue;
    let total = k.ipc().acct.limits().total_objects[kind as usize];
    assert_eq!(total, 256, "the documented queues_max");
    let mut a = User::new(&k, 1000);
    let (made, errno) = a.exhaust(&k, tiny_mq, total + 1);
    assert_eq!((made, errno), (total, ENOSPC), "bound and errno");
    let mq_bytes = k.ipc().acct.usage(1000).amounts[Resource::MqBytes as usize];
    let rlimit = k.ipc().acct.limits().per_user_amounts[Resource::MqBytes as usize];
    assert!(
        mq_bytes < rlimit / 2,
        "RLIMIT_MSGQUEUE was near: {mq_bytes} of {rlimit}"
    );
    let b = User::new(&k, 1001);
    assert_eq!(
        b.create_one(&k, tiny_mq, 0),
        Err(ENOSPC),
        "full for everyone"
    );
    let _g = k.enter(&a.procs[0]);
    let (name, len) = user_bytes(&k, b"/exhaust-mq-1000-0");
    assert_eq!(sys(&k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0), "mq_unlink");
    // The unlinked queue lives while its fd is open: close it.
    assert_eq!(k.close(0), Ok(()), "close");
    drop(_g);
    assert!(
        b.create_one(&k, tiny_mq, 1).is_ok(),
        "no room after an unlink"
    );
    assert_eq!(
        b.create_one(&k, tiny_mq, 2),
        Err(ENOSPC),
        "room for one only"
    );
    k.ipc().mqueues.clear();
    a.leave(&k);
    b.leave(&k);
    let left = k.ipc().acct.outstanding();
    assert!(left.is_zero(), "still charged {left:?}");
}

/// The queued SysV message bytes of one user (16 MiB, charged to the
/// queues' creator) at the default limits: a user filling queue after
/// queue with messages of msgmax (8192) bytes (IPC_NOWAIT; a full queue,
/// EAGAIN, moves on to a new one) stops with ENOMEM exactly when the next
/// charge would pass 16 MiB; another user still queues a message; the
/// refusals charged nothing; removing the queues refunds everything.
#[test]
fn queued_sysv_bytes_stop_at_the_per_user_bound() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let bytes = Resource::MsgBytes as usize;
    let bound = k.ipc().acct.limits().per_user_amounts[bytes];
    assert_eq!(bound, 16 << 20, "the documented 16 MiB");
    let per_message = 8192 + MSG_BOOKKEEPING;
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let g = k.enter(&p);
    let mut raw = 1i64.to_ne_bytes().to_vec();
    raw.extend_from_slice(&[5u8; 8192]);
    let msg = user_bytes(&k, &raw).0;
    let (mut queues, mut messages) = (0usize, 0usize);
    let mut id = None;
    // The errno that stopped the loop, and the charge it refused.
    let (errno, refused) = loop {
        let q = match id {
            Some(q) => q,
            None => match sys(&k, SYS_RB_MSGGET, &[0, 0o1600]) {
                Ok(q) => {
                    queues += 1;
                    *id.insert(q)
                }
                Err(e) => break (e, MsgNamespace::QUEUE_CHARGE),
            },
        };
        match sys(&k, SYS_RB_MSGSND, &[q, msg, 8192, NOWAIT_MSG]) {
            Ok(_) => messages += 1,
            Err(EAGAIN) => id = None,
            Err(e) => break (e, per_message),
        }
        assert!(messages <= 4096, "no bound at all: {messages} queued");
    };
    drop(g);
    assert_eq!(errno, ENOMEM, "the documented errno");
    let held = k.ipc().acct.usage(1000).amounts[bytes];
    let want = queues * MsgNamespace::QUEUE_CHARGE + messages * per_message;
    assert_eq!(held, want, "charged: the queues and their messages");
    assert!(held <= bound, "over the bound: {held}");
    assert!(
        held + refused > bound,
        "stopped with room: {held}, {refused}"
    );

    let other = k.spawn_process(Credentials::new(1001, 1001));
    let g = k.enter(&other);
    let mut raw = 1i64.to_ne_bytes().to_vec();
    raw.extend_from_slice(b"still here");
    let m = user_bytes(&k, &raw).0;
    let q = sys(&k, SYS_RB_MSGGET, &[0, 0o1600]).expect("another user's msgget");
    let sent = sys(&k, SYS_RB_MSGSND, &[q, m, 10, NOWAIT_MSG]);
    assert_eq!(sent, Ok(0), "another user was refused");
    drop(g);
    let after = k.ipc().acct.usage(1000).amounts[bytes];
    assert_eq!(after, held, "a refusal charged something");
    k.ipc().sysv.remove_all(&*k);
    k.exit_process(&p);
    k.exit_process(&other);
    let left = k.ipc().acct.outstanding();
    assert!(left.is_zero(), "still charged {left:?}");
}
