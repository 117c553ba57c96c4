//! Setting CLOCK_REALTIME: a futex wait on an absolute realtime deadline
//! ends when the clock is set past it; a TFD_TIMER_CANCEL_ON_SET realtime
//! timerfd reports ECANCELED; a monotonic timer is not affected; only root
//! may set the clock.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::{FdFlags, FutexFlags, TimerSetFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use testbed_abi::Timespec;
use user_rt::{check, println, sys, thread};

const ETIMEDOUT: i32 = 110;
const ECANCELED: isize = 125;
const EAGAIN: isize = 11;
const SEC: u64 = 1_000_000_000;

static WORD: AtomicU32 = AtomicU32::new(0);
static STARTED: AtomicU32 = AtomicU32::new(0);

fn ts(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / SEC) as i64,
        tv_nsec: (ns % SEC) as i64,
    }
}

fn waiter(deadline_rt: usize) -> i32 {
    STARTED.store(1, Ordering::SeqCst);
    let t = ts(deadline_rt as u64);
    let flags = (FutexFlags::ABSOLUTE | FutexFlags::CLOCK_REALTIME).bits();
    let r = sys::syscall(
        SYS_RB_FUTEX_WAIT,
        [
            WORD.as_ptr() as usize,
            0,
            &t as *const Timespec as usize,
            flags,
            u32::MAX as usize,
            0,
        ],
    );
    (-r) as i32
}

#[repr(C)]
struct ItimerSpec {
    interval: Timespec,
    value: Timespec,
}

fn timerfd(clock: usize, flags: TimerSetFlags, value: u64) -> Result<usize, isize> {
    let fd = sys::check(sys::syscall(
        SYS_RB_TIMERFD_CREATE,
        [clock, FdFlags::NONBLOCK.bits(), FD_SLOT_ANY, 0, 0, 0],
    ))?;
    let spec = ItimerSpec {
        interval: ts(0),
        value: ts(value),
    };
    sys::check(sys::syscall(
        SYS_RB_TIMERFD_SETTIME,
        [
            fd,
            flags.bits(),
            &spec as *const ItimerSpec as usize,
            0,
            0,
            0,
        ],
    ))?;
    Ok(fd)
}

fn main(arg: usize) -> i32 {
    if arg == 1 {
        // Unprivileged child.
        return match sys::clock_settime_realtime(0) {
            Err(1) => 0,
            other => {
                println!("unprivileged settime: {:?}", other);
                1
            }
        };
    }
    let mut ok = true;
    let rt0 = sys::realtime_ns();
    let mono0 = sys::monotonic_ns();
    // A waiter until realtime + 1 hour.
    let tid = thread::spawn(waiter, (rt0 + 3600 * SEC) as usize).unwrap_or(0);
    while STARTED.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    let cancel = timerfd(
        0,
        TimerSetFlags::ABSTIME | TimerSetFlags::CANCEL_ON_SET,
        rt0 + 7200 * SEC,
    );
    // 500 ms: ample for what comes before its first check, since the
    // testbed's clock moves with host time while a CPU is held up.
    let mono = timerfd(1, TimerSetFlags::empty(), 500_000_000);
    sys::nanosleep(10_000_000).ok();
    // Jump the wall clock two hours ahead.
    ok &= check(
        "settime",
        sys::clock_settime_realtime(rt0 + 2 * 3600 * SEC + 1),
        Ok(0),
    );
    ok &= check("waiter timed out", thread::join(tid), Ok(ETIMEDOUT));
    ok &= check("promptly", sys::monotonic_ns() - mono0 < SEC, true);
    ok &= check(
        "realtime moved",
        sys::realtime_ns() >= rt0 + 2 * 3600 * SEC,
        true,
    );
    match cancel {
        Ok(fd) => ok &= check("cancel-on-set timerfd", sys::read_u64(fd), Err(ECANCELED)),
        Err(e) => ok &= check("timerfd create", Err::<usize, isize>(e), Ok(0)),
    }
    if let Ok(fd) = mono {
        ok &= check(
            "monotonic timer not fired yet",
            sys::read_u64(fd),
            Err(EAGAIN),
        );
        sys::nanosleep(500_000_000).ok();
        ok &= check("monotonic timer fires on time", sys::read_u64(fd), Ok(1));
    }
    // Back to (about) where it was; monotonic time never moved back.
    ok &= check("set back", sys::clock_settime_realtime(rt0), Ok(0));
    ok &= check("monotonic forward", sys::monotonic_ns() >= mono0, true);
    ok &= check(
        "bad clock",
        sys::check(sys::syscall(
            testbed_abi::nr::CLOCK_SETTIME,
            [1, &ts(0) as *const Timespec as usize, 0, 0, 0, 0],
        )),
        Err(22),
    );
    ok &= check(
        "unprivileged",
        sys::spawn_process("clock_settime", 1000, 1).and_then(sys::wait_process),
        Ok(0),
    );
    if ok {
        println!("clock_settime: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
