//! Futex wait/wake between two processes on a shared page (process-shared
//! futex keyed by the physical page); the child runs with another uid.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::FutexFlags;
use redbear_ipc::syscall::numbers::{SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use user_rt::{println, sys};

const SHM_KEY: usize = 0xf07e_0001;
const CHILD_UID: u32 = 1000;

fn shared() -> &'static [AtomicU32; 4] {
    let addr = match sys::shm_map(SHM_KEY, 4096) {
        Ok(a) => a,
        Err(e) => {
            println!("shm_map: {}", e);
            sys::exit(10);
        }
    };
    // SAFETY: SHM_MAP returned a fresh mapping of at least 4096 bytes,
    // suitably aligned, that lives as long as the process.
    unsafe { &*(addr as *const [AtomicU32; 4]) }
}

fn child() -> i32 {
    if sys::getuid() != CHILD_UID {
        println!("child uid {} (expected {})", sys::getuid(), CHILD_UID);
        return 20;
    }
    let s = shared();
    let shared_flag = FutexFlags::SHARED.bits();
    s[1].store(1, Ordering::SeqCst); // ready
    while s[0].load(Ordering::SeqCst) == 0 {
        let r = sys::syscall(
            SYS_RB_FUTEX_WAIT,
            [
                s[0].as_ptr() as usize,
                0,
                0,
                shared_flag,
                u32::MAX as usize,
                0,
            ],
        );
        if r != 0 && r != -11 {
            println!("child futex_wait: {}", r);
            return 21;
        }
    }
    s[2].store(s[0].load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    0
}

fn main(arg: usize) -> i32 {
    if arg == 1 {
        return child();
    }
    let s = shared();
    let pid = match sys::spawn_process("futex_process", CHILD_UID, 1) {
        Ok(p) => p,
        Err(e) => {
            println!("spawn_process: {}", e);
            return 1;
        }
    };
    while s[1].load(Ordering::SeqCst) == 0 {
        sys::nanosleep(1_000_000).ok();
    }
    sys::nanosleep(20_000_000).ok();
    s[0].store(41, Ordering::SeqCst);
    let shared_flag = FutexFlags::SHARED.bits();
    let woken = sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [
            s[0].as_ptr() as usize,
            1,
            shared_flag,
            u32::MAX as usize,
            0,
            0,
        ],
    );
    if woken != 1 {
        println!("futex_wake (shared) woke {}", woken);
        return 2;
    }
    match sys::wait_process(pid) {
        Ok(0) => {}
        other => {
            println!("child ended with {:?}", other);
            return 3;
        }
    }
    if s[2].load(Ordering::SeqCst) != 42 {
        println!("child did not see the value");
        return 4;
    }
    // A private futex on the same page in another process is another key:
    // a private wake there wakes nobody.
    let woken = sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [s[0].as_ptr() as usize, 1, 0, u32::MAX as usize, 0, 0],
    );
    if woken != 0 {
        println!("private wake woke {}", woken);
        return 5;
    }
    println!("futex between processes: ok");
    0
}

user_rt::entry!(main);
