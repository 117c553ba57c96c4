//! What every family uses: syscalls with decoded results, errno, and user
//! memory for the arguments that the kernel reads.

use core::ffi::c_int;

use crate::backend;

extern "C" {
    /// errno's location, provided by the libc the shim links into (relibc
    /// on Redox, glibc on the host, the testbed's libc under QEMU).
    fn __errno_location() -> *mut c_int;
}

/// Sets the calling thread's errno.
pub fn set_errno(e: c_int) {
    // SAFETY: libc's errno location is valid for the calling thread.
    unsafe { *__errno_location() = e };
}

/// Sets errno to `e` and returns `ret`: `return fail(EINVAL, -1)`.
pub fn fail<T>(e: c_int, ret: T) -> T {
    set_errno(e);
    ret
}

/// A C function's `int` result: 0, or -1 with errno set.
pub fn status(r: Result<(), c_int>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}

/// Decodes a raw syscall result: values in `-4095..=-1` are `-errno`.
pub fn decode(ret: usize) -> Result<usize, c_int> {
    if ret > (-4096isize) as usize {
        Err(-(ret as isize) as c_int)
    } else {
        Ok(ret)
    }
}

/// Issues syscall `nr` (from `redbear_ipc::syscall::numbers`) with up to six
/// arguments.
///
/// # Safety
/// Pointer arguments must be valid for what the syscall does with them.
pub unsafe fn syscall(nr: usize, args: &[usize]) -> Result<usize, c_int> {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    // SAFETY: forwarded from the caller.
    decode(unsafe { backend::raw_syscall(nr, a) })
}

/// Runs `f` with the user address of a copy of `bytes` that the kernel can
/// read during a syscall made inside `f` (on a real kernel: `bytes`
/// itself).
pub fn with_user_bytes<R>(bytes: &[u8], f: impl FnOnce(usize) -> R) -> R {
    backend::with_user_bytes(bytes, f)
}

/// Closes a kernel fd that a family opened (sem_close).
pub fn close_fd(fd: usize) -> Result<(), c_int> {
    backend::close_fd(fd)
}

/// Runs `f` with the user address at which the kernel reads `len` bytes
/// of the caller's memory at `ptr`: `ptr` itself on a real kernel, so a
/// bad pointer is the kernel's EFAULT, never a fault in the shim (the
/// hosted backend stages readable memory and hands on the rest as is).
pub fn with_c_in<R>(ptr: *const u8, len: usize, f: impl FnOnce(usize) -> R) -> R {
    backend::with_c_in(ptr, len, f)
}

/// Runs `f` with the user address at which the kernel writes `len` bytes
/// of the caller's memory at `ptr` (as `with_c_in`).
pub fn with_c_out<R>(ptr: *mut u8, len: usize, f: impl FnOnce(usize) -> R) -> R {
    backend::with_c_out(ptr, len, f)
}

/// libc's read(2) on an fd of ours into the caller's `buf` (eventfd_read):
/// the pointer goes to the kernel unchanged.
///
/// # Safety
/// None in the shim: `buf` is only ever touched by the kernel.
pub unsafe fn fd_read(fd: c_int, buf: *mut u8, len: usize) -> Result<usize, c_int> {
    // SAFETY: forwarded; the kernel checks `buf`.
    unsafe { backend::fd_read(fd, buf, len) }
}

/// libc's write(2) on an fd of ours (eventfd_write).
pub fn fd_write(fd: c_int, buf: &[u8]) -> Result<usize, c_int> {
    backend::fd_write(fd, buf)
}

/// An fd returned by the kernel as C's `int`.
pub fn fd_result(r: Result<usize, c_int>) -> c_int {
    match r {
        Ok(fd) => fd as c_int,
        Err(e) => fail(e, -1),
    }
}
