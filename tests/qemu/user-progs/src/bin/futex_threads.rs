//! Futex wait/wake between two threads of one process through the trap
//! path (redbear-ipc's SYS_RB_FUTEX_WAIT / WAKE).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use user_rt::{println, sys, thread};

static WORD: AtomicU32 = AtomicU32::new(0);
static WAITER_READY: AtomicU32 = AtomicU32::new(0);

fn waiter(_: usize) -> i32 {
    WAITER_READY.store(1, Ordering::SeqCst);
    let addr = WORD.as_ptr() as usize;
    let mut waits = 0;
    while WORD.load(Ordering::SeqCst) == 0 {
        let r = sys::syscall(SYS_RB_FUTEX_WAIT, [addr, 0, 0, 0, u32::MAX as usize, 0]);
        // 0: woken; EAGAIN (11): the word changed before we slept.
        if r != 0 && r != -11 {
            println!("futex_wait returned {}", r);
            return 2;
        }
        waits += 1;
    }
    if waits == 0 {
        println!("note: the waiter never slept");
    }
    0
}

fn main(_: usize) -> i32 {
    let tid = match thread::spawn(waiter, 0) {
        Ok(t) => t,
        Err(e) => {
            println!("spawn failed {}", e);
            return 1;
        }
    };
    while WAITER_READY.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    // Let the waiter block in the kernel.
    sys::nanosleep(20_000_000).ok();
    WORD.store(1, Ordering::SeqCst);
    let woken = sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [WORD.as_ptr() as usize, 1, 0, u32::MAX as usize, 0, 0],
    );
    if woken != 1 {
        println!("futex_wake woke {} (expected 1)", woken);
        return 3;
    }
    match thread::join(tid) {
        Ok(0) => {
            println!("futex wait/wake between threads: ok");
            0
        }
        other => {
            println!("join: {:?}", other);
            4
        }
    }
}

user_rt::entry!(main);
