//! SysV IPC basics (`sys/ipc.h`): `ftok`.
//!
//! The rest of sys/ipc.h is constants and `struct ipc_perm`, whose layout
//! is the kernel ABI's (`redbear_ipc::syscall::abi::IpcPermAbi`, 48 bytes):
//! the families' functions (msgctl) pass it through unchanged.

/// The key glibc's `ftok` makes from a file's `st_ino`, `st_dev` and
/// `proj_id`: `(st_ino & 0xffff) | (st_dev & 0xff) << 16 | (proj_id & 0xff)
/// << 24`, as a `key_t`.
pub fn key_of(st_ino: u64, st_dev: u64, proj_id: i32) -> i32 {
    ((st_ino & 0xffff) as u32 | ((st_dev & 0xff) as u32) << 16 | ((proj_id as u32) & 0xff) << 24)
        as i32
}

/// `key_t ftok(const char *pathname, int proj_id)`: libc's stat() of
/// `pathname`, then [`key_of`]; -1 with stat()'s errno if it fails. Only
/// where a libc with stat() exists (not on bare targets).
///
/// # Safety
/// `pathname` must be a NUL-terminated string, as for stat().
#[cfg(not(target_os = "none"))]
#[no_mangle]
pub unsafe extern "C" fn ftok(
    pathname: *const core::ffi::c_char,
    proj_id: core::ffi::c_int,
) -> i32 {
    let mut st = core::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` is writable stat-sized memory; `pathname` is forwarded
    // from the caller, as glibc's ftok forwards it (a bad one faults there
    // too, or is stat()'s EFAULT).
    if unsafe { libc::stat(pathname, st.as_mut_ptr()) } < 0 {
        return -1; // errno is stat()'s
    }
    // SAFETY: stat() succeeded and filled `st`.
    let st = unsafe { st.assume_init() };
    // dev_t and ino_t are u64 on glibc, other widths or signed elsewhere;
    // only their low bits are used.
    #[allow(clippy::unnecessary_cast)]
    key_of(st.st_ino as u64, st.st_dev as u64, proj_id)
}

/// Test hook: the kernel ABI's SysV values, for `tests/c/sysv_ipc.c` to
/// check the header against: 0 sizeof(struct ipc_perm), 1 IPC_CREAT,
/// 2 IPC_EXCL, 3 IPC_NOWAIT, 4 IPC_RMID, 5 IPC_SET, 6 IPC_STAT,
/// 7 IPC_INFO, 8 IPC_PRIVATE; -1 otherwise.
#[no_mangle]
pub extern "C" fn rb_shim_sysv_abi(what: core::ffi::c_int) -> i64 {
    use redbear_ipc::ipc::sysv::ids;
    use redbear_ipc::syscall::abi;
    match what {
        0 => abi::IPC_PERM_SIZE as i64,
        1 => i64::from(ids::IPC_CREAT),
        2 => i64::from(ids::IPC_EXCL),
        3 => i64::from(abi::IPC_NOWAIT),
        4 => i64::from(abi::IPC_RMID),
        5 => i64::from(abi::IPC_SET),
        6 => i64::from(abi::IPC_STAT),
        7 => i64::from(abi::IPC_INFO),
        8 => i64::from(ids::IPC_PRIVATE),
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::key_of;

    #[test]
    fn key_of_takes_the_low_bits_of_each_part() {
        assert_eq!(key_of(0x1234_5678, 0xabcd, 0x7f), 0x7fcd_5678);
        assert_eq!(key_of(0, 0, 0x1ff), (0xffu32 << 24) as i32);
        assert_eq!(key_of(0xffff, 0xff, 0), 0x00ff_ffff);
    }
}
