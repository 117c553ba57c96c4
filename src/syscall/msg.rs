//! The SysV message-queue syscalls: decode, call the queue, encode.
//!
//! Registers that C declares `int` (ids, keys, flags, commands) are read
//! through `Reg::int` (sign- or zero-extended; anything wider is EINVAL);
//! `msgsz` is a `size_t` that Linux treats as `long` (negative: EINVAL);
//! `msgtyp` is a whole `long`. User memory is reached through typed
//! pointers and slices: the msgbuf's `long` type, its text, the
//! msqid_ds and msginfo. Unknown bits in msgflg are ignored, as Linux
//! does. The checks come in Linux's order, so each bad input gets the
//! errno Linux gives it.

use alloc::vec::Vec;

use crate::errno::{err, Errno, EFAULT, EINVAL, ENOMEM};
use crate::ipc::sysv::msg::index::{Message, Selector};
use crate::ipc::sysv::msg::{MsgNamespace, Receive, SetRequest};
use crate::kernel::Kernel;
use crate::syscall::abi::{
    MsgInfo, MsqidDs, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, MSGBUF_TYPE_SIZE,
    MSGINFO_SIZE, MSG_COPY, MSG_EXCEPT, MSG_INFO, MSG_NOERROR, MSG_STAT, MSG_STAT_ANY,
    MSQID_DS_SIZE,
};
use crate::syscall::args::{Args, Reg};
use crate::syscall::uaccess::{UserPtr, UserSlice, UserValue};

/// A msgbuf's `long mtype`.
struct MsgType(i64);

impl UserValue for MsgType {
    const SIZE: usize = MSGBUF_TYPE_SIZE;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        let mut b = [0u8; MSGBUF_TYPE_SIZE];
        b.copy_from_slice(raw);
        Ok(MsgType(i64::from_ne_bytes(b)))
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.0.to_ne_bytes());
    }
}

impl UserValue for MsqidDs {
    const SIZE: usize = MSQID_DS_SIZE;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        let mut b = [0u8; MSQID_DS_SIZE];
        b.copy_from_slice(raw);
        Ok(MsqidDs::decode(&b))
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&MsqidDs::encode(self));
    }
}

impl UserValue for MsgInfo {
    const SIZE: usize = MSGINFO_SIZE;
    fn decode(_raw: &[u8]) -> Result<Self, Errno> {
        err(EINVAL) // output only
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&MsgInfo::encode(self));
    }
}

/// A user msgbuf: a `long` type, then the text.
struct MsgBuf(Reg);

impl MsgBuf {
    fn mtype(&self) -> UserPtr<MsgType> {
        self.0.ptr()
    }

    /// Its first `len` bytes of text (EFAULT if the range wraps the
    /// address space).
    fn text(&self, len: usize) -> Result<UserSlice, Errno> {
        let at = self.0.word().checked_add(MSGBUF_TYPE_SIZE);
        UserSlice::new(at.ok_or(Errno::new(EFAULT))?, len)
    }
}

/// msgflg's bits (an `int` read as the flag word it is).
fn flag_bits(r: Reg) -> Result<u32, Errno> {
    Ok(u32::from_ne_bytes(r.int()?.to_ne_bytes()))
}

/// A C `size_t` size that Linux treats as `long` (negative: EINVAL).
fn size(r: Reg) -> Result<usize, Errno> {
    match isize::try_from(r.word()) {
        Ok(_) => Ok(r.word()),
        Err(_) => err(EINVAL),
    }
}

/// A whole `long` register (msgtyp).
fn long(r: Reg) -> i64 {
    i64::from_ne_bytes(r.word().to_ne_bytes())
}

fn msgs<K: Kernel + ?Sized>(k: &K) -> &MsgNamespace {
    &k.ipc().sysv.msg
}

/// msgget(key, msgflg) -> msqid
pub fn msgget<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [key, flags, ..] = a.regs();
    let id = msgs(k).get(k, key.int()?, flag_bits(flags)?)?;
    Ok(usize::try_from(id).unwrap_or_default())
}

/// msgsnd(msqid, msgp, msgsz, msgflg)
pub fn msgsnd<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [id, msgp, msgsz, msgflg, ..] = a.regs();
    let id = id.int()?;
    let flags = flag_bits(msgflg)?;
    let buf = MsgBuf(msgp);
    let mtype = buf.mtype().read(k)?.0;
    let msgmax = crate::ipc::sysv::limits::msgmax(&k.ipc().acct) as usize;
    let len = size(msgsz)?;
    if len > msgmax || id < 0 || mtype < 1 {
        return err(EINVAL);
    }
    let from = buf.text(len)?;
    let mut text = Vec::new();
    text.try_reserve_exact(len)
        .map_err(|_| Errno::new(ENOMEM))?;
    text.resize(len, 0);
    from.read_into(k, &mut text)?;
    msgs(k).send(
        k,
        id,
        mtype,
        text.into_boxed_slice(),
        flags & IPC_NOWAIT != 0,
    )?;
    Ok(0)
}

/// Copies a received message to the caller's msgbuf: the text that fits
/// in `max_len`, then the type. Returns the text bytes copied.
fn deliver<K: Kernel + ?Sized>(
    k: &K,
    buf: &MsgBuf,
    max_len: usize,
    msg: &Message,
) -> Result<usize, Errno> {
    let n = buf
        .text(msg.text.len().min(max_len))?
        .write_from(k, &msg.text)?;
    buf.mtype().write(k, &MsgType(msg.mtype))?;
    Ok(n)
}

/// msgrcv(msqid, msgp, msgsz, msgtyp, msgflg) -> bytes of text
pub fn msgrcv<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [id, msgp, msgsz, msgtyp, msgflg, _] = a.regs();
    let id = id.int()?;
    let max_len = size(msgsz)?;
    let msgtyp = long(msgtyp);
    let flags = flag_bits(msgflg)?;
    if id < 0 {
        return err(EINVAL);
    }
    let truncate = flags & MSG_NOERROR != 0;
    let nowait = flags & IPC_NOWAIT != 0;
    let buf = MsgBuf(msgp);
    let to_user = |m: &Message| deliver(k, &buf, max_len, m);
    if flags & MSG_COPY != 0 {
        if flags & MSG_EXCEPT != 0 || !nowait {
            return err(EINVAL);
        }
        return msgs(k).copy(k, id, msgtyp, max_len, truncate, to_user);
    }
    let req = Receive {
        selector: Selector::new(msgtyp, flags & MSG_EXCEPT != 0),
        max_len,
        truncate,
        nowait,
    };
    msgs(k).receive(k, id, req, to_user)
}

/// msgctl(msqid, cmd, buf) -> 0, an id (MSG_STAT*) or the highest index
/// (IPC_INFO, MSG_INFO)
pub fn msgctl<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [id, cmd, buf, ..] = a.regs();
    let id = id.int()?;
    let cmd = cmd.int()?;
    if id < 0 || cmd < 0 {
        return err(EINVAL);
    }
    let q = msgs(k);
    match cmd {
        IPC_INFO | MSG_INFO => {
            let (info, max) = q.info(k, cmd == MSG_INFO);
            buf.ptr::<MsgInfo>().write(k, &info)?;
            Ok(max)
        }
        IPC_STAT => {
            let ds = q.stat(k, id)?;
            buf.ptr::<MsqidDs>().write(k, &ds)?;
            Ok(0)
        }
        MSG_STAT | MSG_STAT_ANY => {
            let (full_id, ds) = q.stat_index(k, id, cmd == MSG_STAT)?;
            buf.ptr::<MsqidDs>().write(k, &ds)?;
            Ok(usize::try_from(full_id).unwrap_or_default())
        }
        IPC_SET => {
            let ds = buf.ptr::<MsqidDs>().read(k)?;
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
