//! The real backend: traps into the kernel; C memory is user memory.

use core::ffi::c_int;

use redbear_ipc::kernel::ClockId;

use crate::cabi::Timespec;

extern "C" {
    /// libc's close(2): closes an fd of the caller's table (relibc on Redox,
    /// the testbed's libc under QEMU).
    fn close(fd: c_int) -> c_int;
    /// libc's read(2) and write(2): eventfd_read/eventfd_write.
    fn read(fd: c_int, buf: *mut u8, len: usize) -> isize;
    fn write(fd: c_int, buf: *const u8, len: usize) -> isize;
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

/// Copies C memory at `ptr` into `out` (false if null); a bad pointer
/// faults in the caller, as glibc's own reads of its arguments do.
///
/// # Safety
/// A non-null `ptr` is readable for `out.len()` bytes.
pub unsafe fn read_c(ptr: *const u8, out: &mut [u8]) -> bool {
    if ptr.is_null() {
        return false;
    }
    // SAFETY: the caller's promise.
    unsafe { core::ptr::copy_nonoverlapping(ptr, out.as_mut_ptr(), out.len()) };
    true
}

/// The kernel reads the caller's memory where it is (EFAULT is its own).
pub fn with_c_in<R>(ptr: *const u8, _len: usize, f: impl FnOnce(usize) -> R) -> R {
    f(ptr as usize)
}

/// The kernel writes the caller's memory where it is.
pub fn with_c_out<R>(ptr: *mut u8, _len: usize, f: impl FnOnce(usize) -> R) -> R {
    f(ptr as usize)
}

/// libc's read into the caller's buffer (the kernel checks it).
///
/// # Safety
/// None: read(2) gives EFAULT for a bad `buf`.
pub unsafe fn fd_read(fd: c_int, buf: *mut u8, len: usize) -> Result<usize, c_int> {
    // SAFETY: the kernel checks buf; errno is the thread's.
    unsafe {
        let n = read(fd, buf, len);
        usize::try_from(n).map_err(|_| *__errno_location())
    }
}

/// libc's write.
pub fn fd_write(fd: c_int, buf: &[u8]) -> Result<usize, c_int> {
    // SAFETY: buf is readable for its length; errno is the thread's.
    unsafe {
        let n = write(fd, buf.as_ptr(), buf.len());
        usize::try_from(n).map_err(|_| *__errno_location())
    }
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
