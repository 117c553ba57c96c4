//! The common trap handlers the arch entry code calls.

use crate::arch::{FaultInfo, TrapFrame};
use crate::{process, sched, syscall};
use testbed_abi::{sig, KILLED_BASE};

/// A system call from user mode.
pub fn on_syscall(frame: &mut TrapFrame) {
    let (nr, args) = frame.syscall_args();
    process::with_current(|p| p.syscalls += 1);
    let ret = if nr < testbed_abi::nr::END {
        syscall::dispatch(nr, args) as usize
    } else {
        crate::ipc::dispatch(nr, args)
    };
    frame.set_return(ret);
    leave();
}

/// A timer tick (from user mode or the idle loop).
pub fn on_timer() {
    crate::ipc::timer_tick();
    sched::on_tick();
    if sched::current() != 0 {
        leave();
    }
}

/// A fault in user mode: the process ends with 128 + SIGSEGV.
pub fn on_user_fault(_frame: &mut TrapFrame, info: FaultInfo) {
    let pid = sched::current_pid();
    process::with_current(|p| {
        println!(
            "# pid {} ({}) user fault: addr {:#x} cause {:#x}",
            pid, p.name, info.addr, info.cause
        );
    });
    process::exit_group(KILLED_BASE + sig::SIGSEGV as i32)
}

/// On the way back to user mode: exit if killed, act on fatal signals.
fn leave() {
    let (killed, mask) = sched::current_killed_and_mask();
    if killed {
        let pid = sched::current_pid();
        let status = process::status_of(pid)
            .and_then(|s| s.1)
            .unwrap_or(KILLED_BASE + sig::SIGKILL as i32);
        sched::exit_current(status);
    }
    if let Some(s) = process::take_fatal_signal(mask) {
        process::exit_group(KILLED_BASE + s as i32);
    }
}
