//! Timer preemption: two threads that only spin (no syscalls) still both
//! make progress, and CLOCK_MONOTONIC advances while they spin.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use user_rt::{println, sys, thread};

static FLAG: AtomicU32 = AtomicU32::new(0);
static ACK: AtomicU32 = AtomicU32::new(0);

fn spinner(_: usize) -> i32 {
    while FLAG.load(Ordering::SeqCst) == 0 {
        core::hint::spin_loop();
    }
    ACK.store(1, Ordering::SeqCst);
    0
}

fn main(_: usize) -> i32 {
    let t0 = sys::monotonic_ns();
    let tid = match thread::spawn(spinner, 0) {
        Ok(t) => t,
        Err(e) => return e as i32,
    };
    // Spin until at least two ticks passed: only preemption lets the clock
    // (and the other thread) move.
    while sys::monotonic_ns() - t0 < 20_000_000 {
        core::hint::spin_loop();
    }
    FLAG.store(1, Ordering::SeqCst);
    while ACK.load(Ordering::SeqCst) == 0 {
        core::hint::spin_loop();
    }
    match thread::join(tid) {
        Ok(0) => {
            println!("preemption between spinning threads: ok");
            0
        }
        other => {
            println!("join {:?}", other);
            1
        }
    }
}

user_rt::entry!(main);
