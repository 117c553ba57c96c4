//! Calls of the POSIX mq syscalls on the hosted kernel, with Linux-style
//! results (Ok or the errno), shared by tests/mq.rs and the differential.
#![allow(dead_code)]

use redbear_ipc::hosted::HostedKernel;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::FD_SLOT_ANY;
use redbear_ipc::syscall::numbers::*;

use crate::common::sys;

/// Kernel-ABI oflag bits.
pub const RDONLY: usize = 0;
pub const WRONLY: usize = 1;
pub const RDWR: usize = 2;
pub const CREAT: usize = 1 << 2;
pub const EXCL: usize = 1 << 3;
pub const NONBLOCK: usize = 1 << 4;
pub const CLOEXEC: usize = 1 << 5;
/// mq_flags' O_NONBLOCK.
pub const MQ_NONBLOCK: i64 = 0o4000;

/// Copies `bytes` into fresh user memory; returns the address.
pub fn put(k: &HostedKernel, bytes: &[u8]) -> usize {
    let at = k.alloc_private(bytes.len().max(1));
    k.write_user(at, bytes).expect("fresh memory is writable");
    at
}

/// A kernel-ABI mq_attr in user memory.
pub fn attr_at(k: &HostedKernel, a: [i64; 4]) -> usize {
    let mut raw = [0u8; 64];
    for (i, v) in a.iter().enumerate() {
        raw[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    put(k, &raw)
}

/// mq_open with the attributes (maxmsg, msgsize) if given.
pub fn open_raw(
    k: &HostedKernel,
    name: &[u8],
    oflag: usize,
    mode: usize,
    attr: Option<(i64, i64)>,
) -> Result<usize, i32> {
    let n = put(k, name);
    let a = attr.map_or(0, |(m, s)| attr_at(k, [0, m, s, 0]));
    sys(
        k,
        SYS_RB_MQ_OPEN,
        &[n, name.len(), oflag, mode, a, FD_SLOT_ANY],
    )
}

pub fn open(
    k: &HostedKernel,
    name: &str,
    oflag: usize,
    mode: usize,
    attr: Option<(i64, i64)>,
) -> Result<usize, i32> {
    open_raw(k, name.as_bytes(), oflag, mode, attr)
}

pub fn unlink(k: &HostedKernel, name: &str) -> Result<usize, i32> {
    let n = put(k, name.as_bytes());
    sys(k, SYS_RB_MQ_UNLINK, &[n, name.len()])
}

/// mq_timedsend; `timeout` is an address of a kernel-ABI timespec or 0.
pub fn timedsend(
    k: &HostedKernel,
    fd: usize,
    msg: &[u8],
    prio: usize,
    timeout: usize,
) -> Result<usize, i32> {
    let at = put(k, msg);
    sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, at, msg.len(), prio, timeout])
}

pub fn send(k: &HostedKernel, fd: usize, msg: &[u8], prio: usize) -> Result<usize, i32> {
    timedsend(k, fd, msg, prio, 0)
}

/// mq_timedreceive into a `len`-byte buffer: the bytes and priority.
pub fn timedreceive(
    k: &HostedKernel,
    fd: usize,
    len: usize,
    timeout: usize,
) -> Result<(Vec<u8>, u32), i32> {
    let buf = k.alloc_private(len.max(1));
    let prio = k.alloc_private(4);
    let n = sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, buf, len, prio, timeout])?;
    let mut out = vec![0u8; n];
    k.read_user(buf, &mut out).expect("readable");
    let mut p = [0u8; 4];
    k.read_user(prio, &mut p).expect("readable");
    Ok((out, u32::from_ne_bytes(p)))
}

pub fn receive(k: &HostedKernel, fd: usize, len: usize) -> Result<(Vec<u8>, u32), i32> {
    timedreceive(k, fd, len, 0)
}

/// mq_getsetattr: sets mq_flags to `new` if given; returns the old
/// [flags, maxmsg, msgsize, curmsgs].
pub fn getsetattr(k: &HostedKernel, fd: usize, new: Option<i64>) -> Result<[i64; 4], i32> {
    let n = new.map_or(0, |f| attr_at(k, [f, 0, 0, 0]));
    let old = k.alloc_private(64);
    sys(k, SYS_RB_MQ_GETSETATTR, &[fd, n, old])?;
    let mut raw = [0u8; 64];
    k.read_user(old, &mut raw).expect("readable");
    let at = |i: usize| i64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    Ok([at(0), at(1), at(2), at(3)])
}

pub fn getattr(k: &HostedKernel, fd: usize) -> Result<[i64; 4], i32> {
    getsetattr(k, fd, None)
}

/// A kernel-ABI sigevent in user memory.
pub fn sigevent_at(k: &HostedKernel, notify: i32, signo: i32, value: u64) -> usize {
    let mut raw = [0u8; 64];
    raw[..8].copy_from_slice(&value.to_ne_bytes());
    raw[8..12].copy_from_slice(&signo.to_ne_bytes());
    raw[12..16].copy_from_slice(&notify.to_ne_bytes());
    put(k, &raw)
}

/// mq_notify: `None` unregisters, `Some((sigev_notify, signo, value))`
/// registers.
pub fn notify(k: &HostedKernel, fd: usize, ev: Option<(i32, i32, u64)>) -> Result<usize, i32> {
    let at = ev.map_or(0, |(n, s, v)| sigevent_at(k, n, s, v));
    sys(k, SYS_RB_MQ_NOTIFY, &[fd, at])
}
