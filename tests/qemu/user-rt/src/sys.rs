//! Raw system calls and thin wrappers for the base block.

pub use testbed_abi::nr;
use testbed_abi::Timespec;

/// Raw system call: returns the kernel's result (`-errno` on failure).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub fn syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction enters the testbed kernel, which
    // preserves every register except rax (result), rcx and r11, and reads
    // user memory only after checking it; a bad argument yields -EFAULT.
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr as isize => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Raw system call: returns the kernel's result (`-errno` on failure).
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub fn syscall(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: `svc #0` enters the testbed kernel, which preserves every
    // register except x0 (result) and checks every user pointer.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") nr,
            inlateout("x0") a[0] => ret,
            in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// Wrappers return `Err(errno)` with a positive errno.
fn res(r: isize) -> Result<usize, isize> {
    check(r)
}

pub fn console_write(bytes: &[u8]) {
    syscall(
        nr::CONSOLE_WRITE,
        [bytes.as_ptr() as usize, bytes.len(), 0, 0, 0, 0],
    );
}

pub fn exit(status: i32) -> ! {
    syscall(nr::EXIT, [status as usize, 0, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

pub fn thread_exit(status: i32) -> ! {
    syscall(nr::THREAD_EXIT, [status as usize, 0, 0, 0, 0, 0]);
    loop {
        core::hint::spin_loop();
    }
}

/// Starts embedded program `name` as a new process with `uid`, passing `arg`.
pub fn spawn_process(name: &str, uid: u32, arg: usize) -> Result<usize, isize> {
    res(syscall(
        nr::SPAWN_PROCESS,
        [name.as_ptr() as usize, name.len(), uid as usize, arg, 0, 0],
    ))
}

/// Waits for child `pid` and returns its exit status.
pub fn wait_process(pid: usize) -> Result<i32, isize> {
    res(syscall(nr::WAIT_PROCESS, [pid, 0, 0, 0, 0, 0])).map(|s| s as i32)
}

pub fn getpid() -> usize {
    syscall(nr::GETPID, [0; 6]) as usize
}

pub fn gettid() -> usize {
    syscall(nr::GETTID, [0; 6]) as usize
}

pub fn getppid() -> usize {
    syscall(nr::GETPPID, [0; 6]) as usize
}

pub fn getuid() -> u32 {
    syscall(nr::GETUID, [0; 6]) as u32
}

pub fn getgid() -> u32 {
    syscall(nr::GETGID, [0; 6]) as u32
}

pub fn setuid(uid: u32) -> Result<usize, isize> {
    res(syscall(nr::SETUID, [uid as usize, 0, 0, 0, 0, 0]))
}

pub fn clock_gettime(clock: usize) -> Result<Timespec, isize> {
    let mut ts = Timespec::default();
    res(syscall(
        nr::CLOCK_GETTIME,
        [clock, &mut ts as *mut Timespec as usize, 0, 0, 0, 0],
    ))?;
    Ok(ts)
}

/// CLOCK_MONOTONIC in nanoseconds.
pub fn monotonic_ns() -> u64 {
    match clock_gettime(1) {
        Ok(ts) => ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
        Err(_) => 0,
    }
}

pub fn nanosleep(ns: u64) -> Result<usize, isize> {
    let ts = Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    };
    res(syscall(
        nr::NANOSLEEP,
        [&ts as *const Timespec as usize, 0, 0, 0, 0, 0],
    ))
}

pub fn sched_yield() {
    syscall(nr::YIELD, [0; 6]);
}

pub fn kill(pid: usize, sig: usize) -> Result<usize, isize> {
    res(syscall(nr::KILL, [pid, sig, 0, 0, 0, 0]))
}

/// Changes the signal mask; returns the old one.
pub fn sigprocmask(how: usize, set: Option<u64>) -> Result<u64, isize> {
    let mut old = 0u64;
    let set_ptr = set.as_ref().map_or(0, |s| s as *const u64 as usize);
    res(syscall(
        nr::SIGPROCMASK,
        [how, set_ptr, &mut old as *mut u64 as usize, 0, 0, 0],
    ))?;
    Ok(old)
}

pub fn sigpending() -> Result<u64, isize> {
    let mut set = 0u64;
    res(syscall(
        nr::SIGPENDING,
        [&mut set as *mut u64 as usize, 0, 0, 0, 0, 0],
    ))?;
    Ok(set)
}

/// Fresh zeroed read-write pages; returns their address.
pub fn mmap_anon(len: usize) -> Result<usize, isize> {
    res(syscall(nr::MMAP_ANON, [len, 0, 0, 0, 0, 0]))
}

/// Maps the testbed-wide shared region `key` (created on first use).
pub fn shm_map(key: usize, len: usize) -> Result<usize, isize> {
    res(syscall(nr::SHM_MAP, [key, len, 0, 0, 0, 0]))
}

pub fn read(fd: usize, buf: &mut [u8]) -> Result<usize, isize> {
    res(syscall(
        nr::READ,
        [fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0],
    ))
}

pub fn write(fd: usize, buf: &[u8]) -> Result<usize, isize> {
    res(syscall(
        nr::WRITE,
        [fd, buf.as_ptr() as usize, buf.len(), 0, 0, 0],
    ))
}

pub fn close(fd: usize) -> Result<usize, isize> {
    res(syscall(nr::CLOSE, [fd, 0, 0, 0, 0, 0]))
}

pub fn dup(fd: usize) -> Result<usize, isize> {
    res(syscall(nr::DUP, [fd, 0, 0, 0, 0, 0]))
}

/// Result of a raw call as `Result` (`Err(errno)` with a positive errno).
pub fn check(r: isize) -> Result<usize, isize> {
    if r < 0 {
        Err(-r)
    } else {
        Ok(r as usize)
    }
}

/// Sets CLOCK_REALTIME (root only).
pub fn clock_settime_realtime(ns: u64) -> Result<usize, isize> {
    let ts = Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    };
    res(syscall(
        nr::CLOCK_SETTIME,
        [0, &ts as *const Timespec as usize, 0, 0, 0, 0],
    ))
}

/// CLOCK_REALTIME in nanoseconds.
pub fn realtime_ns() -> u64 {
    match clock_gettime(0) {
        Ok(ts) => ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64,
        Err(_) => 0,
    }
}

/// Catches `sig` (it then interrupts blocking calls with EINTR and is
/// consumed, as if an empty handler ran) or restores its default action.
pub fn sigcatch(sig: usize, on: bool) -> Result<usize, isize> {
    res(syscall(nr::SIGCATCH, [sig, on as usize, 0, 0, 0, 0]))
}

/// Reads one u64 from `fd` (eventfd, timerfd).
pub fn read_u64(fd: usize) -> Result<u64, isize> {
    let mut b = [0u8; 8];
    read(fd, &mut b)?;
    Ok(u64::from_ne_bytes(b))
}

/// setgroups(2): replaces the supplementary groups (root only).
pub fn setgroups(ids: &[u32]) -> Result<usize, isize> {
    res(syscall(
        nr::SETGROUPS,
        [ids.len(), ids.as_ptr() as usize, 0, 0, 0, 0],
    ))
}

/// getgroups(2) into `out`; returns the count (`out` empty: count only).
pub fn getgroups(out: &mut [u32]) -> Result<usize, isize> {
    res(syscall(
        nr::GETGROUPS,
        [out.len(), out.as_mut_ptr() as usize, 0, 0, 0, 0],
    ))
}

/// The test-only IPC_PROBE of redbear-ipc's per-process hooks
/// (`testbed_abi::nr::IPC_PROBE` says what each op does).
pub fn ipc_probe(op: usize, a: usize, b: usize) -> Result<usize, isize> {
    res(syscall(nr::IPC_PROBE, [op, a, b, 0, 0, 0]))
}
