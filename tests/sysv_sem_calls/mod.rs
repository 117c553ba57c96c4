//! Helpers of the SysV semaphore tests: the three calls through
//! `dispatch` on the hosted kernel, with sembufs and semid_ds in
//! simulated user memory.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::HostedKernel;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{
    SemInfo, SemidDs, GETALL, IPC_RMID, IPC_SET, IPC_STAT, SEMID_DS_SIZE, SEMINFO_SIZE, SETALL,
    SETVAL,
};
use redbear_ipc::syscall::dispatch;
use redbear_ipc::syscall::numbers::*;

pub fn call(k: &HostedKernel, nr: usize, args: &[usize]) -> Result<usize, i32> {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    dispatch(k, nr, a).map_err(|e| e.errno)
}

/// A C int as the shim passes it: sign-extended.
pub fn int(v: i32) -> usize {
    v as isize as usize
}

pub fn semget(k: &HostedKernel, key: i32, nsems: i32, flags: u32) -> Result<i32, i32> {
    call(k, SYS_RB_SEMGET, &[int(key), int(nsems), flags as usize]).map(|id| id as i32)
}

/// (num, op, flg) triples as sembufs in fresh private memory.
pub fn sembufs(k: &HostedKernel, ops: &[(u16, i16, i16)]) -> usize {
    let at = k.alloc_private((ops.len() * 6).max(1));
    let mut raw = Vec::new();
    for &(n, o, f) in ops {
        raw.extend_from_slice(&n.to_ne_bytes());
        raw.extend_from_slice(&o.to_ne_bytes());
        raw.extend_from_slice(&f.to_ne_bytes());
    }
    k.write_user(at, &raw).expect("writable");
    at
}

pub fn semop(k: &HostedKernel, id: i32, ops: &[(u16, i16, i16)]) -> Result<(), i32> {
    let at = sembufs(k, ops);
    call(k, SYS_RB_SEMTIMEDOP, &[int(id), at, ops.len(), 0]).map(drop)
}

/// semtimedop with a relative timeout of `ns` nanoseconds.
pub fn semtimedop(k: &HostedKernel, id: i32, ops: &[(u16, i16, i16)], ns: u64) -> Result<(), i32> {
    let at = sembufs(k, ops);
    let ts = k.alloc_private(16);
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&((ns / 1_000_000_000) as i64).to_ne_bytes());
    raw[8..].copy_from_slice(&((ns % 1_000_000_000) as i64).to_ne_bytes());
    k.write_user(ts, &raw).expect("writable");
    call(k, SYS_RB_SEMTIMEDOP, &[int(id), at, ops.len(), ts]).map(drop)
}

/// semctl with a plain integer argument (GETVAL..GETZCNT, SETVAL, RMID).
pub fn ctl(k: &HostedKernel, id: i32, num: i32, cmd: i32, arg: usize) -> Result<usize, i32> {
    call(k, SYS_RB_SEMCTL, &[int(id), int(num), int(cmd), arg])
}

pub fn setval(k: &HostedKernel, id: i32, num: i32, val: i32) -> Result<(), i32> {
    ctl(k, id, num, SETVAL, int(val)).map(drop)
}

pub fn getall(k: &HostedKernel, id: i32, n: usize) -> Result<Vec<u16>, i32> {
    let at = k.alloc_private((n * 2).max(1));
    ctl(k, id, 0, GETALL, at)?;
    let mut raw = vec![0u8; n * 2];
    k.read_user(at, &mut raw).expect("readable");
    Ok(raw
        .chunks_exact(2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .collect())
}

pub fn setall(k: &HostedKernel, id: i32, vals: &[u16]) -> Result<(), i32> {
    let at = k.alloc_private((vals.len() * 2).max(1));
    let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
    k.write_user(at, &raw).expect("writable");
    ctl(k, id, 0, SETALL, at).map(drop)
}

pub fn stat_cmd(k: &HostedKernel, id: i32, cmd: i32) -> Result<(usize, SemidDs), i32> {
    let at = k.alloc_private(SEMID_DS_SIZE);
    let r = ctl(k, id, 0, cmd, at)?;
    let mut raw = [0u8; SEMID_DS_SIZE];
    k.read_user(at, &mut raw).expect("readable");
    Ok((r, SemidDs::decode(&raw)))
}

pub fn stat(k: &HostedKernel, id: i32) -> Result<SemidDs, i32> {
    stat_cmd(k, id, IPC_STAT).map(|(_, ds)| ds)
}

pub fn set(k: &HostedKernel, id: i32, ds: &SemidDs) -> Result<(), i32> {
    let at = k.alloc_private(SEMID_DS_SIZE);
    k.write_user(at, &ds.encode()).expect("writable");
    ctl(k, id, 0, IPC_SET, at).map(drop)
}

pub fn info(k: &HostedKernel, cmd: i32) -> Result<(usize, SemInfo), i32> {
    let at = k.alloc_private(SEMINFO_SIZE);
    let r = ctl(k, 0, 0, cmd, at)?;
    let mut raw = [0u8; SEMINFO_SIZE];
    k.read_user(at, &mut raw).expect("readable");
    Ok((r, SemInfo::decode(&raw)))
}

pub fn rmid(k: &HostedKernel, id: i32) -> Result<(), i32> {
    ctl(k, id, 0, IPC_RMID, 0).map(drop)
}

/// Waits (polling, generous bound) until set `id` has `n` blocked
/// callers; false if never.
pub fn wait_blocked(k: &Arc<HostedKernel>, id: i32, n: usize) -> bool {
    let start = Instant::now();
    while k.ipc().sysv.sem.blocked(id) != Ok(n) {
        if start.elapsed() > Duration::from_secs(20) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}
