//! SysV message-queue calls for the testbed programs that use them
//! (included with `#[path]`): the four syscalls with msgbufs on the stack
//! of the caller and results as `Result<_, errno>`.
#![allow(dead_code, unused_imports)]

pub use redbear_ipc::errno::{EACCES, EAGAIN, EIDRM, EINTR, EINVAL, ENOENT, ENOMSG, EPERM};
pub use redbear_ipc::ipc::sysv::ids::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE};
use redbear_ipc::syscall::abi::{MsqidDs, IPC_RMID, IPC_SET, IPC_STAT, MSQID_DS_SIZE};
use redbear_ipc::syscall::numbers::*;
use user_rt::sys;

/// The largest text the programs send.
pub const TEXT_MAX: usize = 64;

/// A C int as the shim passes it: sign-extended.
fn int(v: i32) -> usize {
    v as isize as usize
}

/// A raw result as `Ok(value)` or `Err(errno)`, errno as the crate's
/// `redbear_ipc::errno` values.
fn call(nr: usize, args: [usize; 6]) -> Result<usize, i32> {
    sys::check(sys::syscall(nr, args)).map_err(|e| e as i32)
}

pub fn msgget(key: i32, flags: u32) -> Result<i32, i32> {
    call(SYS_RB_MSGGET, [int(key), flags as usize, 0, 0, 0, 0]).map(|id| id as i32)
}

pub fn msgsnd(id: i32, mtype: i64, text: &[u8], flags: u32) -> Result<usize, i32> {
    let mut buf = [0u8; 8 + TEXT_MAX];
    let n = text.len().min(TEXT_MAX);
    buf[..8].copy_from_slice(&mtype.to_ne_bytes());
    buf[8..8 + n].copy_from_slice(&text[..n]);
    call(
        SYS_RB_MSGSND,
        [int(id), buf.as_ptr() as usize, n, flags as usize, 0, 0],
    )
}

/// A received message: its type, and its text in a fixed buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Got {
    pub mtype: i64,
    pub len: usize,
    pub text: [u8; TEXT_MAX],
}

impl Got {
    pub fn text(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

pub fn msgrcv(id: i32, size: usize, msgtyp: i64, flags: u32) -> Result<Got, i32> {
    let mut buf = [0u8; 8 + TEXT_MAX];
    let size = size.min(TEXT_MAX);
    let n = call(
        SYS_RB_MSGRCV,
        [
            int(id),
            buf.as_mut_ptr() as usize,
            size,
            msgtyp as usize,
            flags as usize,
            0,
        ],
    )?;
    let mut t = [0u8; 8];
    t.copy_from_slice(&buf[..8]);
    let mut text = [0u8; TEXT_MAX];
    text[..n].copy_from_slice(&buf[8..8 + n]);
    Ok(Got {
        mtype: i64::from_ne_bytes(t),
        len: n,
        text,
    })
}

/// A received message's (type, first text byte), for compact checks.
pub fn recv_first(id: i32, msgtyp: i64, flags: u32) -> Result<(i64, u8), i32> {
    msgrcv(id, TEXT_MAX, msgtyp, flags).map(|g| (g.mtype, g.text[0]))
}

pub fn ctl(id: i32, cmd: i32, buf: usize) -> Result<usize, i32> {
    call(SYS_RB_MSGCTL, [int(id), int(cmd), buf, 0, 0, 0])
}

pub fn stat_cmd(id: i32, cmd: i32) -> Result<(usize, MsqidDs), i32> {
    let mut raw = [0u8; MSQID_DS_SIZE];
    let r = ctl(id, cmd, raw.as_mut_ptr() as usize)?;
    Ok((r, MsqidDs::decode(&raw)))
}

pub fn stat(id: i32) -> Result<MsqidDs, i32> {
    stat_cmd(id, IPC_STAT).map(|r| r.1)
}

pub fn set(id: i32, ds: &MsqidDs) -> Result<usize, i32> {
    let raw = ds.encode();
    ctl(id, IPC_SET, raw.as_ptr() as usize)
}

pub fn rmid(id: i32) -> Result<usize, i32> {
    ctl(id, IPC_RMID, 0)
}

/// Sleeps long enough (on the virtual clock: until every other task
/// sleeps) for a child to block in its call.
pub fn let_others_block() {
    let _ = sys::nanosleep(50_000_000);
}
