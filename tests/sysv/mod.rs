//! Helpers of the SysV message-queue tests: the four calls through
//! `dispatch` on the hosted kernel, with msgbufs in simulated user memory.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::HostedKernel;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{MsqidDs, IPC_RMID, IPC_SET, IPC_STAT, MSQID_DS_SIZE};
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

pub fn msgget(k: &HostedKernel, key: i32, flags: u32) -> Result<i32, i32> {
    call(k, SYS_RB_MSGGET, &[int(key), flags as usize]).map(|id| id as i32)
}

/// A msgbuf holding `mtype` and `text` in fresh private memory.
pub fn msgbuf(k: &HostedKernel, mtype: i64, text: &[u8]) -> usize {
    let at = k.alloc_private(8 + text.len().max(1));
    k.write_user(at, &mtype.to_ne_bytes()).expect("writable");
    k.write_user(at + 8, text).expect("writable");
    at
}

pub fn msgsnd(k: &HostedKernel, id: i32, mtype: i64, text: &[u8], flags: u32) -> Result<(), i32> {
    let at = msgbuf(k, mtype, text);
    call(k, SYS_RB_MSGSND, &[int(id), at, text.len(), flags as usize]).map(drop)
}

pub fn msgrcv(
    k: &HostedKernel,
    id: i32,
    size: usize,
    msgtyp: i64,
    flags: u32,
) -> Result<(i64, Vec<u8>), i32> {
    let at = k.alloc_private(8 + size.max(1));
    let n = call(
        k,
        SYS_RB_MSGRCV,
        &[int(id), at, size, msgtyp as usize, flags as usize],
    )?;
    let mut raw = vec![0u8; 8 + n];
    k.read_user(at, &mut raw).expect("readable");
    let mut t = [0u8; 8];
    t.copy_from_slice(&raw[..8]);
    Ok((i64::from_ne_bytes(t), raw[8..].to_vec()))
}

pub fn stat_cmd(k: &HostedKernel, id: i32, cmd: i32) -> Result<(usize, MsqidDs), i32> {
    let at = k.alloc_private(MSQID_DS_SIZE);
    let r = call(k, SYS_RB_MSGCTL, &[int(id), int(cmd), at])?;
    let mut raw = [0u8; MSQID_DS_SIZE];
    k.read_user(at, &mut raw).expect("readable");
    Ok((r, MsqidDs::decode(&raw)))
}

pub fn stat(k: &HostedKernel, id: i32) -> Result<MsqidDs, i32> {
    stat_cmd(k, id, IPC_STAT).map(|(_, ds)| ds)
}

pub fn set(k: &HostedKernel, id: i32, ds: &MsqidDs) -> Result<(), i32> {
    let at = k.alloc_private(MSQID_DS_SIZE);
    k.write_user(at, &ds.encode()).expect("writable");
    call(k, SYS_RB_MSGCTL, &[int(id), int(IPC_SET), at]).map(drop)
}

pub fn rmid(k: &HostedKernel, id: i32) -> Result<(), i32> {
    call(k, SYS_RB_MSGCTL, &[int(id), int(IPC_RMID), 0]).map(drop)
}

/// Waits (polling, generous bound) until queue `id` has `receivers`
/// blocked receivers and `senders` blocked senders; false if never.
pub fn wait_blocked(k: &Arc<HostedKernel>, id: i32, receivers: usize, senders: usize) -> bool {
    let start = Instant::now();
    while k.ipc().sysv.msg.blocked(id) != Ok((receivers, senders)) {
        if start.elapsed() > Duration::from_secs(20) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}
