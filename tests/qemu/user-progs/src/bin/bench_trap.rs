//! Trap-path figures on this testbed (real hardware time, not the virtual
//! clock): a base null call, redbear-ipc's dispatch (ENOSYS and a futex
//! wake with no waiter), and a futex ping-pong between two threads (two
//! waits, two wakes, two switches per round trip). Under TCG the absolute
//! numbers are the emulator's; compare them with each other. Passes when
//! every measurement ran.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use testbed_abi::nr;
use user_rt::{println, sys, thread};

const CALLS: u64 = 20_000;
const ROUND_TRIPS: u32 = 2_000;

fn raw_ns() -> u64 {
    match sys::clock_gettime(4) {
        Ok(ts) => ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
        Err(_) => 0,
    }
}

fn per_call(f: impl Fn()) -> u64 {
    // Warm up (TCG translates the code paths on first use).
    for _ in 0..CALLS / 10 {
        f();
    }
    let t0 = raw_ns();
    for _ in 0..CALLS {
        f();
    }
    (raw_ns() - t0) / CALLS
}

static TURN: AtomicU32 = AtomicU32::new(0);

fn futex_wait(w: &AtomicU32, v: u32) {
    sys::syscall(SYS_RB_FUTEX_WAIT, [w.as_ptr() as usize, v as usize, 0, 0, u32::MAX as usize, 0]);
}
fn futex_wake(w: &AtomicU32) {
    sys::syscall(SYS_RB_FUTEX_WAKE, [w.as_ptr() as usize, 1, 0, u32::MAX as usize, 0, 0]);
}

/// Waits for TURN == mine, then passes it on.
fn player(mine: usize) -> i32 {
    let mine = mine as u32;
    for _ in 0..ROUND_TRIPS {
        loop {
            let t = TURN.load(Ordering::Acquire);
            if t == mine {
                break;
            }
            futex_wait(&TURN, t);
        }
        TURN.store(1 - mine, Ordering::Release);
        futex_wake(&TURN);
    }
    0
}

fn main(_: usize) -> i32 {
    let arch = if cfg!(target_arch = "x86_64") { "x86_64" } else { "aarch64" };
    let word = AtomicU32::new(0);
    let null = per_call(|| {
        sys::syscall(nr::GETPID, [0; 6]);
    });
    let enosys = per_call(|| {
        sys::syscall(redbear_ipc::syscall::numbers::END - 1, [0; 6]);
    });
    let wake = per_call(|| {
        sys::syscall(SYS_RB_FUTEX_WAKE, [word.as_ptr() as usize, 1, 0, u32::MAX as usize, 0, 0]);
    });
    let t0 = raw_ns();
    let Ok(tid) = thread::spawn(player, 1) else { return 1 };
    if player(0) != 0 || thread::join(tid) != Ok(0) {
        return 2;
    }
    let rtt = (raw_ns() - t0) / ROUND_TRIPS as u64;
    if null == 0 || wake == 0 || rtt == 0 {
        println!("a measurement did not run");
        return 3;
    }
    println!("bench {}: base null call (getpid) {} ns", arch, null);
    println!("bench {}: redbear-ipc dispatch, reserved number (ENOSYS) {} ns", arch, enosys);
    println!("bench {}: futex_wake, no waiter {} ns", arch, wake);
    println!("bench {}: futex ping-pong round trip (2 waits, 2 wakes, 2 switches) {} ns", arch, rtt);
    0
}

user_rt::entry!(main);
