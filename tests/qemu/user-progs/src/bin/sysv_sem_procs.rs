//! SysV semaphore sets across processes and uids: a set of 250 under
//! contention from four processes (a token ring with blocking takes, and
//! a shared total), totals checked; SEM_UNDO of processes that exit
//! normally and of one killed while blocked in semop; EIDRM for a caller
//! blocked when the set is removed, EINTR for one a caught signal
//! interrupts; a uid refused by the mode.
#![no_std]
#![no_main]

use redbear_ipc::ipc::sysv::sem::ops::{IPC_NOWAIT as NOWAIT, SEM_UNDO};
use redbear_ipc::syscall::abi::{GETNCNT, GETVAL, IPC_RMID};
use redbear_ipc::syscall::numbers::{SYS_RB_SEMCTL, SYS_RB_SEMGET, SYS_RB_SEMTIMEDOP};
use testbed_abi::sig::{SIGKILL, SIGUSR1};
use testbed_abi::KILLED_BASE;
use user_rt::{check, println, sys};

const CHILD_UID: u32 = 1000;
const KILLED: i32 = KILLED_BASE + SIGKILL as i32;
const EACCES: isize = redbear_ipc::errno::EACCES as isize;
const EIDRM: isize = redbear_ipc::errno::EIDRM as isize;
const EINTR: isize = redbear_ipc::errno::EINTR as isize;

const NSEMS: usize = 250;
/// Semaphores of the ring, one per worker, spread over the set.
const RING: [u16; 4] = [0, 61, 122, 183];
/// The shared total every round adds to.
const TOTAL: u16 = 249;
/// SEM_UNDO target of the exiting workers.
const UNDONE: u16 = 248;
const ROUNDS: usize = 50;

/// Child roles, in the low byte of the argument; the set id above it.
const WORKER: usize = 1; // + index 0..4 in bits 4..8
const STRANGER: usize = 2;
const REMOVED: usize = 3;
const CAUGHT: usize = 4;
const KILLED_BLOCKED: usize = 5;

fn int(v: i32) -> usize {
    v as isize as usize
}

fn semget(key: i32, nsems: usize, flags: u32) -> Result<i32, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEMGET,
        [int(key), nsems, flags as usize, 0, 0, 0],
    ))
    .map(|id| id as i32)
}

fn semop(id: i32, ops: &[(u16, i16, i16)]) -> Result<usize, isize> {
    let mut raw = [0u8; 6 * 4];
    for (i, &(n, o, f)) in ops.iter().enumerate().take(4) {
        raw[i * 6..i * 6 + 2].copy_from_slice(&n.to_ne_bytes());
        raw[i * 6 + 2..i * 6 + 4].copy_from_slice(&o.to_ne_bytes());
        raw[i * 6 + 4..i * 6 + 6].copy_from_slice(&f.to_ne_bytes());
    }
    sys::check(sys::syscall(
        SYS_RB_SEMTIMEDOP,
        [int(id), raw.as_ptr() as usize, ops.len().min(4), 0, 0, 0],
    ))
}

fn ctl(id: i32, num: u16, cmd: i32) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEMCTL,
        [int(id), usize::from(num), int(cmd), 0, 0, 0],
    ))
}

fn worker(k: usize, id: i32) -> bool {
    let mine = RING[k];
    let next = RING[(k + 1) % RING.len()];
    let mut ok = true;
    for _ in 0..ROUNDS {
        // Take the token (blocking), count the round, pass it on.
        ok &= semop(id, &[(mine, -1, 0)]).is_ok();
        ok &= semop(id, &[(TOTAL, 1, 0), (next, 1, 0)]).is_ok();
    }
    ok &= check("undo +1", semop(id, &[(UNDONE, 1, SEM_UNDO)]), Ok(0));
    ok
}

fn child(role: usize, id: i32) -> bool {
    match role & 0xf {
        WORKER => worker(role >> 4, id),
        STRANGER => check("mode 0600", semop(id, &[(0, 1, NOWAIT)]), Err(EACCES)),
        REMOVED => check("removed under the caller", semop(id, &[(5, -1, 0)]), Err(EIDRM)),
        CAUGHT => {
            let mut ok = check("sigcatch", sys::sigcatch(SIGUSR1, true), Ok(0));
            ok &= check("interrupted", semop(id, &[(6, 0, 0), (7, -1, 0)]), Err(EINTR));
            ok
        }
        KILLED_BLOCKED => {
            let _ = semop(id, &[(8, 3, SEM_UNDO)]);
            // Blocks until killed; its +3 is undone at its exit.
            let _ = semop(id, &[(9, -1, 0)]);
            false
        }
        _ => false,
    }
}

fn spawn(role: usize, id: i32) -> Option<usize> {
    sys::spawn_process("sysv_sem_procs", CHILD_UID, role | (id as usize) << 8).ok()
}

fn let_others_block() {
    let _ = sys::nanosleep(50_000_000);
}

fn main(a: usize) -> i32 {
    if a != 0 {
        return if child(a & 0xff, (a >> 8) as i32) { 0 } else { 1 };
    }
    let mut ok = true;
    // 1. A uid the mode refuses.
    let Ok(private) = semget(0, 1, 0o600) else {
        return 2;
    };
    let Some(p) = spawn(STRANGER, private) else {
        return 3;
    };
    ok &= check("stranger", sys::wait_process(p), Ok(0));
    ok &= check("rmid", ctl(private, 0, IPC_RMID), Ok(0));

    // 2. 250 semaphores, four processes: a token ring and a total.
    let Ok(id) = semget(0, NSEMS, 0o666) else {
        return 4;
    };
    ok &= check("token", semop(id, &[(RING[0], 1, 0)]), Ok(0));
    let mut pids = [0usize; 4];
    for (k, pid) in pids.iter_mut().enumerate() {
        let Some(p) = spawn(WORKER | k << 4, id) else {
            return 5;
        };
        *pid = p;
    }
    for p in pids {
        ok &= check("worker", sys::wait_process(p), Ok(0));
    }
    ok &= check("total", ctl(id, TOTAL, GETVAL), Ok(4 * ROUNDS));
    let tokens: usize = RING.iter().map(|&n| ctl(id, n, GETVAL).unwrap_or(99)).sum();
    ok &= check("one token", tokens, 1);
    ok &= check("undone at each exit", ctl(id, UNDONE, GETVAL), Ok(0));

    // 3. Killed while blocked: its adjustment is undone.
    let Some(k) = spawn(KILLED_BLOCKED, id) else {
        return 6;
    };
    let_others_block();
    ok &= check("it blocks", ctl(id, 9, GETNCNT), Ok(1));
    ok &= check("its +3", ctl(id, 8, GETVAL), Ok(3));
    ok &= check("kill", sys::kill(k, SIGKILL), Ok(0));
    ok &= check("killed", sys::wait_process(k), Ok(KILLED));
    ok &= check("+3 undone", ctl(id, 8, GETVAL), Ok(0));
    ok &= check("no waiter left", ctl(id, 9, GETNCNT), Ok(0));

    // 4. EINTR, then EIDRM.
    let Some(c) = spawn(CAUGHT, id) else {
        return 7;
    };
    let_others_block();
    ok &= check("signal", sys::kill(c, SIGUSR1), Ok(0));
    ok &= check("caught", sys::wait_process(c), Ok(0));
    let Some(r) = spawn(REMOVED, id) else {
        return 8;
    };
    let_others_block();
    ok &= check("rmid under a waiter", ctl(id, 0, IPC_RMID), Ok(0));
    ok &= check("EIDRM", sys::wait_process(r), Ok(0));
    if ok {
        println!("sysv sem across processes: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
