//! POSIX semaphores through redbear-ipc's numbers: unnamed (init, post,
//! wait, trywait, timedwait, getvalue) between threads and, process-shared,
//! between processes; named (open, post/wait through the fd, unlink).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use testbed_abi::Timespec;
use user_rt::{println, sys, thread};

const EAGAIN: isize = 11;
const ETIMEDOUT: isize = 110;
const ENOENT: isize = 2;

#[repr(C, align(8))]
struct Sem([AtomicU32; 8]);

static SEM: Sem = Sem([const { AtomicU32::new(0) }; 8]);
static DONE: AtomicU32 = AtomicU32::new(0);

fn call(nr: usize, a: [usize; 6]) -> Result<usize, isize> {
    sys::check(sys::syscall(nr, a))
}

fn sem_addr(s: &Sem) -> usize {
    s as *const Sem as usize
}

fn post(addr: usize) -> Result<usize, isize> {
    call(SYS_RB_SEM_POST, [addr, 0, 0, 0, 0, 0])
}
fn wait(addr: usize, flags: SemFlags, ts: Option<&Timespec>) -> Result<usize, isize> {
    let tp = ts.map_or(0, |t| t as *const Timespec as usize);
    call(SYS_RB_SEM_WAIT, [addr, flags.bits(), tp, 1, 0, 0])
}
fn value(addr: usize) -> Result<usize, isize> {
    call(SYS_RB_SEM_GETVALUE, [addr, 0, 0, 0, 0, 0])
}

fn consumer(n: usize) -> i32 {
    for _ in 0..n {
        if wait(sem_addr(&SEM), SemFlags::empty(), None).is_err() {
            return 1;
        }
        DONE.fetch_add(1, Ordering::SeqCst);
    }
    0
}

fn child(_: usize) -> i32 {
    let Ok(base) = sys::shm_map(0x5e3_0001, 4096) else {
        return 30;
    };
    // Wait on the shared semaphore the parent initialised, then post back.
    if wait(base, SemFlags::empty(), None).is_err() {
        return 31;
    }
    if post(base + 32).is_err() {
        return 32;
    }
    0
}

fn check(what: &str, got: Result<usize, isize>, want: Result<usize, isize>) -> bool {
    if got != want {
        println!("{}: got {:?}, want {:?}", what, got, want);
        return false;
    }
    true
}

fn main(arg: usize) -> i32 {
    if arg == 1 {
        return child(arg);
    }
    let s = sem_addr(&SEM);
    let mut ok = true;
    ok &= check("init", call(SYS_RB_SEM_INIT, [s, 0, 2, 0, 0, 0]), Ok(0));
    ok &= check("getvalue", value(s), Ok(2));
    ok &= check("wait", wait(s, SemFlags::empty(), None), Ok(0));
    ok &= check("trywait", wait(s, SemFlags::TRY, None), Ok(0));
    ok &= check("trywait empty", wait(s, SemFlags::TRY, None), Err(EAGAIN));
    // Timed wait on CLOCK_MONOTONIC, absolute: 30 ms from now.
    let now = sys::monotonic_ns() + 30_000_000;
    let ts = Timespec {
        tv_sec: (now / 1_000_000_000) as i64,
        tv_nsec: (now % 1_000_000_000) as i64,
    };
    ok &= check(
        "timedwait",
        wait(s, SemFlags::TIMED, Some(&ts)),
        Err(ETIMEDOUT),
    );
    ok &= check(
        "clock after timedwait",
        Ok((sys::monotonic_ns() >= now) as usize),
        Ok(1),
    );
    // Producer / consumer between threads.
    let tid = thread::spawn(consumer, 5).unwrap_or(0);
    for _ in 0..5 {
        sys::nanosleep(1_000_000).ok();
        ok &= check("post", post(s), Ok(0));
    }
    ok &= check(
        "consumer",
        thread::join(tid).map(|v| v as usize).map_err(|e| e),
        Ok(0),
    );
    ok &= check("consumed", Ok(DONE.load(Ordering::SeqCst) as usize), Ok(5));
    ok &= check(
        "invalid value",
        call(SYS_RB_SEM_INIT, [s, 0, 1 << 31, 0, 0, 0]),
        Err(22),
    );

    // Process-shared: a semaphore pair on a shared page.
    let Ok(base) = sys::shm_map(0x5e3_0001, 4096) else {
        return 40;
    };
    ok &= check(
        "init shared",
        call(SYS_RB_SEM_INIT, [base, 1, 0, 0, 0, 0]),
        Ok(0),
    );
    ok &= check(
        "init shared 2",
        call(SYS_RB_SEM_INIT, [base + 32, 1, 0, 0, 0, 0]),
        Ok(0),
    );
    match sys::spawn_process("sem_ops", 0, 1) {
        Ok(pid) => {
            sys::nanosleep(5_000_000).ok();
            ok &= check("post shared", post(base), Ok(0));
            ok &= check(
                "wait shared",
                wait(base + 32, SemFlags::empty(), None),
                Ok(0),
            );
            ok &= check("child", sys::wait_process(pid).map(|v| v as usize), Ok(0));
        }
        Err(e) => {
            println!("spawn: {}", e);
            ok = false;
        }
    }

    // Named semaphores: the handle is an fd.
    let name = b"/rb-sem-test";
    let create = (OpenFlags::CREATE | OpenFlags::EXCLUSIVE).bits();
    let fd = call(
        SYS_RB_SEM_OPEN,
        [
            name.as_ptr() as usize,
            name.len(),
            create,
            0o600,
            1,
            FD_SLOT_ANY,
        ],
    );
    match fd {
        Ok(fd) => {
            let r = SemFlags::REF_FD.bits();
            ok &= check(
                "named wait",
                call(SYS_RB_SEM_WAIT, [fd, r, 0, 0, 0, 0]),
                Ok(0),
            );
            ok &= check(
                "named try",
                call(SYS_RB_SEM_WAIT, [fd, r | SemFlags::TRY.bits(), 0, 0, 0, 0]),
                Err(EAGAIN),
            );
            ok &= check(
                "named post",
                call(SYS_RB_SEM_POST, [fd, r, 0, 0, 0, 0]),
                Ok(0),
            );
            ok &= check(
                "named value",
                call(SYS_RB_SEM_GETVALUE, [fd, r, 0, 0, 0, 0]),
                Ok(1),
            );
            ok &= check(
                "unlink",
                call(
                    SYS_RB_SEM_UNLINK,
                    [name.as_ptr() as usize, name.len(), 0, 0, 0, 0],
                ),
                Ok(0),
            );
            ok &= check(
                "unlink again",
                call(
                    SYS_RB_SEM_UNLINK,
                    [name.as_ptr() as usize, name.len(), 0, 0, 0, 0],
                ),
                Err(ENOENT),
            );
            ok &= check("close", sys::close(fd), Ok(0));
            ok &= check(
                "closed fd",
                call(SYS_RB_SEM_POST, [fd, r, 0, 0, 0, 0]),
                Err(9),
            );
        }
        Err(e) => {
            println!("sem_open: {}", e);
            ok = false;
        }
    }
    if ok {
        println!("semaphores: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
