//! The harness's per-step checks on short hand-made sequences: they hold
//! on the kernel as it is. Each check is one that a broken kernel fails at
//! the step itself, not only at the end of the input (a leaked eventfd:
//! "charged eventfds are not the eventfds an fd reaches" at the close; a
//! call that an exit does not end: the exit step's own check).

use redbear_ipc::syscall::numbers::{BASE, SYS_RB_EVENTFD2, SYS_RB_FUTEX_WAIT};
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

#[test]
fn an_exit_ends_its_blocked_call_at_once() {
    let mut w = World::new();
    // FUTEX_WAIT on a shared word that holds 0, expecting 0, no timeout.
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
    w.step(&Op::Exit { who: 0 });
    w.teardown();
}
