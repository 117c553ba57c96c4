//! Kernel console output (`print!`/`println!`) over the arch serial port.
//!
//! One line at a time across CPUs: `locked` holds the console for the
//! whole of a `println!` (or a user line). It is re-entrant on the CPU
//! that holds it and gives up waiting after a bound, so a panic can always
//! print, even one raised while printing or while another CPU has stopped
//! with the console held.

use core::fmt;
use core::sync::atomic::{AtomicUsize, Ordering};

/// 0 when free, else the holder's cpu index + 1.
static OWNER: AtomicUsize = AtomicUsize::new(0);
/// Spins before a waiter prints anyway (far above any line's time).
const PATIENCE: u64 = 200_000_000;

/// Runs `f` with the console held by this CPU.
pub fn locked<R>(f: impl FnOnce() -> R) -> R {
    let me = crate::arch::cpu_index() + 1;
    let nested = OWNER.load(Ordering::Relaxed) == me;
    if !nested {
        let mut spins = 0u64;
        while OWNER
            .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
            && spins < PATIENCE
        {
            spins += 1;
            core::hint::spin_loop();
        }
    }
    let r = f();
    if !nested {
        // Fails harmlessly when the wait above gave up.
        let _ = OWNER.compare_exchange(me, 0, Ordering::Release, Ordering::Relaxed);
    }
    r
}

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
        $crate::console::locked(|| {
            let _ = core::fmt::Write::write_fmt(&mut $crate::console::Console, format_args!($($t)*));
        });
    }};
}

#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($t:tt)*) => {{
        $crate::console::locked(|| {
            $crate::print!($($t)*);
            $crate::print!("\n");
        });
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
        super::locked(|| {
            crate::arch::console_write(b"# ");
            crate::arch::console_write(line);
            crate::arch::console_write(b"\n");
        });
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
