//! Faults and privileged instructions in user mode end only the process
//! that did them (status 128 + SIGSEGV); the kernel stays up and the
//! parent goes on.
#![no_std]
#![no_main]

use user_rt::{println, sys};

const CASES: &[&str] = &[
    "privileged instruction",
    "undefined instruction",
    "breakpoint",
    "port I/O or system register",
    "jump into kernel memory",
    "write to read-only code",
    "stack overflow",
    "non-canonical / unmapped jump",
];

/// Recursion the optimiser cannot turn into a loop: every frame's buffer
/// escapes, and the result is used after the call.
#[inline(never)]
fn recurse(n: u64) -> u64 {
    let buf = core::hint::black_box([n; 64]);
    if n == u64::MAX {
        return 0;
    }
    recurse(n + 1).wrapping_add(core::hint::black_box(&buf)[(n % 64) as usize])
}

fn crash(case: usize) -> i32 {
    // SAFETY: each case deliberately does something user mode may not do;
    // the process must die of it.
    unsafe {
        match case {
            #[cfg(target_arch = "x86_64")]
            1 => core::arch::asm!("cli"),
            #[cfg(target_arch = "aarch64")]
            1 => core::arch::asm!("msr daifset, #2"),
            #[cfg(target_arch = "x86_64")]
            2 => core::arch::asm!("ud2"),
            #[cfg(target_arch = "aarch64")]
            2 => core::arch::asm!("udf #1"),
            #[cfg(target_arch = "x86_64")]
            3 => core::arch::asm!("int3"),
            #[cfg(target_arch = "aarch64")]
            3 => core::arch::asm!("brk #0"),
            #[cfg(target_arch = "x86_64")]
            4 => core::arch::asm!("in al, dx", out("al") _, in("dx") 0x3f8u16),
            #[cfg(target_arch = "aarch64")]
            4 => core::arch::asm!("mrs {}, sctlr_el1", out(reg) _),
            5 => {
                let f: extern "C" fn() = core::mem::transmute(0x100000usize);
                f();
            }
            6 => core::ptr::write_volatile(crash as *const () as *mut u8, 0),
            7 => return recurse(0) as i32,
            8 => {
                let f: extern "C" fn() = core::mem::transmute(0x0000_0015_0000_0000usize);
                f();
            }
            _ => return 0,
        }
    }
    0 // survived: the parent reports it
}

fn main(arg: usize) -> i32 {
    if arg != 0 {
        return crash(arg);
    }
    let mut bad = 0;
    for (i, what) in CASES.iter().enumerate() {
        match sys::spawn_process("traps_isolated", 0, i + 1).and_then(sys::wait_process) {
            Ok(139) => {}
            other => {
                println!("{}: child ended with {:?} (expected Ok(139))", what, other);
                bad += 1;
            }
        }
    }
    if bad == 0 {
        println!("user faults are isolated: ok ({} kinds)", CASES.len());
    }
    bad
}

user_rt::entry!(main);
