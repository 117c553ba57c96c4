//! SysV semaphore sets (`sys/sem.h`): semget, semop, semtimedop, semctl
//! (its variadic entry is `src/c/semctl.c`).
//!
//! Each is one syscall with its arguments unchanged: `int`s
//! sign-extended (the kernel rejects values outside `int`), pointers as
//! they are, so a bad `sops`, `timeout` or semun buffer is the kernel's
//! EFAULT and never a fault in the shim. The structs (`struct sembuf`,
//! `struct semid_ds`, `struct seminfo`, the C timespec) are the kernel
//! ABI's layouts (`redbear_ipc::syscall::abi`), so nothing is translated.
//! Errors set errno and return -1.

use core::ffi::{c_int, c_ulong, c_void};

use redbear_ipc::syscall::abi::{
    GETALL, IPC_INFO, IPC_SET, IPC_STAT, SEMBUF_SIZE, SEMID_DS_SIZE, SEMINFO_SIZE, SEM_INFO,
    SEM_STAT, SEM_STAT_ANY, SETALL, SETVAL, TIMESPEC_SIZE,
};
use redbear_ipc::syscall::numbers::{SYS_RB_SEMCTL, SYS_RB_SEMGET, SYS_RB_SEMTIMEDOP};

use crate::sys::{self, fail};

/// A syscall result as C's `int`.
fn int_result(r: Result<usize, c_int>) -> c_int {
    match r {
        Ok(v) => v as c_int,
        Err(e) => fail(e, -1),
    }
}

/// `int semget(key_t key, int nsems, int semflg)`.
#[no_mangle]
pub extern "C" fn semget(key: c_int, nsems: c_int, semflg: c_int) -> c_int {
    // SAFETY: no pointers.
    int_result(unsafe {
        sys::syscall(
            SYS_RB_SEMGET,
            &[key as usize, nsems as usize, semflg as usize],
        )
    })
}

/// `int semtimedop(int semid, struct sembuf *sops, size_t nsops, const
/// struct timespec *timeout)`: a relative timeout (null: none).
///
/// # Safety
/// None in the shim: the kernel checks `sops` and `timeout`.
#[no_mangle]
pub unsafe extern "C" fn semtimedop(
    semid: c_int,
    sops: *mut c_void,
    nsops: usize,
    timeout: *const c_void,
) -> c_int {
    let len = nsops.saturating_mul(SEMBUF_SIZE);
    let r = sys::with_c_in(sops.cast_const().cast(), len, |s| {
        let call = |t: usize| {
            // SAFETY: the kernel checks both pointers.
            unsafe { sys::syscall(SYS_RB_SEMTIMEDOP, &[semid as usize, s, nsops, t]) }
        };
        if timeout.is_null() {
            call(0)
        } else {
            sys::with_c_in(timeout.cast(), TIMESPEC_SIZE, call)
        }
    });
    int_result(r.map(|_| 0))
}

/// `int semop(int semid, struct sembuf *sops, size_t nsops)`.
///
/// # Safety
/// None in the shim: the kernel checks `sops`.
#[no_mangle]
pub unsafe extern "C" fn semop(semid: c_int, sops: *mut c_void, nsops: usize) -> c_int {
    // SAFETY: forwarded; the kernel checks the pointer.
    unsafe { semtimedop(semid, sops, nsops, core::ptr::null()) }
}

/// The bytes GETALL and SETALL move: one unsigned short per semaphore,
/// as many as the set has (IPC_STAT tells; the most a set can have
/// bounds it otherwise).
fn all_len(semid: c_int) -> usize {
    let mut raw = [0u8; SEMID_DS_SIZE];
    let r = sys::with_c_out(raw.as_mut_ptr(), SEMID_DS_SIZE, |p| {
        // SAFETY: p is our own buffer's user address.
        unsafe { sys::syscall(SYS_RB_SEMCTL, &[semid as usize, 0, IPC_STAT as usize, p]) }
    });
    let mut n = [0u8; 8];
    n.copy_from_slice(&raw[80..88]);
    match r {
        Ok(_) => (u64::from_ne_bytes(n) as usize).saturating_mul(2),
        Err(_) => 0,
    }
}

/// The C entry's half: `arg` is the semun word (SETVAL's int in its low
/// 32 bits, else a pointer).
#[no_mangle]
pub extern "C" fn __rb_shim_semctl(semid: c_int, semnum: c_int, cmd: c_int, arg: c_ulong) -> c_int {
    let call = |a: usize| {
        // SAFETY: the kernel checks the pointer.
        unsafe {
            sys::syscall(
                SYS_RB_SEMCTL,
                &[semid as usize, semnum as usize, cmd as usize, a],
            )
        }
    };
    let ptr = arg as usize as *mut u8;
    let r = match cmd {
        // The semun's int, sign-extended.
        SETVAL => call(arg as u32 as c_int as usize),
        IPC_SET => sys::with_c_in(ptr.cast_const(), SEMID_DS_SIZE, call),
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => sys::with_c_out(ptr, SEMID_DS_SIZE, call),
        IPC_INFO | SEM_INFO => sys::with_c_out(ptr, SEMINFO_SIZE, call),
        GETALL => sys::with_c_out(ptr, all_len(semid), call),
        SETALL => sys::with_c_in(ptr.cast_const(), all_len(semid), call),
        _ => call(0),
    };
    int_result(r)
}

/// Test hook: the kernel ABI's sem values, for the C tests to check the
/// header against: 0 sizeof(struct sembuf), 1 sizeof(struct semid_ds),
/// 2 sizeof(struct seminfo), 3 SEM_UNDO, 4 GETPID, 5 SETALL, 6 SEM_STAT,
/// 7 SEM_INFO, 8 SEM_STAT_ANY; -1 otherwise.
#[no_mangle]
pub extern "C" fn rb_shim_sysv_sem_abi(what: c_int) -> i64 {
    use redbear_ipc::syscall::abi;
    match what {
        0 => SEMBUF_SIZE as i64,
        1 => SEMID_DS_SIZE as i64,
        2 => SEMINFO_SIZE as i64,
        3 => i64::from(redbear_ipc::ipc::sysv::sem::ops::SEM_UNDO),
        4 => i64::from(abi::GETPID),
        5 => i64::from(SETALL),
        6 => i64::from(SEM_STAT),
        7 => i64::from(SEM_INFO),
        8 => i64::from(SEM_STAT_ANY),
        _ => -1,
    }
}
