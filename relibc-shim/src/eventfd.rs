//! eventfd (`sys/eventfd.h`): eventfd, eventfd_read, eventfd_write.
//!
//! `eventfd` is `SYS_RB_EVENTFD2`; reads and writes of the fd are libc's
//! read(2)/write(2), which reach the kernel object (`eventfd_read` and
//! `eventfd_write` are glibc's 8-byte wrappers over them).

use core::ffi::{c_int, c_uint};
use core::mem::size_of;

use redbear_ipc::errno::EINVAL;
use redbear_ipc::syscall::abi::FD_SLOT_ANY;
use redbear_ipc::syscall::numbers::SYS_RB_EVENTFD2;
use syscall::error::EIO;

use crate::cabi;
use crate::sys::{self, fail};

/// `EFD_SEMAPHORE` (1 on Linux and relibc).
pub const EFD_SEMAPHORE: c_int = 1;

/// `int eventfd(unsigned int initval, int flags)`: EFD_SEMAPHORE,
/// EFD_NONBLOCK, EFD_CLOEXEC; any other bit is EINVAL.
#[no_mangle]
pub extern "C" fn eventfd(initval: c_uint, flags: c_int) -> c_int {
    let Some(f) = cabi::fd_flags(flags, EFD_SEMAPHORE) else {
        return fail(EINVAL, -1);
    };
    // SAFETY: no pointers.
    sys::fd_result(unsafe {
        sys::syscall(SYS_RB_EVENTFD2, &[initval as usize, f.bits(), FD_SLOT_ANY])
    })
}

/// `int eventfd_read(int fd, eventfd_t *value)`: one 8-byte read(2)
/// into `value`, as glibc does: a bad pointer is read(2)'s EFAULT.
///
/// # Safety
/// None in the shim: the kernel checks `value`.
#[no_mangle]
pub unsafe extern "C" fn eventfd_read(fd: c_int, value: *mut u64) -> c_int {
    // SAFETY: the kernel checks the pointer.
    match unsafe { sys::fd_read(fd, value.cast(), size_of::<u64>()) } {
        Ok(8) => 0,
        Ok(_) => fail(EIO, -1),
        Err(e) => fail(e, -1),
    }
}

/// `int eventfd_write(int fd, eventfd_t value)`: one 8-byte write.
#[no_mangle]
pub extern "C" fn eventfd_write(fd: c_int, value: u64) -> c_int {
    match sys::fd_write(fd, &value.to_ne_bytes()) {
        Ok(8) => 0,
        Ok(_) => fail(EIO, -1),
        Err(e) => fail(e, -1),
    }
}
