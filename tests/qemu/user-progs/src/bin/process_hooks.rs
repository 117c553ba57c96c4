//! The `Kernel` services of the next families through real traps:
//! supplementary groups (SETGROUPS/GETGROUPS; a named semaphore with
//! group-only bits opens for a member through a supplementary group and
//! not for others), redbear-ipc's per-process exit hook (IPC_PROBE's
//! test-only state: one per process, shared by its threads, settled once
//! when a process exits or is killed with a thread blocked in the
//! subsystem), and a signal sent by the kernel (SI_MESGQ with its value
//! and sender, across uids with no kill permission).
#![no_std]
#![no_main]

#[path = "../sem.rs"]
mod sem;

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::{FdFlags, OpenFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use testbed_abi::{sig, KILLED_BASE};
use user_rt::{check, println, sys, thread};

const EPERM: isize = 1;
const EACCES: isize = 13;
const EINVAL: isize = 22;
const SIG_BLOCK: usize = 0;
const SI_MESGQ: i32 = -3;
const NAME: &[u8] = b"/rb-ph-group";
const KEY: usize = 0xe1_0077;
const MEMBER_UID: u32 = 1000;
const OWNER_UID: u32 = 2000;

/// Roles this program plays when it spawns itself.
const EXITS_BLOCKED: usize = 1;
const KILLED_BLOCKED: usize = 2;
const MEMBER: usize = 3;
const OUTSIDER: usize = 4;
const SENDER: usize = 5;
const CREATOR: usize = 6;

fn attached() -> &'static AtomicU32 {
    let Ok(a) = sys::shm_map(KEY, 4096) else {
        sys::exit(50)
    };
    // SAFETY: a fresh shared mapping of 4096 bytes, aligned, never unmapped.
    unsafe { &*(a as *const AtomicU32) }
}

fn open(oflag: OpenFlags, mode: usize) -> Result<usize, isize> {
    sem::open(NAME, oflag, mode, 0)
}

/// Attaches the probe, counts it in shared memory, then sleeps in a
/// futex wait that nothing wakes.
fn attach_and_block(_: usize) -> i32 {
    if sys::ipc_probe(0, 0, 0).is_err() {
        return 60;
    }
    attached().fetch_add(1, Ordering::SeqCst);
    block_forever()
}

fn block_forever() -> ! {
    let word = AtomicU32::new(0);
    loop {
        sys::syscall(
            SYS_RB_FUTEX_WAIT,
            [word.as_ptr() as usize, 0, 0, 0, u32::MAX as usize, 0],
        );
    }
}

/// A child with two threads that each attach the probe (the second sees
/// the first's state: count 2); one blocks, then the other exits the
/// process (`exit_now`) or blocks too, to be killed.
fn blocked_child(exit_now: bool) -> i32 {
    if sys::ipc_probe(0, 0, 0) != Ok(1) {
        return 61;
    }
    if thread::spawn(attach_and_block, 0).is_err() {
        return 62;
    }
    while attached().load(Ordering::SeqCst) < 1 {
        sys::nanosleep(1_000_000).ok();
    }
    if exit_now {
        sys::nanosleep(5_000_000).ok();
        sys::exit(7);
    }
    attached().fetch_add(1, Ordering::SeqCst);
    block_forever()
}

fn child(role: usize) -> i32 {
    match role {
        EXITS_BLOCKED => blocked_child(true),
        KILLED_BLOCKED => blocked_child(false),
        CREATOR => {
            // The group-only mode must survive creation: no umask.
            sys::umask(0);
            match open(OpenFlags::CREATE | OpenFlags::EXCLUSIVE, 0o060) {
                Ok(_) => 0,
                Err(e) => 70 + e as i32,
            }
        }
        MEMBER => {
            let mut ok = true;
            let mut ids = [0u32; 4];
            ok &= check("member getgroups", sys::getgroups(&mut ids), Ok(2));
            ok &= check("member groups sorted", ids, [2000, 3000, 0, 0]);
            ok &= check("member opens", open(OpenFlags::empty(), 0).is_ok(), true);
            ok &= check("non-root setgroups", sys::setgroups(&[1]), Err(EPERM));
            if ok {
                0
            } else {
                1
            }
        }
        OUTSIDER => {
            let ok = check("outsider opens", open(OpenFlags::empty(), 0), Err(EACCES));
            if ok {
                0
            } else {
                1
            }
        }
        SENDER => match sys::ipc_probe(2, sig::SIGRTMIN + 1, 0x42) {
            Ok(_) => 0,
            Err(e) => 80 + e as i32,
        },
        _ => 99,
    }
}

fn run(what: &str, role: usize, uid: u32) -> Result<(usize, i32), ()> {
    let pid = sys::spawn_process("process_hooks", uid, role).map_err(|e| {
        println!("{}: spawn failed: {}", what, e);
    })?;
    let status = sys::wait_process(pid).map_err(|e| {
        println!("{}: wait failed: {}", what, e);
    })?;
    Ok((pid, status))
}

fn groups() -> bool {
    let mut ok = true;
    let mut ids = [0u32; 4];
    ok &= check("root starts with none", sys::getgroups(&mut []), Ok(0));
    ok &= check("setgroups", sys::setgroups(&[3000, 2000]), Ok(0));
    ok &= check("getgroups counts", sys::getgroups(&mut []), Ok(2));
    ok &= check(
        "getgroups short",
        sys::getgroups(&mut ids[..1]),
        Err(EINVAL),
    );
    ok &= check("getgroups", sys::getgroups(&mut ids), Ok(2));
    ok &= check("sorted", ids, [2000, 3000, 0, 0]);
    let too_many = [7u32; 33];
    ok &= check("33 groups", sys::setgroups(&too_many), Err(EINVAL));
    ok &= check("unchanged", sys::getgroups(&mut []), Ok(2));
    // The object: created by uid/gid 2000, only its group may use it.
    ok &= check(
        "creator",
        run("creator", CREATOR, OWNER_UID).map(|r| r.1),
        Ok(0),
    );
    ok &= check(
        "member",
        run("member", MEMBER, MEMBER_UID).map(|r| r.1),
        Ok(0),
    );
    ok &= check("clear groups", sys::setgroups(&[]), Ok(0));
    ok &= check(
        "outsider",
        run("outsider", OUTSIDER, MEMBER_UID).map(|r| r.1),
        Ok(0),
    );
    ok &= check(
        "unlink",
        sem::unlink(NAME),
        Ok(0),
    );
    ok
}

fn exit_hook() -> bool {
    let mut ok = true;
    attached().store(0, Ordering::SeqCst);
    match run("exits blocked", EXITS_BLOCKED, 0) {
        Ok((pid, status)) => {
            ok &= check("exit status", status, 7);
            // Settled once, with both threads' attachments on one state.
            ok &= check("settled after exit", sys::ipc_probe(1, pid, 0), Ok(1002));
        }
        Err(()) => ok = false,
    }
    attached().store(0, Ordering::SeqCst);
    let Ok(pid) = sys::spawn_process("process_hooks", 0, KILLED_BLOCKED) else {
        println!("spawn failed");
        return false;
    };
    while attached().load(Ordering::SeqCst) < 2 {
        sys::nanosleep(1_000_000).ok();
    }
    sys::nanosleep(5_000_000).ok();
    ok &= check("not settled while alive", sys::ipc_probe(1, pid, 0), Ok(0));
    ok &= check("kill", sys::kill(pid, sig::SIGKILL), Ok(0));
    ok &= check(
        "killed status",
        sys::wait_process(pid),
        Ok(KILLED_BASE + sig::SIGKILL as i32),
    );
    ok &= check("settled after kill", sys::ipc_probe(1, pid, 0), Ok(1002));
    ok
}

fn kernel_signal() -> bool {
    let mut ok = true;
    let signo = sig::SIGRTMIN + 1;
    let mask = 1u64 << (signo - 1);
    ok &= check(
        "block",
        sys::sigprocmask(SIG_BLOCK, Some(mask)).is_ok(),
        true,
    );
    let fd = sys::check(sys::syscall(
        SYS_RB_SIGNALFD4,
        [
            FD_NEW,
            &mask as *const u64 as usize,
            8,
            FdFlags::NONBLOCK.bits(),
            FD_SLOT_ANY,
            0,
        ],
    ));
    let Ok(fd) = fd else {
        println!("signalfd: {:?}", fd);
        return false;
    };
    // The sender is another uid: KILL would be EPERM, the kernel's signal
    // is not a kill.
    let sender = match run("sender", SENDER, MEMBER_UID) {
        Ok((pid, 0)) => pid,
        other => {
            println!("sender: {:?}", other);
            return false;
        }
    };
    let mut b = [0u8; 128];
    ok &= check("read", sys::read(fd, &mut b), Ok(128));
    let u = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    ok &= check(
        "siginfo (signo, code, pid, uid, int)",
        (u(0), u(8) as i32, u(12), u(16), u(44)),
        (signo as u32, SI_MESGQ, sender as u32, MEMBER_UID, 0x42),
    );
    ok &= check("closed", sys::close(fd), Ok(0));
    ok
}

fn main(arg: usize) -> i32 {
    if arg != 0 {
        return child(arg);
    }
    let mut failed = 0;
    for (name, part) in [
        ("groups", groups as fn() -> bool),
        ("exit hook", exit_hook),
        ("kernel signal", kernel_signal),
    ] {
        if part() {
            println!("{}: ok", name);
        } else {
            println!("{}: FAILED", name);
            failed += 1;
        }
    }
    failed
}

user_rt::entry!(main);
