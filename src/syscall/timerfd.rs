//! timerfd_create, timerfd_settime, timerfd_gettime.

use crate::errno::{err, Errno, EINVAL, EPERM};
use crate::ipc::common::file::probe_writable;
use crate::ipc::fd::timerfd::{SetFlags, TimerFd};
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{
    flags, FdFlags, TimerSetFlags, CLOCK_BOOTTIME_ALARM, CLOCK_REALTIME_ALARM, ITIMERSPEC_SIZE,
};
use crate::syscall::user;

/// Runs `f` on the timerfd behind `fd`: EBADF if not open, EINVAL if the
/// fd is another kind of file.
fn with_timer<K: Kernel + ?Sized, R>(
    k: &K,
    fd: usize,
    f: impl FnOnce(&TimerFd) -> R,
) -> Result<R, Errno> {
    let file = k.get_fd(fd)?;
    match file.as_any().downcast_ref::<TimerFd>() {
        Some(t) => Ok(f(t)),
        None => err(EINVAL),
    }
}

/// timerfd_create(clockid, flags, fd_slot) -> fd. The alarm clocks need
/// privilege (EPERM) and run as their base clocks.
pub fn create<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [clock, raw_flags, fd_slot, ..] = a;
    let f: FdFlags = flags(raw_flags)?;
    if f.contains(FdFlags::SEMAPHORE) {
        return err(EINVAL);
    }
    let clock = match clock {
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if !k.credentials().privileged() => {
            return err(EPERM)
        }
        CLOCK_REALTIME_ALARM => ClockId::Realtime,
        CLOCK_BOOTTIME_ALARM => ClockId::Boottime,
        other => ClockId::from_abi(other).ok_or(Errno::new(EINVAL))?,
    };
    let tfd = TimerFd::create(k, clock, f.contains(FdFlags::NONBLOCK))?;
    k.install_fd(tfd, user::placement(fd_slot), f.contains(FdFlags::CLOEXEC))
}

/// timerfd_settime(fd, flags, new_ptr, old_ptr). Everything is checked
/// before the timer changes, so EFAULT on `old_ptr` leaves it as it was.
pub fn settime<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [fd, raw_flags, new_ptr, old_ptr, ..] = a;
    // Linux's order: the new value is read (EFAULT, then EINVAL for its
    // ranges), the flags checked, then the fd looked up.
    let new = user::read_itimerspec(k, new_ptr)?;
    let f: TimerSetFlags = flags(raw_flags)?;
    with_timer(k, fd, |_| ())?;
    if old_ptr != 0 {
        probe_writable(k, old_ptr, ITIMERSPEC_SIZE)?;
    }
    let set = SetFlags {
        absolute: f.contains(TimerSetFlags::ABSTIME),
        cancel_on_set: f.contains(TimerSetFlags::CANCEL_ON_SET),
    };
    let old = with_timer(k, fd, |t| t.set(k, new, set))?;
    if old_ptr != 0 {
        user::write_itimerspec(k, old_ptr, old)?;
    }
    Ok(0)
}

/// timerfd_gettime(fd, cur_ptr)
pub fn gettime<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [fd, cur_ptr, ..] = a;
    let cur = with_timer(k, fd, |t| t.get(k))?;
    user::write_itimerspec(k, cur_ptr, cur)?;
    Ok(0)
}
