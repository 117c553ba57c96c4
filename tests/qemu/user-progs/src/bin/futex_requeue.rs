//! futex requeue / cmp_requeue and wake bitsets through the trap path.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::*;
use user_rt::{check, println, sys, thread};

static A: AtomicU32 = AtomicU32::new(0);
static B: AtomicU32 = AtomicU32::new(0);
static STARTED: AtomicU32 = AtomicU32::new(0);
static GO: AtomicU32 = AtomicU32::new(0);

const EAGAIN: isize = 11;
const ANY: usize = u32::MAX as usize;

fn wait_on(w: &AtomicU32, bitset: usize) -> isize {
    sys::syscall(SYS_RB_FUTEX_WAIT, [w.as_ptr() as usize, 0, 0, 0, bitset, 0])
}

fn waiter(bitset: usize) -> i32 {
    STARTED.fetch_add(1, Ordering::SeqCst);
    while GO.load(Ordering::SeqCst) == 0 {
        let r = wait_on(&A, bitset);
        if r != 0 && r != -EAGAIN {
            return 100 + (-r) as i32;
        }
        if A.load(Ordering::SeqCst) == 0 && B.load(Ordering::SeqCst) == 0 {
            // Woken (possibly after a requeue to B): done.
            return 0;
        }
    }
    0
}

fn settle(n: u32) {
    while STARTED.load(Ordering::SeqCst) < n {
        sys::sched_yield();
    }
    sys::nanosleep(10_000_000).ok();
}

fn main(_: usize) -> i32 {
    let mut ok = true;
    let a = A.as_ptr() as usize;
    let b = B.as_ptr() as usize;
    // Three waiters on A.
    let mut tids = [0usize; 3];
    for t in tids.iter_mut() {
        *t = thread::spawn(waiter, ANY).unwrap_or(0);
    }
    settle(3);
    ok &= check(
        "cmp_requeue wrong value",
        sys::syscall(SYS_RB_FUTEX_CMP_REQUEUE, [a, 1, b, 2, 0, 5]),
        -EAGAIN,
    );
    // Wake one, move two to B.
    ok &= check(
        "cmp_requeue",
        sys::syscall(SYS_RB_FUTEX_CMP_REQUEUE, [a, 1, b, 2, 0, 0]),
        3,
    );
    ok &= check(
        "A now empty",
        sys::syscall(SYS_RB_FUTEX_WAKE, [a, 10, 0, ANY, 0, 0]),
        0,
    );
    ok &= check(
        "two on B",
        sys::syscall(SYS_RB_FUTEX_WAKE, [b, 10, 0, ANY, 0, 0]),
        2,
    );
    for t in tids {
        ok &= check("waiter", thread::join(t), Ok(0));
    }
    // Bitsets: a waiter with bitset 0b01 is not woken by 0b10.
    STARTED.store(0, Ordering::SeqCst);
    let t = thread::spawn(waiter, 0b01).unwrap_or(0);
    settle(1);
    ok &= check(
        "wake other bits",
        sys::syscall(SYS_RB_FUTEX_WAKE, [a, 10, 0, 0b10, 0, 0]),
        0,
    );
    ok &= check(
        "wake matching bits",
        sys::syscall(SYS_RB_FUTEX_WAKE, [a, 10, 0, 0b11, 0, 0]),
        1,
    );
    ok &= check("bitset waiter", thread::join(t), Ok(0));
    ok &= check(
        "zero bitset",
        sys::syscall(SYS_RB_FUTEX_WAKE, [a, 1, 0, 0, 0, 0]),
        -22,
    );
    // Plain requeue without comparison.
    STARTED.store(0, Ordering::SeqCst);
    let t = thread::spawn(waiter, ANY).unwrap_or(0);
    settle(1);
    ok &= check(
        "requeue",
        sys::syscall(SYS_RB_FUTEX_REQUEUE, [a, 0, b, 1, 0, 0]),
        1,
    );
    ok &= check(
        "wake requeued",
        sys::syscall(SYS_RB_FUTEX_WAKE, [b, 1, 0, ANY, 0, 0]),
        1,
    );
    ok &= check("requeued waiter", thread::join(t), Ok(0));
    GO.store(1, Ordering::SeqCst);
    if ok {
        println!("futex requeue and bitsets: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
