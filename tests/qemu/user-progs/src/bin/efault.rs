//! Wild pointers in syscall arguments give EFAULT and the kernel stays up;
//! a child that touches a wild pointer itself is killed (128 + SIGSEGV)
//! and the parent goes on.
#![no_std]
#![no_main]

use redbear_ipc::syscall::numbers::{
    SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE, SYS_RB_SEM_INIT, SYS_RB_SEM_POST,
};
use testbed_abi::nr;
use user_rt::{println, sys};

const EFAULT: isize = 14;

fn main(arg: usize) -> i32 {
    if arg == 1 {
        // SAFETY: deliberately invalid: this child must die of the fault.
        unsafe { core::ptr::write_volatile(0x10 as *mut u32, 1) };
        return 0;
    }
    if arg == 2 {
        // SAFETY: deliberately invalid: a kernel address is not user memory.
        let v = unsafe { core::ptr::read_volatile(0x100000 as *const u32) };
        return v as i32;
    }
    let wild = [
        0usize,
        0x10,
        0xdead_0000,
        0x0000_0010_0000_0000 - 8,
        usize::MAX - 3,
        0x100000,
    ];
    let mut failures = 0;
    for &p in &wild {
        let checks = [
            (
                "futex_wait",
                sys::syscall(SYS_RB_FUTEX_WAIT, [p, 0, 0, 0, u32::MAX as usize, 0]),
            ),
            (
                "futex_wake",
                sys::syscall(SYS_RB_FUTEX_WAKE, [p, 1, 0, u32::MAX as usize, 0, 0]),
            ),
            (
                "sem_init",
                sys::syscall(SYS_RB_SEM_INIT, [p & !3, 0, 1, 0, 0, 0]),
            ),
            (
                "sem_post",
                sys::syscall(SYS_RB_SEM_POST, [p & !3, 0, 0, 0, 0, 0]),
            ),
            (
                "console_write",
                sys::syscall(nr::CONSOLE_WRITE, [p, 16, 0, 0, 0, 0]),
            ),
            (
                "clock_gettime",
                sys::syscall(nr::CLOCK_GETTIME, [1, p, 0, 0, 0, 0]),
            ),
            ("nanosleep", sys::syscall(nr::NANOSLEEP, [p, 0, 0, 0, 0, 0])),
        ];
        for (name, r) in checks {
            if r != -EFAULT && !(name == "futex_wake" && r == 0) && !(r == -22 && p % 4 != 0) {
                println!("{}({:#x}) = {} (expected -EFAULT)", name, p, r);
                failures += 1;
            }
        }
    }
    // A read-only page (our own code) is not writable for the kernel either.
    let code = main as *const () as usize;
    let r = sys::syscall(nr::CLOCK_GETTIME, [1, code & !15, 0, 0, 0, 0]);
    if r != -EFAULT {
        println!("clock_gettime into code = {}", r);
        failures += 1;
    }
    // Unknown numbers are ENOSYS, not a crash.
    for n in [0usize, 63, 64, 3999, 4063, 4064, 100_000, usize::MAX] {
        let r = sys::syscall(n, [0; 6]);
        if r != -38 {
            println!("syscall {} = {} (expected -ENOSYS)", n, r);
            failures += 1;
        }
    }
    for (arg, what) in [(1usize, "wild write"), (2, "kernel read")] {
        match sys::spawn_process("efault", 0, arg).and_then(sys::wait_process) {
            Ok(139) => {}
            other => {
                println!("{} child: {:?} (expected Ok(139))", what, other);
                failures += 1;
            }
        }
    }
    if failures == 0 {
        println!("EFAULT on wild pointers, kernel up: ok");
    }
    failures
}

user_rt::entry!(main);
