//! Threads: a stack from MMAP_ANON and the kernel's SPAWN_THREAD.

use crate::sys;

/// Default stack size of a spawned thread.
pub const STACK_SIZE: usize = 64 * 1024;

/// Starts `f(arg)` on a new thread of this process; returns its tid (for
/// `join`) or `Err(errno)`.
pub fn spawn(f: fn(usize) -> i32, arg: usize) -> Result<usize, isize> {
    let stack = sys::mmap_anon(STACK_SIZE)?;
    let top = stack + STACK_SIZE;
    let slot = (top - 16) as *mut usize;
    // SAFETY: `[stack, top)` was just mapped read-write for this process and
    // nothing else uses it yet; `slot` is 16-byte aligned inside it.
    unsafe {
        slot.write(f as usize);
        slot.add(1).write(arg);
    }
    let entry = crate::start::__thread_entry as *const () as usize;
    let r = sys::syscall(
        sys::nr::SPAWN_THREAD,
        [entry, top - 16, slot as usize, 0, 0, 0],
    );
    sys::check(r)
}

/// Waits for thread `tid` and returns its status.
pub fn join(tid: usize) -> Result<i32, isize> {
    let r = sys::syscall(sys::nr::THREAD_JOIN, [tid, 0, 0, 0, 0, 0]);
    sys::check(r).map(|s| s as i32)
}
