//! A futex-based mutex (Drepper's three-state lock) under contention from
//! several threads with preemption: no lost wake-up (the test would hang
//! into its timeout) and no lost update.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use user_rt::{println, sys, thread};

const THREADS: usize = 6;
const ROUNDS: usize = 400;

static LOCK: AtomicU32 = AtomicU32::new(0);
static mut COUNTER: u64 = 0;

fn futex_wait(w: &AtomicU32, v: u32) {
    sys::syscall(
        SYS_RB_FUTEX_WAIT,
        [w.as_ptr() as usize, v as usize, 0, 0, u32::MAX as usize, 0],
    );
}
fn futex_wake(w: &AtomicU32, n: usize) {
    sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [w.as_ptr() as usize, n, 0, u32::MAX as usize, 0, 0],
    );
}

fn lock() {
    // 0 unlocked, 1 locked, 2 locked with waiters.
    if LOCK
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return;
    }
    loop {
        if LOCK.swap(2, Ordering::Acquire) == 0 {
            return;
        }
        futex_wait(&LOCK, 2);
    }
}

fn unlock() {
    if LOCK.swap(0, Ordering::Release) == 2 {
        futex_wake(&LOCK, 1);
    }
}

fn worker(id: usize) -> i32 {
    for i in 0..ROUNDS {
        lock();
        // SAFETY: COUNTER is only touched with LOCK held.
        unsafe {
            let v = core::ptr::read_volatile(&raw const COUNTER);
            if (i + id) % 7 == 0 {
                sys::sched_yield(); // hold the lock across a switch
            }
            core::ptr::write_volatile(&raw mut COUNTER, v + 1);
        }
        unlock();
    }
    0
}

fn main(_: usize) -> i32 {
    let mut tids = [0usize; THREADS];
    for (i, t) in tids.iter_mut().enumerate() {
        match thread::spawn(worker, i) {
            Ok(tid) => *t = tid,
            Err(e) => {
                println!("spawn {}: {}", i, e);
                return 1;
            }
        }
    }
    for t in tids {
        if thread::join(t) != Ok(0) {
            return 2;
        }
    }
    // SAFETY: every worker has ended.
    let total = unsafe { core::ptr::read_volatile(&raw const COUNTER) };
    if total != (THREADS * ROUNDS) as u64 {
        println!("counter {} (expected {})", total, THREADS * ROUNDS);
        return 3;
    }
    println!("futex mutex under contention: ok ({} increments)", total);
    0
}

user_rt::entry!(main);
