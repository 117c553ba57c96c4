//! A futex wait with a relative timeout on an unchanged word returns
//! ETIMEDOUT no earlier than the timeout; a wrong expected value returns
//! EAGAIN at once; an absolute CLOCK_REALTIME deadline in the past times
//! out at once.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

use redbear_ipc::syscall::abi::FutexFlags;
use redbear_ipc::syscall::numbers::SYS_RB_FUTEX_WAIT;
use testbed_abi::Timespec;
use user_rt::{println, sys};

const ETIMEDOUT: isize = 110;
const EAGAIN: isize = 11;

static WORD: AtomicU32 = AtomicU32::new(7);

fn wait(expected: u32, ts: Option<&Timespec>, flags: usize) -> isize {
    let tp = ts.map_or(0, |t| t as *const Timespec as usize);
    sys::syscall(
        SYS_RB_FUTEX_WAIT,
        [
            WORD.as_ptr() as usize,
            expected as usize,
            tp,
            flags,
            u32::MAX as usize,
            0,
        ],
    )
}

fn main(_: usize) -> i32 {
    let t0 = sys::monotonic_ns();
    let r = wait(
        7,
        Some(&Timespec {
            tv_sec: 0,
            tv_nsec: 50_000_000,
        }),
        0,
    );
    let dt = sys::monotonic_ns() - t0;
    if r != -ETIMEDOUT {
        println!("relative timeout: got {}", r);
        return 1;
    }
    if dt < 50_000_000 {
        println!("timed out after only {} ns", dt);
        return 2;
    }
    let r = wait(
        8,
        Some(&Timespec {
            tv_sec: 5,
            tv_nsec: 0,
        }),
        0,
    );
    if r != -EAGAIN {
        println!("value mismatch: got {}", r);
        return 3;
    }
    let flags = (FutexFlags::ABSOLUTE | FutexFlags::CLOCK_REALTIME).bits();
    let r = wait(
        7,
        Some(&Timespec {
            tv_sec: 1,
            tv_nsec: 0,
        }),
        flags,
    );
    if r != -ETIMEDOUT {
        println!("past absolute deadline: got {}", r);
        return 4;
    }
    let bad = Timespec {
        tv_sec: 0,
        tv_nsec: 2_000_000_000,
    };
    let r = wait(7, Some(&bad), 0);
    if r != -22 {
        println!("bad timespec: got {}", r);
        return 5;
    }
    println!("futex timeouts: ok ({} ns waited)", dt);
    0
}

user_rt::entry!(main);
