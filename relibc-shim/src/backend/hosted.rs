//! The host test backend: every syscall goes to
//! `redbear_ipc::syscall::dispatch` on one process-global `HostedKernel`,
//! whose single simulated process every calling thread joins (as its own
//! task) on its first syscall.
//!
//! The hosted kernel only knows the user memory it allocated, so:
//! - input buffers (timespecs, names) are copied into a per-thread
//!   scratch region for the duration of one call (`with_user_bytes`);
//! - the C program's own buffers that a real kernel would get as they are
//!   (itimerspecs, the signal mask, eventfd's value) are staged the same
//!   way when the host can read (write) them, and handed on unchanged
//!   when it cannot, so the hosted kernel answers EFAULT for them itself
//!   (`with_c_in`, `with_c_out`);
//! - an unnamed `sem_t` keeps its kernel-visible words in a hosted region
//!   allocated by `sem_init`, and the `sem_t` holds its address (the
//!   words-inline layout of a real kernel is `sem_t` itself: one `cfg` in
//!   `sem.rs` chooses). Every atomic of the fast path and every futex call
//!   still acts on those words.
//!
//! A bad `sem_t` or name pointer is dereferenced in user space, as on a
//! real kernel (and as glibc does). README.md explains the choice.
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

/// Copies `bytes` into the thread's scratch region for the call in `f`
/// (into a region of their own if they do not fit: SysV messages).
pub fn with_user_bytes<R>(bytes: &[u8], f: impl FnOnce(usize) -> R) -> R {
    let k = kernel();
    let base = SCRATCH.with(Cell::get);
    let used = USED.with(Cell::get);
    let len = bytes.len().next_multiple_of(8);
    if used + len > SCRATCH_LEN {
        let region = k.alloc_private(len.max(8));
        k.write_user(region, bytes)
            .expect("a fresh hosted region is writable");
        let r = f(region);
        k.memory().free(region);
        return r;
    }
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

// ---- the C program's memory ---------------------------------------------
//
// A real kernel is handed the C pointer itself and answers EFAULT for a
// bad one. Here C memory is host memory that the hosted kernel does not
// know, so memory the host can read (and, for output, write) is staged
// through the scratch region, and any other pointer is handed on as is:
// it lies in no hosted region, so the hosted kernel itself answers EFAULT,
// at the point and in the order a real kernel would. The host is asked
// with process_vm_readv/writev on this very process, which report EFAULT
// (or a short count) instead of faulting.

#[repr(C)]
struct IoVec {
    base: *mut core::ffi::c_void,
    len: usize,
}

type Iov = *const IoVec;
type Count = core::ffi::c_ulong;
/// process_vm_readv or process_vm_writev.
type VmCopy = unsafe extern "C" fn(c_int, Iov, Count, Iov, Count, Count) -> isize;

extern "C" {
    fn getpid() -> c_int;
    fn process_vm_readv(pid: c_int, l: Iov, n: Count, r: Iov, m: Count, f: Count) -> isize;
    fn process_vm_writev(pid: c_int, l: Iov, n: Count, r: Iov, m: Count, f: Count) -> isize;
}

/// Copies `len` bytes between `local` (ours) and C memory at `remote` of
/// this very process with `op`; false unless all of them were copied.
fn vm_copy(op: VmCopy, local: *mut u8, remote: *mut u8, len: usize) -> bool {
    let local = IoVec {
        base: local.cast(),
        len,
    };
    let remote = IoVec {
        base: remote.cast(),
        len,
    };
    // SAFETY: the kernel copies between the two ranges and reports a bad
    // `remote` as an error or a short count; nothing is dereferenced here,
    // and `local` is a buffer of ours that `op` may access (readv writes
    // it, writev only reads it).
    let n = unsafe { op(getpid(), &local, 1, &remote, 1, 0) };
    n == len as isize
}

/// Copies C memory at `ptr` into `buf`; false unless all of it was
/// readable.
fn c_read(ptr: *const u8, buf: &mut [u8]) -> bool {
    vm_copy(
        process_vm_readv,
        buf.as_mut_ptr(),
        ptr.cast_mut(),
        buf.len(),
    )
}

/// Copies `buf` to C memory at `ptr`; false unless all of it was written.
fn c_write(ptr: *mut u8, buf: &[u8]) -> bool {
    vm_copy(process_vm_writev, buf.as_ptr().cast_mut(), ptr, buf.len())
}

/// A copy of the `len` bytes of C memory at `ptr`: None if `ptr` is null
/// or not all of them are readable.
fn c_copy(ptr: *const u8, len: usize) -> Option<std::vec::Vec<u8>> {
    let mut copy = std::vec![0u8; len];
    (!ptr.is_null() && c_read(ptr, &mut copy)).then_some(copy)
}

/// Copies C memory at `ptr` into `out`; false (nothing read) if null or
/// not all readable (probed: no precondition here, `unsafe` to match the
/// native backend).
///
/// # Safety
/// None.
pub unsafe fn read_c(ptr: *const u8, out: &mut [u8]) -> bool {
    !ptr.is_null() && c_read(ptr, out)
}

/// The most bytes of C memory staged for one argument; a longer buffer
/// (a msgrcv size far past any message) is handed on as is, so the hosted
/// kernel answers EFAULT where a real kernel would write into it.
const STAGE_MAX: usize = 1 << 20;

/// Runs `f` with a hosted address holding a copy of the `len` bytes of C
/// memory at `ptr`, or with `ptr` itself (null, or not all readable).
pub fn with_c_in<R>(ptr: *const u8, len: usize, f: impl FnOnce(usize) -> R) -> R {
    if len > STAGE_MAX {
        return f(ptr as usize);
    }
    match c_copy(ptr, len) {
        Some(copy) => with_user_bytes(&copy, f),
        None => f(ptr as usize),
    }
}

/// Runs `f` with a hosted address for the kernel to write `len` bytes that
/// then go to C memory at `ptr`, or with `ptr` itself (null, or not all
/// writable: probed by reading it and writing the same bytes back, so a
/// bad buffer is left as it was).
pub fn with_c_out<R>(ptr: *mut u8, len: usize, f: impl FnOnce(usize) -> R) -> R {
    if len > STAGE_MAX {
        return f(ptr as usize);
    }
    match c_copy(ptr, len) {
        Some(mut copy) if c_write(ptr, &copy) => {
            let r = with_user_out(&mut copy, f);
            // The same bytes again if the kernel wrote nothing; probed
            // writable.
            let _ = c_write(ptr, &copy);
            r
        }
        _ => f(ptr as usize),
    }
}

/// read(2) on a hosted fd into the C buffer `buf` (the C program's own
/// read() is the host's).
///
/// # Safety
/// None: `buf` is reached only through `with_c_out`.
pub unsafe fn fd_read(fd: c_int, buf: *mut u8, len: usize) -> Result<usize, c_int> {
    let fd = usize::try_from(fd).map_err(|_| redbear_ipc::errno::EBADF)?;
    host().syscalls.fetch_add(1, Ordering::SeqCst);
    with_c_out(buf, len, |addr| kernel().read(fd, addr, len)).map_err(|e| e.errno)
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

/// Test hook: whether signal `sig` is pending for the process (an
/// mq_notify delivery).
#[no_mangle]
pub extern "C" fn rb_shim_hosted_pending(sig: c_int) -> c_int {
    let bit = redbear_ipc::kernel::sig_bit(sig as u32);
    c_int::from(host().proc.pending() & bit != 0)
}

/// Test hook: sets the process's credentials (permission tests).
#[no_mangle]
pub extern "C" fn rb_shim_hosted_set_creds(uid: c_uint, gid: c_uint) {
    host().proc.set_credentials(Credentials::new(uid, gid));
}

/// Test hook: read(2) on a hosted fd (-1 and errno on failure).
///
/// # Safety
/// None: a bad `buf` is EFAULT.
#[no_mangle]
pub unsafe extern "C" fn rb_shim_hosted_read(fd: c_int, buf: *mut u8, len: usize) -> isize {
    // SAFETY: with_c_out checks `buf`.
    match unsafe { fd_read(fd, buf, len) } {
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
