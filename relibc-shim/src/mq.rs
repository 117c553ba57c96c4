//! POSIX message queues (`mqueue.h`): mq_open (its variadic entry is
//! `src/c/mq_open.c`), mq_close, mq_unlink, mq_send, mq_timedsend,
//! mq_receive, mq_timedreceive, mq_getattr, mq_setattr, mq_notify.
//!
//! A queue descriptor is a kernel fd (`mqd_t` is `int`). Names keep their
//! '/' (the kernel applies Linux's mqueue rules); glibc's own check, EINVAL
//! for a name without a leading '/', is the kernel's too. `struct mq_attr`,
//! `struct timespec` and (on Linux-layout targets) `struct sigevent` are
//! the kernel ABI's layouts, so every pointer goes to the kernel unchanged
//! and bad ones are EFAULT. On Redox, relibc's O_NONBLOCK and its 32-byte
//! `struct sigevent` differ from the kernel ABI's, so mq_setattr's
//! mq_flags and mq_notify's sigevent are translated through copies there
//! (a bad pointer then faults in the shim). SIGEV_THREAD is built here
//! (`mq_thread`): mq_notify reads sigev_notify itself, as glibc does.

use core::ffi::{c_char, c_int, c_long, c_uint};
use core::mem::{offset_of, size_of};

use redbear_ipc::errno::EINVAL;
use redbear_ipc::ipc::common::name::NAME_MAX;
use redbear_ipc::ipc::mq::limits::HARD_MSGSIZEMAX;
use redbear_ipc::syscall::abi::{
    FD_SLOT_ANY, MQ_ATTR_SIZE, SIGEVENT_SIZE, SIGEV_THREAD, TIMESPEC_SIZE,
};
use redbear_ipc::syscall::numbers::{
    SYS_RB_MQ_GETSETATTR, SYS_RB_MQ_NOTIFY, SYS_RB_MQ_OPEN, SYS_RB_MQ_TIMEDRECEIVE,
    SYS_RB_MQ_TIMEDSEND, SYS_RB_MQ_UNLINK,
};

use crate::cabi::{self, Timespec};
use crate::sys::{self, fail, status};

/// C `struct mq_attr` (Linux's 64-bit layout, the kernel ABI's).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MqAttr {
    /// O_NONBLOCK or 0.
    pub mq_flags: c_long,
    /// The most messages.
    pub mq_maxmsg: c_long,
    /// The largest message.
    pub mq_msgsize: c_long,
    /// Messages queued now.
    pub mq_curmsgs: c_long,
    /// Reserved.
    pub pad: [c_long; 4],
}

const _: () = {
    assert!(size_of::<MqAttr>() == MQ_ATTR_SIZE);
    assert!(offset_of!(MqAttr, mq_maxmsg) == 8);
    assert!(offset_of!(MqAttr, mq_msgsize) == 16);
    assert!(offset_of!(MqAttr, mq_curmsgs) == 24);
};

/// The most name bytes passed: "/" + NAME_MAX, plus one so that a longer
/// name reaches the kernel as too long (ENAMETOOLONG).
const NAME_CAP: usize = NAME_MAX + 2;

/// The caller's NUL-terminated name, at most `NAME_CAP` bytes of it.
///
/// # Safety
/// `name` is a NUL-terminated string (or null: EINVAL).
unsafe fn name_bytes<'a>(name: *const c_char) -> Result<&'a [u8], c_int> {
    if name.is_null() {
        return Err(EINVAL);
    }
    let name = name.cast::<u8>();
    let mut len = 0;
    // SAFETY: reads stop at the NUL or at the cap.
    while len < NAME_CAP && unsafe { *name.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: these `len` bytes were just read.
    Ok(unsafe { core::slice::from_raw_parts(name, len) })
}

/// `mq_open`'s work after `src/c/mq_open.c` read the variadic mode and
/// attributes (only with O_CREAT, as glibc does).
///
/// # Safety
/// `name` is a NUL-terminated string (or null: EINVAL); the kernel checks
/// `attr` (null: the defaults).
#[no_mangle]
pub unsafe extern "C" fn __rb_shim_mq_open(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    attr: *const MqAttr,
) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { name_bytes(name) } {
        Ok(n) => n,
        Err(e) => return fail(e, -1),
    };
    let flags = cabi::mq_oflag(oflag);
    sys::fd_result(sys::with_user_bytes(name, |name_ptr| {
        sys::with_c_in(attr.cast(), MQ_ATTR_SIZE, |attr_ptr| {
            // SAFETY: name_ptr holds name.len() bytes during the call; the
            // kernel checks attr_ptr.
            unsafe {
                sys::syscall(
                    SYS_RB_MQ_OPEN,
                    &[
                        name_ptr,
                        name.len(),
                        flags.bits(),
                        (mode & 0o7777) as usize,
                        attr_ptr,
                        FD_SLOT_ANY,
                    ],
                )
            }
        })
    }))
}

/// `int mq_close(mqd_t mqdes)`: close(2) of the descriptor.
#[no_mangle]
pub extern "C" fn mq_close(mqdes: c_int) -> c_int {
    let Ok(fd) = usize::try_from(mqdes) else {
        return fail(redbear_ipc::errno::EBADF, -1);
    };
    // Closing ends this process's registration (the kernel's close hook).
    crate::mq_thread::forget(mqdes);
    status(sys::close_fd(fd))
}

/// `int mq_unlink(const char *name)`.
///
/// # Safety
/// `name` is a NUL-terminated string (or null: EINVAL).
#[no_mangle]
pub unsafe extern "C" fn mq_unlink(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { name_bytes(name) } {
        Ok(n) => n,
        Err(e) => return fail(e, -1),
    };
    status(
        sys::with_user_bytes(name, |ptr| {
            // SAFETY: ptr holds name.len() bytes during the call.
            unsafe { sys::syscall(SYS_RB_MQ_UNLINK, &[ptr, name.len()]) }
        })
        .map(|_| ()),
    )
}

/// Runs `f` with the kernel's address of the caller's `len`-byte message
/// buffer: staged as `with_c_in`/`with_c_out` do, except a length no
/// queue can take (above HARD_MSGSIZEMAX), which the kernel refuses
/// before touching memory.
fn with_buffer<R>(ptr: *mut u8, len: usize, out: bool, f: impl FnOnce(usize) -> R) -> R {
    if len > HARD_MSGSIZEMAX {
        return f(ptr as usize);
    }
    if out {
        sys::with_c_out(ptr, len, f)
    } else {
        sys::with_c_in(ptr, len, f)
    }
}

/// `int mq_timedsend(mqd_t, const char *msg, size_t len, unsigned prio,
/// const struct timespec *abs_timeout)`: CLOCK_REALTIME, absolute.
///
/// # Safety
/// None in the shim: the kernel checks `msg` and `abs_timeout`.
#[no_mangle]
pub unsafe extern "C" fn mq_timedsend(
    mqdes: c_int,
    msg: *const c_char,
    len: usize,
    prio: c_uint,
    abs_timeout: *const Timespec,
) -> c_int {
    status(
        with_buffer(msg as *mut u8, len, false, |msg_ptr| {
            sys::with_c_in(abs_timeout.cast(), TIMESPEC_SIZE, |ts| {
                // SAFETY: the kernel checks both pointers.
                unsafe {
                    sys::syscall(
                        SYS_RB_MQ_TIMEDSEND,
                        &[mqdes as usize, msg_ptr, len, prio as usize, ts],
                    )
                }
            })
        })
        .map(|_| ()),
    )
}

/// `int mq_send(mqd_t, const char *msg, size_t len, unsigned prio)`.
///
/// # Safety
/// As `mq_timedsend`.
#[no_mangle]
pub unsafe extern "C" fn mq_send(
    mqdes: c_int,
    msg: *const c_char,
    len: usize,
    prio: c_uint,
) -> c_int {
    // SAFETY: forwarded.
    unsafe { mq_timedsend(mqdes, msg, len, prio, core::ptr::null()) }
}

/// `ssize_t mq_timedreceive(mqd_t, char *buf, size_t len, unsigned *prio,
/// const struct timespec *abs_timeout)`.
///
/// # Safety
/// None in the shim: the kernel checks every pointer (null `prio`: none).
#[no_mangle]
pub unsafe extern "C" fn mq_timedreceive(
    mqdes: c_int,
    buf: *mut c_char,
    len: usize,
    prio: *mut c_uint,
    abs_timeout: *const Timespec,
) -> isize {
    let r = with_buffer(buf.cast(), len, true, |buf_ptr| {
        let prio_len = if prio.is_null() { 0 } else { 4 };
        sys::with_c_out(prio.cast(), prio_len, |prio_ptr| {
            sys::with_c_in(abs_timeout.cast(), TIMESPEC_SIZE, |ts| {
                // SAFETY: the kernel checks every pointer.
                unsafe {
                    sys::syscall(
                        SYS_RB_MQ_TIMEDRECEIVE,
                        &[mqdes as usize, buf_ptr, len, prio_ptr, ts],
                    )
                }
            })
        })
    });
    match r {
        Ok(n) => n as isize,
        Err(e) => fail(e, -1),
    }
}

/// `ssize_t mq_receive(mqd_t, char *buf, size_t len, unsigned *prio)`.
///
/// # Safety
/// As `mq_timedreceive`.
#[no_mangle]
pub unsafe extern "C" fn mq_receive(
    mqdes: c_int,
    buf: *mut c_char,
    len: usize,
    prio: *mut c_uint,
) -> isize {
    // SAFETY: forwarded.
    unsafe { mq_timedreceive(mqdes, buf, len, prio, core::ptr::null()) }
}

#[cfg(not(target_os = "redox"))]
fn getsetattr(mqdes: c_int, new: *const MqAttr, old: *mut MqAttr) -> Result<(), c_int> {
    let old_len = if old.is_null() { 0 } else { MQ_ATTR_SIZE };
    let new_len = if new.is_null() { 0 } else { MQ_ATTR_SIZE };
    sys::with_c_in(new.cast(), new_len, |new_ptr| {
        sys::with_c_out(old.cast(), old_len, |old_ptr| {
            // SAFETY: the kernel checks both pointers (null: none).
            unsafe { sys::syscall(SYS_RB_MQ_GETSETATTR, &[mqdes as usize, new_ptr, old_ptr]) }
        })
    })
    .map(|_| ())
}

/// On Redox mq_flags carries relibc's O_NONBLOCK: the attributes are
/// translated through copies.
#[cfg(target_os = "redox")]
fn getsetattr(mqdes: c_int, new: *const MqAttr, old: *mut MqAttr) -> Result<(), c_int> {
    use redbear_ipc::syscall::abi::MQ_NONBLOCK;
    let to_abi = |f: c_long| {
        let rest = f & !(cabi::O_NONBLOCK as c_long);
        rest | if f & cabi::O_NONBLOCK as c_long != 0 {
            MQ_NONBLOCK
        } else {
            0
        }
    };
    // SAFETY: the caller's attributes (null: none); a bad pointer faults.
    let new_copy = (!new.is_null()).then(|| unsafe { new.read() });
    let new_copy = new_copy.map(|mut a| {
        a.mq_flags = to_abi(a.mq_flags);
        a
    });
    let mut old_copy = MqAttr::default();
    let new_ptr = new_copy.as_ref().map_or(0, |a| a as *const MqAttr as usize);
    let old_ptr = if old.is_null() {
        0
    } else {
        &mut old_copy as *mut MqAttr as usize
    };
    // SAFETY: both point at our copies (or are null).
    unsafe { sys::syscall(SYS_RB_MQ_GETSETATTR, &[mqdes as usize, new_ptr, old_ptr]) }?;
    if !old.is_null() {
        if old_copy.mq_flags & MQ_NONBLOCK != 0 {
            old_copy.mq_flags = cabi::O_NONBLOCK as c_long;
        }
        // SAFETY: the caller's buffer; a bad pointer faults.
        unsafe { old.write(old_copy) };
    }
    Ok(())
}

/// `int mq_getattr(mqd_t, struct mq_attr *attr)`.
///
/// # Safety
/// None in the shim on Linux-layout targets: the kernel checks `attr`.
#[no_mangle]
pub unsafe extern "C" fn mq_getattr(mqdes: c_int, attr: *mut MqAttr) -> c_int {
    status(getsetattr(mqdes, core::ptr::null(), attr))
}

/// `int mq_setattr(mqd_t, const struct mq_attr *new, struct mq_attr *old)`:
/// only O_NONBLOCK in `new->mq_flags` changes (other bits: EINVAL).
///
/// # Safety
/// None in the shim on Linux-layout targets: the kernel checks both.
#[no_mangle]
pub unsafe extern "C" fn mq_setattr(mqdes: c_int, new: *const MqAttr, old: *mut MqAttr) -> c_int {
    status(getsetattr(mqdes, new, old))
}

#[cfg(not(target_os = "redox"))]
fn notify_kernel(mqdes: c_int, sev: *const u8) -> Result<(), c_int> {
    let len = if sev.is_null() { 0 } else { SIGEVENT_SIZE };
    sys::with_c_in(sev, len, |ptr| {
        // SAFETY: the kernel checks the pointer (null: unregister).
        unsafe { sys::syscall(SYS_RB_MQ_NOTIFY, &[mqdes as usize, ptr]) }
    })
    .map(|_| ())
}

/// relibc's `struct sigevent` is 32 bytes (value, signo, notify, then the
/// thread fields); the kernel reads Linux's 64: copy the first 16.
#[cfg(target_os = "redox")]
fn notify_kernel(mqdes: c_int, sev: *const u8) -> Result<(), c_int> {
    let mut raw = [0u8; SIGEVENT_SIZE];
    let ptr = if sev.is_null() {
        0
    } else {
        // SAFETY: the caller's sigevent; a bad pointer faults.
        unsafe { core::ptr::copy_nonoverlapping(sev, raw.as_mut_ptr(), 16) };
        raw.as_ptr() as usize
    };
    // SAFETY: null or our copy.
    unsafe { sys::syscall(SYS_RB_MQ_NOTIFY, &[mqdes as usize, ptr]) }.map(|_| ())
}

/// The first 32 bytes of a sigevent (value, signo, notify, function,
/// attributes: one layout in Linux's and relibc's), when readable.
fn sigevent_head(sev: *const u8) -> Option<[u8; SIGEVENT_SIZE]> {
    let mut raw = [0u8; SIGEVENT_SIZE];
    // SAFETY: the caller's sigevent, read as glibc reads it (a bad
    // pointer faults on a real kernel; the hosted backend probes).
    unsafe { crate::backend::read_c(sev, &mut raw[..32]) }.then_some(raw)
}

/// SIGEV_THREAD goes to `mq_thread`; the rest to the kernel. A NULL
/// unregistration also frees the shim's record of the descriptor.
fn notify(mqdes: c_int, sev: *const u8) -> Result<(), c_int> {
    if let Some(raw) = sigevent_head(sev) {
        if i32::from_ne_bytes([raw[12], raw[13], raw[14], raw[15]]) == SIGEV_THREAD {
            return crate::mq_thread::register(mqdes, &raw);
        }
    }
    notify_kernel(mqdes, sev)?;
    if sev.is_null() {
        crate::mq_thread::forget(mqdes);
    }
    Ok(())
}

/// `int mq_notify(mqd_t, const struct sigevent *sevp)`: SIGEV_SIGNAL,
/// SIGEV_NONE and SIGEV_THREAD (`mq_thread`); NULL unregisters.
///
/// # Safety
/// `sevp` is read for its sigev_notify (as glibc does): a bad pointer
/// faults on a real kernel; the hosted backend, which can tell, hands it
/// to the kernel (EFAULT).
#[no_mangle]
pub unsafe extern "C" fn mq_notify(mqdes: c_int, sevp: *const u8) -> c_int {
    status(notify(mqdes, sevp))
}
