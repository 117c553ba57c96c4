//! A process exits while its other threads sit in futex waits: they are
//! torn down, the exit status is the exit call's, and the futex queue no
//! longer holds them (a later wake on the shared word wakes nobody).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::FutexFlags;
use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use user_rt::{println, sys, thread};

const KEY: usize = 0xe1_0001;

fn shared() -> &'static [AtomicU32; 2] {
    let Ok(a) = sys::shm_map(KEY, 4096) else {
        sys::exit(50)
    };
    // SAFETY: a fresh shared mapping of 4096 bytes, aligned, never unmapped.
    unsafe { &*(a as *const [AtomicU32; 2]) }
}

fn blocked(_: usize) -> i32 {
    let s = shared();
    s[1].fetch_add(1, Ordering::SeqCst);
    let flags = FutexFlags::SHARED.bits();
    loop {
        sys::syscall(
            SYS_RB_FUTEX_WAIT,
            [s[0].as_ptr() as usize, 0, 0, flags, u32::MAX as usize, 0],
        );
    }
}

fn main(arg: usize) -> i32 {
    let s = shared();
    if arg == 1 {
        for i in 0..3 {
            if thread::spawn(blocked, i).is_err() {
                return 40;
            }
        }
        while s[1].load(Ordering::SeqCst) < 3 {
            sys::nanosleep(1_000_000).ok();
        }
        sys::nanosleep(5_000_000).ok();
        sys::exit(7);
    }
    let Ok(pid) = sys::spawn_process("futex_exit_blocked", 0, 1) else {
        return 1;
    };
    match sys::wait_process(pid) {
        Ok(7) => {}
        other => {
            println!("child ended with {:?} (expected Ok(7))", other);
            return 2;
        }
    }
    let flags = FutexFlags::SHARED.bits();
    let woken = sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [s[0].as_ptr() as usize, 10, flags, u32::MAX as usize, 0, 0],
    );
    if woken != 0 {
        println!("wake after exit woke {} (expected 0)", woken);
        return 3;
    }
    println!("exit with blocked threads: ok");
    0
}

user_rt::entry!(main);
