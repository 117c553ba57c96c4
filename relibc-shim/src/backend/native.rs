//! The real backend: traps into the kernel; C memory is user memory.

use core::ffi::c_int;

use redbear_ipc::kernel::ClockId;

use crate::cabi::Timespec;

extern "C" {
    /// libc's close(2): closes an fd of the caller's table (relibc on Redox,
    /// the testbed's libc under QEMU).
    fn close(fd: c_int) -> c_int;
    fn __errno_location() -> *mut c_int;
}

/// Traps with syscall `nr`.
///
/// # Safety
/// As for `arch::syscall6`.
pub unsafe fn raw_syscall(nr: usize, a: [usize; 6]) -> usize {
    // SAFETY: forwarded from the caller.
    unsafe { crate::arch::syscall6(nr, a) }
}

/// The kernel reads `bytes` where they are.
pub fn with_user_bytes<R>(bytes: &[u8], f: impl FnOnce(usize) -> R) -> R {
    f(bytes.as_ptr() as usize)
}

/// Deadlines need no translation: libc's clocks are the kernel's.
pub fn rebase_deadline(ts: Timespec, _clock: ClockId) -> Timespec {
    ts
}

/// libc's close.
pub fn close_fd(fd: usize) -> Result<(), c_int> {
    let Ok(fd) = c_int::try_from(fd) else {
        return Err(redbear_ipc::errno::EBADF);
    };
    // SAFETY: close takes any int; errno is the caller thread's.
    unsafe {
        if close(fd) == 0 {
            Ok(())
        } else {
            Err(*__errno_location())
        }
    }
}
