//! timerfd_create, timerfd_settime, timerfd_gettime: decode the registers
//! (`args`), reach user memory through `uaccess`, call the timer.

use crate::errno::{err, Errno, EINVAL, EPERM};
use crate::ipc::fd::timerfd::{ItimerSpec, SetFlags, TimerFd};
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{FdFlags, TimerSetFlags, CLOCK_BOOTTIME_ALARM, CLOCK_REALTIME_ALARM};
use crate::syscall::args::{Args, Reg};

/// Runs `f` on the timerfd behind `fd`: EBADF if not open, EINVAL if
/// another kind of file. One lookup: `f` acts on the description found,
/// held for the whole call, whatever another thread closes or opens.
fn with_timer<K: Kernel + ?Sized, R>(
    k: &K,
    fd: Reg,
    f: impl FnOnce(&TimerFd) -> Result<R, Errno>,
) -> Result<R, Errno> {
    let file = k.get_fd(fd.fd()?)?;
    match file.downcast::<TimerFd>() {
        Some(t) => f(t),
        None => err(EINVAL),
    }
}

/// timerfd_create(clockid, flags, fd_slot) -> fd. The alarm clocks need
/// privilege (EPERM) and run as their base clocks.
pub fn create<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [clock, flags, fd_slot, ..] = a.regs();
    let f: FdFlags = flags.flags()?;
    if f.contains(FdFlags::SEMAPHORE) {
        return err(EINVAL);
    }
    let clock = match clock.word() {
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if !k.credentials().privileged() => {
            return err(EPERM)
        }
        CLOCK_REALTIME_ALARM => ClockId::Realtime,
        CLOCK_BOOTTIME_ALARM => ClockId::Boottime,
        _ => clock.clock()?,
    };
    let placement = fd_slot.fd_slot()?;
    let tfd = TimerFd::create(k, clock, f.contains(FdFlags::NONBLOCK))?;
    k.install_fd(tfd, placement, f.contains(FdFlags::CLOEXEC))
}

/// timerfd_settime(fd, flags, new_ptr, old_ptr). Everything is checked
/// before the timer changes, so EFAULT on `old_ptr` leaves it as it was.
pub fn settime<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, flags, new_ptr, old_ptr, ..] = a.regs();
    // Linux's order: the new value is read (EFAULT, then EINVAL for its
    // ranges), the flags checked, then the fd looked up, once.
    let new = new_ptr.ptr::<ItimerSpec>().read(k)?;
    let f: TimerSetFlags = flags.flags()?;
    let set = SetFlags {
        absolute: f.contains(TimerSetFlags::ABSTIME),
        cancel_on_set: f.contains(TimerSetFlags::CANCEL_ON_SET),
    };
    let old_ptr = old_ptr.opt_ptr::<ItimerSpec>();
    with_timer(k, fd, |t| {
        if let Some(p) = old_ptr {
            p.bytes()?.probe_writable(k)?;
        }
        let old = t.set(k, new, set);
        if let Some(p) = old_ptr {
            p.write(k, &old)?;
        }
        Ok(0)
    })
}

/// timerfd_gettime(fd, cur_ptr)
pub fn gettime<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, cur_ptr, ..] = a.regs();
    let cur = with_timer(k, fd, |t| Ok(t.get(k)))?;
    cur_ptr.ptr::<ItimerSpec>().write(k, &cur)?;
    Ok(0)
}
