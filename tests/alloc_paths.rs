//! Heap discipline, measured with a counting global allocator:
//! - the hot paths allocate nothing: an uncontended semaphore post and
//!   wait, a futex wake with nobody waiting, a futex wait that finds the
//!   word changed, eventfd write and read, a named-semaphore post and wait,
//!   the waker's side of a wake-up and the woken waiter's whole call, and
//!   the expiry of an armed timer; SysV semop uncontended (one and four
//!   operations); and per wake path, the waker and the woken call: a
//!   semop +1 completing a sleeping -1, a named and an unnamed semaphore
//!   post waking a sem_wait, an eventfd write waking a blocked read, a
//!   timer expiry waking a blocked timerfd read, an mq_send handing its
//!   message to a sleeping receiver (the sender allocates exactly its
//!   message buffer, the receiver nothing), a FUTEX_CMP_REQUEUE and the
//!   wake of the waiter it moved, an eventfd read waking a blocked write,
//!   an mq_receive and a msgrcv waking a sender blocked on a full queue
//!   (the woken sender allocates exactly its message, before it sleeps);
//!   and a poll loop over several fds, blocked and woken by an eventfd
//!   write and by a message (the subsystem's poll allocates nothing in a
//!   round after the first);
//! - after each scenario, once its kernel is gone, the heap holds exactly
//!   what it held before (nothing leaked, no reference cycle).
//!
//! Each scenario runs once to warm up whatever the standard library
//! allocates lazily, then once measured. One test function runs them all
//! in order, so no other test's allocations mix into the global count.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicI32, AtomicIsize, Ordering};
use std::time::Duration;

use common::{poke_u32, sys, timespec, user_bytes, Env};
use redbear_ipc::errno::{EAGAIN, ETIMEDOUT};
use std::sync::Arc;

use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::poll::{self, PollEntry, PollFile};
use redbear_ipc::ipc::common::pollee::{Observer, Readiness};
use redbear_ipc::ipc::fd::signalfd::{SignalTarget, SIGINFO_SIZE};
use redbear_ipc::kernel::{sig_bit, ClockId, Deadline, Kernel, SigInfo, TaskId};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

struct Counting;

static NET_BYTES: AtomicIsize = AtomicIsize::new(0);

/// The test runner's own thread (libtest's main thread; its tid is the
/// pid), once the test runs on another: its allocations are not the
/// scenarios'. After starting the test's thread it allocates 900 bytes
/// (148, 608, then 48 and 96: the context and waker entry of its blocking
/// channel receive) and keeps them until the test ends; when the machine
/// is loaded this can happen while a scenario is measured, which then
/// ended 144 or 900 bytes above its start. 0: count every thread.
static RUNNER: AtomicI32 = AtomicI32::new(0);

/// Whether the calling thread's heap use counts in `NET_BYTES`.
fn counted() -> bool {
    let runner = RUNNER.load(Ordering::Relaxed);
    // SAFETY: gettid has no preconditions and allocates nothing.
    runner == 0 || unsafe { libc::gettid() } != runner
}

thread_local! {
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are plain integers and allocate nothing themselves.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        if counted() {
            NET_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if counted() {
            NET_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `alloc` above with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        if counted() {
            NET_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
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
const TIMED: usize = SemFlags::TIMED.bits();
const ANY: usize = u32::MAX as usize;
const SIGUSR1: u32 = 10;

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
    let t = blocked(&e, 1, move |k| {
        sys(k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
    });
    let waker = || sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]);
    wake_measured("futex wake", t, waker, Ok(1), 0, Ok(0));
    "futex wake-up (waker and woken)"
}

/// A blocking CLOCK_MONOTONIC timerfd armed one-shot 1 ms out, through
/// timerfd_settime's itimerspec.
fn armed_timerfd(e: &Env) -> usize {
    let fd = sys(&e.k, SYS_RB_TIMERFD_CREATE, &[1, 0, FD_SLOT_ANY]).expect("timerfd_create");
    let spec = e.k.alloc_private(32);
    let at = timespec(&e.k, 0, 1_000_000);
    let mut raw = [0u8; 16];
    e.k.read_user(at, &mut raw).expect("readable");
    e.k.write_user(spec + 16, &raw).expect("writable");
    assert_eq!(sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, spec, 0]), Ok(0));
    fd
}

fn timer_expiry() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    armed_timerfd(&e);
    e.k.clock().advance(2_000_000);
    let (n, fired) = allocations(|| e.k.ipc().expire_timers(&*e.k));
    assert_eq!(fired, 1);
    assert_eq!(n, 0, "timer expiry allocated");
    "timer expiry"
}

/// A blocking call of `e`'s process on a task of its own, counted on
/// that task; returns once the task has parked (`parked` tasks asleep).
fn blocked<R: Send + 'static>(
    e: &Env,
    parked: usize,
    call: impl FnOnce(&HostedKernel) -> R + Send + 'static,
) -> std::thread::JoinHandle<(usize, R)> {
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || allocations(|| call(&k)));
    assert!(
        e.k.wait_parked(parked, Duration::from_secs(10)),
        "the waiter never parked"
    );
    t
}

/// A wake-up measured on both sides: `waker` runs here and must return
/// `woke` with exactly `waker_allocs` allocations; the woken call `t`
/// must return `woken` having allocated nothing.
fn wake_measured<W, R>(
    what: &str,
    t: std::thread::JoinHandle<(usize, R)>,
    waker: impl FnOnce() -> W,
    woke: W,
    waker_allocs: usize,
    woken: R,
) where
    W: PartialEq + std::fmt::Debug,
    R: PartialEq + std::fmt::Debug,
{
    let (n, r) = allocations(waker);
    assert_eq!(r, woke, "{what}: the waker's result");
    assert_eq!(n, waker_allocs, "{what}: the waker's allocations");
    let (n, r) = t.join().expect("the woken task");
    assert_eq!(r, woken, "{what}: the woken call's result");
    assert_eq!(n, 0, "{what}: the woken call allocated");
}

/// As `wake_measured`, for a woken call that allocates `woken_allocs`
/// itself before it sleeps (a sender's message).
fn wake_measured_n<W, R>(
    what: &str,
    t: std::thread::JoinHandle<(usize, R)>,
    waker: impl FnOnce() -> W,
    (woke, waker_allocs): (W, usize),
    (woken, woken_allocs): (R, usize),
) where
    W: PartialEq + std::fmt::Debug,
    R: PartialEq + std::fmt::Debug,
{
    let (n, r) = allocations(waker);
    assert_eq!(r, woke, "{what}: the waker's result");
    assert_eq!(n, waker_allocs, "{what}: the waker's allocations");
    let (n, r) = t.join().expect("the woken task");
    assert_eq!(r, woken, "{what}: the woken call's result");
    assert_eq!(n, woken_allocs, "{what}: the woken call's allocations");
}

/// FUTEX_CMP_REQUEUE waking one waiter and moving the other onto a second
/// word, then a FUTEX_WAKE of that word waking the moved one: neither
/// waker nor woken allocates.
fn futex_requeue_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (a, b) = (e.k.alloc_shared(4), e.k.alloc_shared(4));
    let first = blocked(&e, 1, move |k| {
        sys(k, SYS_RB_FUTEX_WAIT, &[a, 0, 0, 0, ANY])
    });
    let moved = blocked(&e, 2, move |k| {
        sys(k, SYS_RB_FUTEX_WAIT, &[a, 0, 0, 0, ANY])
    });
    // Wake 1, requeue 1, expecting the word's value 0: 2 (woken + moved).
    let requeue = || sys(&e.k, SYS_RB_FUTEX_CMP_REQUEUE, &[a, 1, b, 1, 0, 0]);
    wake_measured("futex cmp_requeue", first, requeue, Ok(2), 0, Ok(0));
    let wake = || sys(&e.k, SYS_RB_FUTEX_WAKE, &[b, 1, 0, ANY]);
    wake_measured(
        "futex wake of a requeued waiter",
        moved,
        wake,
        Ok(1),
        0,
        Ok(0),
    );
    "futex cmp_requeue and the wake of the requeued waiter"
}

/// An eventfd read waking a write blocked on a full count.
fn eventfd_read_wakes_writer() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).expect("eventfd2");
    // The largest count an eventfd holds is 2^64 - 2: a write of 5 then
    // waits for a read.
    let (full, _) = user_bytes(&e.k, &(u64::MAX - 2).to_ne_bytes());
    assert_eq!(e.k.write(fd, full, 8), Ok(8));
    let (five, _) = user_bytes(&e.k, &5u64.to_ne_bytes());
    let dst = e.k.alloc_private(8);
    let t = blocked(&e, 1, move |k| k.write(fd, five, 8));
    let waker = || e.k.read(fd, dst, 8);
    wake_measured("eventfd read", t, waker, Ok(8), 0, Ok(8));
    "eventfd read waking a blocked write (reader and woken writer)"
}

/// An mq_receive waking a sender blocked on a full queue: the receive
/// allocates nothing, the woken send exactly its own message buffer
/// (made before it slept).
fn mq_receive_wakes_sender() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (fd, (name, len)) = mq_queue(&e, b"/alloc-mq-full");
    let (msg, mlen) = user_bytes(&e.k, b"wait for room");
    // The default mq_maxmsg is 10.
    for _ in 0..10 {
        assert_eq!(
            sys(&e.k, SYS_RB_MQ_TIMEDSEND, &[fd, msg, mlen, 0, 0]),
            Ok(0)
        );
    }
    let dst = e.k.alloc_private(8192);
    let t = blocked(&e, 1, move |k| {
        sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, msg, mlen, 0, 0])
    });
    let waker = || sys(&e.k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, dst, 8192, 0, 0]);
    wake_measured_n(
        "mq_receive",
        t,
        waker,
        (Ok(mlen), 0),
        (Ok(0), MQ_SEND_ALLOCATIONS),
    );
    assert_eq!(sys(&e.k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0));
    "mq_receive waking a sender blocked on a full queue (receiver and woken sender)"
}

/// A msgrcv making room for a msgsnd blocked on a full queue: the
/// receive allocates nothing; the woken send exactly its text (made
/// before it slept), its type's index entries being there already.
fn msgrcv_wakes_sender() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let id = sys(&e.k, SYS_RB_MSGGET, &[0, 0o1600]).expect("msgget");
    // Two messages of msgmax (8192) bytes fill msgmnb (16384).
    let msg = sysv_message(&e.k, &[7u8; 8192]);
    for _ in 0..2 {
        assert_eq!(sys(&e.k, SYS_RB_MSGSND, &[id, msg, 8192, 0]), Ok(0));
    }
    let dst = e.k.alloc_private(8 + 8192);
    let t = blocked(&e, 1, move |k| sys(k, SYS_RB_MSGSND, &[id, msg, 8192, 0]));
    let waker = || sys(&e.k, SYS_RB_MSGRCV, &[id, dst, 8192, 0, 0]);
    wake_measured_n(
        "msgrcv",
        t,
        waker,
        (Ok(8192), 0),
        (Ok(0), MSGSND_ALLOCATIONS),
    );
    assert_eq!(sys(&e.k, SYS_RB_MSGCTL, &[id, 0, 0]), Ok(0));
    "SysV msgrcv waking a msgsnd blocked on a full queue (receiver and woken sender)"
}

/// Wakes the polling task: the host's poll waker (made before the
/// measured part, as a host makes it once per poll call).
struct PollWake(Arc<HostedKernel>, TaskId);

impl Observer for PollWake {
    fn on_events(&self, _events: Readiness) {
        self.0.unpark(self.1);
    }
}

/// A poll loop over two eventfds and a message queue, blocked each round
/// and woken by readiness: the subsystem's poll (`ipc::common::poll`:
/// register on every object, check, sleep, check again, unregister)
/// allocates nothing in a round after the first (the first gives each
/// object's observer list its room, which later rounds reuse), and
/// neither does the waker, an eventfd write; an mq_send that wakes it
/// makes exactly its message buffer. The host's part of a poll call (its
/// entries and waker) is made outside the measured part.
fn poll_loop_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let efd = || sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).expect("eventfd2");
    let (a, b) = (efd(), efd());
    let (q, (name, len)) = mq_queue(&e, b"/alloc-poll");
    let files: Vec<_> = [a, b, q]
        .iter()
        .map(|&fd| e.proc.fds().get(fd).expect("an open fd"))
        .collect();
    let (one, _) = user_bytes(&e.k, &1u64.to_ne_bytes());
    let (msg, mlen) = user_bytes(&e.k, b"ready");
    let (cnt, buf) = (e.k.alloc_private(8), e.k.alloc_private(8192));
    let (tx, task) = std::sync::mpsc::channel();
    let k = e.k.clone();
    // Three rounds; after each, the task consumes what woke it (outside
    // the measured part) so that the next round sleeps again.
    let t = e.k.spawn_task(&e.proc, move || {
        let _ = tx.send(k.current_task());
        let waker: Arc<dyn Observer> = Arc::new(PollWake(k.clone(), k.current_task()));
        let mut entries: Vec<PollEntry> = files
            .into_iter()
            .map(|f| PollEntry::new(PollFile::Open(f), Readiness::IN))
            .collect();
        let mut rounds = Vec::new();
        for _ in 0..3 {
            let (n, r) = allocations(|| {
                poll::poll(
                    &*k,
                    &mut entries,
                    None,
                    || waker.clone(),
                    |at| {
                        k.park(at.map(|at_ns| Deadline {
                            clock: ClockId::Monotonic,
                            at_ns,
                        }))
                    },
                )
            });
            let ready: Vec<bool> = entries.iter().map(|e| !e.ready.is_empty()).collect();
            if ready[0] {
                let _ = k.read(a, cnt, 8);
            }
            if ready[1] {
                let _ = k.read(b, cnt, 8);
            }
            if ready[2] {
                let _ = sys(&k, SYS_RB_MQ_TIMEDRECEIVE, &[q, buf, 8192, 0, 0]);
            }
            rounds.push((n, r, ready));
        }
        rounds
    });
    // Not a blocking receive: its first blocking wait would give this
    // thread a channel context it keeps (48 bytes), in the measured run
    // only if the task had not sent yet.
    let task = loop {
        match task.try_recv() {
            Ok(t) => break t,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => panic!("the polling task: {e}"),
        }
    };
    // Round r has slept once it has gone to sleep r + 1 times.
    let asleep = |r: usize| {
        assert!(
            e.k.wait_task_sleeps(task, r + 1, Duration::from_secs(10)),
            "the poll never slept"
        );
    };
    asleep(0);
    assert_eq!(e.k.write(a, one, 8), Ok(8));
    asleep(1);
    let (n, r) = allocations(|| e.k.write(b, one, 8));
    assert_eq!(
        (n, r),
        (0, Ok(8)),
        "an eventfd write waking a poll: allocations, result"
    );
    asleep(2);
    let (n, r) = allocations(|| sys(&e.k, SYS_RB_MQ_TIMEDSEND, &[q, msg, mlen, 0, 0]));
    assert_eq!(
        (n, r),
        (MQ_SEND_ALLOCATIONS, Ok(0)),
        "an mq_send waking a poll: allocations, result"
    );
    let rounds = t.join().expect("the polling task");
    let want = [
        [true, false, false],
        [false, true, false],
        [false, false, true],
    ];
    for (i, ((_, r, ready), want)) in rounds.iter().zip(want).enumerate() {
        assert_eq!(
            (r, ready.as_slice()),
            (&Ok(1), &want[..]),
            "poll round {i}: result, ready fds"
        );
    }
    assert_eq!(
        (rounds[1].0, rounds[2].0),
        (0, 0),
        "a poll round woken by an eventfd write / by a message allocated"
    );
    assert_eq!(sys(&e.k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0));
    "a poll loop woken by an eventfd write and by a message (poller and wakers)"
}

/// SysV semop: (num, op, flg) triples as sembufs in fresh user memory
/// (set up before any measured part).
fn sembufs(k: &HostedKernel, ops: &[(u16, i16, i16)]) -> usize {
    let at = k.alloc_private(ops.len() * 6);
    let mut raw = Vec::new();
    for &(n, o, f) in ops {
        raw.extend_from_slice(&n.to_ne_bytes());
        raw.extend_from_slice(&o.to_ne_bytes());
        raw.extend_from_slice(&f.to_ne_bytes());
    }
    k.write_user(at, &raw).expect("writable");
    at
}

/// The SysV semop engine's common case: a bounded on-stack batch.
/// Can fail: with `Batch::zeroed` in src/ipc/sysv/sem/wake.rs always
/// taking its heap branch (a local mutation, reverted), "uncontended
/// semop allocated" fails.
fn uncontended_semop() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let id = sys(&e.k, SYS_RB_SEMGET, &[0, 2, 0o1600]).expect("semget");
    let up = sembufs(&e.k, &[(0, 1, 0)]);
    let down = sembufs(&e.k, &[(0, -1, 0)]);
    let both = sembufs(&e.k, &[(0, 1, 0), (1, 1, 0), (0, -1, 0), (1, -1, 0)]);
    let (n, _) = allocations(|| {
        assert_eq!(sys(&e.k, SYS_RB_SEMTIMEDOP, &[id, up, 1, 0]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEMTIMEDOP, &[id, down, 1, 0]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_SEMTIMEDOP, &[id, both, 4, 0]), Ok(0));
    });
    assert_eq!(n, 0, "uncontended semop allocated");
    assert_eq!(sys(&e.k, SYS_RB_SEMCTL, &[id, 0, 0, 0]), Ok(0));
    "uncontended SysV semop"
}

/// A semop +1 completing a sleeping -1 in place: neither side allocates.
/// Can fail: with `serve` in src/ipc/sysv/sem/wake.rs allocating once it
/// has sleepers to walk (a local mutation, reverted), the waker's
/// allocation count failed.
fn semop_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let id = sys(&e.k, SYS_RB_SEMGET, &[0, 1, 0o1600]).expect("semget");
    let up = sembufs(&e.k, &[(0, 1, 0)]);
    let down = sembufs(&e.k, &[(0, -1, 0)]);
    let t = blocked(&e, 1, move |k| sys(k, SYS_RB_SEMTIMEDOP, &[id, down, 1, 0]));
    let waker = || sys(&e.k, SYS_RB_SEMTIMEDOP, &[id, up, 1, 0]);
    wake_measured("semop +1", t, waker, Ok(0), 0, Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEMCTL, &[id, 0, 0, 0]), Ok(0));
    "SysV semop wake (waker and woken)"
}

/// A named-semaphore post handing its unit to a sleeping waiter.
fn named_semaphore_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (name, len) = user_bytes(&e.k, b"/alloc-wake");
    let create = sys(
        &e.k,
        SYS_RB_SEM_OPEN,
        &[name, len, OpenFlags::CREATE.bits(), 0o600, 0, FD_SLOT_ANY],
    );
    let fd = create.expect("sem_open");
    let t = blocked(&e, 1, move |k| sys(k, SYS_RB_SEM_WAIT, &[fd, REF_FD]));
    let waker = || sys(&e.k, SYS_RB_SEM_POST, &[fd, REF_FD]);
    wake_measured("named sem_post", t, waker, Ok(0), 0, Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_UNLINK, &[name, len]), Ok(0));
    "named semaphore wake (waker and woken)"
}

/// An unnamed semaphore's slow path: a sem_wait asleep on value 0 and
/// the sem_post that wakes it.
fn unnamed_semaphore_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let s = e.k.alloc_shared(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 1, 0]), Ok(0));
    let t = blocked(&e, 1, move |k| sys(k, SYS_RB_SEM_WAIT, &[s, 0]));
    let waker = || sys(&e.k, SYS_RB_SEM_POST, &[s, 0]);
    wake_measured("unnamed sem_post", t, waker, Ok(0), 0, Ok(0));
    "unnamed semaphore wake (waker and woken)"
}

/// An eventfd write waking a blocked read.
fn eventfd_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).expect("eventfd2");
    let (src, _) = user_bytes(&e.k, &3u64.to_ne_bytes());
    let dst = e.k.alloc_private(8);
    let t = blocked(&e, 1, move |k| k.read(fd, dst, 8));
    let waker = || e.k.write(fd, src, 8);
    wake_measured("eventfd write", t, waker, Ok(8), 0, Ok(8));
    "eventfd wake (writer and woken reader)"
}

/// A timer's expiry waking a reader blocked on its timerfd: the expiry
/// (the timer tick) and the woken read allocate nothing.
fn timer_expiry_wakes_reader() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = armed_timerfd(&e);
    let dst = e.k.alloc_private(8);
    let t = blocked(&e, 1, move |k| k.read(fd, dst, 8));
    e.k.clock().advance(2_000_000);
    let waker = || e.k.ipc().expire_timers(&*e.k);
    wake_measured("timer expiry", t, waker, 1, 0, Ok(8));
    "timer expiry waking a blocked read"
}

/// POSIX mq: mq_send handing its message to a receiver asleep on the
/// empty queue, and the woken receive.
fn mq_send_wakes_receiver() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (fd, (name, len)) = mq_queue(&e, b"/alloc-mq");
    let (msg, mlen) = user_bytes(&e.k, b"hand me over");
    let dst = e.k.alloc_private(8192);
    let t = blocked(&e, 1, move |k| {
        sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, dst, 8192, 0, 0])
    });
    let waker = || sys(&e.k, SYS_RB_MQ_TIMEDSEND, &[fd, msg, mlen, 0, 0]);
    wake_measured("mq_send", t, waker, Ok(0), MQ_SEND_ALLOCATIONS, Ok(mlen));
    assert_eq!(sys(&e.k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0));
    "mq_send to a sleeping receiver (sender and woken receiver)"
}

/// A signalfd read of a pending signal, and the subsystem's wake of a
/// read blocked on the signalfd (`Ipc::signal_queued`, the part of kill(2)
/// that is ours; the host's own bookkeeping of the pending signal is
/// `Process::raise`, done before the measured part).
/// A blocking signalfd for SIGUSR1 (which the main task blocks), and a
/// buffer for one record.
fn usr1_signalfd(e: &Env) -> (usize, usize) {
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let mask = e.k.alloc_private(8);
    e.k.write_user(mask, &sig_bit(SIGUSR1).to_ne_bytes())
        .expect("writable");
    let fd = sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, mask, 8, 0, FD_SLOT_ANY]);
    (fd.expect("signalfd4"), e.k.alloc_private(SIGINFO_SIZE))
}

fn signalfd_read() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (fd, dst) = usr1_signalfd(&e);
    e.k.send_signal(&e.proc, SIGUSR1);
    let (n, r) = allocations(|| e.k.read(fd, dst, SIGINFO_SIZE));
    assert_eq!(r, Ok(SIGINFO_SIZE));
    assert_eq!(n, 0, "a signalfd read of a pending signal allocated");
    "signalfd read"
}

fn signalfd_wake() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (fd, dst) = usr1_signalfd(&e);
    let t = blocked(&e, 1, move |k| {
        k.current().set_mask(sig_bit(SIGUSR1));
        k.read(fd, dst, SIGINFO_SIZE)
    });
    let info = SigInfo {
        signo: SIGUSR1,
        pid: e.proc.pid(),
        ..SigInfo::default()
    };
    assert!(e.proc.raise(info));
    let target = SignalTarget::process(e.proc.pid());
    let waker = || e.k.ipc().signal_queued(&*e.k, target, SIGUSR1);
    wake_measured("signal_queued", t, waker, 1, 0, Ok(SIGINFO_SIZE));
    "signalfd wake (the signal's wake and the woken read)"
}

/// timerfd_settime (arm, re-arm, disarm) and timerfd_gettime of a timerfd
/// that exists: its timer-queue slot was reserved at timerfd_create.
fn timerfd_settime_gettime() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let fd = armed_timerfd(&e);
    let arm = e.k.alloc_private(32);
    let at = timespec(&e.k, 0, 5_000_000);
    let mut raw = [0u8; 16];
    e.k.read_user(at, &mut raw).expect("readable");
    e.k.write_user(arm + 16, &raw).expect("writable");
    let disarm = e.k.alloc_private(32);
    let old = e.k.alloc_private(32);
    let (n, _) = allocations(|| {
        assert_eq!(sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, arm, old]), Ok(0));
        assert_eq!(sys(&e.k, SYS_RB_TIMERFD_GETTIME, &[fd, old]), Ok(0));
        assert_eq!(
            sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, disarm, 0]),
            Ok(0)
        );
        assert_eq!(sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, arm, 0]), Ok(0));
    });
    assert_eq!(n, 0, "timerfd_settime/gettime allocated");
    "timerfd_settime and gettime"
}

/// An mq_open'ed queue of `e` (read-write, created), and its name.
fn mq_queue(e: &Env, name: &'static [u8]) -> (usize, (usize, usize)) {
    let (at, len) = user_bytes(&e.k, name);
    let oflag = 2 | 1 << 2; // O_RDWR | O_CREAT
    let fd = sys(
        &e.k,
        SYS_RB_MQ_OPEN,
        &[at, len, oflag, 0o600, 0, FD_SLOT_ANY],
    )
    .expect("mq_open");
    (fd, (at, len))
}

/// POSIX mq uncontended: a send allocates exactly its message buffer, a
/// receive of a queued message nothing.
fn mq_uncontended() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let (fd, (name, len)) = mq_queue(&e, b"/alloc-mq-plain");
    let (msg, mlen) = user_bytes(&e.k, b"no one waits");
    let dst = e.k.alloc_private(8192);
    let (n, r) = allocations(|| sys(&e.k, SYS_RB_MQ_TIMEDSEND, &[fd, msg, mlen, 0, 0]));
    assert_eq!(r, Ok(0));
    assert_eq!(
        n, MQ_SEND_ALLOCATIONS,
        "an uncontended mq_send's allocations"
    );
    let (n, r) = allocations(|| sys(&e.k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, dst, 8192, 0, 0]));
    assert_eq!(r, Ok(mlen));
    assert_eq!(n, 0, "an mq_receive of a queued message allocated");
    assert_eq!(sys(&e.k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0));
    "uncontended mq_send and mq_receive"
}

/// A SysV message (mtype 1 and `text`) in fresh user memory.
fn sysv_message(k: &HostedKernel, text: &[u8]) -> usize {
    let mut raw = 1i64.to_ne_bytes().to_vec();
    raw.extend_from_slice(text);
    user_bytes(k, &raw).0
}

/// SysV msg uncontended: a msgsnd of a type already queued allocates
/// exactly its text; the first message of a type also makes that type's
/// index entries (`src/ipc/sysv/msg/index.rs`: its `by_type` node, its
/// deque's buffer and its `heads` node); msgrcv of a queued message
/// allocates nothing.
fn sysv_msg_uncontended() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let id = sys(&e.k, SYS_RB_MSGGET, &[0, 0o1600]).expect("msgget");
    let msg = sysv_message(&e.k, b"no one waits");
    let dst = e.k.alloc_private(8 + 64);
    let (n, r) = allocations(|| sys(&e.k, SYS_RB_MSGSND, &[id, msg, 12, 0]));
    assert_eq!(r, Ok(0));
    assert_eq!(
        n,
        MSGSND_ALLOCATIONS + NEW_TYPE_ALLOCATIONS,
        "the first msgsnd of a type's allocations"
    );
    let (n, r) = allocations(|| sys(&e.k, SYS_RB_MSGSND, &[id, msg, 12, 0]));
    assert_eq!(r, Ok(0));
    assert_eq!(
        n, MSGSND_ALLOCATIONS,
        "a msgsnd of a queued type's allocations"
    );
    for _ in 0..2 {
        let (n, r) = allocations(|| sys(&e.k, SYS_RB_MSGRCV, &[id, dst, 64, 0, 0]));
        assert_eq!(r, Ok(12));
        assert_eq!(n, 0, "a msgrcv of a queued message allocated");
    }
    assert_eq!(sys(&e.k, SYS_RB_MSGCTL, &[id, 0, 0]), Ok(0));
    "uncontended SysV msgsnd and msgrcv"
}

/// A msgsnd handing its message to a msgrcv asleep on the empty queue.
fn sysv_msg_hand_off() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let id = sys(&e.k, SYS_RB_MSGGET, &[0, 0o1600]).expect("msgget");
    let msg = sysv_message(&e.k, b"hand me over");
    let dst = e.k.alloc_private(8 + 64);
    let t = blocked(&e, 1, move |k| sys(k, SYS_RB_MSGRCV, &[id, dst, 64, 0, 0]));
    let waker = || sys(&e.k, SYS_RB_MSGSND, &[id, msg, 12, 0]);
    wake_measured("msgsnd", t, waker, Ok(0), MSGSND_ALLOCATIONS, Ok(12));
    assert_eq!(sys(&e.k, SYS_RB_MSGCTL, &[id, 0, 0]), Ok(0));
    "SysV msgsnd to a sleeping msgrcv (sender and woken receiver)"
}

/// Allocations a msgsnd makes for its message (one buffer, as Linux's
/// load_msg): the hand-off adds none.
const MSGSND_ALLOCATIONS: usize = 1;

/// Allocations the first queued message of a type adds to the queue's
/// index: the type's `by_type` node, its deque's buffer, its `heads` node.
const NEW_TYPE_ALLOCATIONS: usize = 3;

/// A timed wait that ends by its deadline: the call, from its start to
/// its error (`errno`), allocates nothing. `call` blocks until 1 ms from now on
/// the virtual clock; the clock then moves 2 ms.
fn timed_out(
    e: &Env,
    what: &str,
    errno: i32,
    call: impl FnOnce(&HostedKernel) -> Result<usize, i32> + Send + 'static,
) {
    let t = blocked(e, 1, call);
    e.k.advance(2_000_000);
    let (n, r) = t.join().expect("the timed-out task");
    assert_eq!(r, Err(errno), "{what}: the timed-out call's result");
    assert_eq!(n, 0, "{what}: the timed-out call allocated");
}

/// An absolute timespec 1 ms after `clock`'s now. The virtual realtime
/// clock starts at the host's time, so its nanoseconds are any value:
/// adding 1 ms to them alone made a tv_nsec past 999,999,999 about once
/// in a thousand runs (EINVAL at once: "the waiter never parked").
fn in_1ms(e: &Env, clock: ClockId) -> usize {
    let at = e.k.now(clock) as i64 + 1_000_000;
    timespec(&e.k, at / 1_000_000_000, at % 1_000_000_000)
}

/// The deadline paths: futex wait, sem_timedwait (unnamed) and
/// mq_timedreceive ending ETIMEDOUT, semtimedop EAGAIN (as Linux).
fn deadlines() -> &'static str {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_shared(4);
    let rel = timespec(&e.k, 0, 1_000_000);
    timed_out(&e, "futex wait", ETIMEDOUT, move |k| {
        sys(k, SYS_RB_FUTEX_WAIT, &[w, 0, rel, 0, ANY])
    });
    let s = e.k.alloc_shared(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 1, 0]), Ok(0));
    let abs = in_1ms(&e, ClockId::Monotonic);
    timed_out(&e, "sem_timedwait", ETIMEDOUT, move |k| {
        sys(k, SYS_RB_SEM_WAIT, &[s, TIMED, abs, 1])
    });
    let id = sys(&e.k, SYS_RB_SEMGET, &[0, 1, 0o1600]).expect("semget");
    let down = sembufs(&e.k, &[(0, -1, 0)]);
    let rel = timespec(&e.k, 0, 1_000_000);
    timed_out(&e, "semtimedop", EAGAIN, move |k| {
        sys(k, SYS_RB_SEMTIMEDOP, &[id, down, 1, rel])
    });
    assert_eq!(sys(&e.k, SYS_RB_SEMCTL, &[id, 0, 0, 0]), Ok(0));
    let (fd, (name, len)) = mq_queue(&e, b"/alloc-mq-timed");
    let dst = e.k.alloc_private(8192);
    let abs = in_1ms(&e, ClockId::Realtime);
    timed_out(&e, "mq_timedreceive", ETIMEDOUT, move |k| {
        sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, dst, 8192, 0, abs])
    });
    assert_eq!(sys(&e.k, SYS_RB_MQ_UNLINK, &[name, len]), Ok(0));
    "timed waits ending by their deadline (futex, sem_timedwait, semtimedop, mq_timedreceive)"
}

/// Allocations an mq_send makes for its message (one buffer holding the
/// bytes, as Linux's load_msg): the wake itself adds none.
const MQ_SEND_ALLOCATIONS: usize = 1;

const SCENARIOS: &[Scenario] = &[
    uncontended_unnamed_semaphore,
    futex_fast_paths,
    eventfd_write_read,
    named_semaphore,
    wake_up,
    timer_expiry,
    uncontended_semop,
    semop_wake,
    named_semaphore_wake,
    unnamed_semaphore_wake,
    eventfd_wake,
    timer_expiry_wakes_reader,
    mq_send_wakes_receiver,
    signalfd_read,
    signalfd_wake,
    timerfd_settime_gettime,
    mq_uncontended,
    sysv_msg_uncontended,
    sysv_msg_hand_off,
    deadlines,
    futex_requeue_wake,
    eventfd_read_wakes_writer,
    mq_receive_wakes_sender,
    msgrcv_wakes_sender,
    poll_loop_wake,
];

#[test]
fn hot_paths_allocate_nothing_and_every_scenario_frees_what_it_took() {
    // SAFETY: gettid has no preconditions.
    if unsafe { libc::gettid() } != std::process::id() as i32 {
        RUNNER.store(std::process::id() as i32, Ordering::SeqCst);
    }
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
