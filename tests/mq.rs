//! POSIX message queues through `dispatch` on the hosted kernel: names,
//! flags and permissions, attributes and limits, priority order, every
//! errno of mq_open / mq_send / mq_receive / mq_getsetattr / mq_notify /
//! mq_unlink, blocking with threads (hand-off both ways, wake order,
//! ETIMEDOUT, EINTR), EFAULT without loss, notification, poll, the
//! tunables and the accounting back to zero. Cases re-expressed from LTP
//! (mq_open01, mq_timedsend01, mq_timedreceive01, mq_notify01/02,
//! mq_unlink01), the Open POSIX Test Suite (mq_send/5-1, mq_receive/7-1,
//! mq_notify/2-1, 3-1, 8-1) and gVisor's mq_test.cc say so.

mod common;
mod mqc;

use std::sync::Arc;
use std::time::Duration;

use common::{timespec, Env};
use mqc::*;
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::limits::Resource;
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::ipc::mq::limits::{read_tunable, write_tunable, MqTunable, HARD_MSGMAX};
use redbear_ipc::ipc::mq::notify::Notice;
use redbear_ipc::kernel::{sig_bit, ClockId, Credentials, Kernel, SI_MESGQ};
use redbear_ipc::syscall::abi::FD_SLOT_ANY;
use redbear_ipc::syscall::numbers::*;

const PARK: Duration = Duration::from_secs(5);
const ROOT: Credentials = Credentials::new(0, 0);
const SIGUSR1: u32 = 10;
const SIGEV_SIGNAL: i32 = 0;
const SIGEV_NONE: i32 = 1;
const SIGEV_THREAD: i32 = 2;

fn env() -> Env {
    Env::new(ClockMode::Virtual)
}

fn small(e: &Env, name: &str, maxmsg: i64, msgsize: i64) -> usize {
    open(&e.k, name, RDWR | CREAT, 0o600, Some((maxmsg, msgsize))).expect("create")
}

fn mq_bytes(k: &HostedKernel, uid: u32) -> usize {
    k.ipc().acct.usage(uid).amounts[Resource::MqBytes as usize]
}

#[test]
fn names_follow_the_kernels_rules() {
    let e = env();
    let k = &e.k;
    assert_eq!(open(k, "", RDWR | CREAT, 0o600, None), Err(EINVAL));
    assert_eq!(open(k, "noslash", RDWR | CREAT, 0o600, None), Err(EINVAL));
    assert_eq!(open(k, "/", RDWR | CREAT, 0o600, None), Err(ENOENT));
    assert_eq!(open(k, "/a/b", RDWR | CREAT, 0o600, None), Err(EACCES));
    let long = format!("/{}", "x".repeat(256));
    assert_eq!(open(k, &long, RDWR | CREAT, 0o600, None), Err(ENAMETOOLONG));
    assert_eq!(unlink(k, &long), Err(ENAMETOOLONG));
    let ok = format!("/{}", "x".repeat(255));
    let fd = open(k, &ok, RDWR | CREAT, 0o600, None).unwrap();
    assert_eq!(unlink(k, &ok), Ok(0));
    e.k.close(fd).unwrap();
    assert_eq!(unlink(k, "/a/b"), Err(EACCES));
    assert_eq!(unlink(k, "nope"), Err(EINVAL));
    assert_eq!(unlink(k, "/absent"), Err(ENOENT));
    // Bad name memory: EFAULT, nothing created.
    let r = sys_open(k, 0x10, 3, RDWR | CREAT, 0);
    assert_eq!(r, Err(EFAULT));
    assert!(k.ipc().mqueues.is_empty());
}

fn sys_open(
    k: &HostedKernel,
    name: usize,
    len: usize,
    oflag: usize,
    attr: usize,
) -> Result<usize, i32> {
    common::sys(
        k,
        SYS_RB_MQ_OPEN,
        &[name, len, oflag, 0o600, attr, FD_SLOT_ANY],
    )
}

/// LTP mq_open01: ENOENT, EEXIST, EINVAL for attributes, EACCES.
#[test]
fn open_flags_exclusive_and_access_modes() {
    let e = env();
    let k = &e.k;
    assert_eq!(open(k, "/q", RDWR, 0, None), Err(ENOENT));
    let fd = open(k, "/q", RDWR | CREAT | EXCL, 0o600, None).unwrap();
    assert_eq!(open(k, "/q", RDWR | CREAT | EXCL, 0o600, None), Err(EEXIST));
    // An existing queue opens whatever the attributes say.
    let again = open(k, "/q", RDWR | CREAT, 0o600, Some((0, 0))).unwrap();
    assert_eq!(getattr(k, again), Ok([0, 10, 8192, 0]));
    // O_ACCMODE 3: EINVAL on an existing queue...
    assert_eq!(open(k, "/q", 3, 0, None), Err(EINVAL));
    // ...but Linux creates a queue with it, and the fd can do neither.
    let none = open(k, "/n", 3 | CREAT, 0o600, None).unwrap();
    assert_eq!(send(k, none, b"x", 0), Err(EBADF));
    assert_eq!(receive(k, none, 8192), Err(EBADF));
    assert_eq!(getattr(k, none), Ok([0, 10, 8192, 0]));
    // Unknown oflag bits.
    assert_eq!(open(k, "/q", RDWR | (1 << 9), 0, None), Err(EINVAL));
    // Per-open access: a read-only fd cannot send, a write-only one
    // cannot receive (EBADF), whatever the queue holds.
    let ro = open(k, "/q", RDONLY, 0, None).unwrap();
    let wo = open(k, "/q", WRONLY, 0, None).unwrap();
    assert_eq!(send(k, ro, b"x", 0), Err(EBADF));
    assert_eq!(send(k, wo, b"x", 0), Ok(0));
    assert_eq!(receive(k, wo, 8192), Err(EBADF));
    assert_eq!(receive(k, ro, 8192), Ok((b"x".to_vec(), 0)));
    for f in [fd, again, none, ro, wo] {
        e.k.close(f).unwrap();
    }
    unlink(k, "/q").unwrap();
    unlink(k, "/n").unwrap();
}

#[test]
fn attributes_limits_and_privilege() {
    let e = env();
    let k = &e.k;
    let bad = [(0, 1), (1, 0), (-1, 1), (1, -5), (11, 8192), (10, 8193)];
    for (m, s) in bad {
        assert_eq!(
            open(k, "/a", RDWR | CREAT, 0o600, Some((m, s))),
            Err(EINVAL),
            "{m} {s}"
        );
    }
    // The attribute pointer is read first, whatever the flags.
    assert_eq!(
        sys_open(k, put(k, b"/a"), 2, RDWR | CREAT, 0x10),
        Err(EFAULT)
    );
    assert!(k.ipc().mqueues.is_empty());
    let fd = open(k, "/a", RDWR | CREAT, 0o600, Some((3, 100))).unwrap();
    assert_eq!(getattr(k, fd), Ok([0, 3, 100, 0]));
    e.k.close(fd).unwrap();
    unlink(k, "/a").unwrap();
    // A privileged caller passes msg_max and msgsize_max, not the hard
    // ceilings (nor RLIMIT_MSGQUEUE).
    let root = e.k.spawn_process(ROOT);
    let k2 = e.k.clone();
    let got = e.k.spawn_task(&root, move || {
        let k = &k2;
        let over = open(k, "/r", RDWR | CREAT, 0o600, Some((11, 16)));
        let hard = open(
            k,
            "/h",
            RDWR | CREAT,
            0o600,
            Some((HARD_MSGMAX as i64 + 1, 1)),
        );
        let rlimit = open(k, "/b", RDWR | CREAT, 0o600, Some((100, 8192)));
        let attr = over.and_then(|fd| getattr(k, fd));
        unlink(k, "/r").unwrap();
        k.current().process().fds().clear();
        (attr, hard, rlimit)
    });
    let (attr, hard, rlimit) = got.join().unwrap();
    assert_eq!(attr, Ok([0, 11, 16, 0]));
    assert_eq!(hard, Err(EINVAL));
    assert_eq!(rlimit, Err(EMFILE));
}

/// Open POSIX mq_send/5-1, mq_receive/7-1: priority order, FIFO within a
/// priority, the priority returned.
#[test]
fn highest_priority_first_fifo_within_one() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/p", 8, 16);
    for (m, p) in [
        (b"a", 1),
        (b"b", 5),
        (b"c", 1),
        (b"d", 32767),
        (b"e", 5),
        (b"f", 0),
    ] {
        assert_eq!(send(k, fd, m, p), Ok(0));
    }
    assert_eq!(getattr(k, fd).unwrap()[3], 6);
    let order: Vec<(Vec<u8>, u32)> = (0..6).map(|_| receive(k, fd, 16).unwrap()).collect();
    let want = [
        (b"d", 32767),
        (b"b", 5),
        (b"e", 5),
        (b"a", 1),
        (b"c", 1),
        (b"f", 0),
    ];
    for ((got, gp), (m, p)) in order.iter().zip(want) {
        assert_eq!((got.as_slice(), *gp), (&m[..], p));
    }
    // A zero-length message and a null priority pointer.
    send(k, fd, b"", 3).unwrap();
    let buf = k.alloc_private(16);
    assert_eq!(
        common::sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, buf, 16, 0, 0]),
        Ok(0)
    );
    e.k.close(fd).unwrap();
    unlink(k, "/p").unwrap();
}

/// LTP mq_timedsend01 / mq_timedreceive01: EMSGSIZE, EINVAL, EBADF,
/// EAGAIN, ETIMEDOUT, EFAULT.
#[test]
fn send_and_receive_errors_in_linuxs_order() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/e", 1, 16);
    let efd = common::sys(k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).unwrap();
    assert_eq!(send(k, fd, &[0; 17], 0), Err(EMSGSIZE));
    assert_eq!(send(k, fd, b"x", 32768), Err(EINVAL));
    assert_eq!(send(k, fd, b"x", 1 << 32), Err(EINVAL));
    // The priority is checked before the fd.
    assert_eq!(send(k, 999, b"x", 32768), Err(EINVAL));
    assert_eq!(send(k, 999, b"x", 0), Err(EBADF));
    assert_eq!(send(k, efd, b"x", 0), Err(EBADF));
    assert_eq!(send(k, usize::MAX, b"x", 0), Err(EBADF));
    assert_eq!(receive(k, efd, 16), Err(EBADF));
    assert_eq!(receive(k, fd, 15), Err(EMSGSIZE));
    // The text is read before the queue is looked at.
    let r = common::sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, 0x10, 4, 0, 0]);
    assert_eq!(r, Err(EFAULT));
    // A bad tv_nsec is EINVAL even when the call would not block
    // (measured on Linux 6.18); a bad pointer EFAULT.
    let bad = timespec(k, 0, 1_000_000_000);
    assert_eq!(timedsend(k, fd, b"x", 0, bad), Err(EINVAL));
    assert_eq!(timedsend(k, fd, b"x", 0, 0x10), Err(EFAULT));
    let neg = timespec(k, -1, 0);
    assert_eq!(timedreceive(k, fd, 16, neg), Err(EINVAL));
    assert_eq!(getattr(k, fd).unwrap()[3], 0, "nothing was sent");
    send(k, fd, b"x", 0).unwrap();
    // Full: EAGAIN nonblocking, ETIMEDOUT at a past deadline.
    let nb = open(k, "/e", RDWR | NONBLOCK, 0, None).unwrap();
    assert_eq!(send(k, nb, b"y", 0), Err(EAGAIN));
    let past = timespec(k, 0, 0);
    assert_eq!(timedsend(k, fd, b"y", 0, past), Err(ETIMEDOUT));
    receive(k, nb, 16).unwrap();
    assert_eq!(receive(k, nb, 16), Err(EAGAIN));
    assert_eq!(timedreceive(k, fd, 16, past), Err(ETIMEDOUT));
    // EMSGSIZE comes before EAGAIN.
    assert_eq!(receive(k, nb, 4), Err(EMSGSIZE));
    for f in [fd, nb, efd] {
        e.k.close(f).unwrap();
    }
    unlink(k, "/e").unwrap();
}

#[test]
fn getsetattr_changes_only_o_nonblock_of_one_description() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/s", 2, 32);
    let other = open(k, "/s", RDWR, 0, None).unwrap();
    let dup = e.k.dup(fd).unwrap();
    send(k, fd, b"x", 0).unwrap();
    assert_eq!(getsetattr(k, fd, Some(MQ_NONBLOCK)), Ok([0, 2, 32, 1]));
    assert_eq!(
        getattr(k, dup),
        Ok([MQ_NONBLOCK, 2, 32, 1]),
        "a dup shares it"
    );
    assert_eq!(
        getattr(k, other),
        Ok([0, 2, 32, 1]),
        "another open does not"
    );
    // Other flag bits: EINVAL, before the fd is looked at.
    assert_eq!(getsetattr(k, fd, Some(MQ_NONBLOCK | 1)), Err(EINVAL));
    assert_eq!(getsetattr(k, 999, Some(1)), Err(EINVAL));
    assert_eq!(getsetattr(k, 999, Some(0)), Err(EBADF));
    // maxmsg and friends in the new attributes are ignored.
    let new = attr_at(k, [0, 99, 99, 99]);
    assert_eq!(common::sys(k, SYS_RB_MQ_GETSETATTR, &[fd, new, 0]), Ok(0));
    assert_eq!(getattr(k, fd), Ok([0, 2, 32, 1]));
    // A bad old pointer: EFAULT, and O_NONBLOCK unchanged.
    let on = attr_at(k, [MQ_NONBLOCK, 0, 0, 0]);
    assert_eq!(
        common::sys(k, SYS_RB_MQ_GETSETATTR, &[fd, on, 0x10]),
        Err(EFAULT)
    );
    assert_eq!(getattr(k, fd).unwrap()[0], 0);
    assert_eq!(
        common::sys(k, SYS_RB_MQ_GETSETATTR, &[fd, 0x10, 0]),
        Err(EFAULT)
    );
    for f in [fd, other, dup] {
        e.k.close(f).unwrap();
    }
    unlink(k, "/s").unwrap();
}

#[test]
fn permissions_umask_and_unlink_by_owner_only() {
    let e = env();
    let k = &e.k;
    e.proc.set_umask(0o022);
    let fd = open(k, "/perm", RDWR | CREAT, 0o666, None).unwrap();
    let stranger = e.k.spawn_process(Credentials::new(2000, 2000));
    let k2 = e.k.clone();
    let got =
        e.k.spawn_task(&stranger, move || {
            let k = &k2;
            let ro = open(k, "/perm", RDONLY, 0, None);
            let res = (
                ro,
                open(k, "/perm", WRONLY, 0, None),
                open(k, "/perm", RDWR, 0, None),
                unlink(k, "/perm"),
            );
            k.current().process().fds().clear();
            res
        })
        .join()
        .unwrap();
    assert!(got.0.is_ok(), "0644 after the umask: others may read");
    assert_eq!(
        (got.1, got.2, got.3),
        (Err(EACCES), Err(EACCES), Err(EACCES))
    );
    e.proc.set_umask(0);
    e.k.close(fd).unwrap();
    assert_eq!(unlink(k, "/perm"), Ok(0));
}

/// LTP mq_unlink01, gVisor's UnlinkWhileOpen: the queue lives on while
/// open; its charge is refunded at the last close after unlink.
#[test]
fn unlink_while_open_keeps_the_queue_until_the_last_close() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/u", 4, 64);
    let dup = e.k.dup(fd).unwrap();
    send(k, fd, b"kept", 2).unwrap();
    assert_eq!(unlink(k, "/u"), Ok(0));
    assert_eq!(open(k, "/u", RDWR, 0, None), Err(ENOENT));
    let fresh = small(&e, "/u", 1, 8);
    assert_eq!(getattr(k, fresh).unwrap()[1], 1, "the name is a new queue");
    e.k.close(fd).unwrap();
    assert_eq!(receive(k, dup, 64), Ok((b"kept".to_vec(), 2)));
    let before = mq_bytes(k, 1000);
    e.k.close(dup).unwrap();
    assert!(mq_bytes(k, 1000) < before, "refunded at the last close");
    e.k.close(fresh).unwrap();
    unlink(k, "/u").unwrap();
    assert_eq!(mq_bytes(k, 1000), 0);
}

#[test]
fn cloexec_and_exec() {
    let e = env();
    let k = &e.k;
    // As on Linux, mq_open makes every descriptor close-on-exec.
    let plain = open(k, "/x", RDWR | CREAT, 0o600, None).unwrap();
    let flagged = open(k, "/x", RDWR | CLOEXEC, 0, None).unwrap();
    e.k.exec();
    assert_eq!(getattr(k, flagged), Err(EBADF));
    assert_eq!(getattr(k, plain), Err(EBADF));
    unlink(k, "/x").unwrap();
}

/// gVisor's mq_test BlockingReceive / pipelined send: a blocked receiver
/// gets the message straight from the sender; it never enters the queue.
#[test]
fn a_sender_hands_its_message_to_the_blocked_receivers_in_order() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = small(&e, "/h", 4, 16);
    let receivers: Vec<_> = (0..3)
        .map(|i| {
            let k2 = e.k.clone();
            let t = e.k.spawn_task(&e.proc, move || receive(&k2, fd, 16));
            assert!(e.k.wait_parked(i + 1, PARK));
            t
        })
        .collect();
    for (i, m) in [b"1", b"2", b"3"].iter().enumerate() {
        send(k, fd, *m, 10 - i).unwrap();
    }
    let got: Vec<_> = receivers.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        got,
        vec![
            Ok((b"1".to_vec(), 10)),
            Ok((b"2".to_vec(), 9)),
            Ok((b"3".to_vec(), 8))
        ],
        "the longest-waiting receiver gets the first message"
    );
    assert_eq!(getattr(k, fd).unwrap()[3], 0);
    e.k.close(fd).unwrap();
    unlink(k, "/h").unwrap();
}

/// A receive frees the longest-waiting blocked sender, whose message
/// takes the freed slot (in arrival order among equal priorities).
#[test]
fn a_receive_moves_the_blocked_senders_messages_in_in_order() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = small(&e, "/b", 1, 16);
    send(k, fd, b"0", 1).unwrap();
    let senders: Vec<_> = (1..=3u8)
        .map(|i| {
            let k2 = e.k.clone();
            let t =
                e.k.spawn_task(&e.proc, move || send(&k2, fd, &[b'0' + i], 1));
            assert!(e.k.wait_parked(usize::from(i), PARK));
            t
        })
        .collect();
    let mut order = Vec::new();
    for _ in 0..4 {
        order.push(receive(k, fd, 16).unwrap().0[0]);
    }
    for t in senders {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
    assert_eq!(order, b"0123");
    e.k.close(fd).unwrap();
    unlink(k, "/b").unwrap();
}

#[test]
fn timed_receive_times_out_and_a_signal_interrupts() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/t", 1, 16);
    let at = k.now(ClockId::Realtime) + 2_000_000_000;
    let ts = timespec(k, (at / 1_000_000_000) as i64, (at % 1_000_000_000) as i64);
    let k2 = e.k.clone();
    let t =
        e.k.spawn_task(&e.proc, move || timedreceive(&k2, fd, 16, ts));
    assert!(e.k.wait_parked(1, PARK));
    e.k.advance(2_000_000_000);
    assert_eq!(t.join().unwrap(), Err(ETIMEDOUT));
    let k2 = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || receive(&k2, fd, 16));
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 2);
    assert_eq!(t.join().unwrap(), Err(EINTR));
    e.proc.take_signal_all(2);
    send(k, fd, b"x", 0).unwrap();
    let k2 = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || send(&k2, fd, b"y", 0));
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 2);
    assert_eq!(t.join().unwrap(), Err(EINTR));
    e.proc.take_signal_all(2);
    assert_eq!(
        getattr(k, fd).unwrap()[3],
        1,
        "the interrupted send sent nothing"
    );
    e.k.close(fd).unwrap();
    unlink(k, "/t").unwrap();
}

/// Linux loses the message when the copy-out faults; we put it back.
#[test]
fn a_faulting_receive_loses_nothing() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/f", 4, 16);
    send(k, fd, b"first", 7).unwrap();
    send(k, fd, b"second", 7).unwrap();
    // Bad buffer.
    let r = common::sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, 0x10, 16, 0, 0]);
    assert_eq!(r, Err(EFAULT));
    // Good buffer, bad priority pointer.
    let buf = k.alloc_private(16);
    let r = common::sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, buf, 16, 0x10, 0]);
    assert_eq!(r, Err(EFAULT));
    // A write that fails after the range was fine.
    let bad = buf;
    k.memory()
        .fail_writes(Some(Arc::new(move |at, _| at == bad)));
    let r = common::sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, buf, 16, 0, 0]);
    k.memory().fail_writes(None);
    assert_eq!(r, Err(EFAULT));
    assert_eq!(getattr(k, fd).unwrap()[3], 2);
    assert_eq!(
        receive(k, fd, 16),
        Ok((b"first".to_vec(), 7)),
        "still first"
    );
    assert_eq!(receive(k, fd, 16), Ok((b"second".to_vec(), 7)));
    e.k.close(fd).unwrap();
    unlink(k, "/f").unwrap();
}

/// A handed-over message whose copy-out faults goes back to the queue.
#[test]
fn a_handed_over_message_survives_a_faulting_receiver() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = small(&e, "/hf", 2, 16);
    let k2 = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        common::sys(&k2, SYS_RB_MQ_TIMEDRECEIVE, &[fd, 0x10, 16, 0, 0])
    });
    assert!(e.k.wait_parked(1, PARK));
    send(k, fd, b"m", 4).unwrap();
    assert_eq!(t.join().unwrap(), Err(EFAULT));
    assert_eq!(receive(k, fd, 16), Ok((b"m".to_vec(), 4)));
    e.k.close(fd).unwrap();
    unlink(k, "/hf").unwrap();
}

fn take_usr1(e: &Env) -> Option<redbear_ipc::kernel::SigInfo> {
    e.proc.take_signal(sig_bit(SIGUSR1))
}

/// LTP mq_notify01, Open POSIX mq_notify/2-1, 3-1, 8-1: SIGEV_SIGNAL
/// with SI_MESGQ, the sender's pid and uid and the value; once; EBUSY;
/// NULL unregisters only the owner's; the close hook.
#[test]
fn notify_signal_fires_once_on_empty_to_non_empty() {
    let e = env();
    let k = &e.k;
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    e.proc.set_umask(0);
    let fd = open(k, "/n", RDWR | CREAT, 0o666, Some((4, 16))).unwrap();
    let ev = Some((SIGEV_SIGNAL, SIGUSR1 as i32, 0xfeed));
    assert_eq!(notify(k, fd, ev), Ok(0));
    assert_eq!(notify(k, fd, ev), Err(EBUSY), "even for the owner");
    // Another process: EBUSY; its NULL leaves the registration.
    let other = e.k.spawn_process(Credentials::new(3000, 3000));
    let k2 = e.k.clone();
    let sender_pid = other.pid();
    let got =
        e.k.spawn_task(&other, move || {
            let k = &k2;
            let fd = open(k, "/n", RDWR, 0, None).unwrap();
            let r = (notify(k, fd, ev), notify(k, fd, None));
            // The send from this process fires it.
            let s = send(k, fd, b"a", 0);
            k.current().process().fds().clear();
            (r, s)
        })
        .join()
        .unwrap();
    assert_eq!(got, ((Err(EBUSY), Ok(0)), Ok(0)));
    let info = take_usr1(&e).expect("notified");
    assert_eq!(info.code, SI_MESGQ);
    assert_eq!((info.pid, info.uid), (sender_pid, 3000));
    assert_eq!(info.ptr, 0xfeed);
    // Fired once: the next send to a non-empty queue, or after emptying,
    // sends nothing until registered again.
    send(k, fd, b"b", 0).unwrap();
    receive(k, fd, 16).unwrap();
    receive(k, fd, 16).unwrap();
    send(k, fd, b"c", 0).unwrap();
    assert!(take_usr1(&e).is_none());
    // Registered on a non-empty queue: a send does not fire it.
    notify(k, fd, ev).unwrap();
    send(k, fd, b"d", 0).unwrap();
    assert!(take_usr1(&e).is_none());
    // NULL by the owner unregisters.
    assert_eq!(notify(k, fd, None), Ok(0));
    assert_eq!(notify(k, fd, ev), Ok(0));
    // Closing any descriptor of the queue (a dup) ends it.
    let dup = e.k.dup(fd).unwrap();
    e.k.close(dup).unwrap();
    assert_eq!(notify(k, fd, Some((SIGEV_NONE, 0, 0))), Ok(0));
    e.k.close(fd).unwrap();
    unlink(k, "/n").unwrap();
}

#[test]
fn notify_not_fired_when_a_receiver_is_blocked() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let fd = small(&e, "/nb", 4, 16);
    notify(k, fd, Some((SIGEV_SIGNAL, SIGUSR1 as i32, 1))).unwrap();
    let k2 = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        k2.current().set_mask(sig_bit(SIGUSR1));
        receive(&k2, fd, 16)
    });
    assert!(e.k.wait_parked(1, PARK));
    send(k, fd, b"x", 0).unwrap();
    assert_eq!(t.join().unwrap(), Ok((b"x".to_vec(), 0)));
    assert!(take_usr1(&e).is_none());
    assert_eq!(
        notify(k, fd, Some((SIGEV_NONE, 0, 0))),
        Err(EBUSY),
        "still registered"
    );
    e.k.close(fd).unwrap();
    unlink(k, "/nb").unwrap();
}

#[test]
fn notify_argument_errors() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/ne", 1, 16);
    assert_eq!(notify(k, fd, Some((SIGEV_SIGNAL, 65, 0))), Err(EINVAL));
    assert_eq!(notify(k, fd, Some((SIGEV_SIGNAL, -1, 0))), Err(EINVAL));
    // SIGEV_THREAD: sigev_signo is the notice channel's fd.
    assert_eq!(notify(k, fd, Some((SIGEV_THREAD, 999, 0))), Err(EBADF));
    assert_eq!(notify(k, fd, Some((SIGEV_THREAD, -1, 0))), Err(EBADF));
    assert_eq!(notify(k, fd, Some((7, 0, 0))), Err(EINVAL));
    assert_eq!(common::sys(k, SYS_RB_MQ_NOTIFY, &[fd, 0x10]), Err(EFAULT));
    assert_eq!(notify(k, 999, Some((SIGEV_NONE, 0, 0))), Err(EBADF));
    assert_eq!(notify(k, 999, None), Err(EBADF));
    // Signal 0 registers, and firing it sends nothing but consumes it.
    assert_eq!(notify(k, fd, Some((SIGEV_SIGNAL, 0, 0))), Ok(0));
    send(k, fd, b"x", 0).unwrap();
    assert_eq!(notify(k, fd, Some((SIGEV_NONE, 0, 0))), Ok(0));
    receive(k, fd, 16).unwrap();
    send(k, fd, b"y", 0).unwrap();
    assert_eq!(
        notify(k, fd, Some((SIGEV_NONE, 0, 0))),
        Ok(0),
        "SIGEV_NONE fired too"
    );
    e.k.close(fd).unwrap();
    unlink(k, "/ne").unwrap();
}

/// Reads one SIGEV_THREAD notice from `chan` (nonblocking).
fn notice(k: &HostedKernel, chan: usize) -> Option<Notice> {
    let (body, prio) = receive(k, chan, 16).ok()?;
    assert_eq!(prio, 0);
    Notice::from_bytes(&body)
}

/// SIGEV_THREAD's kernel half: the registration posts one notice (the
/// cookie, the sender's pid and uid) on the channel queue when a message
/// lands on the empty queue, then is gone; EBUSY and NULL as for a
/// signal; a channel that is not a fit queue is EINVAL.
#[test]
fn notify_thread_posts_one_notice_on_the_channel() {
    let e = env();
    let k = &e.k;
    let fd = open(k, "/nt", RDWR | CREAT | NONBLOCK, 0o600, Some((4, 64))).unwrap();
    let chan = open(k, "/ntc", RDONLY | CREAT | NONBLOCK, 0o600, Some((4, 16))).unwrap();
    let narrow = small(&e, "/ntn", 4, 15);
    let efd = common::sys(k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).unwrap();
    let th = |c: usize, cookie: u64| Some((SIGEV_THREAD, c as i32, cookie));
    assert_eq!(notify(k, fd, th(narrow, 1)), Err(EINVAL), "msgsize < 16");
    assert_eq!(notify(k, fd, th(efd, 1)), Err(EINVAL), "not a queue");
    assert_eq!(notify(k, fd, th(chan, 0xc0ffee)), Ok(0));
    assert_eq!(notify(k, fd, th(chan, 2)), Err(EBUSY));
    assert_eq!(notify(k, fd, Some((SIGEV_NONE, 0, 0))), Err(EBUSY));
    assert_eq!(notice(k, chan), None, "nothing before a send");
    send(k, fd, b"a", 0).unwrap();
    send(k, fd, b"b", 0).unwrap();
    let n = notice(k, chan).expect("one notice");
    assert_eq!(n.cookie, 0xc0ffee);
    assert_eq!(n.pid, e.proc.pid());
    assert_eq!(n.uid, e.proc.credentials().uid);
    assert_eq!(notice(k, chan), None, "fires once");
    // Consumed: a new registration is accepted, and fires only on the
    // next empty -> non-empty.
    assert_eq!(notify(k, fd, th(chan, 3)), Ok(0));
    send(k, fd, b"c", 0).unwrap();
    assert_eq!(notice(k, chan), None, "queue was not empty");
    while receive(k, fd, 64).is_ok() {}
    // mq_notify(NULL) removes it.
    assert_eq!(notify(k, fd, None), Ok(0));
    send(k, fd, b"d", 0).unwrap();
    assert_eq!(notice(k, chan), None, "unregistered");
    receive(k, fd, 64).unwrap();
    // A channel closed before the registration fires loses the notice.
    let gone = open(k, "/ntg", RDWR | CREAT, 0o600, Some((1, 16))).unwrap();
    assert_eq!(notify(k, fd, th(gone, 4)), Ok(0));
    e.k.close(gone).unwrap();
    unlink(k, "/ntg").unwrap();
    send(k, fd, b"e", 0).unwrap();
    receive(k, fd, 64).unwrap();
    // A full channel loses it, the sender sees nothing.
    let full = open(k, "/ntf", RDWR | CREAT | NONBLOCK, 0o600, Some((1, 16))).unwrap();
    send(k, full, &[0; 16], 0).unwrap();
    assert_eq!(notify(k, fd, th(full, 6)), Ok(0));
    assert_eq!(send(k, fd, b"f", 0), Ok(0));
    assert_eq!(receive(k, full, 16), Ok((vec![0; 16], 0)), "not the notice");
    assert_eq!(receive(k, full, 16), Err(EAGAIN));
    receive(k, fd, 64).unwrap();
    // A queue may be its own channel: the message, then the notice
    // (which fires nothing further).
    assert_eq!(notify(k, full, th(full, 7)), Ok(0));
    send(k, full, b"m", 3).unwrap();
    assert_eq!(receive(k, full, 16), Ok((b"m".to_vec(), 3)));
    assert_eq!(notice(k, full).map(|n| n.cookie), None, "full: lost");
    let own = open(k, "/nto", RDWR | CREAT | NONBLOCK, 0o600, Some((2, 16))).unwrap();
    assert_eq!(notify(k, own, th(own, 8)), Ok(0));
    send(k, own, b"m", 3).unwrap();
    assert_eq!(receive(k, own, 16), Ok((b"m".to_vec(), 3)));
    assert_eq!(notice(k, own).map(|n| n.cookie), Some(8));
    for f in [full, own] {
        e.k.close(f).unwrap();
    }
    unlink(k, "/ntf").unwrap();
    unlink(k, "/nto").unwrap();
    for f in [fd, chan, narrow, efd] {
        e.k.close(f).unwrap();
    }
    for n in ["/nt", "/ntc", "/ntn"] {
        unlink(k, n).unwrap();
    }
}

/// A notice goes straight to a receiver blocked on the channel (the
/// C library's helper thread waits there).
#[test]
fn notify_thread_wakes_a_receiver_blocked_on_the_channel() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = small(&e, "/ntw", 4, 64);
    let chan = small(&e, "/ntwc", 2, 16);
    notify(k, fd, Some((SIGEV_THREAD, chan as i32, 77))).unwrap();
    let k2 = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || notice(&k2, chan));
    assert!(e.k.wait_parked(1, PARK));
    send(k, fd, b"x", 0).unwrap();
    let n = t.join().unwrap().expect("a notice");
    assert_eq!(n.cookie, 77);
    for f in [fd, chan] {
        e.k.close(f).unwrap();
    }
    unlink(k, "/ntw").unwrap();
    unlink(k, "/ntwc").unwrap();
}

#[test]
fn a_registration_ends_when_its_process_exits() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/ex", 1, 16);
    let child = e.k.fork_process(&e.proc);
    let k2 = e.k.clone();
    e.k.spawn_task(&child, move || notify(&k2, fd, Some((SIGEV_NONE, 0, 0))))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(notify(k, fd, Some((SIGEV_NONE, 0, 0))), Err(EBUSY));
    e.k.exit_process(&child);
    assert_eq!(notify(k, fd, Some((SIGEV_NONE, 0, 0))), Ok(0));
    e.k.close(fd).unwrap();
    unlink(k, "/ex").unwrap();
}

#[test]
fn poll_in_when_non_empty_out_when_not_full() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = small(&e, "/poll", 1, 16);
    let both = Readiness::IN | Readiness::OUT;
    assert_eq!(
        e.k.poll(&[(fd, both)], Some(Duration::ZERO)),
        Ok(vec![Readiness::OUT])
    );
    send(k, fd, b"x", 0).unwrap();
    assert_eq!(
        e.k.poll(&[(fd, both)], Some(Duration::ZERO)),
        Ok(vec![Readiness::IN])
    );
    receive(k, fd, 16).unwrap();
    // A poll blocked for POLLIN wakes on a send from another task.
    let k2 = e.k.clone();
    let t =
        e.k.spawn_task(&e.proc, move || k2.poll(&[(fd, Readiness::IN)], None));
    assert!(e.k.wait_parked(1, PARK));
    send(k, fd, b"y", 0).unwrap();
    assert_eq!(t.join().unwrap(), Ok(vec![Readiness::IN]));
    e.k.close(fd).unwrap();
    unlink(k, "/poll").unwrap();
}

/// Measured on Linux 6.18: nine default queues fit RLIMIT_MSGQUEUE's
/// 819200 bytes, the tenth is EMFILE; another user keeps working.
#[test]
fn per_user_bytes_and_queues_max() {
    let e = env();
    let k = &e.k;
    let names: Vec<String> = (0..10).map(|i| format!("/q{i}")).collect();
    let fds: Vec<usize> = names[..9]
        .iter()
        .map(|n| open(k, n, RDWR | CREAT, 0o600, None).unwrap())
        .collect();
    assert_eq!(open(k, &names[9], RDWR | CREAT, 0o600, None), Err(EMFILE));
    let mut extra: Vec<usize> = (0..8)
        .map(|i| open(k, &format!("/s{i}"), RDWR | CREAT, 0o600, Some((1, 8192))).unwrap())
        .collect();
    assert_eq!(
        open(k, &names[9], RDWR | CREAT, 0o600, Some((1, 6881))),
        Err(EMFILE)
    );
    extra.push(open(k, &names[9], RDWR | CREAT, 0o600, Some((1, 6880))).unwrap());
    assert_eq!(mq_bytes(k, 1000), 819_200, "exactly the budget");
    let other = e.k.spawn_process(Credentials::new(4000, 4000));
    let k2 = e.k.clone();
    let r =
        e.k.spawn_task(&other, move || {
            let r = open(&k2, "/other", RDWR | CREAT, 0o600, None);
            k2.current().process().fds().clear();
            unlink(&k2, "/other").unwrap();
            r.map(|_| ())
        })
        .join()
        .unwrap();
    assert_eq!(r, Ok(()), "another user's budget is its own");
    for n in names
        .iter()
        .cloned()
        .chain((0..8).map(|i| format!("/s{i}")))
    {
        unlink(k, &n).unwrap();
    }
    assert_eq!(mq_bytes(k, 1000), 819_200, "still open");
    for f in fds.into_iter().chain(extra) {
        e.k.close(f).unwrap();
    }
    assert_eq!(mq_bytes(k, 1000), 0);
    // queues_max, written as /proc/sys/fs/mqueue/queues_max would be.
    let acct = &k.ipc().acct;
    assert_eq!(
        write_tunable(acct, &Credentials::new(1000, 1000), MqTunable::QueuesMax, 1),
        Err(redbear_ipc::errno::Errno::new(EPERM))
    );
    write_tunable(acct, &ROOT, MqTunable::QueuesMax, 1).unwrap();
    assert_eq!(read_tunable(acct, MqTunable::QueuesMax), 1);
    let a = open(k, "/one", RDWR | CREAT, 0o600, None).unwrap();
    assert_eq!(open(k, "/two", RDWR | CREAT, 0o600, None), Err(ENOSPC));
    // ENOSPC comes before the attributes are checked (as Linux).
    assert_eq!(
        open(k, "/two", RDWR | CREAT, 0o600, Some((0, 0))),
        Err(ENOSPC)
    );
    // Opening an existing queue is not creating one.
    let b = open(k, "/one", RDWR, 0, None).unwrap();
    e.k.close(a).unwrap();
    e.k.close(b).unwrap();
    unlink(k, "/one").unwrap();
}

#[test]
fn tunables_change_what_mq_open_accepts() {
    let e = env();
    let k = &e.k;
    let acct = &k.ipc().acct;
    assert_eq!(
        open(k, "/big", RDWR | CREAT, 0o600, Some((20, 100))),
        Err(EINVAL)
    );
    write_tunable(acct, &ROOT, MqTunable::MsgMax, 20).unwrap();
    write_tunable(acct, &ROOT, MqTunable::MsgDefault, 3).unwrap();
    write_tunable(acct, &ROOT, MqTunable::MsgsizeDefault, 128).unwrap();
    let big = open(k, "/big", RDWR | CREAT, 0o600, Some((20, 100))).unwrap();
    let dflt = open(k, "/dflt", RDWR | CREAT, 0o600, None).unwrap();
    assert_eq!(getattr(k, dflt), Ok([0, 3, 128, 0]));
    // Lowering a ceiling leaves existing queues alone.
    write_tunable(acct, &ROOT, MqTunable::MsgMax, 10).unwrap();
    assert_eq!(getattr(k, big).unwrap()[1], 20);
    assert_eq!(read_tunable(acct, MqTunable::MsgMax), 10);
    e.k.close(big).unwrap();
    e.k.close(dflt).unwrap();
    unlink(k, "/big").unwrap();
    unlink(k, "/dflt").unwrap();
}

#[test]
fn huge_sizes_allocate_nothing_before_validation() {
    let e = env();
    let k = &e.k;
    let fd = small(&e, "/huge", 1, 16);
    let r = common::sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, 0x1000, usize::MAX / 2, 0, 0]);
    assert_eq!(r, Err(EMSGSIZE));
    let r = common::sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, 0x1000, usize::MAX, 0, 0]);
    assert_eq!(r, Err(EFAULT), "a wrapping range");
    let nb = open(k, "/huge", RDWR | NONBLOCK, 0, None).unwrap();
    let r = common::sys(
        k,
        SYS_RB_MQ_TIMEDRECEIVE,
        &[nb, 0x1000, usize::MAX / 2, 0, 0],
    );
    assert_eq!(r, Err(EAGAIN), "a huge buffer allocates nothing");
    e.k.close(nb).unwrap();
    let root = e.k.spawn_process(ROOT);
    let k2 = e.k.clone();
    let r =
        e.k.spawn_task(&root, move || {
            open(&k2, "/hh", RDWR | CREAT, 0o600, Some((i64::MAX, i64::MAX)))
        })
        .join()
        .unwrap();
    assert_eq!(r, Err(EINVAL));
    e.k.close(fd).unwrap();
    unlink(k, "/huge").unwrap();
}
