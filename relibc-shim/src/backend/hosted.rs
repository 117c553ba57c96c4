//! The host test backend: every syscall goes to
//! `redbear_ipc::syscall::dispatch` on one process-global `HostedKernel`,
//! whose single simulated process every calling thread joins (as its own
//! task) on its first syscall.
//!
//! The hosted kernel only knows the user memory it allocated, so:
//! - input buffers (timespecs, names) are copied into a per-thread
//!   scratch region for the duration of one call (`with_user_bytes`);
//! - an unnamed `sem_t` keeps its kernel-visible words in a hosted region
//!   allocated by `sem_init`, and the `sem_t` holds its address (the
//!   words-inline layout of a real kernel is `sem_t` itself: one `cfg` in
//!   `sem.rs` chooses). Every atomic of the fast path and every futex call
//!   still acts on those words.
//!
//! Bad user pointers therefore cannot reach the kernel from C here: EFAULT
//! paths are tested in Rust against `dispatch` (tests/sem.rs,
//! tests/dispatch_fuzz.rs). README.md explains the choice.
//!
//! CLOCK_MONOTONIC deadlines are rebased from the host's clock (what the C
//! program reads with glibc's clock_gettime) to the hosted kernel's.
//!
//! Test hooks for C programs are `rb_shim_hosted_*` (tests/c/hosted.h).

use core::ffi::{c_int, c_uint, c_ulonglong};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::kernel::{ClockId, Credentials, Kernel};

use crate::cabi::Timespec;

struct Host {
    k: Arc<HostedKernel>,
    proc: Arc<Process>,
    syscalls: AtomicU64,
}

static HOST: OnceLock<Host> = OnceLock::new();

/// Bytes of each thread's scratch region for input buffers.
const SCRATCH_LEN: usize = 1024;

std::thread_local! {
    /// The thread's scratch region (0: not yet entered).
    static SCRATCH: Cell<usize> = const { Cell::new(0) };
    /// Bytes of the scratch region in use by enclosing calls.
    static USED: Cell<usize> = const { Cell::new(0) };
}

fn host() -> &'static Host {
    HOST.get_or_init(|| {
        let k = HostedKernel::new(ClockMode::Real);
        let proc = k.spawn_process(Credentials::new(1000, 1000));
        Host {
            k,
            proc,
            syscalls: AtomicU64::new(0),
        }
    })
}

/// The hosted kernel, with the calling thread entered as a task of the
/// process (the first call makes the task; it lives as long as the
/// program, like a thread's kernel task would until exit).
pub fn kernel() -> &'static HostedKernel {
    let h = host();
    SCRATCH.with(|s| {
        if s.get() == 0 {
            // The guard's drop at thread exit would race other
            // thread-locals' destructors; the task simply stays.
            std::mem::forget(h.k.enter(&h.proc));
            s.set(h.k.alloc_private(SCRATCH_LEN));
        }
    });
    &h.k
}

/// Runs syscall `nr` on the hosted kernel and counts it.
///
/// # Safety
/// None beyond the hosted kernel's own checks: it touches only its
/// regions. `unsafe` to match the native backend.
pub unsafe fn raw_syscall(nr: usize, a: [usize; 6]) -> usize {
    let k = kernel();
    host().syscalls.fetch_add(1, Ordering::SeqCst);
    redbear_ipc::syscall::dispatch_raw(k, nr, a)
}

/// Copies `bytes` into the thread's scratch region for the call in `f`.
pub fn with_user_bytes<R>(bytes: &[u8], f: impl FnOnce(usize) -> R) -> R {
    let k = kernel();
    let base = SCRATCH.with(Cell::get);
    let used = USED.with(Cell::get);
    let len = bytes.len().next_multiple_of(8);
    assert!(used + len <= SCRATCH_LEN, "hosted scratch overflow");
    k.write_user(base + used, bytes)
        .expect("hosted scratch region is writable");
    USED.with(|u| u.set(used + len));
    let r = f(base + used);
    USED.with(|u| u.set(used));
    r
}

/// Runs `f` with the user address of a scratch copy of `buf` that the
/// kernel may write during a syscall made inside `f`; copies it back.
pub fn with_user_out<R>(buf: &mut [u8], f: impl FnOnce(usize) -> R) -> R {
    let copy = buf.to_vec();
    with_user_bytes(&copy, |addr| {
        let r = f(addr);
        kernel()
            .read_user(addr, buf)
            .expect("hosted scratch region is readable");
        r
    })
}

/// read(2) on a hosted fd (the C program's own read() is the host's).
pub fn fd_read(fd: c_int, buf: &mut [u8]) -> Result<usize, c_int> {
    let fd = usize::try_from(fd).map_err(|_| redbear_ipc::errno::EBADF)?;
    host().syscalls.fetch_add(1, Ordering::SeqCst);
    let len = buf.len();
    with_user_out(buf, |addr| kernel().read(fd, addr, len)).map_err(|e| e.errno)
}

/// write(2) on a hosted fd.
pub fn fd_write(fd: c_int, buf: &[u8]) -> Result<usize, c_int> {
    let fd = usize::try_from(fd).map_err(|_| redbear_ipc::errno::EBADF)?;
    host().syscalls.fetch_add(1, Ordering::SeqCst);
    with_user_bytes(buf, |addr| kernel().write(fd, addr, buf.len())).map_err(|e| e.errno)
}

/// Allocates `len` bytes of hosted user memory (for words the kernel and
/// the fast path share); shared between hosted processes if `shared`.
pub fn alloc_words(len: usize, shared: bool) -> usize {
    let k = kernel();
    if shared {
        k.alloc_shared(len)
    } else {
        k.alloc_private(len)
    }
}

/// Frees memory from `alloc_words`.
pub fn free_words(addr: usize) {
    kernel().memory().free(addr);
}

fn host_monotonic_ns() -> i128 {
    #[repr(C)]
    struct Ts {
        sec: i64,
        nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: c_int, ts: *mut Ts) -> c_int;
    }
    let mut ts = Ts { sec: 0, nsec: 0 };
    // SAFETY: ts is a valid out-pointer; Linux's CLOCK_MONOTONIC is 1.
    unsafe { clock_gettime(1, &mut ts) };
    i128::from(ts.sec) * 1_000_000_000 + i128::from(ts.nsec)
}

/// A CLOCK_MONOTONIC deadline of the host moved to the hosted kernel's
/// monotonic clock (which starts at 1 s); realtime is the host's already.
pub fn rebase_deadline(ts: Timespec, clock: ClockId) -> Timespec {
    if clock != ClockId::Monotonic {
        return ts;
    }
    let at = i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec);
    let hosted_now = i128::from(kernel().now(ClockId::Monotonic));
    let rebased = (at - host_monotonic_ns() + hosted_now).max(0);
    Timespec {
        tv_sec: (rebased / 1_000_000_000) as i64,
        tv_nsec: (rebased % 1_000_000_000) as i64,
    }
}

/// Closes a hosted fd.
pub fn close_fd(fd: usize) -> Result<(), c_int> {
    kernel().close(fd).map_err(|e| e.errno)
}

/// Test hook: syscalls made so far (proves the fast paths make none).
#[no_mangle]
pub extern "C" fn rb_shim_hosted_syscalls() -> c_ulonglong {
    host().syscalls.load(Ordering::SeqCst)
}

/// Test hook: tasks asleep in the hosted kernel right now.
#[no_mangle]
pub extern "C" fn rb_shim_hosted_parked() -> c_int {
    kernel().parked_tasks() as c_int
}

/// Test hook: makes signal `sig` pending for the process (a sleeping
/// wait returns EINTR), as `kill(getpid(), sig)` would.
#[no_mangle]
pub extern "C" fn rb_shim_hosted_raise(sig: c_int) {
    let k = kernel();
    k.send_signal(&host().proc, sig as u32);
}

/// Test hook: delivers (clears) a pending signal, as the return to user
/// mode after a handler would.
#[no_mangle]
pub extern "C" fn rb_shim_hosted_take_signal(sig: c_int) {
    host().proc.take_signal_all(sig as u32);
}

/// Test hook: sets the process's credentials (permission tests).
#[no_mangle]
pub extern "C" fn rb_shim_hosted_set_creds(uid: c_uint, gid: c_uint) {
    host().proc.set_credentials(Credentials::new(uid, gid));
}

/// Test hook: read(2) on a hosted fd (-1 and errno on failure).
///
/// # Safety
/// `buf` is writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rb_shim_hosted_read(fd: c_int, buf: *mut u8, len: usize) -> isize {
    // SAFETY: per the caller.
    let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
    match fd_read(fd, buf) {
        Ok(n) => n as isize,
        Err(e) => crate::sys::fail(e, -1),
    }
}

/// Test hook: write(2) on a hosted fd (-1 and errno on failure).
///
/// # Safety
/// `buf` is readable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn rb_shim_hosted_write(fd: c_int, buf: *const u8, len: usize) -> isize {
    // SAFETY: per the caller.
    let buf = unsafe { std::slice::from_raw_parts(buf, len) };
    match fd_write(fd, buf) {
        Ok(n) => n as isize,
        Err(e) => crate::sys::fail(e, -1),
    }
}

/// Test hook: close(2) on a hosted fd.
#[no_mangle]
pub extern "C" fn rb_shim_hosted_close(fd: c_int) -> c_int {
    crate::sys::status(close_fd(fd as usize))
}
