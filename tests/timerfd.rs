//! timerfd through `dispatch` and the hosted kernel, on the virtual clock
//! (deterministic). Cases re-expressed from LTP's timerfd01..04,
//! timerfd_create01, timerfd_settime01/02, timerfd_gettime01 and gVisor's
//! timerfd tests.

mod common;

use std::time::Duration;

use common::{sys, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::kernel::{ClockId, Credentials, Kernel};
use redbear_ipc::syscall::abi::{FdFlags, TimerSetFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const NB: usize = FdFlags::NONBLOCK.bits();
const ABS: usize = TimerSetFlags::ABSTIME.bits();
const CANCEL: usize = TimerSetFlags::CANCEL_ON_SET.bits();
const MONO: usize = ClockId::Monotonic as usize;
const RT: usize = ClockId::Realtime as usize;
const SEC: u64 = 1_000_000_000;
const PARK: Duration = Duration::from_secs(10);

fn tfd(e: &Env, clock: usize, flags: usize) -> usize {
    sys(&e.k, SYS_RB_TIMERFD_CREATE, &[clock, flags, FD_SLOT_ANY]).expect("timerfd_create")
}

/// An itimerspec in user memory: (interval ns, value ns).
fn spec(k: &HostedKernel, interval: u64, value: u64) -> usize {
    let at = k.alloc_private(32);
    let mut raw = [0u8; 32];
    for (i, v) in [interval / SEC, interval % SEC, value / SEC, value % SEC]
        .into_iter()
        .enumerate()
    {
        raw[i * 8..i * 8 + 8].copy_from_slice(&(v as i64).to_ne_bytes());
    }
    k.write_user(at, &raw).unwrap();
    at
}

fn raw_spec(k: &HostedKernel, words: [i64; 4]) -> usize {
    let at = k.alloc_private(32);
    let mut raw = [0u8; 32];
    for (i, v) in words.into_iter().enumerate() {
        raw[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    k.write_user(at, &raw).unwrap();
    at
}

/// Reads back an itimerspec as (interval ns, value ns).
fn read_spec(k: &HostedKernel, at: usize) -> (u64, u64) {
    let mut raw = [0u8; 32];
    k.read_user(at, &mut raw).unwrap();
    let w = |i: usize| i64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap()) as u64;
    (w(0) * SEC + w(1), w(2) * SEC + w(3))
}

fn settime(e: &Env, fd: usize, flags: usize, interval: u64, value: u64) -> Result<(u64, u64), i32> {
    let new = spec(&e.k, interval, value);
    let old = e.k.alloc_private(32);
    sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, flags, new, old])?;
    Ok(read_spec(&e.k, old))
}

fn gettime(e: &Env, fd: usize) -> (u64, u64) {
    let cur = e.k.alloc_private(32);
    sys(&e.k, SYS_RB_TIMERFD_GETTIME, &[fd, cur]).unwrap();
    read_spec(&e.k, cur)
}

fn read_ticks(k: &HostedKernel, fd: usize) -> Result<u64, i32> {
    let b = k.alloc_private(8);
    k.read(fd, b, 8).map_err(|e| e.errno)?;
    let mut raw = [0u8; 8];
    k.read_user(b, &mut raw).unwrap();
    Ok(u64::from_ne_bytes(raw))
}

#[test]
fn create_checks_clock_and_flags() {
    let e = Env::new(ClockMode::Virtual);
    for clock in [0, 1, 7] {
        assert!(
            sys(&e.k, SYS_RB_TIMERFD_CREATE, &[clock, 0, FD_SLOT_ANY]).is_ok(),
            "clock {clock}"
        );
    }
    for clock in [2, 3, 4, 5, 6, 10, 99] {
        assert_eq!(
            sys(&e.k, SYS_RB_TIMERFD_CREATE, &[clock, 0, FD_SLOT_ANY]),
            Err(EINVAL),
            "clock {clock}"
        );
    }
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_CREATE, &[8, 0, FD_SLOT_ANY]),
        Err(EPERM),
        "alarm needs privilege"
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_CREATE, &[9, 0, FD_SLOT_ANY]),
        Err(EPERM)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_CREATE, &[MONO, 1 << 6, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(
            &e.k,
            SYS_RB_TIMERFD_CREATE,
            &[MONO, FdFlags::SEMAPHORE.bits(), FD_SLOT_ANY]
        ),
        Err(EINVAL)
    );
    let root = Env::with_creds(ClockMode::Virtual, Credentials::new(0, 0));
    assert!(sys(&root.k, SYS_RB_TIMERFD_CREATE, &[8, 0, FD_SLOT_ANY]).is_ok());
}

#[test]
fn one_shot_relative_timer_fires_once() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN), "disarmed");
    assert_eq!(settime(&e, fd, 0, 0, 2 * SEC), Ok((0, 0)));
    e.k.advance(SEC / 2);
    assert_eq!(gettime(&e, fd), (0, 3 * SEC / 2));
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN));
    e.k.advance(3 * SEC / 2);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN));
    assert_eq!(gettime(&e, fd), (0, 0), "disarmed after firing");
}

#[test]
fn periodic_timer_counts_every_period_even_when_read_late() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    settime(&e, fd, 0, SEC, SEC).unwrap();
    e.k.advance(3 * SEC + SEC / 2); // expiries at 1, 2, 3
    assert_eq!(read_ticks(&e.k, fd), Ok(3));
    assert_eq!(gettime(&e, fd), (SEC, SEC / 2));
    e.k.advance(SEC / 2);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}

#[test]
fn absolute_timers_and_past_deadlines() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    let now = e.k.now(ClockId::Monotonic);
    settime(&e, fd, ABS, 0, now + SEC).unwrap();
    assert_eq!(gettime(&e, fd), (0, SEC));
    e.k.advance(SEC);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
    settime(&e, fd, ABS, 0, 1).unwrap(); // long past
    assert_eq!(
        read_ticks(&e.k, fd),
        Ok(1),
        "a past absolute time expires at once"
    );
}

#[test]
fn settime_returns_the_old_value_and_zero_disarms() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    settime(&e, fd, 0, 2 * SEC, 5 * SEC).unwrap();
    e.k.advance(SEC);
    assert_eq!(settime(&e, fd, 0, 0, 0), Ok((2 * SEC, 4 * SEC)));
    assert_eq!(gettime(&e, fd), (0, 0));
    e.k.advance(10 * SEC);
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN));
    // Re-arming discards expirations not yet read.
    settime(&e, fd, 0, 0, SEC).unwrap();
    e.k.advance(SEC);
    settime(&e, fd, 0, 0, 100 * SEC).unwrap();
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN));
}

#[test]
fn bad_settime_input_changes_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    settime(&e, fd, 0, 0, 7 * SEC).unwrap();
    let good = spec(&e.k, 0, SEC);
    let bad_nsec = raw_spec(&e.k, [0, 0, 0, 1_000_000_000]);
    let bad_interval = raw_spec(&e.k, [0, -1, 1, 0]);
    let neg = raw_spec(&e.k, [0, 0, -1, 0]);
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, bad_nsec, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, bad_interval, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, neg, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 1 << 5, good, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, 0, 0]),
        Err(EFAULT)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, good, 0x10]),
        Err(EFAULT)
    );
    assert_eq!(gettime(&e, fd), (0, 7 * SEC), "still the old setting");
    assert_eq!(sys(&e.k, SYS_RB_TIMERFD_GETTIME, &[fd, 0]), Err(EFAULT));
    // Wrong kinds of fd.
    let efd = sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).unwrap();
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[efd, 0, good, 0]),
        Err(EINVAL)
    );
    assert_eq!(sys(&e.k, SYS_RB_TIMERFD_GETTIME, &[efd, good]), Err(EINVAL));
    assert_eq!(
        sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[999, 0, good, 0]),
        Err(EBADF)
    );
    // Short read buffer.
    assert_eq!(
        e.k.read(fd, e.k.alloc_private(8), 7).map_err(|e| e.errno),
        Err(EINVAL)
    );
}

#[test]
fn cancel_on_set_reports_ecanceled_once() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, RT, NB);
    let far = e.k.now(ClockId::Realtime) + 3600 * SEC;
    settime(&e, fd, ABS | CANCEL, 0, far).unwrap();
    let plain = tfd(&e, RT, NB);
    settime(&e, plain, ABS, 0, far).unwrap();
    let now = e.k.now(ClockId::Realtime);
    e.k.set_realtime(now + 60 * SEC);
    assert_eq!(read_ticks(&e.k, fd), Err(ECANCELED));
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN), "reported once");
    assert_eq!(
        read_ticks(&e.k, plain),
        Err(EAGAIN),
        "without the flag nothing happens"
    );
    // Setting the clock past the deadline fires both.
    e.k.set_realtime(far + 1);
    assert_eq!(read_ticks(&e.k, plain), Ok(1));
}

#[test]
fn blocking_read_wakes_at_expiry() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, 0);
    settime(&e, fd, 0, 0, 5 * SEC).unwrap();
    let k = e.k.clone();
    let reader = e.k.spawn_task(&e.proc, move || read_ticks(&k, fd));
    assert!(e.k.wait_parked(1, PARK));
    e.k.advance(4 * SEC);
    std::thread::sleep(Duration::from_millis(20));
    assert!(!reader.is_finished());
    e.k.advance(SEC);
    assert_eq!(reader.join().unwrap(), Ok(1));
}

#[test]
fn poll_wakes_at_expiry() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    settime(&e, fd, 0, 0, 5 * SEC).unwrap();
    assert_eq!(
        e.k.poll(&[(fd, Readiness::IN)], Some(Duration::ZERO))
            .unwrap(),
        vec![Readiness::empty()]
    );
    let k = e.k.clone();
    let poller =
        e.k.spawn_task(&e.proc, move || k.poll(&[(fd, Readiness::IN)], None));
    assert!(e.k.wait_parked(1, PARK));
    e.k.advance(5 * SEC);
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}

#[test]
fn timer_queue_fires_and_stays_bounded_under_rearming() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    for i in 0..1000 {
        settime(&e, fd, 0, 0, (1000 + i) * SEC).unwrap();
    }
    assert!(
        e.k.ipc().timers.entries() <= 40,
        "stale entries compacted: {}",
        e.k.ipc().timers.entries()
    );
    assert_eq!(e.k.ipc().timers.entries(), 1, "one entry per armed timer");
    let periodic = tfd(&e, MONO, NB);
    settime(&e, periodic, 0, SEC, SEC).unwrap();
    // The hosted kernel's tick (a clock step) fires it.
    e.k.advance(SEC);
    assert_eq!(e.k.ipc().expire_timers(&*e.k), 0, "already fired");
    assert_eq!(read_ticks(&e.k, periodic), Ok(1));
    assert_eq!(
        e.k.ipc().next_timer_deadline().map(|d| d.at_ns),
        Some(e.k.now(ClockId::Monotonic) + SEC)
    );
    e.k.close(fd).unwrap();
    e.k.close(periodic).unwrap();
    e.k.advance(10_000 * SEC);
    e.k.ipc().expire_timers(&*e.k);
    assert_eq!(
        e.k.ipc().timers.entries(),
        0,
        "closed timers leave the queue"
    );
    assert_eq!(e.k.ipc().acct.users_charged(), 0);
}

/// The number of this test's timers that are armed (gettime says so).
fn armed(e: &Env, fds: &[usize]) -> usize {
    fds.iter().filter(|&&fd| gettime(e, fd).1 != 0).count()
}

#[test]
fn fired_one_shots_leave_no_entry_even_without_expiry() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    // Nobody calls expire_timers here (the clock does not move).
    for _ in 0..5000 {
        settime(&e, fd, ABS, 0, 1).unwrap();
    }
    assert_eq!(e.k.ipc().timers.entries(), 0, "a fired one-shot is gone");
    assert_eq!(read_ticks(&e.k, fd), Ok(1), "and was counted");
    for _ in 0..5000 {
        settime(&e, fd, 0, 0, 1).unwrap(); // due at now + 1 ns
    }
    assert!(e.k.ipc().timers.entries() <= 1);
    e.k.advance(1);
    assert_eq!(e.k.ipc().timers.entries(), 0);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}

#[test]
fn the_queue_holds_one_entry_per_armed_timer_through_arm_disarm_and_close() {
    let e = Env::new(ClockMode::Virtual);
    let mut fds: Vec<usize> = (0..8).map(|_| tfd(&e, MONO, NB)).collect();
    fds.push(tfd(&e, RT, NB));
    let q = || e.k.ipc().timers.entries();
    // Re-arming an armed timer, far and near, many times.
    for i in 0..2000u64 {
        let fd = fds[(i % fds.len() as u64) as usize];
        settime(
            &e,
            fd,
            0,
            if i % 3 == 0 { SEC } else { 0 },
            (i % 7 + 1) * SEC,
        )
        .unwrap();
        assert_eq!(q(), armed(&e, &fds), "after arming #{i}");
    }
    assert_eq!(q(), fds.len());
    // Disarming takes the entry out.
    settime(&e, fds[0], 0, 0, 0).unwrap();
    settime(&e, fds[1], 0, 0, 0).unwrap();
    assert_eq!(q(), fds.len() - 2);
    // Firing one-shots (read settles them) and periodic ones (stay).
    e.k.clock().advance(8 * SEC); // no tick: only the reads settle
    for &fd in &fds[2..] {
        let _ = read_ticks(&e.k, fd);
    }
    assert_eq!(q(), armed(&e, &fds), "fired one-shots left, periodic stay");
    // Closing an armed timer takes its entry and its slot out.
    let slots = e.k.ipc().timers.slots();
    let periodic = *fds.iter().find(|&&fd| gettime(&e, fd).1 != 0).unwrap();
    e.k.close(periodic).unwrap();
    fds.retain(|&fd| fd != periodic);
    assert_eq!(q(), armed(&e, &fds));
    assert_eq!(e.k.ipc().timers.slots(), slots - 1);
    for fd in fds {
        e.k.close(fd).unwrap();
    }
    assert_eq!(q(), 0);
    assert_eq!(e.k.ipc().timers.slots(), 0);
}

#[test]
fn timer_slots_are_charged_to_the_creator_and_refunded() {
    use redbear_ipc::ipc::common::limits::Resource;
    let e = Env::new(ClockMode::Virtual);
    let slots = |e: &Env| e.k.ipc().acct.usage(1000).amounts[Resource::TimerSlots as usize];
    let a = tfd(&e, MONO, NB);
    let b = tfd(&e, MONO, NB);
    assert_eq!(slots(&e), 2);
    settime(&e, a, 0, SEC, SEC).unwrap();
    assert_eq!(slots(&e), 2, "arming allocates nothing more");
    e.k.close(a).unwrap();
    assert_eq!(slots(&e), 1);
    e.k.close(b).unwrap();
    assert_eq!(slots(&e), 0);
    // The slot limit binds: a user at it cannot create another timer.
    let mut limits = e.k.ipc().acct.limits();
    limits.per_user_amounts[Resource::TimerSlots as usize] = 1;
    let k = HostedKernel::with_limits(ClockMode::Virtual, limits);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let _t = k.enter(&p);
    let one = sys(&k, SYS_RB_TIMERFD_CREATE, &[MONO, 0, FD_SLOT_ANY]).unwrap();
    assert_eq!(
        sys(&k, SYS_RB_TIMERFD_CREATE, &[MONO, 0, FD_SLOT_ANY]),
        Err(ENOSPC)
    );
    k.close(one).unwrap();
    assert!(k.ipc().acct.outstanding().is_zero());
    assert_eq!(k.ipc().timers.slots(), 0);
}

/// Counts the readiness changes an observer is told of.
struct Count(std::sync::atomic::AtomicUsize);
impl redbear_ipc::ipc::common::pollee::Observer for Count {
    fn on_events(&self, _: Readiness) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_setting_that_is_already_due_notifies_observers() {
    use redbear_ipc::ipc::common::pollee::Observer;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
    let obs: std::sync::Arc<dyn Observer> = count.clone();
    e.k.get_fd(fd).unwrap().pollee().unwrap().register(&obs);
    settime(&e, fd, 0, 0, 10 * SEC).unwrap();
    assert_eq!(count.0.load(SeqCst), 0, "not due: nothing to tell");
    // A past absolute time, then 1 ns relative (due before anyone looks
    // again: the clock steps by the ns).
    settime(&e, fd, ABS, 0, 1).unwrap();
    assert_eq!(count.0.load(SeqCst), 1, "past ABSTIME is due at once");
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
    settime(&e, fd, 0, 0, 1).unwrap();
    e.k.advance(1);
    assert_eq!(count.0.load(SeqCst), 2, "the tick tells of the 1 ns expiry");
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}

#[test]
fn a_poller_wakes_when_another_thread_sets_a_due_time() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    let k = e.k.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let poller = e.k.spawn_task(&e.proc, move || {
        let _ = tx.send(k.poll(&[(fd, Readiness::IN)], None));
    });
    assert!(e.k.wait_parked(1, PARK));
    // No timer was armed when it parked: only a notification wakes it.
    settime(&e, fd, ABS, 0, 1).unwrap();
    let woke = rx.recv_timeout(PARK);
    if woke.is_err() {
        // Still asleep: end it (its process exits) before failing.
        e.k.exit_process(&e.proc);
        panic!("the poller was never told of the due time");
    }
    assert_eq!(woke.unwrap().unwrap(), vec![Readiness::IN]);
    poller.join().unwrap();
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}

#[test]
fn a_read_whose_copy_faults_keeps_its_count_for_the_next_read() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    settime(&e, fd, 0, SEC, SEC).unwrap();
    e.k.advance(3 * SEC);
    let buf = e.k.alloc_private(8);
    // The buffer is fine when probed, and faults at the copy (unmapped
    // by another thread in between, as it were).
    e.k.memory()
        .fail_writes(Some(std::sync::Arc::new(move |dst, src| {
            dst == buf && src.iter().any(|&b| b != 0)
        })));
    assert_eq!(e.k.read(fd, buf, 8).map_err(|e| e.errno), Err(EFAULT));
    e.k.memory().fail_writes(None);
    assert_eq!(read_ticks(&e.k, fd), Ok(3), "nothing was lost");
    assert_eq!(read_ticks(&e.k, fd), Err(EAGAIN));
}

#[test]
fn settime_acts_on_the_timer_it_looked_up_even_if_the_fd_is_reused() {
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, MONO, NB);
    let original = e.k.dup(fd).unwrap();
    let new = spec(&e.k, 0, 5 * SEC);
    let old = e.k.alloc_private(32);
    // While settime runs (at its probe of `old`), another thread closes
    // `fd` and opens a new timerfd at the same number.
    let k = e.k.clone();
    let swapped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let once = swapped.clone();
    e.k.memory()
        .fail_writes(Some(std::sync::Arc::new(move |dst, _| {
            if dst == old && !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                k.close(fd).unwrap();
                let again = sys(&k, SYS_RB_TIMERFD_CREATE, &[MONO, NB, fd]).unwrap();
                assert_eq!(again, fd);
            }
            false
        })));
    sys(&e.k, SYS_RB_TIMERFD_SETTIME, &[fd, 0, new, old]).unwrap();
    e.k.memory().fail_writes(None);
    assert!(swapped.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(gettime(&e, original), (0, 5 * SEC), "the timer looked up");
    assert_eq!(gettime(&e, fd), (0, 0), "the newcomer is untouched");
}

#[test]
fn setting_the_realtime_clock_past_an_absolute_timer_fires_it() {
    use redbear_ipc::ipc::common::pollee::Observer;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    let e = Env::new(ClockMode::Virtual);
    let fd = tfd(&e, RT, NB);
    let count = std::sync::Arc::new(Count(AtomicUsize::new(0)));
    let obs: std::sync::Arc<dyn Observer> = count.clone();
    e.k.get_fd(fd).unwrap().pollee().unwrap().register(&obs);
    let at = e.k.now(ClockId::Realtime) + 3600 * SEC;
    settime(&e, fd, ABS, 0, at).unwrap();
    assert_eq!(e.k.ipc().timers.entries(), 1);
    e.k.set_realtime(at + SEC);
    assert_eq!(count.0.load(SeqCst), 1, "the clock step's tick told it");
    assert_eq!(e.k.ipc().timers.entries(), 0);
    assert_eq!(read_ticks(&e.k, fd), Ok(1));
}
