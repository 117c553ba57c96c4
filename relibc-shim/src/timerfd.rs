//! timerfd (`sys/timerfd.h`): timerfd_create, timerfd_settime,
//! timerfd_gettime. Expirations are read with libc's read(2).
//!
//! Clock ids: libc's CLOCK_REALTIME/CLOCK_MONOTONIC are translated (Redox
//! relibc 1/4 -> 0/1); on Linux-layout targets every id passes as is (the
//! kernel ABI's ids are Linux's), so CLOCK_BOOTTIME and the _ALARM clocks
//! reach the kernel, which decides (EINVAL, EPERM). `TFD_TIMER_*` are
//! Linux's values, which are the kernel ABI's.

use core::ffi::c_int;
use core::mem::{offset_of, size_of};

use redbear_ipc::errno::EINVAL;
use redbear_ipc::syscall::abi::{FD_SLOT_ANY, ITIMERSPEC_SIZE, TIMESPEC_SIZE};
use redbear_ipc::syscall::numbers::{
    SYS_RB_TIMERFD_CREATE, SYS_RB_TIMERFD_GETTIME, SYS_RB_TIMERFD_SETTIME,
};

use crate::cabi::{self, Timespec};
use crate::sys::{self, fail, status};

/// `TFD_TIMER_ABSTIME`.
pub const TFD_TIMER_ABSTIME: c_int = 1;
/// `TFD_TIMER_CANCEL_ON_SET`.
pub const TFD_TIMER_CANCEL_ON_SET: c_int = 2;

/// C `struct itimerspec`: 32 bytes, the kernel ABI's layout on LP64, so
/// the caller's pointers go to the kernel unchanged (it answers EFAULT for
/// bad ones, null included, as Linux does). A target whose layout differs
/// fails these assertions rather than passing the kernel garbage.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Itimerspec {
    /// The period (zero: one-shot).
    pub it_interval: Timespec,
    /// The first expiry (zero: disarm).
    pub it_value: Timespec,
}

const _: () = {
    assert!(size_of::<Itimerspec>() == ITIMERSPEC_SIZE);
    assert!(offset_of!(Itimerspec, it_interval) == 0);
    assert!(offset_of!(Itimerspec, it_value) == TIMESPEC_SIZE);
};

#[cfg(target_os = "redox")]
fn clock_to_abi(clock: c_int) -> Option<usize> {
    cabi::wait_clock(clock).map(|c| c as usize)
}

#[cfg(not(target_os = "redox"))]
fn clock_to_abi(clock: c_int) -> Option<usize> {
    usize::try_from(clock).ok()
}

/// `int timerfd_create(clockid_t clockid, int flags)`: TFD_NONBLOCK,
/// TFD_CLOEXEC; other bits EINVAL.
#[no_mangle]
pub extern "C" fn timerfd_create(clockid: c_int, flags: c_int) -> c_int {
    let (Some(clock), Some(f)) = (clock_to_abi(clockid), cabi::fd_flags(flags, 0)) else {
        return fail(EINVAL, -1);
    };
    // SAFETY: no pointers.
    sys::fd_result(unsafe { sys::syscall(SYS_RB_TIMERFD_CREATE, &[clock, f.bits(), FD_SLOT_ANY]) })
}

/// `int timerfd_settime(int fd, int flags, const struct itimerspec *new,
/// struct itimerspec *old)`: both pointers go to the kernel as they are.
///
/// # Safety
/// None in the shim: the kernel checks `new` and `old` (null `old`: none).
#[no_mangle]
pub unsafe extern "C" fn timerfd_settime(
    fd: c_int,
    flags: c_int,
    new: *const Itimerspec,
    old: *mut Itimerspec,
) -> c_int {
    status(
        sys::with_c_in(new.cast(), ITIMERSPEC_SIZE, |new_ptr| {
            let old_len = if old.is_null() { 0 } else { ITIMERSPEC_SIZE };
            sys::with_c_out(old.cast(), old_len, |old_ptr| {
                // SAFETY: the kernel checks both pointers.
                unsafe {
                    sys::syscall(
                        SYS_RB_TIMERFD_SETTIME,
                        &[fd as usize, flags as usize, new_ptr, old_ptr],
                    )
                }
            })
        })
        .map(|_| ()),
    )
}

/// `int timerfd_gettime(int fd, struct itimerspec *curr)`: `curr` goes to
/// the kernel as it is.
///
/// # Safety
/// None in the shim: the kernel checks `curr` (null: EFAULT).
#[no_mangle]
pub unsafe extern "C" fn timerfd_gettime(fd: c_int, curr: *mut Itimerspec) -> c_int {
    status(
        sys::with_c_out(curr.cast(), ITIMERSPEC_SIZE, |ptr| {
            // SAFETY: the kernel checks the pointer.
            unsafe { sys::syscall(SYS_RB_TIMERFD_GETTIME, &[fd as usize, ptr]) }
        })
        .map(|_| ()),
    )
}
