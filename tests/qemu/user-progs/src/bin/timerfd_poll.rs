//! timerfd through the trap path: a relative one-shot, a periodic timer
//! read for its expiration count, poll waking at expiry, gettime, and
//! TFD_TIMER_ABSTIME.
#![no_std]
#![no_main]

use redbear_ipc::syscall::abi::{FdFlags, TimerSetFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use testbed_abi::{nr, PollFd, Timespec};
use user_rt::{check, println, sys};

const EAGAIN: isize = 11;
const POLLIN: i16 = 1;

#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct ItimerSpec {
    interval: Timespec,
    value: Timespec,
}

fn ts(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}
fn ns(t: Timespec) -> u64 {
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn settime(fd: usize, flags: TimerSetFlags, value: u64, interval: u64) -> Result<usize, isize> {
    let spec = ItimerSpec {
        interval: ts(interval),
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
    ))
}
fn gettime(fd: usize) -> Result<ItimerSpec, isize> {
    let mut spec = ItimerSpec::default();
    sys::check(sys::syscall(
        SYS_RB_TIMERFD_GETTIME,
        [fd, &mut spec as *mut ItimerSpec as usize, 0, 0, 0, 0],
    ))?;
    Ok(spec)
}
fn main(_: usize) -> i32 {
    let mut ok = true;
    let create = |flags: FdFlags| {
        sys::check(sys::syscall(
            SYS_RB_TIMERFD_CREATE,
            [1, flags.bits(), FD_SLOT_ANY, 0, 0, 0],
        ))
    };
    let Ok(fd) = create(FdFlags::NONBLOCK) else {
        return 1;
    };
    ok &= check("disarmed read", sys::read_u64(fd), Err(EAGAIN));
    // One-shot in 30 ms; poll wakes at expiry.
    let t0 = sys::monotonic_ns();
    ok &= check(
        "settime",
        settime(fd, TimerSetFlags::empty(), 30_000_000, 0),
        Ok(0),
    );
    let left = gettime(fd).map(|s| ns(s.value)).unwrap_or(0);
    ok &= check("gettime left", left > 0 && left <= 30_000_000, true);
    let mut p = PollFd {
        fd: fd as i32,
        events: POLLIN,
        revents: 0,
    };
    let r = sys::check(sys::syscall(
        nr::POLL,
        [&mut p as *mut PollFd as usize, 1, 1000, 0, 0, 0],
    ));
    ok &= check("poll", (r, p.revents), (Ok(1), POLLIN));
    let waited = sys::monotonic_ns() - t0;
    ok &= check("poll waited >= 30ms", waited >= 30_000_000, true);
    ok &= check("poll waited < 1s", waited < 1_000_000_000, true);
    ok &= check("one expiry", sys::read_u64(fd), Ok(1));
    ok &= check("then empty", sys::read_u64(fd), Err(EAGAIN));
    // Periodic, blocking read: 10 ms period, sleep 55 ms -> >= 5 expirations.
    let Ok(bfd) = create(FdFlags::empty()) else {
        return 2;
    };
    ok &= check(
        "periodic",
        settime(bfd, TimerSetFlags::empty(), 10_000_000, 10_000_000),
        Ok(0),
    );
    sys::nanosleep(55_000_000).ok();
    let n = sys::read_u64(bfd).unwrap_or(0);
    ok &= check("expirations >= 5", n >= 5, true);
    let t1 = sys::monotonic_ns();
    ok &= check(
        "blocking read",
        sys::read_u64(bfd).map(|n| n >= 1),
        Ok(true),
    );
    let blocked = sys::monotonic_ns() - t1;
    ok &= check("blocked <= period (+1 tick)", blocked <= 20_000_000, true);
    ok &= check("disarm", settime(bfd, TimerSetFlags::empty(), 0, 0), Ok(0));
    // Absolute deadline 20 ms ahead on CLOCK_MONOTONIC.
    let at = sys::monotonic_ns() + 20_000_000;
    ok &= check("abstime", settime(fd, TimerSetFlags::ABSTIME, at, 0), Ok(0));
    let mut p = PollFd {
        fd: fd as i32,
        events: POLLIN,
        revents: 0,
    };
    sys::syscall(
        nr::POLL,
        [&mut p as *mut PollFd as usize, 1, usize::MAX, 0, 0, 0],
    );
    ok &= check("abs fired after deadline", sys::monotonic_ns() >= at, true);
    ok &= check("abs read", sys::read_u64(fd), Ok(1));
    ok &= check("bad fd", settime(999, TimerSetFlags::empty(), 1, 0), Err(9));
    if ok {
        println!("timerfd: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
