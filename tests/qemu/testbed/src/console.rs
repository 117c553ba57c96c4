//! Kernel console output (`print!`/`println!`) over the arch serial port.
//!
//! No lock: the kernel runs with interrupts off on one CPU, so one print
//! cannot be interleaved with another (and a panic can always print).

use core::fmt;

pub struct Console;

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        crate::arch::console_write(s.as_bytes());
        Ok(())
    }
}

#[macro_export]
macro_rules! print {
    ($($t:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($t)*));
    }};
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($t:tt)*) => {{
        $crate::print!($($t)*);
        $crate::print!("\n");
    }};
}
