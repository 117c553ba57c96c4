//! The common trap handlers the arch entry code calls.

use crate::arch::{FaultInfo, TrapFrame};
use crate::{process, sched, sigframe, syscall};
use redbear_ipc::syscall::numbers::{
    SYS_RB_FUTEX_WAIT, SYS_RB_MQ_TIMEDRECEIVE, SYS_RB_MQ_TIMEDSEND, SYS_RB_SEM_WAIT,
};
use testbed_abi::{errno::EINTR, nr, sig, KILLED_BASE};

/// A system call from user mode. True when the frame was replaced (a
/// signal frame or a sigreturn): x86_64 then returns through `iretq`.
pub fn on_syscall(frame: &mut TrapFrame) -> bool {
    let (num, args) = frame.syscall_args();
    sched::count_syscall(num);
    if num == nr::SIGRETURN {
        if !sigframe::sigreturn(frame) {
            process::exit_by_signal(sig::SIGSEGV);
        }
        leave(frame, None);
        return true;
    }
    let ret = if num == nr::FORK {
        process::fork(frame).map_or_else(|e| -e.abs() as usize, |p| p as usize)
    } else if num == nr::SIGALTSTACK {
        crate::sigcalls::sigaltstack(frame.user_sp(), args[0], args[1])
            .map_or_else(|e| -e.abs() as usize, |v| v)
    } else if num == nr::EXEC {
        match crate::exec::exec(frame, args) {
            Ok(()) => {
                leave(frame, None);
                return true;
            }
            Err(e) => -e.abs() as usize,
        }
    } else if num < nr::END {
        syscall::dispatch(num, args) as usize
    } else {
        crate::ipc::dispatch(num, args)
    };
    frame.set_return(ret);
    let restart = (ret as isize == -EINTR && restartable(num, &args)).then_some((num, args));
    leave(frame, restart)
}

/// The calls Linux restarts after a handler with SA_RESTART (measured on
/// Linux 6.18 / glibc 2.36: read of an eventfd, waitpid, a futex or
/// sem_wait without a timeout, and mq_send / mq_receive with or without
/// their absolute timeout, `c/posix_ipc_signals.c`). Everything else
/// returns EINTR: sleeps, poll, the other timed waits, the SysV calls.
fn restartable(num: usize, args: &[usize; 6]) -> bool {
    match num {
        nr::READ | nr::WAIT_PROCESS | nr::WAITPID => true,
        SYS_RB_MQ_TIMEDSEND | SYS_RB_MQ_TIMEDRECEIVE => true,
        SYS_RB_FUTEX_WAIT | SYS_RB_SEM_WAIT => args[2] == 0,
        _ => false,
    }
}

/// A timer tick (from user mode or the idle loop) of any CPU; timerfds
/// expire on the boot CPU's, which is the clock's.
pub fn on_timer(frame: &mut TrapFrame) {
    if sched::current() != 0 {
        sched::note_user_pc(frame.user_pc());
        sched::count_trap(sched::Trap::Tick);
    }
    if crate::arch::cpu_index() == 0 {
        crate::ipc::timer_tick();
    }
    sched::on_tick();
    if sched::current() != 0 {
        leave(frame, None);
    }
}

/// The wake-up IPI of any CPU: from the idle loop it only ends the wait;
/// from user mode it takes the way back that acts on pending signals (a
/// signal sent from another CPU to the task running here,
/// `sched::interrupt`).
pub fn on_wake(frame: &mut TrapFrame) {
    if sched::current() != 0 {
        sched::count_trap(sched::Trap::Wake);
        leave(frame, None);
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
    process::exit_by_signal(sig::SIGSEGV)
}

/// On the way back to user mode: exit if killed, then act on the pending
/// signals (`sigframe::deliver`). True if a handler frame was set up.
///
/// Most returns have nothing to do: unless a signal was queued, a mask
/// changed or a task was killed since this task last left with nothing
/// to do (`sched::signal_events`), no lookup is made. The count is read
/// before the state, so a change made meanwhile is seen next time.
fn leave(frame: &mut TrapFrame, restart: Option<(usize, [usize; 6])>) -> bool {
    let events = sched::signal_events();
    if sched::quiet_since(events) {
        return false;
    }
    let (killed, _) = sched::current_killed_and_mask();
    if killed {
        let pid = sched::current_pid();
        let status = process::status_of(pid)
            .and_then(|s| s.1)
            .unwrap_or(KILLED_BASE + sig::SIGKILL as i32);
        sched::exit_current(status);
    }
    sched::count_trap(sched::Trap::Lookup);
    // A handler frame delivers one signal per return: more may be pending.
    let entered = sigframe::deliver(frame, restart);
    if !entered {
        sched::set_quiet(events);
    }
    entered
}
