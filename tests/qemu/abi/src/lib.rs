//! The testbed's base system calls: numbers, argument conventions and the
//! structs they pass. Shared by the testbed kernel and `user-rt`.
//!
//! Registers: x86_64 `syscall` with the number in rax and arguments in rdi,
//! rsi, rdx, r10, r8, r9; aarch64 `svc #0` with the number in x8 and
//! arguments in x0..x5. The result comes back in rax / x0: a value >= 0 on
//! success, `-errno` (Linux errno values) on failure.
//!
//! The base block is 1..64; redbear-ipc's own block starts at 4000 and is
//! routed to `redbear_ipc::syscall::dispatch`.
#![no_std]

/// Syscall numbers of the base block.
pub mod nr {
    /// `(ptr, len) -> len`: write bytes to the serial console.
    pub const CONSOLE_WRITE: usize = 1;
    /// `(status) -> !`: end the whole process (every thread) with `status`.
    pub const EXIT: usize = 2;
    /// `(status) -> !`: end the calling thread only; the process ends with
    /// `status` when its last thread ends.
    pub const THREAD_EXIT: usize = 3;
    /// `(entry, stack_top, arg) -> tid`: new thread in the caller's process,
    /// starting at `entry` with the stack pointer `stack_top` and `arg` in
    /// the first argument register.
    pub const SPAWN_THREAD: usize = 4;
    /// `(name_ptr, name_len, uid, arg) -> pid`: new process running the
    /// embedded program `name` with uid = gid = `uid` (EPERM unless the
    /// caller's euid is 0 or `uid` equals it) and `arg` passed to its main.
    pub const SPAWN_PROCESS: usize = 5;
    /// `(pid) -> status`: wait until process `pid` (a child of the caller)
    /// ended; returns its exit status (128 + signal or fault number when it
    /// was killed).
    pub const WAIT_PROCESS: usize = 6;
    /// `(tid) -> status`: wait until thread `tid` of the caller's process
    /// ended; returns its thread-exit status.
    pub const THREAD_JOIN: usize = 7;
    /// `() -> pid`
    pub const GETPID: usize = 8;
    /// `() -> tid`
    pub const GETTID: usize = 9;
    /// `() -> ppid`
    pub const GETPPID: usize = 10;
    /// `() -> uid` (effective)
    pub const GETUID: usize = 11;
    /// `() -> gid` (effective)
    pub const GETGID: usize = 12;
    /// `(uid) -> 0`: euid 0 may set any uid; others only their own (EPERM).
    pub const SETUID: usize = 13;
    /// `(gid) -> 0`: like SETUID.
    pub const SETGID: usize = 14;
    /// `(clock, *mut Timespec) -> 0`: clock ids as Linux (0 REALTIME,
    /// 1 MONOTONIC, 7 BOOTTIME; 4 MONOTONIC_RAW is the hardware counter,
    /// real time even when the testbed clock is virtual).
    pub const CLOCK_GETTIME: usize = 15;
    /// `(*const Timespec req, *mut Timespec rem or 0) -> 0`: relative sleep
    /// on CLOCK_MONOTONIC; EINTR (with `rem`) when a signal interrupts it.
    pub const NANOSLEEP: usize = 16;
    /// `() -> 0`: give the CPU to the next runnable task.
    pub const YIELD: usize = 17;
    /// `(pid, sig) -> 0`: make `sig` pending in process `pid` (sig 0 only
    /// checks that it exists). Permission: euid 0 or same uid.
    pub const KILL: usize = 18;
    /// `(how, *const u64 set or 0, *mut u64 old or 0) -> 0`: the process'
    /// signal mask, a 64-bit set (bit `sig - 1`); how as Linux (0 BLOCK,
    /// 1 UNBLOCK, 2 SETMASK). SIGKILL and SIGSTOP cannot be blocked.
    pub const SIGPROCMASK: usize = 19;
    /// `(*mut u64) -> 0`: the pending set.
    pub const SIGPENDING: usize = 20;
    /// `(len) -> addr`: fresh zeroed, private, read-write pages.
    pub const MMAP_ANON: usize = 21;
    /// `(key, len) -> addr`: map the testbed-wide shared region `key`
    /// (created zeroed on first use, `len` fixed then) into the caller.
    /// Every process that maps the same key sees the same memory. The
    /// region is freed when the test (the runner's program) ends; at most
    /// 64 exist at once (ENOSPC).
    pub const SHM_MAP: usize = 22;
    /// `(fd, buf, len) -> n`
    pub const READ: usize = 23;
    /// `(fd, buf, len) -> n`
    pub const WRITE: usize = 24;
    /// `(fd) -> 0`
    pub const CLOSE: usize = 25;
    /// `(fd) -> newfd`
    pub const DUP: usize = 26;
    /// `(*mut PollFd, nfds, timeout_ms as isize) -> ready count`
    pub const POLL: usize = 27;
    /// `(fd, cmd, arg) -> value`: F_GETFD/F_SETFD/F_GETFL/F_SETFL.
    pub const FCNTL: usize = 28;
    /// `() -> n`: system calls the calling process has made so far (this
    /// one included), for tests that prove a fast path stays in user space.
    pub const SYSCALL_COUNT: usize = 29;
    /// `(clock, *const Timespec) -> 0`: sets CLOCK_REALTIME (the only
    /// settable clock; EINVAL otherwise); EPERM unless euid 0. Realtime
    /// deadlines move with it and TFD_TIMER_CANCEL_ON_SET timers cancel.
    pub const CLOCK_SETTIME: usize = 30;
    /// `(pid, sig, value) -> 0`: like KILL, with si_code SI_QUEUE (-1) and
    /// `value` as the sigval (sigqueue(3)); permission as KILL.
    pub const SIGQUEUE: usize = 31;
    /// `(sig, on) -> 0`: catch `sig` (on != 0) or restore its default
    /// action. A caught signal interrupts blocking calls (EINTR) and is
    /// then consumed, as if an empty handler ran. EINVAL for SIGKILL,
    /// SIGSTOP or a bad number.
    pub const SIGCATCH: usize = 32;
    /// `(count, *const u32 list) -> 0`: replace the supplementary groups
    /// (setgroups(2); redbear-ipc's permission checks use them). EPERM
    /// unless euid 0, EINVAL above 32 groups, EFAULT. A spawned process
    /// inherits its parent's.
    pub const SETGROUPS: usize = 33;
    /// `(size, *mut u32 list) -> count`: getgroups(2); size 0 only counts,
    /// a nonzero size below the count is EINVAL. Sorted.
    pub const GETGROUPS: usize = 34;
    /// `(op, a, b) -> value`: test-only probe of redbear-ipc's per-process
    /// hooks. op 0: attach the probe state to the caller's process,
    /// returns how many of its threads have attached it (one state per
    /// process; a FORK child inherits its parent's probe with the count
    /// starting at 100, through `Ipc::process_fork`); op 1: `1000 * settlements + threads attached` of process
    /// `a`'s probe, consumed by the read (0 if never settled); op 2: send
    /// signal `a` with sigval `b` to the caller's parent through
    /// `Kernel::send_signal` (si_code SI_MESGQ -3, no permission check).
    pub const IPC_PROBE: usize = 35;
    /// `(mask) -> old mask`: umask(2), the calling process's file-mode
    /// creation mask (permission bits only), which sem_open clears from a
    /// new semaphore's mode. A new process starts with its parent's (the
    /// runner's programs: 0o022).
    pub const UMASK: usize = 36;
    /// `(sig, *const SigAction or 0, *mut SigAction or 0) -> 0`:
    /// sigaction(2) with the kernel's `SigAction` layout. EINVAL for a bad
    /// number, for changing SIGKILL/SIGSTOP, or for a handler or restorer
    /// address outside the user half; EFAULT.
    pub const SIGACTION: usize = 37;
    /// `() -> !`: return from a signal handler: restores the context the
    /// kernel saved at the user stack pointer (the restorer calls it with
    /// the stack as the handler left it). A frame that cannot be read
    /// ends the process with 128 + SIGSEGV.
    pub const SIGRETURN: usize = 38;
    /// `(*const u64 set, *mut SigInfo or 0, *const Timespec or 0) -> sig`:
    /// sigtimedwait(2): dequeues the lowest pending signal of `set`,
    /// waiting for one (no timeout: forever); EAGAIN when the relative
    /// timeout passes, EINTR when a signal outside `set` interrupts it.
    pub const SIGTIMEDWAIT: usize = 39;
    /// `(*const Itimerval or 0, *mut Itimerval or 0) -> 0`:
    /// setitimer(ITIMER_REAL): SIGALRM to the process when it expires,
    /// then every interval; a zero value disarms it.
    pub const SETITIMER: usize = 40;
    /// `(tid, sig) -> 0`: tgkill within the caller's process: `sig` pending
    /// for thread `tid` only (ESRCH if it is not one of the caller's).
    pub const THREAD_KILL: usize = 41;
    /// `(*const u64 mask) -> -EINTR`: sigsuspend(2): replaces the
    /// thread's mask until a signal is delivered (its handler runs with
    /// the mask replaced, and the old mask returns after it).
    pub const SIGSUSPEND: usize = 42;
    /// `() -> pid`: fork(2): a new process with a copy of the caller's
    /// private memory (shared regions stay shared), its fds (the same open
    /// descriptions), handlers and mask, running only a copy of the
    /// calling thread, which gets 0.
    pub const FORK: usize = 43;
    /// `(pid as isize, *mut i32 status or 0, options) -> pid`: waitpid(2)
    /// for a child (pid -1 or 0: any); status in Linux's encoding; WNOHANG
    /// (1) returns 0 while none has ended; ECHILD without such a child.
    pub const WAITPID: usize = 44;
    /// `(*mut [i32; 2] fds, flags) -> 0`: pipe2(2); flags O_NONBLOCK
    /// (0o4000) and O_CLOEXEC (0o2000000), others EINVAL; the fds are
    /// written last (EFAULT closes both again).
    pub const PIPE2: usize = 45;
    /// `(*const u8 name, name_len, *const *const u8 argv) -> !`: execv(2)
    /// of the embedded program `name` (the archive is the file system):
    /// the process keeps its pid, parent, credentials, ITIMER_REAL, mask
    /// and pending signals and the fds without FD_CLOEXEC; its other
    /// threads end; handlers go back to SIG_DFL (SIG_IGN stays), the
    /// alternate signal stack is gone; the new image starts with argc,
    /// the argv pointers, a null envp and AT_NULL at its stack pointer.
    /// ENOENT for an unknown name, E2BIG beyond 256 arguments or 32 KiB,
    /// EFAULT, and the caller goes on unchanged.
    pub const EXEC: usize = 46;
    /// `(*const StackT or 0, *mut StackT or 0) -> 0`: sigaltstack(2) of
    /// the calling thread; EPERM to change it while running on it, EINVAL
    /// for flags other than SS_DISABLE / SS_AUTODISARM-free 0, ENOMEM
    /// below MINSIGSTKSZ (2048).
    pub const SIGALTSTACK: usize = 47;
    /// `(which) -> value`: 0 the calling thread's CPU index (0..), 1 the
    /// CPUs online, 2 how many times a CPU switched into the calling
    /// thread (unchanged across a stretch of code: it never left its CPU
    /// there), 3 the kernel heap's bytes not handed out (the limits
    /// program checks the heap reserve with it); EINVAL otherwise.
    pub const CPU_INFO: usize = 48;
    /// `(addr, len) -> 0`: removes the caller's mappings of the pages in
    /// `[addr, addr + len)` (any of them; pages not mapped are skipped);
    /// a later access faults. EINVAL for an unaligned `addr`, `len` 0, or
    /// a range past the user half. A private page's frame stays the
    /// process's until it exits (another CPU may still hold its
    /// translation), a shared one stays its region's.
    pub const MUNMAP: usize = 49;
    /// `(clock, *Timespec or 0) -> 0`: the clock's step (the tick period
    /// on the virtual clock, 1 ns on the hardware one); EINVAL as
    /// CLOCK_GETTIME.
    pub const CLOCK_GETRES: usize = 50;
    /// `(path_ptr, path_len, *Stat) -> 0`: an embedded program, named by
    /// the path's last component: S_IFREG | 0755, its ELF size; ENOENT.
    pub const STAT: usize = 51;
    /// `(fd, *Stat) -> 0`: what the fd refers to (`fstat.rs`).
    pub const FSTAT: usize = 52;
    /// `(name_ptr, name_len, oflag, mode) -> fd`: a named shared memory
    /// object (`shm.rs`).
    pub const SHM_OPEN: usize = 53;
    /// `(name_ptr, name_len) -> 0`: removes the name.
    pub const SHM_UNLINK: usize = 54;
    /// `(fd, len) -> 0`: a shared memory object's size.
    pub const FTRUNCATE: usize = 55;
    /// `(fd, len, writable, offset) -> addr`: maps a shared memory
    /// object's pages, shared.
    pub const MMAP_FD: usize = 56;
    /// One past the last base number.
    pub const END: usize = 64;
}

/// STAT / FSTAT's record: Linux x86_64's `struct stat` (144 bytes), on
/// both architectures (the testbed libc's `<sys/stat.h>` has it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    /// atime, mtime, ctime as (seconds, nanoseconds).
    pub st_times: [i64; 6],
    pub unused: [i64; 3],
}

/// Linux `struct timespec` on 64-bit targets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

/// The kernel's sigaction record (Linux's `struct kernel_sigaction`
/// order): `handler` 0 = SIG_DFL, 1 = SIG_IGN, else the handler address.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// Linux `stack_t` on 64-bit targets (sigaltstack).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StackT {
    pub sp: u64,
    pub flags: i32,
    pub pad: i32,
    pub size: u64,
}

/// `ss_flags` values (Linux).
pub mod ss {
    pub const SS_ONSTACK: i32 = 1;
    pub const SS_DISABLE: i32 = 2;
    /// Linux's smallest alternate stack (its MINSIGSTKSZ): 2048 on
    /// x86_64, 5120 on aarch64.
    #[cfg(target_arch = "aarch64")]
    pub const MINSIGSTKSZ: u64 = 5120;
    #[cfg(not(target_arch = "aarch64"))]
    pub const MINSIGSTKSZ: u64 = 2048;
}

/// `sa_flags` bits (Linux values).
pub mod sa {
    pub const SA_NOCLDSTOP: u64 = 1;
    pub const SA_SIGINFO: u64 = 4;
    pub const SA_RESTORER: u64 = 0x0400_0000;
    pub const SA_ONSTACK: u64 = 0x0800_0000;
    pub const SA_RESTART: u64 = 0x1000_0000;
    pub const SA_NODEFER: u64 = 0x4000_0000;
    pub const SA_RESETHAND: u64 = 0x8000_0000;
}

/// Linux `struct itimerval` on 64-bit targets.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Itimerval {
    pub interval_sec: i64,
    pub interval_usec: i64,
    pub value_sec: i64,
    pub value_usec: i64,
}

/// Linux `struct pollfd`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

/// Exit status of a program that panicked (user-rt's panic handler).
pub const PANIC_STATUS: i32 = 101;
/// Exit status base for a process killed by a signal or a fault:
/// `KILLED_BASE + signal number`.
pub const KILLED_BASE: i32 = 128;

/// Linux errno values the base calls return.
pub mod errno {
    pub const EPERM: isize = 1;
    pub const ENOENT: isize = 2;
    pub const ESRCH: isize = 3;
    pub const E2BIG: isize = 7;
    pub const ENOEXEC: isize = 8;
    pub const EINTR: isize = 4;
    pub const EBADF: isize = 9;
    pub const ECHILD: isize = 10;
    pub const EAGAIN: isize = 11;
    pub const ENOMEM: isize = 12;
    pub const EACCES: isize = 13;
    pub const EFAULT: isize = 14;
    pub const EEXIST: isize = 17;
    pub const ENODEV: isize = 19;
    pub const EINVAL: isize = 22;
    pub const EMFILE: isize = 24;
    pub const EFBIG: isize = 27;
    pub const ENOSPC: isize = 28;
    pub const ENOSYS: isize = 38;
}

/// Signal numbers (Linux x86_64/aarch64 values).
pub mod sig {
    pub const SIGINT: usize = 2;
    pub const SIGKILL: usize = 9;
    pub const SIGALRM: usize = 14;
    pub const SIGSEGV: usize = 11;
    pub const SIGUSR1: usize = 10;
    pub const SIGUSR2: usize = 12;
    pub const SIGTERM: usize = 15;
    pub const SIGCHLD: usize = 17;
    pub const SIGSTOP: usize = 19;
    pub const SIGURG: usize = 23;
    pub const SIGWINCH: usize = 28;
    pub const SIGRTMIN: usize = 34;
    pub const NSIG: usize = 64;
}

/// The archive of embedded programs (`TESTBED_PROGRAMS`): the magic, then
/// per program `u32 name_len`, the name, `u64 elf_len`, the ELF bytes; all
/// little-endian, no padding; the end of the file ends the list.
pub const ARCHIVE_MAGIC: &[u8; 8] = b"RBTPROG1";
