//! SysV message queues (`sys/msg.h`): msgget, msgsnd, msgrcv, msgctl.
//!
//! Each is one syscall with its arguments unchanged: `int`s sign-extended
//! (the kernel rejects values outside `int`), pointers as they are, so a
//! bad `msgp` or `buf` is the kernel's EFAULT and never a fault in the
//! shim. The structs (`struct msqid_ds`, `struct msginfo`, `struct
//! msgbuf`'s leading `long`) are the kernel ABI's layouts
//! (`redbear_ipc::syscall::abi`), so nothing is translated. Errors set
//! errno and return -1.

use core::ffi::{c_int, c_long, c_void};

use redbear_ipc::syscall::abi::{
    IPC_INFO, IPC_SET, IPC_STAT, MSGBUF_TYPE_SIZE, MSGINFO_SIZE, MSG_INFO, MSG_STAT, MSG_STAT_ANY,
    MSQID_DS_SIZE,
};
use redbear_ipc::syscall::numbers::{SYS_RB_MSGCTL, SYS_RB_MSGGET, SYS_RB_MSGRCV, SYS_RB_MSGSND};

use crate::sys::{self, fail};

/// A syscall result as C's `int`.
fn int_result(r: Result<usize, c_int>) -> c_int {
    match r {
        Ok(v) => v as c_int,
        Err(e) => fail(e, -1),
    }
}

/// Bytes of a msgbuf with `msgsz` bytes of text (the kernel's view; it
/// rejects sizes past msgmax before touching the buffer).
fn msgbuf_len(msgsz: usize) -> usize {
    MSGBUF_TYPE_SIZE.saturating_add(msgsz)
}

/// `int msgget(key_t key, int msgflg)`.
#[no_mangle]
pub extern "C" fn msgget(key: c_int, msgflg: c_int) -> c_int {
    // SAFETY: no pointers.
    int_result(unsafe { sys::syscall(SYS_RB_MSGGET, &[key as usize, msgflg as usize]) })
}

/// `int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)`:
/// the kernel reads the `long` type and `msgsz` bytes of text at `msgp`.
///
/// # Safety
/// None in the shim: the kernel checks `msgp`.
#[no_mangle]
pub unsafe extern "C" fn msgsnd(
    msqid: c_int,
    msgp: *const c_void,
    msgsz: usize,
    msgflg: c_int,
) -> c_int {
    let r = sys::with_c_in(msgp.cast(), msgbuf_len(msgsz), |p| {
        // SAFETY: the kernel checks the pointer.
        unsafe { sys::syscall(SYS_RB_MSGSND, &[msqid as usize, p, msgsz, msgflg as usize]) }
    });
    int_result(r.map(|_| 0))
}

/// `ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int
/// msgflg)`: the kernel writes the type and at most `msgsz` bytes of text
/// at `msgp`; returns the bytes of text.
///
/// # Safety
/// None in the shim: the kernel checks `msgp`.
#[no_mangle]
pub unsafe extern "C" fn msgrcv(
    msqid: c_int,
    msgp: *mut c_void,
    msgsz: usize,
    msgtyp: c_long,
    msgflg: c_int,
) -> isize {
    let r = sys::with_c_out(msgp.cast(), msgbuf_len(msgsz), |p| {
        // SAFETY: the kernel checks the pointer.
        unsafe {
            sys::syscall(
                SYS_RB_MSGRCV,
                &[msqid as usize, p, msgsz, msgtyp as usize, msgflg as usize],
            )
        }
    });
    match r {
        Ok(n) => n as isize,
        Err(e) => fail(e, -1),
    }
}

/// How the kernel uses msgctl's `buf` for `cmd`: (reads it, bytes).
fn ctl_buffer(cmd: c_int) -> (bool, usize) {
    match cmd {
        IPC_SET => (true, MSQID_DS_SIZE),
        IPC_STAT | MSG_STAT | MSG_STAT_ANY => (false, MSQID_DS_SIZE),
        IPC_INFO | MSG_INFO => (false, MSGINFO_SIZE),
        _ => (false, 0), // IPC_RMID ignores it; unknown commands are EINVAL
    }
}

/// `int msgctl(int msqid, int cmd, struct msqid_ds *buf)`: IPC_STAT,
/// IPC_SET, IPC_RMID, IPC_INFO, MSG_INFO (`buf` a `struct msginfo *`),
/// MSG_STAT, MSG_STAT_ANY; returns 0, an id (MSG_STAT*) or the highest
/// index in use (*_INFO).
///
/// # Safety
/// None in the shim: the kernel checks `buf`.
#[no_mangle]
pub unsafe extern "C" fn msgctl(msqid: c_int, cmd: c_int, buf: *mut c_void) -> c_int {
    let call = |p: usize| {
        // SAFETY: the kernel checks the pointer.
        unsafe { sys::syscall(SYS_RB_MSGCTL, &[msqid as usize, cmd as usize, p]) }
    };
    let r = match ctl_buffer(cmd) {
        (true, len) => sys::with_c_in(buf.cast_const().cast(), len, call),
        (false, len) => sys::with_c_out(buf.cast(), len, call),
    };
    int_result(r)
}

/// Test hook: the kernel ABI's msg values, for `tests/c/sysv_msg.c` to
/// check the header against: 0 sizeof(struct msqid_ds), 1 sizeof(struct
/// msginfo), 2 MSG_NOERROR, 3 MSG_EXCEPT, 4 MSG_COPY, 5 MSG_STAT,
/// 6 MSG_INFO, 7 MSG_STAT_ANY, 8 the msgbuf type's bytes; -1 otherwise.
#[no_mangle]
pub extern "C" fn rb_shim_msg_abi(what: c_int) -> i64 {
    use redbear_ipc::syscall::abi;
    match what {
        0 => MSQID_DS_SIZE as i64,
        1 => MSGINFO_SIZE as i64,
        2 => i64::from(abi::MSG_NOERROR),
        3 => i64::from(abi::MSG_EXCEPT),
        4 => i64::from(abi::MSG_COPY),
        5 => i64::from(MSG_STAT),
        6 => i64::from(MSG_INFO),
        7 => i64::from(MSG_STAT_ANY),
        8 => MSGBUF_TYPE_SIZE as i64,
        _ => -1,
    }
}
