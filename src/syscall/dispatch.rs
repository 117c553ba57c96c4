//! `dispatch`: the one entry from a host kernel's syscall path.

use crate::errno::{err, Errno, ENOSYS};
use crate::kernel::Kernel;
use crate::syscall::args::Args;
use crate::syscall::numbers::*;
use crate::syscall::{eventfd, futex, mq, msg, sem, sem_sysv, signalfd, timerfd};

/// Runs syscall `nr` with `args` for the calling task. Numbers outside the
/// block, and reserved ones, return ENOSYS.
pub fn dispatch<K: Kernel + ?Sized>(k: &K, nr: usize, args: [usize; 6]) -> Result<usize, Errno> {
    let a = Args::new(args);
    match nr {
        SYS_RB_FUTEX_WAIT => futex::wait(k, a),
        SYS_RB_FUTEX_WAKE => futex::wake(k, a),
        SYS_RB_FUTEX_REQUEUE => futex::requeue(k, a, false),
        SYS_RB_FUTEX_CMP_REQUEUE => futex::requeue(k, a, true),
        SYS_RB_SEM_INIT => sem::init(k, a),
        SYS_RB_SEM_POST => sem::post(k, a),
        SYS_RB_SEM_WAIT => sem::wait(k, a),
        SYS_RB_SEM_GETVALUE => sem::get_value(k, a),
        SYS_RB_SEM_OPEN => sem::open(k, a),
        SYS_RB_SEM_UNLINK => sem::unlink(k, a),
        SYS_RB_SEM_MAP => sem::map(k, a),
        SYS_RB_SEM_UNMAP => sem::unmap(k, a),
        SYS_RB_SEMGET => sem_sysv::semget(k, a),
        SYS_RB_SEMTIMEDOP => sem_sysv::semtimedop(k, a),
        SYS_RB_SEMCTL => sem_sysv::semctl(k, a),
        SYS_RB_MQ_OPEN => mq::open(k, a),
        SYS_RB_MQ_UNLINK => mq::unlink(k, a),
        SYS_RB_MQ_TIMEDSEND => mq::timedsend(k, a),
        SYS_RB_MQ_TIMEDRECEIVE => mq::timedreceive(k, a),
        SYS_RB_MQ_GETSETATTR => mq::getsetattr(k, a),
        SYS_RB_MQ_NOTIFY => mq::notify(k, a),
        SYS_RB_MSGGET => msg::msgget(k, a),
        SYS_RB_MSGSND => msg::msgsnd(k, a),
        SYS_RB_MSGRCV => msg::msgrcv(k, a),
        SYS_RB_MSGCTL => msg::msgctl(k, a),
        SYS_RB_EVENTFD2 => eventfd::eventfd2(k, a),
        SYS_RB_SIGNALFD4 => signalfd::signalfd4(k, a),
        SYS_RB_SIGNAL_QUEUED => signalfd::signal_queued(k, a),
        SYS_RB_TIMERFD_CREATE => timerfd::create(k, a),
        SYS_RB_TIMERFD_SETTIME => timerfd::settime(k, a),
        SYS_RB_TIMERFD_GETTIME => timerfd::gettime(k, a),
        _ => err(ENOSYS),
    }
}

/// `dispatch` with the result folded into one register value: the value,
/// or `-errno` (Redox's `Error::mux`).
pub fn dispatch_raw<K: Kernel + ?Sized>(k: &K, nr: usize, args: [usize; 6]) -> usize {
    Errno::mux(dispatch(k, nr, args))
}
