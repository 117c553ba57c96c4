//! `dispatch`: the one entry from a host kernel's syscall path.

use crate::errno::{err, Errno, ENOSYS};
use crate::kernel::Kernel;
use crate::syscall::args::Args;
use crate::syscall::numbers::*;
use crate::syscall::{eventfd, futex, msg, sem, sem_sysv, signalfd, timerfd};

/// Runs syscall `nr` with `args` for the calling task. Numbers outside the
/// block, and reserved ones, return ENOSYS.
pub fn dispatch<K: Kernel + ?Sized>(k: &K, nr: usize, args: [usize; 6]) -> Result<usize, Errno> {
    match nr {
        SYS_RB_FUTEX_WAIT => futex::wait(k, args),
        SYS_RB_FUTEX_WAKE => futex::wake(k, args),
        SYS_RB_FUTEX_REQUEUE => futex::requeue(k, args, false),
        SYS_RB_FUTEX_CMP_REQUEUE => futex::requeue(k, args, true),
        SYS_RB_SEM_INIT => sem::init(k, args),
        SYS_RB_SEM_POST => sem::post(k, args),
        SYS_RB_SEM_WAIT => sem::wait(k, args),
        SYS_RB_SEM_GETVALUE => sem::get_value(k, args),
        SYS_RB_SEM_OPEN => sem::open(k, args),
        SYS_RB_SEM_UNLINK => sem::unlink(k, args),
        SYS_RB_SEMGET => sem_sysv::semget(k, Args::new(args)),
        SYS_RB_SEMTIMEDOP => sem_sysv::semtimedop(k, Args::new(args)),
        SYS_RB_SEMCTL => sem_sysv::semctl(k, Args::new(args)),
        SYS_RB_MSGGET => msg::msgget(k, args),
        SYS_RB_MSGSND => msg::msgsnd(k, args),
        SYS_RB_MSGRCV => msg::msgrcv(k, args),
        SYS_RB_MSGCTL => msg::msgctl(k, args),
        SYS_RB_EVENTFD2 => eventfd::eventfd2(k, args),
        SYS_RB_SIGNALFD4 => signalfd::signalfd4(k, args),
        SYS_RB_TIMERFD_CREATE => timerfd::create(k, args),
        SYS_RB_TIMERFD_SETTIME => timerfd::settime(k, args),
        SYS_RB_TIMERFD_GETTIME => timerfd::gettime(k, args),
        _ => err(ENOSYS),
    }
}

/// `dispatch` with the result folded into one register value: the value,
/// or `-errno` (Redox's `Error::mux`).
pub fn dispatch_raw<K: Kernel + ?Sized>(k: &K, nr: usize, args: [usize; 6]) -> usize {
    Errno::mux(dispatch(k, nr, args))
}
