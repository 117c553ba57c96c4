//! Heap discipline, measured with a counting global allocator:
//! - the hot paths allocate nothing: an uncontended semaphore post and
//!   wait, a futex wake with nobody waiting, a futex wait that finds the
//!   word changed, eventfd write and read, a named-semaphore post and wait,
//!   the waker's side of a wake-up and the woken waiter's whole call, and
//!   the expiry of an armed timer;
//! - after each scenario, once its kernel is gone, the heap holds exactly
//!   what it held before (nothing leaked, no reference cycle).
//!
//! Each scenario runs once to warm up whatever the standard library
//! allocates lazily, then once measured. One test function runs them all
//! in order, so no other test's allocations mix into the global count.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use common::{poke_u32, sys, timespec, user_bytes, Env};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

struct Counting;

static NET_BYTES: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are plain integers and allocate nothing themselves.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        NET_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        NET_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        NET_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations the calling thread makes while `f` runs.
fn allocations<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = ALLOCS.with(Cell::get);
    let r = f();
    (ALLOCS.with(Cell::get) - before, r)
}

const TRY: usize = SemFlags::TRY.bits();
const REF_FD: usize = SemFlags::REF_FD.bits();
const ANY: usize = u32::MAX as usize;

/// Each scenario sets up outside the measured part, asserts that the
/// measured part allocates nothing, and returns the path's name.
type Scenario = fn() -> &'static str;

fn uncontended_unnamed_semaphore() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let s = e.k.alloc_private(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, 1]), Ok(0));
    let (n, _) = allocations(|| {
        assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, 0]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TRY]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(1));
    });
    assert_eq!(n, 0, "uncontended sem_wait/sem_post allocated");
    "uncontended unnamed semaphore"
}

fn futex_fast_paths() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    poke_u32(&e.k, w, 7);
    let (n, _) = allocations(|| {
        assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(0));
        assert!(sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 6, 0, 0, ANY]).is_err());
    });
    assert_eq!(
        n, 0,
        "futex wake without waiters / wait on a changed word allocated"
    );
    "futex wake with no waiter, wait EAGAIN"
}

fn eventfd_write_read() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).expect("eventfd2");
    let (b, _) = user_bytes(&e.k, &1u64.to_ne_bytes());
    let (n, _) = allocations(|| {
        assert_eq!(e.k.write(fd, b, 8), Ok(8));
        assert_eq!(e.k.read(fd, b, 8), Ok(8));
    });
    assert_eq!(n, 0, "eventfd write/read allocated");
    "eventfd write and read"
}

fn named_semaphore() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (name, len) = user_bytes(&e.k, b"/alloc-paths");
    let create = sys(
        &e.k,
        SYS_RB_SEM_OPEN,
        &[name, len, OpenFlags::CREATE.bits(), 0o600, 1, FD_SLOT_ANY],
    );
    let fd = create.expect("sem_open");
    let (n, _) = allocations(|| {
        assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[fd, REF_FD]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[fd, REF_FD]), Ok(0));
    });
    assert_eq!(n, 0, "named sem_wait/sem_post allocated");
    assert_eq!(sys(&e.k, SYS_RB_SEM_UNLINK, &[name, len]), Ok(0));
    "named semaphore post and wait"
}

fn wake_up() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_shared(4);
    let k = e.k.clone();
    let waiter = e.k.spawn_task(&e.proc, move || {
        allocations(|| sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY]))
    });
    assert!(
        e.k.wait_parked(1, Duration::from_secs(10)),
        "the waiter never parked"
    );
    let (n, woken) = allocations(|| sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]));
    assert_eq!(woken, Ok(1));
    assert_eq!(n, 0, "the waker allocated");
    let (n, r) = waiter.join().expect("waiter");
    assert_eq!(r, Ok(0));
    assert_eq!(n, 0, "the woken waiter's call allocated");
    "futex wake-up (waker and woken)"
}

fn timer_expiry() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = sys(&e.k, SYS_RB_TIMERFD_CREATE, &[1, 0, FD_SLOT_ANY]).expect("timerfd_create");
    // A one-shot timer 1 ms out, through timerfd_settime's itimerspec.
    let spec = e.k.alloc_private(32);
    let at = timespec(&e.k, 0, 1_000_000);
    let mut raw = [0u8; 16];
    e.k.read_user(at, &mut raw).expect("readable");
    e.k.write_user(spec + 16, &raw).expect("writable");
    assert_eq!(sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, spec, 0]), Ok(0));
    e.k.clock().advance(2_000_000);
    let (n, fired) = allocations(|| e.k.ipc().expire_timers(&*e.k));
    assert_eq!(fired, 1);
    assert_eq!(n, 0, "timer expiry allocated");
    "timer expiry"
}

const SCENARIOS: &[Scenario] = &[
    uncontended_unnamed_semaphore,
    futex_fast_paths,
    eventfd_write_read,
    named_semaphore,
    wake_up,
    timer_expiry,
];

#[test]
fn hot_paths_allocate_nothing_and_every_scenario_frees_what_it_took() {
    // The counter sees an allocation (else every assertion below is void).
    let (n, b) = allocations(|| Box::new(7u64));
    assert!(n >= 1 && *b == 7, "the counting allocator counted nothing");
    drop(b);
    for scenario in SCENARIOS {
        scenario(); // warm-up: lazy allocations of the standard library
        let before = NET_BYTES.load(Ordering::SeqCst);
        let name = scenario();
        let after = NET_BYTES.load(Ordering::SeqCst);
        assert_eq!(
            after, before,
            "{name}: the heap did not return to its starting size"
        );
    }
}
