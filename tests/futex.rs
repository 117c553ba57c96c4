//! Futex wait/wake/requeue through `dispatch` on the hosted kernel.

mod common;

use std::time::Duration;

use common::{peek_u32, poke_u32, sys, timespec, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Credentials;
use redbear_ipc::syscall::abi::FutexFlags;
use redbear_ipc::syscall::numbers::*;

const ANY: usize = u32::MAX as usize;
const SHARED: usize = FutexFlags::SHARED.bits();
const ABS: usize = FutexFlags::ABSOLUTE.bits();
const PARK: Duration = Duration::from_secs(10);

#[test]
fn wait_returns_eagain_when_the_word_differs() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    poke_u32(&e.k, w, 5);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 4, 0, 0, ANY]),
        Err(EAGAIN)
    );
}

#[test]
fn wake_with_no_waiters_wakes_nobody() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 10, 0, ANY]), Ok(0));
}

#[test]
fn wake_one_of_two_then_the_other() {
    let e = Env::new(ClockMode::Real);
    let w = e.k.alloc_private(4);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let k = e.k.clone();
            e.k.spawn_task(&e.proc, move || {
                sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
            })
        })
        .collect();
    assert!(e.k.wait_parked(2, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(1));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(1));
    for t in waiters {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(0));
}

#[test]
fn relative_timeout_expires_on_the_virtual_clock_and_leaves_the_table() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    let ts = timespec(&e.k, 2, 0);
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, ts, 0, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.advance(1_999_999_999);
    std::thread::sleep(Duration::from_millis(20));
    assert!(!t.is_finished(), "deadline not reached yet");
    e.k.advance(1);
    assert_eq!(t.join().unwrap(), Err(ETIMEDOUT));
    // Redox's futex left timed-out waiters behind; ours must not.
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(0));
}

#[test]
fn absolute_timeout_in_the_past_times_out_at_once() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    let ts = timespec(&e.k, 0, 5);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, ts, ABS, ANY]),
        Err(ETIMEDOUT)
    );
}

#[test]
fn realtime_absolute_deadline_follows_clock_settime() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    let now_rt = redbear_ipc::kernel::Kernel::now(&*e.k, redbear_ipc::kernel::ClockId::Realtime);
    let target = now_rt + 3_600_000_000_000;
    let ts = timespec(
        &e.k,
        (target / 1_000_000_000) as i64,
        (target % 1_000_000_000) as i64,
    );
    let flags = ABS | FutexFlags::CLOCK_REALTIME.bits();
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, ts, flags, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.set_realtime(target);
    assert_eq!(t.join().unwrap(), Err(ETIMEDOUT));
}

#[test]
fn signal_interrupts_a_wait_with_eintr_and_a_blocked_signal_does_not() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        k.current().set_mask(1 << (10 - 1)); // block SIGUSR1
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 10);
    std::thread::sleep(Duration::from_millis(30));
    assert!(!t.is_finished(), "a blocked signal must not interrupt");
    e.proc.take_signal_all(10);
    // The main task (which does not block signals) is not waiting: fine.
    e.k.send_signal(&e.proc, 12); // SIGUSR2, not blocked
    assert_eq!(t.join().unwrap(), Err(EINTR));
    e.proc.take_signal_all(12);
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(0));
}

#[test]
fn bitset_selects_waiters() {
    let e = Env::new(ClockMode::Real);
    let w = e.k.alloc_private(4);
    let spawn = |bits: usize| {
        let k = e.k.clone();
        e.k.spawn_task(&e.proc, move || {
            sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, bits])
        })
    };
    let a = spawn(0b01);
    assert!(e.k.wait_parked(1, PARK));
    let b = spawn(0b10);
    assert!(e.k.wait_parked(2, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 5, 0, 0b10]), Ok(1));
    assert_eq!(b.join().unwrap(), Ok(0));
    assert!(!a.is_finished());
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 5, 0, 0b01]), Ok(1));
    assert_eq!(a.join().unwrap(), Ok(0));
}

#[test]
fn requeue_wakes_some_and_moves_the_rest() {
    let e = Env::new(ClockMode::Real);
    let (w1, w2) = (e.k.alloc_private(4), e.k.alloc_private(4));
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let k = e.k.clone();
            e.k.spawn_task(&e.proc, move || {
                sys(&k, SYS_RB_FUTEX_WAIT, &[w1, 0, 0, 0, ANY])
            })
        })
        .collect();
    assert!(e.k.wait_parked(3, PARK));
    // cmp_requeue with a stale expected value changes nothing.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_CMP_REQUEUE, &[w1, 1, w2, 2, 0, 7]),
        Err(EAGAIN)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_CMP_REQUEUE, &[w1, 1, w2, 2, 0, 0]),
        Ok(3)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[w1, 10, 0, ANY]),
        Ok(0),
        "all moved or woken"
    );
    assert!(e.k.wait_parked(2, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w2, 10, 0, ANY]), Ok(2));
    for t in waiters {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
}

#[test]
fn requeued_waiter_can_still_time_out() {
    let e = Env::new(ClockMode::Virtual);
    let (w1, w2) = (e.k.alloc_private(4), e.k.alloc_private(4));
    let ts = timespec(&e.k, 1, 0);
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w1, 0, ts, 0, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_REQUEUE, &[w1, 0, w2, 1, 0]), Ok(1));
    e.k.advance(1_000_000_000);
    assert_eq!(t.join().unwrap(), Err(ETIMEDOUT));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w2, 1, 0, ANY]), Ok(0));
}

#[test]
fn shared_futex_meets_across_processes_private_does_not() {
    let e = Env::new(ClockMode::Real);
    let w = e.k.alloc_shared(4);
    let other = e.k.spawn_process(Credentials::new(1001, 1001));
    let k = e.k.clone();
    let t = e.k.spawn_task(&other, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, SHARED, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    // A private wake from another process has another key.
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, SHARED, ANY]), Ok(1));
    assert_eq!(t.join().unwrap(), Ok(0));
}

#[test]
fn bad_input_gets_its_errno_and_changes_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(8);
    poke_u32(&e.k, w, 0);
    // Null and wild pointers.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[0, 0, 0, 0, ANY]),
        Err(EFAULT)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[0xdead_0000, 0, 0, 0, ANY]),
        Err(EFAULT)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[0, 1, SHARED, ANY]),
        Err(EFAULT)
    );
    // Misaligned word.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w + 1, 0, 0, 0, ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[w + 2, 1, 0, ANY]),
        Err(EINVAL)
    );
    // Unknown flags, zero bitset, negative counts.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 1 << 9, ANY]),
        Err(EINVAL)
    );
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, 0]), Err(EINVAL));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, 0]), Err(EINVAL));
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, u32::MAX as usize, 0, ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_REQUEUE, &[w, 0, w + 4, 0x8000_0000, 0]),
        Err(EINVAL)
    );
    // Bad timeouts: pointer and nanoseconds.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, 0x10, 0, ANY]),
        Err(EFAULT)
    );
    let bad = timespec(&e.k, 0, 1_000_000_000);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, bad, 0, ANY]),
        Err(EINVAL)
    );
    let neg = timespec(&e.k, -1, 0);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, neg, 0, ANY]),
        Err(EINVAL)
    );
    assert_eq!(peek_u32(&e.k, w), 0);
    // Another process's private memory is not the caller's.
    let other = e.k.spawn_process(Credentials::new(1, 1));
    let k = e.k.clone();
    let r =
        e.k.spawn_task(&other, move || {
            sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
        })
        .join()
        .unwrap();
    assert_eq!(r, Err(EFAULT));
    assert_eq!(e.k.parked_tasks(), 0);
}

#[test]
fn reserved_and_unknown_numbers_are_enosys() {
    let e = Env::new(ClockMode::Virtual);
    // Every number still reserved in the table (MSGGET was one until
    // SysV msg landed).
    for (name, nr, status) in ALL {
        if *status == redbear_ipc::syscall::numbers::Status::Reserved {
            assert_eq!(sys(&e.k, *nr, &[]), Err(ENOSYS), "{name}");
        }
    }
    assert_eq!(sys(&e.k, 3999, &[]), Err(ENOSYS));
    assert_eq!(sys(&e.k, usize::MAX, &[]), Err(ENOSYS));
}

#[test]
fn no_lost_wakeups_under_stress() {
    // Ping-pong through two futex words many times: a lost wake-up hangs.
    let e = Env::new(ClockMode::Real);
    let turn = e.k.alloc_private(4);
    const ROUNDS: u32 = 2000;
    let k = e.k.clone();
    let peer = e.k.spawn_task(&e.proc, move || {
        for i in 0..ROUNDS {
            while peek_u32(&k, turn) != 2 * i + 1 {
                let _ = sys(&k, SYS_RB_FUTEX_WAIT, &[turn, (2 * i) as usize, 0, 0, ANY]);
            }
            poke_u32(&k, turn, 2 * i + 2);
            sys(&k, SYS_RB_FUTEX_WAKE, &[turn, 1, 0, ANY]).unwrap();
        }
    });
    for i in 0..ROUNDS {
        poke_u32(&e.k, turn, 2 * i + 1);
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[turn, 1, 0, ANY]).unwrap();
        while peek_u32(&e.k, turn) != 2 * i + 2 {
            let _ = sys(
                &e.k,
                SYS_RB_FUTEX_WAIT,
                &[turn, (2 * i + 1) as usize, 0, 0, ANY],
            );
        }
    }
    peer.join().unwrap();
}

#[test]
fn a_non_resident_word_is_faulted_in_outside_the_lock_and_checked_again() {
    let e = Env::new(ClockMode::Virtual);
    let (w, w2) = (e.k.alloc_private(4), e.k.alloc_private(4));
    poke_u32(&e.k, w, 3);
    e.k.memory().evict(w);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY]),
        Err(EAGAIN)
    );
    assert_eq!(e.k.memory().faults(), 1);
    e.k.memory().evict(w);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_CMP_REQUEUE, &[w, 1, w2, 1, 0, 3]),
        Ok(0)
    );
    assert_eq!(e.k.memory().faults(), 2);
    e.k.memory().evict(w);
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_CMP_REQUEUE, &[w, 1, w2, 1, 0, 4]),
        Err(EAGAIN)
    );
    assert_eq!(e.k.memory().faults(), 3);
    // A waiter whose word is evicted still sleeps and is woken.
    poke_u32(&e.k, w, 0);
    e.k.memory().evict(w);
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(1));
    assert_eq!(t.join().unwrap(), Ok(0));
}

#[test]
fn wait_if_runs_the_callers_check_under_the_lock() {
    use redbear_ipc::ipc::futex::FutexKey;
    use redbear_ipc::kernel::Kernel;
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(8);
    let word = redbear_ipc::syscall::uaccess::UserPtr::<u32>::new(w);
    let key = FutexKey::for_caller(&*e.k, word, false).unwrap();
    let futex = &e.k.ipc().futex;
    // A 64-bit compare that fails: EAGAIN, nothing queued.
    let r = futex.wait_if(&*e.k, word, key, u32::MAX, None, |_| Ok(Some(false)));
    assert_eq!(r.map_err(|e| e.errno), Err(EAGAIN));
    // Asking for a fault-in first, then a timeout.
    let mut asked = 0;
    let past = Some(redbear_ipc::kernel::Deadline {
        clock: redbear_ipc::kernel::ClockId::Monotonic,
        at_ns: 0,
    });
    let r = futex.wait_if(&*e.k, word, key, u32::MAX, past, |_| {
        asked += 1;
        Ok(if asked == 1 { None } else { Some(true) })
    });
    assert_eq!(r.map_err(|e| e.errno), Err(ETIMEDOUT));
    assert_eq!((asked, e.k.memory().faults()), (2, 1));
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]),
        Ok(0),
        "the timed-out waiter left"
    );
}
