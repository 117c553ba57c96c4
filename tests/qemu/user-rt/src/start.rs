//! Process and thread entry points.

use crate::sys;

extern "Rust" {
    fn __user_main(arg: usize) -> i32;
}

#[cfg(target_arch = "x86_64")]
core::arch::global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {start}",
    "ud2",
    ".global __thread_entry",
    "__thread_entry:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {thread}",
    "ud2",
    start = sym rt_start,
    thread = sym rt_thread_start,
);

#[cfg(target_arch = "aarch64")]
core::arch::global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
    "mov x29, #0",
    "mov x30, #0",
    "bl {start}",
    "udf #0",
    ".global __thread_entry",
    "__thread_entry:",
    "mov x29, #0",
    "mov x30, #0",
    "bl {thread}",
    "udf #0",
    start = sym rt_start,
    thread = sym rt_thread_start,
);

extern "C" {
    /// Where a thread made by `thread::spawn` starts (asm above).
    pub(crate) fn __thread_entry();
}

extern "C" fn rt_start(arg: usize) -> ! {
    // SAFETY: `__user_main` is defined by the program's `entry!` macro with
    // exactly this signature.
    let status = unsafe { __user_main(arg) };
    sys::exit(status)
}

extern "C" fn rt_thread_start(slot: *const usize) -> ! {
    // SAFETY: `thread::spawn` wrote a `fn(usize) -> i32` and its argument
    // into the two words at `slot` on the new thread's stack before the
    // thread existed; nothing else writes them.
    let (f, arg) = unsafe {
        let f: fn(usize) -> i32 = core::mem::transmute(slot.read());
        (f, slot.add(1).read())
    };
    sys::thread_exit(f(arg))
}
