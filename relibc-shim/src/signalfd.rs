//! signalfd (`sys/signalfd.h`): signalfd. Records are read with libc's
//! read(2) as `struct signalfd_siginfo` (128 bytes, Linux's layout).
//!
//! The kernel takes the first 64 signals of the mask (8 bytes: bit
//! `signo - 1`), which is how both glibc's 128-byte `sigset_t` and
//! relibc's 64-bit one begin.

use core::ffi::c_int;
use core::mem::{offset_of, size_of};

use redbear_ipc::errno::EINVAL;
use redbear_ipc::syscall::abi::{FD_NEW, FD_SLOT_ANY, SIGSET_SIZE};
use redbear_ipc::syscall::numbers::SYS_RB_SIGNALFD4;

use crate::cabi;
use crate::sys::{self, fail};

/// C `struct signalfd_siginfo` (Linux's offsets).
#[repr(C)]
#[allow(missing_docs)]
pub struct SignalfdSiginfo {
    pub ssi_signo: u32,
    pub ssi_errno: i32,
    pub ssi_code: i32,
    pub ssi_pid: u32,
    pub ssi_uid: u32,
    pub ssi_fd: i32,
    pub ssi_tid: u32,
    pub ssi_band: u32,
    pub ssi_overrun: u32,
    pub ssi_trapno: u32,
    pub ssi_status: i32,
    pub ssi_int: i32,
    pub ssi_ptr: u64,
    pub ssi_utime: u64,
    pub ssi_stime: u64,
    pub ssi_addr: u64,
    pub ssi_addr_lsb: u16,
    pub pad2: u16,
    pub ssi_syscall: i32,
    pub ssi_call_addr: u64,
    pub ssi_arch: u32,
    pub pad: [u8; 28],
}

const _: () = {
    assert!(size_of::<SignalfdSiginfo>() == 128);
    assert!(offset_of!(SignalfdSiginfo, ssi_int) == 44);
    assert!(offset_of!(SignalfdSiginfo, ssi_ptr) == 48);
    assert!(offset_of!(SignalfdSiginfo, ssi_addr_lsb) == 80);
    assert!(offset_of!(SignalfdSiginfo, ssi_syscall) == 84);
    assert!(offset_of!(SignalfdSiginfo, ssi_call_addr) == 88);
    assert!(offset_of!(SignalfdSiginfo, ssi_arch) == 96);
};

// The kernel reads `SIGSET_SIZE` bytes at the caller's `sigset_t`: bit
// `signo - 1` of the first 64-bit word, how glibc's 128-byte set, relibc's
// 64-bit one and the testbed's begin (and what glibc passes Linux as
// `sizemask`), so the pointer goes unchanged.
const _: () = assert!(SIGSET_SIZE == size_of::<u64>());

/// `int signalfd(int fd, const sigset_t *mask, int flags)`: fd -1 makes a
/// new signalfd, an existing signalfd gets the new mask; SFD_NONBLOCK,
/// SFD_CLOEXEC; other bits EINVAL. `mask` goes to the kernel as it is.
///
/// # Safety
/// None in the shim: the kernel checks `mask` (null: EFAULT).
#[no_mangle]
pub unsafe extern "C" fn signalfd(fd: c_int, mask: *const u64, flags: c_int) -> c_int {
    let Some(f) = cabi::fd_flags(flags, 0) else {
        return fail(EINVAL, -1);
    };
    let target = if fd == -1 { FD_NEW } else { fd as usize };
    sys::fd_result(sys::with_c_in(mask.cast(), SIGSET_SIZE, |mask_ptr| {
        // SAFETY: the kernel checks the pointer.
        unsafe {
            sys::syscall(
                SYS_RB_SIGNALFD4,
                &[target, mask_ptr, SIGSET_SIZE, f.bits(), FD_SLOT_ANY],
            )
        }
    }))
}
