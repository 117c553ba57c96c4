//! Tiny no_std runtime for the testbed's Rust user programs: `_start`, the
//! syscall stubs (x86_64 `syscall`, aarch64 `svc #0`), console printing,
//! threads, and a panic handler that exits with status 101.
//!
//! A program is a bin in `user-progs/src/bin/` that ends with
//! `user_rt::entry!(main);` where `fn main(arg: usize) -> i32`. The test
//! runner starts every program with `arg == 0`; a program may spawn itself
//! (or another embedded program) with another `arg` to play a helper role.
#![no_std]

pub mod sys;
pub mod thread;

mod alloc;
mod console;
mod start;

pub use console::LineWriter;

/// Compares a result with the expected one; prints both under `what` and
/// returns false when they differ (programs fold these into their status).
pub fn check<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) -> bool {
    if got != want {
        println!("{}: got {:?}, want {:?}", what, got, want);
        return false;
    }
    true
}
pub use testbed_abi as abi;

/// Defines the program's entry: `entry!(main)` with `fn main(usize) -> i32`.
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        #[no_mangle]
        pub extern "Rust" fn __user_main(arg: usize) -> i32 {
            let f: fn(usize) -> i32 = $main;
            f(arg)
        }
    };
}

/// Prints to the serial console (one console write per call).
#[macro_export]
macro_rules! print {
    ($($t:tt)*) => {{
        let mut w = $crate::LineWriter::new();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($t)*));
        w.flush();
    }};
}

/// Prints a line to the serial console (one console write per call).
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($t:tt)*) => {{
        let mut w = $crate::LineWriter::new();
        let _ = core::fmt::Write::write_fmt(&mut w, format_args!($($t)*));
        let _ = core::fmt::Write::write_str(&mut w, "\n");
        w.flush();
    }};
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("user panic: {}", info);
    sys::exit(abi::PANIC_STATUS)
}
