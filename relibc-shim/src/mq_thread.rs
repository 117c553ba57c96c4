//! mq_notify's SIGEV_THREAD: a new thread runs `sigev_notify_function(
//! sigev_value)` when the registration fires, as glibc does.
//!
//! The kernel half is a notice channel (`redbear_ipc::ipc::mq::notify`):
//! the registration names a message queue of this process and a cookie,
//! and firing posts the cookie there. Here, per process:
//! - one channel queue (created under a unique name, unlinked at once,
//!   close-on-exec) and one detached helper thread blocked receiving on it,
//!   both made by the first SIGEV_THREAD registration (again after fork:
//!   a child has neither the helper nor the parent's registrations);
//! - a table of `SLOTS` registrations (the function, the value, the stack
//!   size of `sigev_notify_attributes`); a cookie is a slot's index and
//!   generation, so a notice for a slot freed meanwhile (mq_notify(NULL),
//!   mq_close) starts nothing;
//! - for each notice the helper starts a thread (the recorded stack size,
//!   detached, as glibc's are) and waits until it has copied the function
//!   and value out of the slot, which is then free.
//!
//! The attributes are read at registration (glibc copies them then too);
//! only the stack size is kept, the thread is always detached. The table
//! and the helper allocate nothing; a full table is ENOMEM (glibc's answer
//! when its allocation fails).

use core::ffi::{c_int, c_void};
use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use redbear_ipc::errno::{EAGAIN, EBADF, EINTR, ENOMEM};
use redbear_ipc::syscall::abi::{
    MqOpenFlags, FD_SLOT_ANY, MQ_NOTICE_SIZE, SIGEVENT_SIZE, SIGEV_THREAD,
};
use redbear_ipc::syscall::numbers::{
    SYS_RB_MQ_NOTIFY, SYS_RB_MQ_OPEN, SYS_RB_MQ_TIMEDRECEIVE, SYS_RB_MQ_UNLINK,
};

use crate::sem::{sem_init, sem_post, sem_wait, SemT};
use crate::sys;

/// Registrations held at once (per process).
pub const SLOTS: usize = 64;
/// Notices the channel holds before the helper takes them (the
/// unprivileged msg_max).
const CHANNEL_DEPTH: usize = 10;
/// Room for any C library's `pthread_attr_t` (glibc's is 56 bytes).
const ATTR_ROOM: usize = 128;

/// The thread function type: `void (*)(union sigval)`. A union of an int
/// and a pointer is passed as one integer register on both ABIs we serve.
type NotifyFn = unsafe extern "C" fn(SigVal);

/// `union sigval`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union SigVal {
    /// sival_int.
    pub int: c_int,
    /// sival_ptr.
    pub ptr: *mut c_void,
}

extern "C" {
    fn pthread_create(
        t: *mut u64,
        attr: *const c_void,
        f: unsafe extern "C" fn(*mut c_void) -> *mut c_void,
        arg: *mut c_void,
    ) -> c_int;
    fn pthread_detach(t: u64) -> c_int;
    fn pthread_attr_init(attr: *mut c_void) -> c_int;
    fn pthread_attr_destroy(attr: *mut c_void) -> c_int;
    fn pthread_attr_getstacksize(attr: *const c_void, size: *mut usize) -> c_int;
    fn pthread_attr_setstacksize(attr: *mut c_void, size: usize) -> c_int;
    fn getpid() -> c_int;
}

const FREE: u32 = 0;
const ARMED: u32 = 1;
const TAKEN: u32 = 2;

/// One registration.
struct Slot {
    state: AtomicU32,
    /// Bumped at every free: stale cookies do not match.
    gen: AtomicU32,
    mqd: AtomicI32,
    func: AtomicUsize,
    value: AtomicU64,
    /// 0: the C library's default.
    stack: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    state: AtomicU32::new(FREE),
    gen: AtomicU32::new(0),
    mqd: AtomicI32::new(-1),
    func: AtomicUsize::new(0),
    value: AtomicU64::new(0),
    stack: AtomicUsize::new(0),
};

static TABLE: [Slot; SLOTS] = [SLOT; SLOTS];

/// The helper: 0 none, 1 being made, 2 running.
static HELPER: AtomicU32 = AtomicU32::new(0);
/// The process the helper and channel belong to (fork check).
static HELPER_PID: AtomicI32 = AtomicI32::new(0);
/// The channel queue's fd.
static CHANNEL: AtomicI32 = AtomicI32::new(-1);
/// Channels made so far (unique names).
static MADE: AtomicU32 = AtomicU32::new(0);

/// The hand-over of one launch: the helper fills it, the new thread
/// copies it out and posts `LAUNCHED`.
static LAUNCH_FN: AtomicUsize = AtomicUsize::new(0);
static LAUNCH_VALUE: AtomicU64 = AtomicU64::new(0);
struct SemCell(core::cell::UnsafeCell<core::mem::MaybeUninit<SemT>>);
// SAFETY: the semaphore is only reached through the shim's sem_*
// functions, which are thread-safe; it is initialised once, by the one
// thread that makes the helper, before any other use.
unsafe impl Sync for SemCell {}
static LAUNCHED: SemCell = SemCell(core::cell::UnsafeCell::new(core::mem::MaybeUninit::uninit()));

fn launched() -> *mut SemT {
    LAUNCHED.0.get().cast()
}

fn cookie(index: usize, gen: u32) -> u64 {
    (u64::from(gen) << 32) | index as u64
}

/// `mq_notify(mqd, sev)` for `sev->sigev_notify == SIGEV_THREAD`; `raw`
/// is the caller's sigevent (Linux layout: function at 16, attributes at
/// 24).
pub fn register(mqd: c_int, raw: &[u8; SIGEVENT_SIZE]) -> Result<(), c_int> {
    let word = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[at..at + 8]);
        u64::from_ne_bytes(b)
    };
    let (value, func, attr) = (word(0), word(16) as usize, word(24) as usize);
    let mut stack = 0usize;
    if attr != 0 {
        // SAFETY: the caller's pthread_attr_t, read as glibc reads it.
        if unsafe { pthread_attr_getstacksize(attr as *const c_void, &mut stack) } != 0 {
            stack = 0;
        }
    }
    let chan = helper()?;
    let (index, gen) = reserve().ok_or(ENOMEM)?;
    let slot = &TABLE[index];
    slot.mqd.store(mqd, Ordering::Relaxed);
    slot.func.store(func, Ordering::Relaxed);
    slot.value.store(value, Ordering::Relaxed);
    slot.stack.store(stack, Ordering::Relaxed);
    // Armed before the kernel call: the notice may come before it returns.
    slot.state.store(ARMED, Ordering::Release);
    let mut ev = [0u8; SIGEVENT_SIZE];
    ev[..8].copy_from_slice(&cookie(index, gen).to_ne_bytes());
    ev[8..12].copy_from_slice(&chan.to_ne_bytes());
    ev[12..16].copy_from_slice(&SIGEV_THREAD.to_ne_bytes());
    let r = sys::with_user_bytes(&ev, |p| {
        // SAFETY: `p` holds our sigevent during the call.
        unsafe { sys::syscall(SYS_RB_MQ_NOTIFY, &[mqd as usize, p]) }
    });
    if let Err(e) = r {
        release(index, ARMED);
        return Err(e);
    }
    Ok(())
}

/// After mq_notify(NULL) or mq_close of `mqd`: its armed slots are free
/// (a notice already posted for them starts nothing).
pub fn forget(mqd: c_int) {
    if HELPER_PID.load(Ordering::Acquire) != own_pid() {
        return;
    }
    for (i, slot) in TABLE.iter().enumerate() {
        if slot.state.load(Ordering::Acquire) == ARMED && slot.mqd.load(Ordering::Relaxed) == mqd {
            release(i, ARMED);
        }
    }
}

fn own_pid() -> c_int {
    // SAFETY: getpid has no preconditions.
    unsafe { getpid() }
}

fn reserve() -> Option<(usize, u32)> {
    TABLE.iter().enumerate().find_map(|(i, s)| {
        s.state
            .compare_exchange(FREE, TAKEN, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| (i, s.gen.load(Ordering::Relaxed)))
    })
}

/// Frees slot `index` if it is in state `from`.
fn release(index: usize, from: u32) -> bool {
    let slot = &TABLE[index];
    if slot
        .state
        .compare_exchange(from, TAKEN, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    slot.gen.fetch_add(1, Ordering::Relaxed);
    slot.state.store(FREE, Ordering::Release);
    true
}

/// The channel fd, making the channel and the helper first if this
/// process has none (a forked child starts afresh).
fn helper() -> Result<i32, c_int> {
    let me = own_pid();
    loop {
        match HELPER.load(Ordering::Acquire) {
            2 if HELPER_PID.load(Ordering::Acquire) == me => {
                return Ok(CHANNEL.load(Ordering::Acquire))
            }
            1 => core::hint::spin_loop(),
            seen => {
                if HELPER
                    .compare_exchange(seen, 1, Ordering::AcqRel, Ordering::Relaxed)
                    .is_err()
                {
                    continue;
                }
                if seen == 2 {
                    // Forked: the parent's registrations are not ours,
                    // and its helper thread is not here.
                    for s in TABLE.iter() {
                        s.gen.fetch_add(1, Ordering::Relaxed);
                        s.state.store(FREE, Ordering::Release);
                    }
                    let _ = sys::close_fd(CHANNEL.load(Ordering::Relaxed) as usize);
                }
                return match start(me) {
                    Ok(chan) => {
                        CHANNEL.store(chan, Ordering::Release);
                        HELPER_PID.store(me, Ordering::Release);
                        HELPER.store(2, Ordering::Release);
                        Ok(chan)
                    }
                    Err(e) => {
                        HELPER.store(0, Ordering::Release);
                        Err(e)
                    }
                };
            }
        }
    }
}

/// `/rb-sigev-<pid>-<n>`.
fn channel_name(pid: c_int, n: u32, out: &mut [u8; 40]) -> usize {
    let mut len = 0;
    for &b in b"/rb-sigev-" {
        out[len] = b;
        len += 1;
    }
    for v in [pid.unsigned_abs(), n] {
        let mut digits = [0u8; 10];
        let mut k = 0;
        let mut v = v;
        loop {
            digits[k] = b'0' + (v % 10) as u8;
            k += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        while k > 0 {
            k -= 1;
            out[len] = digits[k];
            len += 1;
        }
        out[len] = b'-';
        len += 1;
    }
    len - 1
}

/// Makes the channel (unlinked at once) and the helper thread.
fn start(pid: c_int) -> Result<i32, c_int> {
    if HELPER_PID.load(Ordering::Relaxed) == 0 {
        // SAFETY: LAUNCHED is initialised once, before the first helper
        // exists; a forked child inherits it in its state of the fork.
        if unsafe { sem_init(launched(), 0, 0) } != 0 {
            return Err(EAGAIN);
        }
    }
    let mut name = [0u8; 40];
    let mut attr = [0i64; 8];
    attr[1] = CHANNEL_DEPTH as i64;
    attr[2] = MQ_NOTICE_SIZE as i64;
    let flags = MqOpenFlags::CREATE | MqOpenFlags::EXCLUSIVE | MqOpenFlags::CLOEXEC;
    let (chan, len) = loop {
        let len = channel_name(pid, MADE.fetch_add(1, Ordering::Relaxed), &mut name);
        let name = &name[..len];
        let attr_bytes: [u8; 64] = attr_bytes(&attr);
        let r = sys::with_user_bytes(name, |np| {
            sys::with_user_bytes(&attr_bytes, |ap| {
                // SAFETY: both point at our buffers during the call.
                unsafe {
                    sys::syscall(
                        SYS_RB_MQ_OPEN,
                        &[np, name.len(), flags.bits(), 0o600, ap, FD_SLOT_ANY],
                    )
                }
            })
        });
        match r {
            Ok(fd) => break (fd, len),
            Err(redbear_ipc::errno::EEXIST) => continue,
            Err(e) => return Err(e),
        }
    };
    let _ = sys::with_user_bytes(&name[..len], |np| {
        // SAFETY: our name buffer during the call.
        unsafe { sys::syscall(SYS_RB_MQ_UNLINK, &[np, len]) }
    });
    let mut t = 0u64;
    // SAFETY: a default-attribute thread running `helper_main`, given the
    // channel fd as its argument.
    let made =
        unsafe { pthread_create(&mut t, core::ptr::null(), helper_main, chan as *mut c_void) };
    if made != 0 {
        let _ = sys::close_fd(chan);
        return Err(EAGAIN);
    }
    // SAFETY: `t` is the thread just made.
    unsafe { pthread_detach(t) };
    Ok(chan as i32)
}

fn attr_bytes(attr: &[i64; 8]) -> [u8; 64] {
    let mut b = [0u8; 64];
    for (i, v) in attr.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    b
}

/// The helper: receives notices and starts their threads; ends if its
/// channel fails (closed by the program: the next registration makes a
/// new one).
unsafe extern "C" fn helper_main(arg: *mut c_void) -> *mut c_void {
    let chan = arg as usize;
    let mut buf = [0u8; MQ_NOTICE_SIZE];
    loop {
        let r = sys::with_c_out(buf.as_mut_ptr(), MQ_NOTICE_SIZE, |p| {
            // SAFETY: `p` receives MQ_NOTICE_SIZE bytes.
            unsafe { sys::syscall(SYS_RB_MQ_TIMEDRECEIVE, &[chan, p, MQ_NOTICE_SIZE, 0, 0]) }
        });
        match r {
            Ok(n) if n == MQ_NOTICE_SIZE => {
                let mut c = [0u8; 8];
                c.copy_from_slice(&buf[..8]);
                launch(u64::from_ne_bytes(c));
            }
            Ok(_) | Err(EINTR) => {}
            Err(e) => {
                if e == EBADF && CHANNEL.load(Ordering::Acquire) as usize == chan {
                    let _ = HELPER.compare_exchange(2, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
                return core::ptr::null_mut();
            }
        }
    }
}

/// Starts the thread of the slot `cookie` names, if it is still armed.
fn launch(cookie: u64) {
    let index = (cookie & 0xffff_ffff) as usize;
    let gen = (cookie >> 32) as u32;
    let Some(slot) = TABLE.get(index) else { return };
    if slot
        .state
        .compare_exchange(ARMED, TAKEN, Ordering::AcqRel, Ordering::Relaxed)
        .is_err()
    {
        return;
    }
    if slot.gen.load(Ordering::Relaxed) != gen {
        slot.state.store(ARMED, Ordering::Release);
        return;
    }
    LAUNCH_FN.store(slot.func.load(Ordering::Relaxed), Ordering::Relaxed);
    LAUNCH_VALUE.store(slot.value.load(Ordering::Relaxed), Ordering::Relaxed);
    let stack = slot.stack.load(Ordering::Relaxed);
    slot.gen.fetch_add(1, Ordering::Relaxed);
    slot.state.store(FREE, Ordering::Release);
    #[repr(C, align(16))]
    struct Attr([u8; ATTR_ROOM]);
    let mut attr = Attr([0; ATTR_ROOM]);
    let a = attr.0.as_mut_ptr().cast::<c_void>();
    // SAFETY: `a` has room for the C library's pthread_attr_t.
    let have_attr = unsafe { pthread_attr_init(a) } == 0;
    if have_attr && stack != 0 {
        // SAFETY: `a` was initialised.
        unsafe { pthread_attr_setstacksize(a, stack) };
    }
    let mut t = 0u64;
    let use_attr = if have_attr {
        a as *const c_void
    } else {
        core::ptr::null()
    };
    // SAFETY: `trampoline` copies the LAUNCH_* cells before posting.
    let made = unsafe { pthread_create(&mut t, use_attr, trampoline, core::ptr::null_mut()) };
    if have_attr {
        // SAFETY: initialised above.
        unsafe { pthread_attr_destroy(a) };
    }
    if made == 0 {
        // SAFETY: `t` is the thread just made.
        unsafe { pthread_detach(t) };
        // SAFETY: initialised in `start`. The wait holds the next launch
        // until this thread has its function and value.
        while unsafe { sem_wait(launched()) } != 0 {}
    }
}

unsafe extern "C" fn trampoline(_: *mut c_void) -> *mut c_void {
    let func = LAUNCH_FN.load(Ordering::Relaxed);
    let value = LAUNCH_VALUE.load(Ordering::Relaxed);
    // SAFETY: initialised in `start`; the helper waits for this post.
    unsafe { sem_post(launched()) };
    if func != 0 {
        // SAFETY: the function the program registered, with its value.
        let f: NotifyFn = unsafe { core::mem::transmute::<usize, NotifyFn>(func) };
        let v = SigVal {
            ptr: value as usize as *mut c_void,
        };
        // SAFETY: as above.
        unsafe { f(v) };
    }
    core::ptr::null_mut()
}
