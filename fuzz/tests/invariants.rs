//! The harness's per-step checks on short hand-made sequences: they hold
//! on the kernel as it is. Each check is one that a broken kernel fails at
//! the step itself, not only at the end of the input (a leaked eventfd:
//! "charged eventfds are not the eventfds an fd reaches" at the close; a
//! call that an exit does not end: the exit step's own check; an object
//! that holds other contents than the calls that succeeded leave: the
//! step after which it differs, through the model of `model.rs`).

use redbear_ipc::ipc::fd::eventfd::EventFd;
use redbear_ipc::ipc::mq::queue::MessageQueue;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::numbers::{
    BASE, SYS_RB_EVENTFD2, SYS_RB_FUTEX_WAIT, SYS_RB_MQ_OPEN, SYS_RB_MQ_TIMEDRECEIVE,
    SYS_RB_MQ_TIMEDSEND, SYS_RB_MSGCTL, SYS_RB_MSGGET, SYS_RB_MSGRCV, SYS_RB_MSGSND, SYS_RB_SEMCTL,
    SYS_RB_SEMGET, SYS_RB_SEMTIMEDOP,
};
use redbear_ipc_fuzz::ops::{Arg, FileOp, Op};
use redbear_ipc_fuzz::world::World;

/// The harness's `nr` byte for system call `nr`.
fn nr(call: usize) -> u8 {
    (call - (BASE - 2)) as u8
}

#[test]
fn a_closed_eventfd_is_refunded_at_its_close() {
    let mut w = World::new();
    let mut args = [Arg::Small(0); 6];
    args[0] = Arg::Small(3);
    w.step(&Op::Call {
        who: 0,
        nr: nr(SYS_RB_EVENTFD2),
        args,
    });
    w.step(&Op::File {
        who: 0,
        fd: 0,
        what: FileOp::Close,
        arg: Arg::Null,
        len: 0,
    });
    w.teardown();
}

/// Process 0 spawns a FUTEX_WAIT on a shared word that holds 0,
/// expecting 0, with no timeout: a call that sleeps until something ends
/// it.
fn spawn_futex_wait(w: &mut World) {
    let args = [
        Arg::Shared(0),
        Arg::Small(0),
        Arg::Null,
        Arg::Small(0),
        Arg::Word(u64::from(u32::MAX)),
        Arg::Small(0),
    ];
    w.step(&Op::Spawn {
        who: 0,
        nr: nr(SYS_RB_FUTEX_WAIT),
        args,
    });
}

#[test]
fn an_exit_ends_its_blocked_call_at_once() {
    let mut w = World::new();
    spawn_futex_wait(&mut w);
    w.step(&Op::Exit { who: 0 });
    w.teardown();
}

/// A call of process 0 with these registers (the rest 0).
fn call(nr_: usize, regs: &[Arg]) -> Op {
    let mut args = [Arg::Small(0); 6];
    args[..regs.len()].copy_from_slice(regs);
    Op::Call {
        who: 0,
        nr: nr(nr_),
        args,
    }
}

/// Writes `bytes` at offset `at` of process 0's region.
fn poke(at: u8, bytes: &[u8]) -> Op {
    Op::Poke {
        who: 0,
        shared: false,
        offset: at,
        bytes: bytes.to_vec(),
    }
}

/// IPC_PRIVATE with IPC_CREAT and mode 0600.
const PRIVATE_0600: u64 = 0o1600;
/// MSG_NOERROR.
const MSG_NOERROR: u64 = 0o10000;

#[test]
fn sysv_queue_contents_follow_sends_and_receives() {
    let mut w = World::new();
    // msgget(IPC_PRIVATE): the id is the first value remembered.
    w.step(&call(
        SYS_RB_MSGGET,
        &[Arg::Small(0), Arg::Word(PRIVATE_0600)],
    ));
    // A msgbuf of type 1 and text "hello" at offset 0.
    let mut buf = 1u64.to_ne_bytes().to_vec();
    buf.extend_from_slice(b"hello");
    w.step(&poke(0, &buf));
    let snd = |len| call(SYS_RB_MSGSND, &[Arg::Id(0), Arg::Mine(0), Arg::Small(len)]);
    w.step(&snd(5));
    w.step(&snd(3));
    let queue = || w.kernel().ipc().sysv.msg.contents()[0];
    assert_eq!((queue().1, queue().2), (2, 8), "two messages, 8 bytes");
    // msgrcv of any type into offset 64: takes the 5-byte message.
    let rcv = |len, flags| {
        call(
            SYS_RB_MSGRCV,
            &[
                Arg::Id(0),
                Arg::Mine(64),
                Arg::Small(len),
                Arg::Small(0),
                Arg::Word(flags),
            ],
        )
    };
    w.step(&rcv(200, 0));
    // MSG_NOERROR into 3 bytes: the model cannot tell a cut message from
    // one of 3 bytes, and knows the bytes again once the queue is empty.
    w.step(&snd(5));
    w.step(&rcv(3, MSG_NOERROR));
    w.step(&rcv(3, MSG_NOERROR));
    let queue = w.kernel().ipc().sysv.msg.contents()[0];
    assert_eq!((queue.1, queue.2), (0, 0), "every message received");
    w.teardown();
}

#[test]
fn sysv_semaphore_values_follow_semop_and_setval() {
    let mut w = World::new();
    // semget(IPC_PRIVATE, 2): the id is the first value remembered.
    w.step(&call(
        SYS_RB_SEMGET,
        &[Arg::Small(0), Arg::Small(2), Arg::Word(PRIVATE_0600)],
    ));
    // sembufs {0, +3, 0} and {1, +2, 0}, then {0, -1, 0}.
    let sembuf = |num: u16, op: i16| {
        let mut b = num.to_ne_bytes().to_vec();
        b.extend_from_slice(&op.to_ne_bytes());
        b.extend_from_slice(&0i16.to_ne_bytes());
        b
    };
    let mut two = sembuf(0, 3);
    two.extend(sembuf(1, 2));
    w.step(&poke(0, &two));
    w.step(&poke(32, &sembuf(0, -1)));
    // semop runs on a thread of its own; it does not block here.
    let semop = |at, n| {
        call(
            SYS_RB_SEMTIMEDOP,
            &[Arg::Id(0), Arg::Mine(at), Arg::Small(n)],
        )
    };
    w.step(&semop(0, 2));
    w.step(&semop(32, 1));
    // semctl(id, 1, SETVAL, 7).
    w.step(&call(
        SYS_RB_SEMCTL,
        &[Arg::Id(0), Arg::Small(1), Arg::Small(16), Arg::Small(7)],
    ));
    w.step(&semop(0, 2));
    let values = w.kernel().ipc().sysv.sem.contents()[0].1.clone();
    assert_eq!(values, [5, 9], "3 - 1 + 3 and 7 + 2");
    w.teardown();
}

#[test]
fn eventfd_counts_follow_writes_and_reads() {
    let mut w = World::new();
    // eventfd2(3, EFD_SEMAPHORE): fd 0 of process 0.
    w.step(&call(
        SYS_RB_EVENTFD2,
        &[Arg::Small(3), Arg::Small(1 << 2), Arg::Word(u64::MAX)],
    ));
    w.step(&poke(0, &5u64.to_ne_bytes()));
    let file = |what| Op::File {
        who: 0,
        fd: 0,
        what,
        arg: Arg::Mine(0),
        len: 8,
    };
    w.step(&file(FileOp::Write));
    w.step(&file(FileOp::Read));
    w.step(&file(FileOp::Read));
    let count = w
        .process(0)
        .fds()
        .get(0)
        .ok()
        .and_then(|f| f.downcast::<EventFd>().map(EventFd::count));
    assert_eq!(count, Some(6), "3 + 5, two reads of 1");
    w.teardown();
}

#[test]
fn posix_queue_counts_follow_sends_and_receives() {
    let mut w = World::new();
    // mq_open("/q", O_CREAT | O_RDWR, 0600, default attributes): fd 0.
    w.step(&poke(0, b"/q"));
    w.step(&call(
        SYS_RB_MQ_OPEN,
        &[
            Arg::Mine(0),
            Arg::Small(2),
            Arg::Small(1 << 2 | 1 << 1),
            Arg::Word(0o600),
            Arg::Null,
            Arg::Word(u64::MAX),
        ],
    ));
    w.step(&poke(16, b"abc"));
    // Sends and receives run on threads of their own; none blocks here.
    let send = call(
        SYS_RB_MQ_TIMEDSEND,
        &[Arg::Small(0), Arg::Mine(16), Arg::Small(3)],
    );
    w.step(&send);
    w.step(&send);
    w.step(&call(
        SYS_RB_MQ_TIMEDRECEIVE,
        &[Arg::Small(0), Arg::Shared(0), Arg::Word(8192)],
    ));
    let held = w.kernel().ipc().mqueues.len();
    assert_eq!(held, 1, "the queue exists");
    let count = w
        .process(0)
        .fds()
        .get(0)
        .ok()
        .and_then(|f| f.downcast::<MessageQueue>().map(MessageQueue::curmsgs));
    assert_eq!(count, Some(1), "two sent, one received");
    w.teardown();
}

#[test]
fn a_removal_ends_the_calls_blocked_on_the_queue_at_once() {
    let mut w = World::new();
    w.step(&call(
        SYS_RB_MSGGET,
        &[Arg::Small(0), Arg::Word(PRIVATE_0600)],
    ));
    // A msgrcv that sleeps on the empty queue, on a thread of its own.
    let mut args = [Arg::Small(0); 6];
    args[..3].copy_from_slice(&[Arg::Id(0), Arg::Mine(0), Arg::Small(64)]);
    w.step(&Op::Spawn {
        who: 0,
        nr: nr(SYS_RB_MSGRCV),
        args,
    });
    assert_eq!(
        w.kernel().ipc().sysv.msg.blocked(0),
        Ok((1, 0)),
        "the receiver sleeps"
    );
    // msgctl(id, IPC_RMID): the step itself waits for the receiver's end.
    w.step(&call(SYS_RB_MSGCTL, &[Arg::Id(0), Arg::Small(0)]));
    w.teardown();
}

#[test]
fn a_signal_ends_the_blocked_calls_of_its_process_at_once() {
    let mut w = World::new();
    spawn_futex_wait(&mut w);
    assert_eq!(w.kernel().parked_tasks(), 1, "the waiter sleeps");
    // SIGUSR1 (10): the step itself waits for the wait's end (EINTR).
    w.step(&Op::Signal { to: 0, sig: 9 });
    assert_eq!(w.kernel().parked_tasks(), 0, "the waiter was interrupted");
    w.teardown();
}

#[test]
fn a_passed_deadline_ends_its_call_at_once() {
    let mut w = World::new();
    w.step(&call(
        SYS_RB_SEMGET,
        &[Arg::Small(0), Arg::Small(1), Arg::Word(PRIVATE_0600)],
    ));
    // A sembuf {0, -1, 0} at 0 and a relative timeout of 1 ms at 32.
    let mut down = 0u16.to_ne_bytes().to_vec();
    down.extend_from_slice(&(-1i16).to_ne_bytes());
    down.extend_from_slice(&0i16.to_ne_bytes());
    w.step(&poke(0, &down));
    let mut ts = 0i64.to_ne_bytes().to_vec();
    ts.extend_from_slice(&1_000_000i64.to_ne_bytes());
    w.step(&poke(32, &ts));
    // semtimedop on the set whose value is 0: it sleeps.
    w.step(&call(
        SYS_RB_SEMTIMEDOP,
        &[Arg::Id(0), Arg::Mine(0), Arg::Small(1), Arg::Mine(32)],
    ));
    assert_eq!(w.kernel().parked_tasks(), 1, "the semop sleeps");
    // 2 ms later: the step itself waits for the semop's end (EAGAIN).
    w.step(&Op::Advance { ns: 2_000_000 });
    assert_eq!(w.kernel().parked_tasks(), 0, "the semop timed out");
    w.teardown();
}
