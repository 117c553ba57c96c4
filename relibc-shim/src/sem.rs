//! POSIX semaphores (`semaphore.h`): sem_init, sem_destroy, sem_open,
//! sem_close, sem_unlink, sem_wait, sem_trywait, sem_timedwait,
//! sem_clockwait, sem_post, sem_getvalue.
//!
//! Unnamed semaphores run the kernel's own protocol code,
//! `redbear_ipc::ipc::sem::protocol`, over the words as atomics in this
//! address space (`Local`): the first 16 bytes of `sem_t` are the
//! kernel-visible words of `redbear_ipc::ipc::sem::unnamed` (`value`, the
//! futex word; `nwaiters`; `flags`, bit 0 process-shared). Uncontended
//! post, trywait and wait are atomics on `value` and make no syscall; a
//! waiter that finds 0 adds itself to `nwaiters` before it futex-waits for
//! `value != 0`, and a poster raises `value` before it reads `nwaiters`
//! and wakes one sleeper only if there is one (both sequentially
//! consistent; the protocol module says why).
//!
//! Named semaphores live in the kernel: `sem_open` gets an fd and returns a
//! `sem_t` from a static table whose `flags` word has `FLAG_NAMED` and
//! whose `spare` word holds the fd. It then asks the kernel to map the
//! semaphore's page (`SYS_RB_SEM_MAP`): where it can, `ext` holds the
//! address of the page's words, `FLAG_MAPPED` is set, and every operation
//! is the unnamed protocol on those words (process-shared futexes), with
//! no syscall uncontended, across processes. Where the kernel keeps the
//! state itself (EOPNOTSUPP, or ENOSYS from an older kernel), every
//! operation is a `SYS_RB_SEM_*` call with `SemFlags::REF_FD`. A second
//! `sem_open` of a name this process has open returns the same `sem_t`
//! (POSIX), counted, until as many `sem_close`s; the last one unmaps.
//!
//! glibc's orders that the differential tests pinned: sem_timedwait checks
//! `tv_nsec` before it tries the semaphore (EINVAL even if available);
//! sem_clockwait checks the clock first; a deadline with `tv_sec < 0` is
//! ETIMEDOUT once the semaphore is unavailable; O_CREAT|O_EXCL with a value
//! above SEM_VALUE_MAX is EINVAL before EEXIST (the kernel's order).

use core::ffi::{c_char, c_int, c_uint};
use core::mem::{align_of, offset_of, size_of};
use core::sync::atomic::{
    AtomicU32, AtomicU64, Ordering,
    Ordering::{Acquire, Relaxed, SeqCst},
};

use redbear_ipc::errno::{EAGAIN, EINVAL, EMFILE, ENOSYS, EOPNOTSUPP, ETIMEDOUT};
use redbear_ipc::ipc::futex::BITSET_MATCH_ANY;
use redbear_ipc::ipc::sem::protocol::{self, SemAccess, SemError, WaitMode, Word};
use redbear_ipc::ipc::sem::unnamed::{
    FLAGS_OFFSET, NWAITERS_OFFSET, SEM_FLAG_SHARED, SEM_WORDS_SIZE, VALUE_OFFSET,
};
use redbear_ipc::kernel::ClockId;
use redbear_ipc::syscall::abi::{FutexFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::{
    SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE, SYS_RB_SEM_GETVALUE, SYS_RB_SEM_INIT, SYS_RB_SEM_MAP,
    SYS_RB_SEM_OPEN, SYS_RB_SEM_POST, SYS_RB_SEM_UNLINK, SYS_RB_SEM_UNMAP, SYS_RB_SEM_WAIT,
};

use crate::cabi::{self, Timespec};
use crate::sys::{self, fail, status};

/// `SEM_VALUE_MAX`.
pub const SEM_VALUE_MAX: u32 = redbear_ipc::ipc::sem::SEM_VALUE_MAX;

/// The kernel-visible words of an unnamed semaphore
/// (`redbear_ipc::ipc::sem::unnamed`'s layout).
#[repr(C)]
pub struct Words {
    value: AtomicU32,
    nwaiters: AtomicU32,
    flags: AtomicU32,
    reserved: AtomicU32,
}

/// C `sem_t`: 32 bytes, 8-aligned, as glibc's on LP64.
#[repr(C, align(8))]
pub struct SemT {
    words: Words,
    /// Named: the kernel fd; mapped: the address of the page's words.
    /// Hosted backend, unnamed: the address of the hosted region holding
    /// the kernel-visible words.
    ext: AtomicU64,
    /// Mapped named: the kernel fd.
    spare: AtomicU64,
}

/// Shim-private bit of the `flags` word: a named semaphore (the kernel
/// never sees a named `sem_t`).
pub const FLAG_NAMED: u32 = 1 << 31;
/// Shim-private bit beside `FLAG_NAMED`: the semaphore's page is mapped
/// and `ext` holds its words' address.
pub const FLAG_MAPPED: u32 = 1 << 30;

const _: () = {
    assert!(size_of::<SemT>() == 32);
    assert!(align_of::<SemT>() == 8);
    assert!(size_of::<Words>() == SEM_WORDS_SIZE);
    assert!(offset_of!(Words, value) == VALUE_OFFSET);
    assert!(offset_of!(Words, nwaiters) == NWAITERS_OFFSET);
    assert!(offset_of!(Words, flags) == FLAGS_OFFSET);
    assert!(FLAG_NAMED & SEM_FLAG_SHARED == 0);
    assert!(FLAG_MAPPED & (SEM_FLAG_SHARED | FLAG_NAMED) == 0);
    assert!(size_of::<Timespec>() == redbear_ipc::syscall::abi::TIMESPEC_SIZE);
};

/// The `value` word of every `sem_t` in the named table: above
/// SEM_VALUE_MAX, so the unnamed fast paths, which try a `sem_t`'s own
/// words without reading `flags`, fail there (post as at the maximum,
/// trywait as not a semaphore) and a named semaphore takes its own path.
const NAMED_VALUE: u32 = u32::MAX;

const _: () = assert!(NAMED_VALUE > SEM_VALUE_MAX);

impl SemT {
    // The hosted backend's sem_init starts from a zeroed one.
    #[cfg_attr(not(feature = "hosted-backend"), allow(dead_code))]
    const fn new() -> Self {
        Self::with_value(0)
    }

    const fn with_value(value: u32) -> Self {
        SemT {
            words: Words {
                value: AtomicU32::new(value),
                nwaiters: AtomicU32::new(0),
                flags: AtomicU32::new(0),
                reserved: AtomicU32::new(0),
            },
            ext: AtomicU64::new(0),
            spare: AtomicU64::new(0),
        }
    }
}

/// What a `sem_t` pointer refers to.
enum Sem<'a> {
    /// The user address of the kernel-visible words, and the words.
    // The address is read only by the hosted backend's sem_destroy.
    Unnamed(
        #[cfg_attr(not(feature = "hosted-backend"), allow(dead_code))] usize,
        &'a Words,
    ),
    /// The kernel fd of a named semaphore.
    Named(usize),
}

/// Classifies `sem`. EINVAL for null or misaligned pointers and, on the
/// hosted backend, for a `sem_t` that `sem_init` never set up.
///
/// # Safety
/// A non-null, aligned `sem` must point to a `sem_t` that lives for `'a`.
unsafe fn classify<'a>(sem: *mut SemT) -> Result<Sem<'a>, c_int> {
    if sem.is_null() || !sem.is_aligned() {
        return Err(EINVAL);
    }
    // SAFETY: non-null and aligned; the caller vouches for the rest.
    let s: &'a SemT = unsafe { &*sem };
    let flags = s.words.flags.load(SeqCst);
    if flags & FLAG_NAMED != 0 {
        if flags & FLAG_MAPPED != 0 {
            let addr = s.ext.load(SeqCst) as usize;
            // SAFETY: the kernel mapped the page at `addr` for as long as
            // FLAG_MAPPED is set (sem_close clears it before unmapping).
            return Ok(Sem::Unnamed(addr, unsafe { &*(addr as *const Words) }));
        }
        return Ok(Sem::Named(s.ext.load(SeqCst) as usize));
    }
    let addr = words_addr(s)?;
    // SAFETY: words_addr gives the address of live, aligned `Words`.
    Ok(Sem::Unnamed(addr, unsafe { &*(addr as *const Words) }))
}

/// The fast paths' view of a non-null, aligned `sem`: its own words,
/// where an unnamed semaphore keeps its state. `flags` is not read: a
/// named `sem_t` holds `NAMED_VALUE`, on which every fast path fails over
/// to `mapped_words` and then the slow path.
///
/// # Safety
/// `sem` is non-null and aligned; otherwise as for `classify`.
#[cfg(not(feature = "hosted-backend"))]
#[inline(always)]
unsafe fn fast_words<'a>(sem: *mut SemT) -> Option<&'a Words> {
    // SAFETY: non-null and aligned; the caller vouches for the rest.
    Some(unsafe { &(*sem).words })
}

/// The hosted backend keeps an unnamed semaphore's words in a hosted
/// region (`ext`): `classify`'s way, without the errors.
///
/// # Safety
/// As for the native `fast_words`.
#[cfg(feature = "hosted-backend")]
#[inline(always)]
unsafe fn fast_words<'a>(sem: *mut SemT) -> Option<&'a Words> {
    // SAFETY: non-null and aligned; the caller vouches for the rest.
    let s: &'a SemT = unsafe { &*sem };
    if s.words.flags.load(Relaxed) & FLAG_NAMED != 0 {
        return None;
    }
    let addr = words_addr(s).ok()?;
    // SAFETY: words_addr gives the address of live, aligned `Words`.
    Some(unsafe { &*(addr as *const Words) })
}

/// The words of a named semaphore whose page is mapped, or `None`
/// (unnamed, kept in the kernel: the slow path sorts it out).
///
/// # Safety
/// As for `fast_words`.
#[inline(always)]
unsafe fn mapped_words<'a>(sem: *mut SemT) -> Option<&'a Words> {
    // SAFETY: non-null and aligned; the caller vouches for the rest.
    let s: &'a SemT = unsafe { &*sem };
    if s.words.flags.load(Relaxed) != FLAG_NAMED | FLAG_MAPPED {
        return None;
    }
    let addr = s.ext.load(Relaxed) as usize;
    // SAFETY: as in `classify`: mapped while FLAG_MAPPED is set.
    Some(unsafe { &*(addr as *const Words) })
}

/// The protocol's one attempt to take a unit, with no syscall.
#[inline(always)]
fn take_fast(w: &Words) -> bool {
    matches!(protocol::try_take_once(&Local::new(w, How::Try)), Ok(true))
}

/// The result of an operation on a bad `sem` (null: EINVAL, before
/// anything reads it). Opaque to the fast paths, so that they reach it by
/// a tail call and need no stack frame.
///
/// # Safety
/// As for `classify`.
#[cold]
#[inline(never)]
unsafe fn bad_sem(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    status(unsafe { classify(sem) }.map(drop))
}

/// sem_wait's and sem_trywait's slow paths, with `How` out of the fast
/// paths' frames.
///
/// # Safety
/// As for sem_wait.
#[cold]
#[inline(never)]
unsafe fn wait_forever(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { wait(sem, How::Forever) }
}

/// # Safety
/// As for sem_trywait.
#[cold]
#[inline(never)]
unsafe fn wait_try(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { wait(sem, How::Try) }
}

#[cfg(not(feature = "hosted-backend"))]
#[inline(always)]
fn words_addr(s: &SemT) -> Result<usize, c_int> {
    Ok(&s.words as *const Words as usize)
}

#[cfg(feature = "hosted-backend")]
#[inline(always)]
fn words_addr(s: &SemT) -> Result<usize, c_int> {
    match s.ext.load(SeqCst) as usize {
        0 => Err(EINVAL),
        addr => Ok(addr),
    }
}

/// An unnamed semaphore as the protocol reaches it: its words as atomics
/// in this address space, the futex on `value` through the kernel (whose
/// user address is the words' address in both backends), and how long a
/// wait may sleep.
struct Local<'a> {
    w: &'a Words,
    how: How,
}

impl<'a> Local<'a> {
    #[inline(always)]
    fn new(w: &'a Words, how: How) -> Self {
        Local { w, how }
    }

    #[inline(always)]
    fn word(&self, word: Word) -> &AtomicU32 {
        match word {
            Word::Value => &self.w.value,
            Word::Waiters => &self.w.nwaiters,
        }
    }

    fn uaddr(&self) -> usize {
        self.w as *const Words as usize
    }

    fn futex_flags(&self) -> FutexFlags {
        let mut flags = FutexFlags::empty();
        if self.w.flags.load(SeqCst) & SEM_FLAG_SHARED != 0 {
            flags |= FutexFlags::SHARED;
        }
        flags
    }
}

impl SemAccess for Local<'_> {
    type Error = c_int;

    #[inline(always)]
    fn load(&self, word: Word, order: Ordering) -> Result<u32, c_int> {
        // Only load orderings reach `load` (a store ordering would panic).
        let order = match order {
            Relaxed => Relaxed,
            Acquire => Acquire,
            _ => SeqCst,
        };
        Ok(self.word(word).load(order))
    }

    #[inline(always)]
    fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, c_int> {
        Ok(
            match self
                .word(word)
                .compare_exchange(current, new, SeqCst, SeqCst)
            {
                Ok(v) | Err(v) => v,
            },
        )
    }

    fn fetch_add(&self, word: Word, delta: u32) -> Result<(), c_int> {
        self.word(word).fetch_add(delta, SeqCst);
        Ok(())
    }

    fn sleep(&self) -> Result<(), c_int> {
        let uaddr = self.uaddr();
        let mut flags = self.futex_flags();
        if let How::Until(clock, _) = self.how {
            flags |= FutexFlags::ABSOLUTE;
            if clock == ClockId::Realtime {
                flags |= FutexFlags::CLOCK_REALTIME;
            }
        }
        let slept = with_deadline(self.how, |ts| {
            // SAFETY: uaddr is the live futex word; ts is 0 or a staged
            // kernel-ABI timespec.
            unsafe {
                sys::syscall(
                    SYS_RB_FUTEX_WAIT,
                    &[uaddr, 0, ts, flags.bits(), BITSET_MATCH_ANY as usize],
                )
            }
        });
        match slept {
            Ok(_) | Err(EAGAIN) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn wake_one(&self) -> Result<(), c_int> {
        // The words alone, in a register: a `&Local` would make the
        // caller build one in memory on its fast path too.
        wake_one(self.w)
    }
}

/// The errno of a failed protocol step.
fn errno(e: SemError<c_int>) -> c_int {
    e.errno(|e| e)
}

/// How long a wait may sleep.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Try,
    Forever,
    Until(ClockId, Timespec),
}

impl How {
    /// A deadline before the epoch: glibc reports ETIMEDOUT without a
    /// syscall (the kernel ABI rejects a negative `tv_sec`).
    fn expired(self) -> bool {
        matches!(self, How::Until(_, ts) if ts.tv_sec < 0)
    }
}

/// Runs `f` with the user address of the kernel-ABI timespec of `how`'s
/// deadline (0 when there is none).
fn with_deadline<R>(how: How, f: impl FnOnce(usize) -> R) -> R {
    match how {
        How::Until(clock, ts) => {
            let abi = crate::backend::rebase_deadline(ts, clock).to_abi();
            sys::with_user_bytes(&abi, f)
        }
        _ => f(0),
    }
}

fn wait_unnamed(w: &Words, how: How) -> Result<(), c_int> {
    let expired = how.expired();
    let mode = if how == How::Try || expired {
        WaitMode::Try
    } else {
        WaitMode::Block
    };
    match protocol::wait(&Local::new(w, how), mode) {
        Err(SemError::WouldBlock) if expired => Err(ETIMEDOUT),
        r => r.map_err(errno),
    }
}

fn wait_named(fd: usize, how: How) -> Result<(), c_int> {
    let fd_flag = SemFlags::REF_FD.bits();
    let r = match how {
        How::Try => {
            // SAFETY: no pointers.
            unsafe { sys::syscall(SYS_RB_SEM_WAIT, &[fd, fd_flag | SemFlags::TRY.bits()]) }
        }
        How::Forever => {
            // SAFETY: no pointers.
            unsafe { sys::syscall(SYS_RB_SEM_WAIT, &[fd, fd_flag]) }
        }
        How::Until(..) if how.expired() => {
            // SAFETY: no pointers.
            match unsafe { sys::syscall(SYS_RB_SEM_WAIT, &[fd, fd_flag | SemFlags::TRY.bits()]) } {
                Err(EAGAIN) => Err(ETIMEDOUT),
                r => r,
            }
        }
        How::Until(clock, _) => with_deadline(how, |ts| {
            // SAFETY: ts is a staged kernel-ABI timespec.
            unsafe {
                sys::syscall(
                    SYS_RB_SEM_WAIT,
                    &[fd, fd_flag | SemFlags::TIMED.bits(), ts, clock as usize],
                )
            }
        }),
    };
    r.map(|_| ())
}

/// # Safety
/// `sem` is null or points to a live `sem_t`.
#[cold]
#[inline(never)]
unsafe fn wait(sem: *mut SemT, how: How) -> c_int {
    // SAFETY: forwarded from the caller.
    status(match unsafe { classify(sem) } {
        Ok(Sem::Unnamed(_, w)) => wait_unnamed(w, how),
        Ok(Sem::Named(fd)) => wait_named(fd, how),
        Err(e) => Err(e),
    })
}

/// Reads a deadline: EINVAL for a null pointer or `tv_nsec` out of range.
///
/// # Safety
/// `abstime` is null or points to a readable timespec.
unsafe fn deadline(clock: ClockId, abstime: *const Timespec) -> Result<How, c_int> {
    if abstime.is_null() || !abstime.is_aligned() {
        return Err(EINVAL);
    }
    // SAFETY: non-null, aligned, readable per the caller.
    let ts = unsafe { abstime.read() };
    if !ts.nsec_valid() {
        return Err(EINVAL);
    }
    Ok(How::Until(clock, ts))
}

/// `int sem_init(sem_t *sem, int pshared, unsigned value)`.
///
/// # Safety
/// `sem` points to 32 writable bytes (or is null: EINVAL).
#[no_mangle]
pub unsafe extern "C" fn sem_init(sem: *mut SemT, pshared: c_int, value: c_uint) -> c_int {
    if sem.is_null() || !sem.is_aligned() || value > SEM_VALUE_MAX {
        return fail(EINVAL, -1);
    }
    // SAFETY: forwarded from the caller.
    status(unsafe { init_words(sem, pshared != 0, value) })
}

/// The kernel writes all of an unnamed semaphore's state (its 16
/// kernel-visible words, `flags` without FLAG_NAMED) where the caller's
/// `sem_t` is, so the shim touches nothing first: a bad pointer is the
/// kernel's EFAULT (glibc's sem_init writes in user space and faults).
///
/// # Safety
/// None in the shim: `sem` reaches only the kernel.
#[cfg(not(feature = "hosted-backend"))]
unsafe fn init_words(sem: *mut SemT, shared: bool, value: c_uint) -> Result<(), c_int> {
    let uaddr = sem as usize + offset_of!(SemT, words);
    // SAFETY: the kernel checks and writes the 16 bytes at uaddr.
    unsafe { sys::syscall(SYS_RB_SEM_INIT, &[uaddr, shared as usize, value as usize]) }.map(|_| ())
}

/// # Safety
/// `sem` points to 32 writable bytes.
#[cfg(feature = "hosted-backend")]
unsafe fn init_words(sem: *mut SemT, shared: bool, value: c_uint) -> Result<(), c_int> {
    use crate::backend::hosted;
    // SAFETY: writable and aligned per the caller; a fresh semaphore.
    unsafe { sem.write(SemT::new()) };
    // SAFETY: just written.
    let s = unsafe { &*sem };
    let uaddr = hosted::alloc_words(SEM_WORDS_SIZE, shared);
    // SAFETY: the hosted kernel writes its own region.
    match unsafe { sys::syscall(SYS_RB_SEM_INIT, &[uaddr, shared as usize, value as usize]) } {
        Ok(_) => {
            s.ext.store(uaddr as u64, SeqCst);
            Ok(())
        }
        Err(e) => {
            hosted::free_words(uaddr);
            Err(e)
        }
    }
}

/// `int sem_destroy(sem_t *sem)`: EINVAL for a named semaphore.
///
/// # Safety
/// `sem` is null or points to a `sem_t` from `sem_init` that no thread
/// waits on.
#[no_mangle]
pub unsafe extern "C" fn sem_destroy(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    unsafe { destroy(sem) }
}

/// An unnamed semaphore holds nothing outside its `sem_t`, so there is
/// nothing to do and, as glibc's sem_destroy, nothing is read: any other
/// pointer is 0. Named semaphores are exactly the table's open entries.
///
/// # Safety
/// None: `sem` is only compared.
#[cfg(not(feature = "hosted-backend"))]
unsafe fn destroy(sem: *mut SemT) -> c_int {
    if sem.is_null() || !sem.is_aligned() {
        return fail(EINVAL, -1);
    }
    match slot_of(sem) {
        Some(i) if TABLE.lock()[i].refs > 0 => fail(EINVAL, -1),
        _ => 0,
    }
}

/// # Safety
/// As for sem_destroy.
#[cfg(feature = "hosted-backend")]
unsafe fn destroy(sem: *mut SemT) -> c_int {
    // A mapped named semaphore classifies as its page's words: the table
    // says it is named (sem_close, not sem_destroy).
    if matches!(slot_of(sem), Some(i) if TABLE.lock()[i].refs > 0) {
        return fail(EINVAL, -1);
    }
    // SAFETY: forwarded from the caller.
    match unsafe { classify(sem) } {
        Ok(Sem::Unnamed(uaddr, _)) => {
            crate::backend::hosted::free_words(uaddr);
            // SAFETY: classify checked the pointer.
            unsafe { (*sem).ext.store(0, SeqCst) };
            0
        }
        Ok(Sem::Named(_)) => fail(EINVAL, -1),
        Err(e) => fail(e, -1),
    }
}

/// `int sem_post(sem_t *sem)`: EOVERFLOW at SEM_VALUE_MAX.
///
/// # Safety
/// `sem` is null or points to a live `sem_t`.
#[no_mangle]
pub unsafe extern "C" fn sem_post(sem: *mut SemT) -> c_int {
    // Two exits, so that the checks stay two branches.
    if sem.is_null() {
        // SAFETY: forwarded from the caller.
        return unsafe { bad_sem(sem) };
    }
    if !sem.is_aligned() {
        // SAFETY: forwarded from the caller.
        return unsafe { post_slow(sem) };
    }
    // SAFETY: checked above; the caller vouches for the rest.
    if let Some(w) = unsafe { fast_words(sem) } {
        if let Some(r) = post_fast(w) {
            return r;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { post_other(sem) }
}

/// sem_post past its unnamed fast path: a mapped named semaphore the same
/// way on its page's words, anything else the slow path.
///
/// # Safety
/// As for sem_post, and `sem` is non-null and aligned.
#[inline(never)]
unsafe fn post_other(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    if let Some(w) = unsafe { mapped_words(sem) } {
        if let Some(r) = post_fast(w) {
            return r;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { post_slow(sem) }
}

/// The protocol's one attempt to post on `w`: sem_post's result, or
/// `None` where nothing changed (the value at or above the maximum, as a
/// named `sem_t`'s own words are, or changed under the attempt): the
/// caller's next path reports or retries.
#[inline(always)]
fn post_fast(w: &Words) -> Option<c_int> {
    match protocol::post_once(&Local::new(w, How::Forever)) {
        Ok(Some(false)) => Some(0),
        Ok(Some(true)) => Some(wake_posted(w)),
        Ok(None) => None,
        Err(e) => Some(fail(errno(e), -1)),
    }
}

/// The wake of a post that raised the value and saw a waiter.
#[cold]
#[inline(never)]
fn wake_posted(w: &Words) -> c_int {
    status(wake_one(w))
}

/// sem_post of what is not an unnamed semaphore: a named one or a bad
/// pointer.
///
/// # Safety
/// As for sem_post.
#[cold]
#[inline(never)]
unsafe fn post_slow(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    status(match unsafe { classify(sem) } {
        Ok(Sem::Unnamed(_, w)) => post_unnamed(w),
        Ok(Sem::Named(fd)) => {
            // SAFETY: no pointers.
            unsafe { sys::syscall(SYS_RB_SEM_POST, &[fd, SemFlags::REF_FD.bits()]) }.map(|_| ())
        }
        Err(e) => Err(e),
    })
}

/// The protocol's post: no syscall unless a waiter registered.
#[inline(always)]
fn post_unnamed(w: &Words) -> Result<(), c_int> {
    protocol::post(&Local::new(w, How::Forever)).map_err(errno)
}

/// Wakes one sleeper of the semaphore at `w`.
#[cold]
#[inline(never)]
fn wake_one(w: &Words) -> Result<(), c_int> {
    let sem = Local::new(w, How::Try);
    let flags = sem.futex_flags();
    // SAFETY: the address is the live futex word.
    unsafe {
        sys::syscall(
            SYS_RB_FUTEX_WAKE,
            &[sem.uaddr(), 1, flags.bits(), BITSET_MATCH_ANY as usize],
        )
    }
    .map(|_| ())
}

/// `int sem_wait(sem_t *sem)`: EINTR on a signal.
///
/// # Safety
/// `sem` is null or points to a live `sem_t`.
#[no_mangle]
pub unsafe extern "C" fn sem_wait(sem: *mut SemT) -> c_int {
    if sem.is_null() {
        // SAFETY: forwarded from the caller.
        return unsafe { bad_sem(sem) };
    }
    if !sem.is_aligned() {
        // SAFETY: forwarded from the caller.
        return unsafe { wait_forever(sem) };
    }
    // SAFETY: checked above; the caller vouches for the rest.
    if let Some(w) = unsafe { fast_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { wait_other(sem) }
}

/// # Safety
/// As for sem_wait, and `sem` is non-null and aligned.
#[inline(never)]
unsafe fn wait_other(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    if let Some(w) = unsafe { mapped_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { wait_forever(sem) }
}

/// `int __rb_shim_sem_wait_or(sem_t *sem, int (*slow)(sem_t *))`: for a
/// libc whose sem_wait is a cancellation point (the testbed's,
/// tests/qemu/libc/shim/sem_cancel.c). Takes a unit as sem_wait's fast
/// path does, with no syscall and errno untouched, and returns 0; a null
/// `sem` is sem_wait's EINVAL; where the take fails otherwise (nothing
/// to take, a semaphore kept in the kernel, a misaligned pointer) returns
/// `slow(sem)`, which does the whole wait.
///
/// # Safety
/// As for sem_wait; `slow` is callable with `sem`.
#[no_mangle]
pub unsafe extern "C" fn __rb_shim_sem_wait_or(
    sem: *mut SemT,
    slow: unsafe extern "C" fn(*mut SemT) -> c_int,
) -> c_int {
    if sem.is_null() {
        // SAFETY: forwarded from the caller.
        return unsafe { bad_sem(sem) };
    }
    if !sem.is_aligned() {
        // SAFETY: `slow` takes `sem`, per the caller.
        return unsafe { slow(sem) };
    }
    // SAFETY: checked above; the caller vouches for the rest.
    if let Some(w) = unsafe { fast_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { wait_or_other(sem, slow) }
}

/// # Safety
/// As for `__rb_shim_sem_wait_or`, and `sem` is non-null and aligned.
#[inline(never)]
unsafe fn wait_or_other(sem: *mut SemT, slow: unsafe extern "C" fn(*mut SemT) -> c_int) -> c_int {
    // SAFETY: forwarded from the caller.
    if let Some(w) = unsafe { mapped_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: `slow` takes `sem`, per the caller.
    unsafe { slow(sem) }
}

/// `int sem_trywait(sem_t *sem)`: EAGAIN at 0.
///
/// # Safety
/// `sem` is null or points to a live `sem_t`.
#[no_mangle]
pub unsafe extern "C" fn sem_trywait(sem: *mut SemT) -> c_int {
    if sem.is_null() {
        // SAFETY: forwarded from the caller.
        return unsafe { bad_sem(sem) };
    }
    if !sem.is_aligned() {
        // SAFETY: forwarded from the caller.
        return unsafe { wait_try(sem) };
    }
    // SAFETY: checked above; the caller vouches for the rest.
    if let Some(w) = unsafe { fast_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { trywait_other(sem) }
}

/// # Safety
/// As for sem_trywait, and `sem` is non-null and aligned.
#[inline(never)]
unsafe fn trywait_other(sem: *mut SemT) -> c_int {
    // SAFETY: forwarded from the caller.
    if let Some(w) = unsafe { mapped_words(sem) } {
        if take_fast(w) {
            return 0;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { wait_try(sem) }
}

/// `int sem_timedwait(sem_t *sem, const struct timespec *abstime)`:
/// absolute CLOCK_REALTIME deadline; EINVAL for `tv_nsec` out of range
/// (checked first), ETIMEDOUT, EINTR.
///
/// # Safety
/// `sem` as for sem_wait; `abstime` null or readable.
#[no_mangle]
pub unsafe extern "C" fn sem_timedwait(sem: *mut SemT, abstime: *const Timespec) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { deadline(ClockId::Realtime, abstime) } {
        // SAFETY: forwarded from the caller.
        Ok(how) => unsafe { wait(sem, how) },
        Err(e) => fail(e, -1),
    }
}

/// `int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec
/// *abstime)`: CLOCK_REALTIME or CLOCK_MONOTONIC (else EINVAL, checked
/// first), then as sem_timedwait.
///
/// # Safety
/// As for sem_timedwait.
#[no_mangle]
pub unsafe extern "C" fn sem_clockwait(
    sem: *mut SemT,
    clock: c_int,
    abstime: *const Timespec,
) -> c_int {
    let Some(clock) = cabi::wait_clock(clock) else {
        return fail(EINVAL, -1);
    };
    // SAFETY: forwarded from the caller.
    match unsafe { deadline(clock, abstime) } {
        // SAFETY: forwarded from the caller.
        Ok(how) => unsafe { wait(sem, how) },
        Err(e) => fail(e, -1),
    }
}

/// `int sem_getvalue(sem_t *sem, int *sval)`: the count, never negative.
///
/// # Safety
/// `sem` as for sem_wait; `sval` null (EINVAL) or writable.
#[no_mangle]
pub unsafe extern "C" fn sem_getvalue(sem: *mut SemT, sval: *mut c_int) -> c_int {
    if sval.is_null() || !sval.is_aligned() {
        return fail(EINVAL, -1);
    }
    // SAFETY: forwarded from the caller.
    let value = match unsafe { classify(sem) } {
        Ok(Sem::Unnamed(_, w)) => Ok(w.value.load(SeqCst) as usize),
        Ok(Sem::Named(fd)) => {
            // SAFETY: no pointers.
            unsafe { sys::syscall(SYS_RB_SEM_GETVALUE, &[fd, SemFlags::REF_FD.bits()]) }
        }
        Err(e) => Err(e),
    };
    match value {
        Ok(v) => {
            // SAFETY: non-null, aligned, writable per the caller.
            unsafe { sval.write(v as c_int) };
            0
        }
        Err(e) => fail(e, -1),
    }
}

// ---- named semaphores ---------------------------------------------------

/// Named semaphores one process can have open at once (distinct names);
/// more is EMFILE. A static table: the shim needs no allocator.
pub const NAMED_MAX: usize = 64;
/// Longest name passed on after its leading '/'s: the kernel answers
/// EINVAL (sem_unlink: ENOENT) from 256 bytes on, whatever follows.
const NAME_CAP: usize = 256;

struct Entry {
    /// sem_open calls not yet matched by sem_close; 0: the slot is free.
    refs: u32,
    /// Whether `name` still names this semaphore for this process (false
    /// after its sem_unlink, or once a newer object took the name).
    linked: bool,
    len: usize,
    name: [u8; NAME_CAP],
}

static SEMS: [SemT; NAMED_MAX] = [const { SemT::with_value(NAMED_VALUE) }; NAMED_MAX];
static TABLE: spin::Mutex<[Entry; NAMED_MAX]> = spin::Mutex::new(
    [const {
        Entry {
            refs: 0,
            linked: false,
            len: 0,
            name: [0; NAME_CAP],
        }
    }; NAMED_MAX],
);

/// The name as glibc's `__shm_get_name` sees it: without its leading
/// '/'s (so "x", "/x" and "//x" are one name, in this table and in the
/// kernel) and without the NUL, at most `NAME_CAP` bytes of it. The kernel
/// applies every other rule (docs/abi.md); it strips leading '/'s too, for
/// callers that are not this shim.
///
/// # Safety
/// `name` is a NUL-terminated string (or null).
unsafe fn name_bytes<'a>(name: *const c_char) -> Result<&'a [u8], c_int> {
    if name.is_null() {
        return Err(EINVAL);
    }
    let mut name = name.cast::<u8>();
    // SAFETY: reads stop at the NUL.
    while unsafe { *name } == b'/' {
        // SAFETY: the byte just read was not the NUL.
        name = unsafe { name.add(1) };
    }
    let mut len = 0;
    // SAFETY: reads stop at the NUL or at the cap.
    while len < NAME_CAP && unsafe { *name.add(len) } != 0 {
        len += 1;
    }
    // SAFETY: these `len` bytes were just read.
    Ok(unsafe { core::slice::from_raw_parts(name, len) })
}

fn slot_of(sem: *mut SemT) -> Option<usize> {
    let base = SEMS.as_ptr() as usize;
    let off = (sem as usize).checked_sub(base)?;
    let i = off / size_of::<SemT>();
    (off % size_of::<SemT>() == 0 && i < NAMED_MAX).then_some(i)
}

/// `sem_open`'s work after `src/c/sem_open.c` read the variadic mode and
/// value (only with O_CREAT, as glibc does).
///
/// # Safety
/// `name` is a NUL-terminated string (or null: EINVAL).
#[no_mangle]
pub unsafe extern "C" fn __rb_shim_sem_open(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> *mut SemT {
    // SAFETY: forwarded from the caller.
    match unsafe { open_named(name, oflag, mode, value) } {
        Ok(sem) => sem,
        Err(e) => fail(e, core::ptr::null_mut()),
    }
}

/// # Safety
/// As for `__rb_shim_sem_open`.
unsafe fn open_named(
    name: *const c_char,
    oflag: c_int,
    mode: c_uint,
    value: c_uint,
) -> Result<*mut SemT, c_int> {
    // SAFETY: forwarded from the caller.
    let name = unsafe { name_bytes(name) }?;
    let oflag = cabi::open_flags(oflag);
    // A full table is EMFILE before the kernel sees the call, so a failed
    // sem_open never leaves a semaphore it created behind (a name this
    // process has open needs no new entry).
    {
        let table = TABLE.lock();
        let known = table
            .iter()
            .any(|e| e.refs > 0 && e.linked && &e.name[..e.len] == name);
        if !known && table.iter().all(|e| e.refs > 0) {
            return Err(EMFILE);
        }
    }
    let fd = sys::with_user_bytes(name, |ptr| {
        // SAFETY: ptr holds name.len() readable bytes during the call.
        unsafe {
            sys::syscall(
                SYS_RB_SEM_OPEN,
                &[
                    ptr,
                    name.len(),
                    oflag.bits(),
                    (mode & 0o7777) as usize,
                    value as usize,
                    FD_SLOT_ANY,
                ],
            )
        }
    })?;
    // An exclusive create made a new object: the name no longer means any
    // semaphore this process had open.
    let fresh = oflag.contains(redbear_ipc::syscall::abi::OpenFlags::EXCLUSIVE);
    let mut table = TABLE.lock();
    let mut free = None;
    for (i, e) in table.iter_mut().enumerate() {
        if e.refs > 0 && e.linked && &e.name[..e.len] == name {
            if fresh {
                e.linked = false;
            } else {
                e.refs += 1;
                drop(table);
                let _ = sys::close_fd(fd);
                return Ok(&SEMS[i] as *const SemT as *mut SemT);
            }
        }
        if e.refs == 0 && free.is_none() {
            free = Some(i);
        }
    }
    let Some(i) = free else {
        drop(table);
        let _ = sys::close_fd(fd);
        return Err(EMFILE);
    };
    let e = &mut table[i];
    e.refs = 1;
    e.linked = true;
    e.len = name.len();
    e.name[..name.len()].copy_from_slice(name);
    let sem = &SEMS[i];
    // SAFETY: no pointers; the kernel maps a page of its own.
    match unsafe { sys::syscall(SYS_RB_SEM_MAP, &[fd]) } {
        Ok(words) => {
            sem.spare.store(fd as u64, SeqCst);
            sem.ext.store(words as u64, SeqCst);
            sem.words.flags.store(FLAG_NAMED | FLAG_MAPPED, SeqCst);
        }
        // The kernel keeps the state itself: every operation is a call.
        Err(EOPNOTSUPP | ENOSYS) => {
            sem.ext.store(fd as u64, SeqCst);
            sem.words.flags.store(FLAG_NAMED, SeqCst);
        }
        Err(e) => {
            table[i].refs = 0;
            table[i].linked = false;
            drop(table);
            let _ = sys::close_fd(fd);
            return Err(e);
        }
    }
    Ok(sem as *const SemT as *mut SemT)
}

/// `int sem_close(sem_t *sem)`: EINVAL unless `sem` came from sem_open
/// and is still open.
///
/// # Safety
/// None: any pointer is checked against the table.
#[no_mangle]
pub unsafe extern "C" fn sem_close(sem: *mut SemT) -> c_int {
    let Some(i) = slot_of(sem) else {
        return fail(EINVAL, -1);
    };
    let mut table = TABLE.lock();
    let e = &mut table[i];
    if e.refs == 0 {
        return fail(EINVAL, -1);
    }
    e.refs -= 1;
    if e.refs > 0 {
        return 0;
    }
    e.linked = false;
    let s = &SEMS[i];
    let flags = s.words.flags.swap(0, SeqCst);
    let ext = s.ext.swap(0, SeqCst) as usize;
    let spare = s.spare.swap(0, SeqCst) as usize;
    drop(table);
    if flags & FLAG_MAPPED != 0 {
        // SAFETY: no pointers; the mapping is the kernel's (no thread may
        // use a semaphore being closed, POSIX).
        let unmapped = unsafe { sys::syscall(SYS_RB_SEM_UNMAP, &[spare, ext]) };
        let closed = sys::close_fd(spare);
        return status(unmapped.map(drop).and(closed));
    }
    status(sys::close_fd(ext))
}

/// `int sem_unlink(const char *name)`: ENOENT, EACCES, name errors.
///
/// # Safety
/// `name` is a NUL-terminated string (or null: EINVAL).
#[no_mangle]
pub unsafe extern "C" fn sem_unlink(name: *const c_char) -> c_int {
    // SAFETY: forwarded from the caller.
    let name = match unsafe { name_bytes(name) } {
        Ok(n) => n,
        Err(e) => return fail(e, -1),
    };
    let r = sys::with_user_bytes(name, |ptr| {
        // SAFETY: ptr holds name.len() readable bytes during the call.
        unsafe { sys::syscall(SYS_RB_SEM_UNLINK, &[ptr, name.len()]) }
    });
    if r.is_ok() {
        for e in TABLE.lock().iter_mut() {
            if e.refs > 0 && &e.name[..e.len] == name {
                e.linked = false;
            }
        }
    }
    status(r.map(|_| ()))
}

/// Test hook: the Rust side's view of the C ABI, for the layout test
/// (`tests/c/layout.c`): 0 sizeof(sem_t), 1 alignof(sem_t),
/// 2 SEM_VALUE_MAX, 3 sizeof(struct timespec), 4 offsetof(tv_nsec),
/// 5 O_CREAT, 6 O_EXCL, 7 CLOCK_REALTIME, 8 CLOCK_MONOTONIC; -1 otherwise.
#[no_mangle]
pub extern "C" fn rb_shim_sem_abi(what: c_int) -> i64 {
    match what {
        0 => size_of::<SemT>() as i64,
        1 => align_of::<SemT>() as i64,
        2 => i64::from(SEM_VALUE_MAX),
        3 => size_of::<Timespec>() as i64,
        4 => offset_of!(Timespec, tv_nsec) as i64,
        5 => i64::from(cabi::O_CREAT),
        6 => i64::from(cabi::O_EXCL),
        7 => i64::from(cabi::CLOCK_REALTIME),
        8 => i64::from(cabi::CLOCK_MONOTONIC),
        _ => -1,
    }
}
