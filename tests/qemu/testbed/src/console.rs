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

/// User programs' console output, line by line with a `# ` prefix, so the
/// serial stream stays valid TAP (a program cannot forge an `ok` line).
/// A partial line waits per process until its newline, 512 bytes, or the
/// process' end.
pub mod user {
    use alloc::collections::BTreeMap;
    use alloc::vec::Vec;

    use spin::Mutex;

    use crate::process::Pid;

    const MAX_LINE: usize = 512;

    static PARTIAL: Mutex<BTreeMap<Pid, Vec<u8>>> = Mutex::new(BTreeMap::new());

    fn emit(line: &[u8]) {
        crate::arch::console_write(b"# ");
        crate::arch::console_write(line);
        crate::arch::console_write(b"\n");
    }

    /// Output of process `pid`.
    pub fn write(pid: Pid, bytes: &[u8]) {
        let mut partial = PARTIAL.lock();
        let buf = partial.entry(pid).or_default();
        for &b in bytes {
            if b == b'\n' {
                emit(buf);
                buf.clear();
            } else if b != b'\r' {
                buf.push(b);
                if buf.len() >= MAX_LINE {
                    emit(buf);
                    buf.clear();
                }
            }
        }
        if buf.is_empty() {
            partial.remove(&pid);
        }
    }

    /// Process `pid` ended: print what is left of its last line.
    pub fn flush(pid: Pid) {
        if let Some(buf) = PARTIAL.lock().remove(&pid) {
            if !buf.is_empty() {
                emit(&buf);
            }
        }
    }
}
