//! The SysV message-queue syscalls: decode, call the queue, encode.
//!
//! Register arguments that C declares `int` arrive sign-extended; values
//! outside `i32` are EINVAL (the shim never makes them). Unknown bits in
//! msgflg are ignored, as Linux does. The checks come in Linux's order,
//! so each bad input gets the errno Linux gives it.

use alloc::vec::Vec;

use crate::errno::{err, Errno, EFAULT, EINVAL, ENOMEM};
use crate::ipc::sysv::msg::index::{Message, Selector};
use crate::ipc::sysv::msg::{MsgNamespace, Receive, SetRequest};
use crate::kernel::Kernel;
use crate::syscall::abi::{
    MsqidDs, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, MSGBUF_TYPE_SIZE, MSG_COPY,
    MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY, MSQID_DS_SIZE,
};

/// A C `int` argument.
fn c_int(raw: usize) -> Result<i32, Errno> {
    i32::try_from(raw as isize).map_err(|_| Errno::new(EINVAL))
}

/// A C `size_t` size that Linux treats as `long` (negative: EINVAL).
fn c_size(raw: usize) -> Result<usize, Errno> {
    if raw > isize::MAX as usize {
        return err(EINVAL);
    }
    Ok(raw)
}

fn msgs<K: Kernel + ?Sized>(k: &K) -> &MsgNamespace {
    &k.ipc().sysv.msg
}

/// The address `off` bytes past `base`, EFAULT on overflow.
fn offset(base: usize, off: usize) -> Result<usize, Errno> {
    base.checked_add(off).ok_or(Errno::new(EFAULT))
}

/// msgget(key, msgflg) -> msqid
pub fn msgget<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let key = c_int(a[0])?;
    let flags = c_int(a[1])? as u32;
    Ok(msgs(k).get(k, key, flags)? as usize)
}

/// msgsnd(msqid, msgp, msgsz, msgflg)
pub fn msgsnd<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [raw_id, msgp, msgsz, raw_flags, ..] = a;
    let id = c_int(raw_id)?;
    let flags = c_int(raw_flags)? as u32;
    let mut raw_type = [0u8; MSGBUF_TYPE_SIZE];
    k.read_user(msgp, &mut raw_type)?;
    let mtype = i64::from_ne_bytes(raw_type);
    let msgmax = crate::ipc::sysv::limits::get(&k.ipc().acct).msgmax as usize;
    if msgsz > msgmax || msgsz > isize::MAX as usize || id < 0 || mtype < 1 {
        return err(EINVAL);
    }
    let mut text = Vec::new();
    text.try_reserve_exact(msgsz)
        .map_err(|_| Errno::new(ENOMEM))?;
    text.resize(msgsz, 0);
    k.read_user(offset(msgp, MSGBUF_TYPE_SIZE)?, &mut text)?;
    msgs(k).send(
        k,
        id,
        mtype,
        text.into_boxed_slice(),
        flags & IPC_NOWAIT != 0,
    )?;
    Ok(0)
}

/// Copies a received message to the caller's msgbuf: at most `msgsz`
/// bytes of text, then the type. Returns the text bytes copied.
fn deliver<K: Kernel + ?Sized>(
    k: &K,
    msgp: usize,
    msgsz: usize,
    msg: &Message,
) -> Result<usize, Errno> {
    let n = msg.text.len().min(msgsz);
    k.write_user(offset(msgp, MSGBUF_TYPE_SIZE)?, &msg.text[..n])?;
    k.write_user(msgp, &msg.mtype.to_ne_bytes())?;
    Ok(n)
}

/// msgrcv(msqid, msgp, msgsz, msgtyp, msgflg) -> bytes of text
pub fn msgrcv<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [raw_id, msgp, raw_size, raw_type, raw_flags, _] = a;
    let id = c_int(raw_id)?;
    let msgsz = c_size(raw_size)?;
    let msgtyp = raw_type as isize as i64;
    let flags = c_int(raw_flags)? as u32;
    if id < 0 {
        return err(EINVAL);
    }
    let truncate = flags & MSG_NOERROR != 0;
    let nowait = flags & IPC_NOWAIT != 0;
    let to_user = |m: &Message| deliver(k, msgp, msgsz, m);
    if flags & MSG_COPY != 0 {
        if flags & MSG_EXCEPT != 0 || !nowait {
            return err(EINVAL);
        }
        return msgs(k).copy(k, id, msgtyp, msgsz, truncate, to_user);
    }
    let req = Receive {
        selector: Selector::new(msgtyp, flags & MSG_EXCEPT != 0),
        max_len: msgsz,
        truncate,
        nowait,
    };
    msgs(k).receive(k, id, req, to_user)
}

/// msgctl(msqid, cmd, buf) -> 0, an id (MSG_STAT*) or the highest index
/// (IPC_INFO, MSG_INFO)
pub fn msgctl<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [raw_id, raw_cmd, buf, ..] = a;
    let id = c_int(raw_id)?;
    let cmd = c_int(raw_cmd)?;
    if id < 0 || cmd < 0 {
        return err(EINVAL);
    }
    let q = msgs(k);
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (info, max) = q.info(k, cmd == MSG_INFO);
            k.write_user(buf, &info.encode())?;
            Ok(max)
        }
        IPC_STAT => {
            let ds = q.stat(k, id)?;
            k.write_user(buf, &ds.encode())?;
            Ok(0)
        }
        MSG_STAT | MSG_STAT_ANY => {
            let (full_id, ds) = q.stat_index(k, id, cmd == MSG_STAT)?;
            k.write_user(buf, &ds.encode())?;
            Ok(full_id as usize)
        }
        IPC_SET => {
            let mut raw = [0u8; MSQID_DS_SIZE];
            k.read_user(buf, &mut raw)?;
            let ds = MsqidDs::decode(&raw);
            // Linux reads msg_qbytes as an int here; past INT_MAX it
            // wraps. We refuse those values instead.
            if ds.qbytes > i32::MAX as u64 {
                return err(EINVAL);
            }
            let new = SetRequest {
                uid: ds.perm.uid,
                gid: ds.perm.gid,
                mode: ds.perm.mode,
                qbytes: ds.qbytes,
            };
            q.set(k, id, new)?;
            Ok(0)
        }
        IPC_RMID => {
            q.remove(k, id)?;
            Ok(0)
        }
        _ => err(EINVAL),
    }
}
