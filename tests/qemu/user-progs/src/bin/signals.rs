//! Signals: an ignored signal interrupts nothing and is discarded; a
//! caught one makes a blocked futex wait return EINTR (sent by another
//! thread's kill) and the process lives on; a blocked signal stays pending
//! and does not interrupt; an unblocked fatal signal ends a child process
//! with 128 + signal; kill needs permission.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::numbers::SYS_RB_FUTEX_WAIT;
use testbed_abi::{sig, Timespec};
use user_rt::{println, sys, thread};

static WORD: AtomicU32 = AtomicU32::new(0);
static STARTED: AtomicU32 = AtomicU32::new(0);

const SIG_BLOCK: usize = 0;
const SIG_SETMASK: usize = 2;
const SIGUSR1_BIT: u64 = 1 << (sig::SIGUSR1 - 1);
const SIGCHLD_BIT: u64 = 1 << (sig::SIGCHLD - 1);

fn waiter(timeout_ms: usize) -> i32 {
    STARTED.store(1, Ordering::SeqCst);
    let ts = Timespec {
        tv_sec: 0,
        tv_nsec: timeout_ms as i64 * 1_000_000,
    };
    let tp = if timeout_ms == 0 {
        0
    } else {
        &ts as *const Timespec as usize
    };
    let r = sys::syscall(
        SYS_RB_FUTEX_WAIT,
        [WORD.as_ptr() as usize, 0, tp, 0, u32::MAX as usize, 0],
    );
    (-r) as i32
}

/// Blocks SIGUSR2 in this thread only, then waits like `waiter`.
fn masked_waiter(timeout_ms: usize) -> i32 {
    if sys::sigprocmask(0, Some(1 << (sig::SIGUSR2 - 1))).is_err() {
        return 99;
    }
    waiter(timeout_ms)
}

fn main(arg: usize) -> i32 {
    if arg == 1 {
        // Child: sleep until killed.
        sys::nanosleep(60_000_000_000).ok();
        return 0;
    }
    if arg == 2 {
        // Child with uid 1000: may not signal uid 0's processes.
        return match sys::kill(sys::getppid(), sig::SIGUSR1) {
            Err(1) => 0,
            other => {
                println!("unprivileged kill: {:?}", other);
                1
            }
        };
    }
    // 1. SIGCHLD (ignored by default) interrupts nothing and is discarded.
    let tid = thread::spawn(waiter, 30).unwrap_or(0);
    while STARTED.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    sys::nanosleep(10_000_000).ok();
    if let Err(e) = sys::kill(sys::getpid(), sig::SIGCHLD) {
        println!("kill: {}", e);
        return 1;
    }
    match thread::join(tid) {
        Ok(110) => {}
        other => {
            println!(
                "ignored SIGCHLD: waiter ended with {:?} (expected ETIMEDOUT 110)",
                other
            );
            return 2;
        }
    }
    if sys::sigpending() != Ok(0) {
        println!("an ignored signal stayed pending");
        return 2;
    }
    // 1b. A caught signal (SIGUSR2) interrupts a futex wait with EINTR, and
    // the process lives on.
    if sys::sigcatch(sig::SIGUSR2, true).is_err() {
        return 1;
    }
    STARTED.store(0, Ordering::SeqCst);
    let tid = thread::spawn(waiter, 0).unwrap_or(0);
    while STARTED.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    sys::nanosleep(10_000_000).ok();
    // This thread blocks it while it sends, so the waiter is the one
    // thread that can take the process-directed signal (Linux gives it to
    // the sender's thread otherwise, and the waiter would sleep on).
    sys::sigprocmask(SIG_BLOCK, Some(1 << (sig::SIGUSR2 - 1))).ok();
    sys::kill(sys::getpid(), sig::SIGUSR2).ok();
    let joined = thread::join(tid);
    sys::sigprocmask(SIG_SETMASK, Some(0)).ok();
    match joined {
        Ok(4) => {}
        other => {
            println!(
                "caught SIGUSR2: waiter ended with {:?} (expected EINTR 4)",
                other
            );
            return 2;
        }
    }
    // 1c. Masks are per thread: a thread that blocks SIGUSR2 is not
    // interrupted by it, while this thread (not blocking it) takes it.
    STARTED.store(0, Ordering::SeqCst);
    let tid = thread::spawn(masked_waiter, 30).unwrap_or(0);
    while STARTED.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    sys::kill(sys::getpid(), sig::SIGUSR2).ok();
    match thread::join(tid) {
        Ok(110) => {}
        other => {
            println!(
                "masked thread ended with {:?} (expected ETIMEDOUT 110)",
                other
            );
            return 2;
        }
    }
    if sys::sigpending().map(|s| s & (1 << (sig::SIGUSR2 - 1))) != Ok(0) {
        println!("SIGUSR2 was not taken by the thread that does not block it");
        return 2;
    }
    if sys::sigprocmask(0, None) != Ok(0) {
        println!("the other thread's mask leaked into this one");
        return 2;
    }
    if sys::sigcatch(sig::SIGKILL, true) != Err(22) {
        println!("SIGKILL could be caught");
        return 2;
    }
    // 2. A blocked signal stays pending and does not interrupt.
    if sys::sigprocmask(SIG_BLOCK, Some(SIGUSR1_BIT)).is_err() {
        return 3;
    }
    STARTED.store(0, Ordering::SeqCst);
    let tid = thread::spawn(waiter, 30).unwrap_or(0);
    while STARTED.load(Ordering::SeqCst) == 0 {
        sys::sched_yield();
    }
    sys::kill(sys::getpid(), sig::SIGUSR1).ok();
    match thread::join(tid) {
        Ok(110) => {}
        other => {
            println!(
                "blocked-signal waiter ended with {:?} (expected ETIMEDOUT 110)",
                other
            );
            return 4;
        }
    }
    match sys::sigpending() {
        Ok(set) if set & SIGUSR1_BIT != 0 => {}
        other => {
            println!("pending set {:?}", other);
            return 5;
        }
    }
    let _ = SIGCHLD_BIT;
    // Leave SIGUSR1 blocked (unblocking it would end us).
    sys::sigprocmask(SIG_SETMASK, Some(SIGUSR1_BIT)).ok();
    // 3. A fatal signal ends a sleeping child with 128 + SIGTERM.
    let pid = match sys::spawn_process("signals", 0, 1) {
        Ok(p) => p,
        Err(e) => return 100 + e as i32,
    };
    sys::nanosleep(10_000_000).ok();
    sys::kill(pid, sig::SIGTERM).ok();
    match sys::wait_process(pid) {
        Ok(s) if s == 128 + sig::SIGTERM as i32 => {}
        other => {
            println!("killed child: {:?}", other);
            return 6;
        }
    }
    // 4. Permission.
    match sys::spawn_process("signals", 1000, 2).and_then(sys::wait_process) {
        Ok(0) => {}
        other => {
            println!("unprivileged child: {:?}", other);
            return 7;
        }
    }
    println!("signals: ok");
    0
}

user_rt::entry!(main);
