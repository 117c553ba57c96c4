//! timerfd (`sys/timerfd.h`): timerfd_create, timerfd_settime,
//! timerfd_gettime. Expirations are read with libc's read(2).
//!
//! Clock ids: libc's CLOCK_REALTIME/CLOCK_MONOTONIC are translated (Redox
//! relibc 1/4 -> 0/1); on Linux-layout targets every id passes as is (the
//! kernel ABI's ids are Linux's), so CLOCK_BOOTTIME and the _ALARM clocks
//! reach the kernel, which decides (EINVAL, EPERM). `TFD_TIMER_*` are
//! Linux's values, which are the kernel ABI's.

use core::ffi::c_int;
use core::mem::size_of;

use redbear_ipc::errno::{EFAULT, EINVAL};
use redbear_ipc::syscall::abi::FD_SLOT_ANY;
use redbear_ipc::syscall::numbers::{
    SYS_RB_TIMERFD_CREATE, SYS_RB_TIMERFD_GETTIME, SYS_RB_TIMERFD_SETTIME,
};

use crate::cabi::{self, Timespec};
use crate::sys::{self, fail, status};

/// `TFD_TIMER_ABSTIME`.
pub const TFD_TIMER_ABSTIME: c_int = 1;
/// `TFD_TIMER_CANCEL_ON_SET`.
pub const TFD_TIMER_CANCEL_ON_SET: c_int = 2;

/// C `struct itimerspec`: 32 bytes, the kernel ABI's layout on LP64.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Itimerspec {
    /// The period (zero: one-shot).
    pub it_interval: Timespec,
    /// The first expiry (zero: disarm).
    pub it_value: Timespec,
}

const SIZE: usize = 32;
const _: () = assert!(size_of::<Itimerspec>() == SIZE);

impl Itimerspec {
    fn to_abi(self) -> [u8; SIZE] {
        let mut raw = [0u8; SIZE];
        raw[..16].copy_from_slice(&self.it_interval.to_abi());
        raw[16..].copy_from_slice(&self.it_value.to_abi());
        raw
    }

    fn from_abi(raw: &[u8; SIZE]) -> Self {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&raw[i * 8..i * 8 + 8]);
            i64::from_ne_bytes(w)
        };
        Itimerspec {
            it_interval: Timespec {
                tv_sec: word(0),
                tv_nsec: word(1),
            },
            it_value: Timespec {
                tv_sec: word(2),
                tv_nsec: word(3),
            },
        }
    }
}

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

/// Runs `f` with the user address of a buffer for an itimerspec the kernel
/// writes (0 when `out` is null), then stores it at `out`.
///
/// # Safety
/// `out` is null or writable.
unsafe fn with_out(
    out: *mut Itimerspec,
    f: impl FnOnce(usize) -> Result<usize, c_int>,
) -> Result<(), c_int> {
    if out.is_null() {
        return f(0).map(|_| ());
    }
    let mut raw = [0u8; SIZE];
    sys::with_user_out(&mut raw, f)?;
    // SAFETY: non-null and writable per the caller.
    unsafe { out.write_unaligned(Itimerspec::from_abi(&raw)) };
    Ok(())
}

/// `int timerfd_settime(int fd, int flags, const struct itimerspec *new,
/// struct itimerspec *old)`.
///
/// # Safety
/// `new` is null (EFAULT) or readable; `old` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn timerfd_settime(
    fd: c_int,
    flags: c_int,
    new: *const Itimerspec,
    old: *mut Itimerspec,
) -> c_int {
    if new.is_null() {
        return fail(EFAULT, -1);
    }
    // SAFETY: non-null, readable per the caller.
    let new = unsafe { new.read_unaligned() }.to_abi();
    status(sys::with_user_bytes(&new, |new_ptr| {
        // SAFETY: forwarded from the caller; the staged buffers live for
        // the call.
        unsafe {
            with_out(old, |old_ptr| {
                sys::syscall(
                    SYS_RB_TIMERFD_SETTIME,
                    &[fd as usize, flags as usize, new_ptr, old_ptr],
                )
            })
        }
    }))
}

/// `int timerfd_gettime(int fd, struct itimerspec *curr)`.
///
/// # Safety
/// `curr` is null (EFAULT) or writable.
#[no_mangle]
pub unsafe extern "C" fn timerfd_gettime(fd: c_int, curr: *mut Itimerspec) -> c_int {
    if curr.is_null() {
        return fail(EFAULT, -1);
    }
    // SAFETY: forwarded from the caller.
    status(unsafe {
        with_out(curr, |ptr| {
            sys::syscall(SYS_RB_TIMERFD_GETTIME, &[fd as usize, ptr])
        })
    })
}
