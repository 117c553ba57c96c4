//! The POSIX message-queue syscalls: decode, call the queue, encode.
//!
//! The checks before the fd come in Linux's order: the timeout (EFAULT,
//! then EINVAL for a bad tv_nsec, whether or not the call would block:
//! measured on Linux 6.18), the priority (EINVAL at MQ_PRIO_MAX or above),
//! then the fd (EBADF, also for an fd of another kind). mq_getsetattr
//! checks the new mq_flags before the fd, mq_notify the sigevent.

use crate::errno::{err, Errno, EBADF, EINVAL};
use crate::ipc::common::open_file::{AccessMode, FileRef};
use crate::ipc::common::time::{self, Timespec};
use crate::ipc::mq::limits::MQ_PRIO_MAX;
use crate::ipc::mq::namespace::MqOpen;
use crate::ipc::mq::notify::Notification;
use crate::ipc::mq::queue::{MessageQueue, MqAttr};
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::syscall::abi::{
    MqOpenFlags, MQ_ATTR_SIZE, MQ_NONBLOCK, SIGEVENT_SIZE, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD,
};
use crate::syscall::args::{Args, Reg};
use crate::syscall::names::{self, Install};
use crate::syscall::uaccess::{UserPtr, UserValue};

/// The kernel-ABI `struct mq_attr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MqAttrAbi {
    /// mq_flags.
    pub flags: i64,
    /// mq_maxmsg.
    pub maxmsg: i64,
    /// mq_msgsize.
    pub msgsize: i64,
    /// mq_curmsgs.
    pub curmsgs: i64,
}

fn i64_at(raw: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&raw[at..at + 8]);
    i64::from_ne_bytes(b)
}

fn i32_at(raw: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&raw[at..at + 4]);
    i32::from_ne_bytes(b)
}

impl UserValue for MqAttrAbi {
    const SIZE: usize = MQ_ATTR_SIZE;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        Ok(MqAttrAbi {
            flags: i64_at(raw, 0),
            maxmsg: i64_at(raw, 8),
            msgsize: i64_at(raw, 16),
            curmsgs: i64_at(raw, 24),
        })
    }
    fn encode(&self, out: &mut [u8]) {
        out.fill(0);
        for (i, v) in [self.flags, self.maxmsg, self.msgsize, self.curmsgs]
            .into_iter()
            .enumerate()
        {
            out[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
        }
    }
}

impl From<MqAttr> for MqAttrAbi {
    fn from(a: MqAttr) -> Self {
        // Counts are bounded by HARD_MSGMAX / HARD_MSGSIZEMAX: they fit.
        let wide = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        MqAttrAbi {
            flags: if a.nonblocking { MQ_NONBLOCK } else { 0 },
            maxmsg: wide(a.maxmsg),
            msgsize: wide(a.msgsize),
            curmsgs: wide(a.curmsgs),
        }
    }
}

/// The kernel-ABI `struct sigevent`, decoded: what mq_notify registers.
/// EINVAL for a sigev_notify other than SIGEV_NONE / SIGEV_SIGNAL /
/// SIGEV_THREAD and for a signal number above 64 (0 is allowed: it
/// registers and sends nothing). For SIGEV_THREAD, sigev_signo is the
/// notice channel's fd and sigev_value the cookie (docs/abi.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigEventAbi {
    /// SIGEV_NONE.
    None,
    /// SIGEV_SIGNAL.
    Signal {
        /// sigev_signo.
        signo: u32,
        /// sigev_value.
        value: u64,
    },
    /// SIGEV_THREAD: post notices on the queue behind `channel_fd`.
    Thread {
        /// sigev_signo: a message-queue fd of the caller.
        channel_fd: i32,
        /// sigev_value.
        cookie: u64,
    },
}

impl UserValue for SigEventAbi {
    const SIZE: usize = SIGEVENT_SIZE;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        let value = i64_at(raw, 0) as u64;
        let signo = i32_at(raw, 8);
        match i32_at(raw, 12) {
            SIGEV_NONE => Ok(SigEventAbi::None),
            SIGEV_SIGNAL => match u32::try_from(signo) {
                Ok(signo) if signo <= 64 => Ok(SigEventAbi::Signal { signo, value }),
                _ => err(EINVAL),
            },
            SIGEV_THREAD => Ok(SigEventAbi::Thread {
                channel_fd: signo,
                cookie: value,
            }),
            _ => err(EINVAL),
        }
    }
    fn encode(&self, out: &mut [u8]) {
        out.fill(0);
        let (notify, signo, value) = match *self {
            SigEventAbi::None => (SIGEV_NONE, 0, 0),
            SigEventAbi::Signal { signo, value } => (SIGEV_SIGNAL, signo as i32, value),
            SigEventAbi::Thread { channel_fd, cookie } => (SIGEV_THREAD, channel_fd, cookie),
        };
        out[..8].copy_from_slice(&value.to_ne_bytes());
        out[8..12].copy_from_slice(&signo.to_ne_bytes());
        out[12..16].copy_from_slice(&notify.to_ne_bytes());
    }
}

/// The registration a decoded sigevent asks for: SIGEV_THREAD's channel
/// fd is looked up here (EBADF if none; EINVAL if not a fit queue), as
/// Linux looks up its netlink socket before the queue's fd.
fn notification<K: Kernel + ?Sized>(k: &K, ev: SigEventAbi) -> Result<Notification, Errno> {
    Ok(match ev {
        SigEventAbi::None => Notification::None,
        SigEventAbi::Signal { signo, value } => Notification::Signal { signo, value },
        SigEventAbi::Thread { channel_fd, cookie } => {
            let fd = usize::try_from(channel_fd).map_err(|_| Errno::new(EBADF))?;
            MessageQueue::channel(&k.get_fd(fd)?, cookie)?
        }
    })
}

/// The description behind fd `fd`: EBADF if none, or not a queue's.
fn queue_fd<K: Kernel + ?Sized>(k: &K, fd: Reg) -> Result<FileRef, Errno> {
    let file = k.get_fd(fd.fd()?)?;
    queue_of(&file)?;
    Ok(file)
}

/// The queue behind a description `queue_fd` returned.
fn queue_of(file: &FileRef) -> Result<&MessageQueue, Errno> {
    file.downcast::<MessageQueue>().ok_or(Errno::new(EBADF))
}

/// An optional absolute CLOCK_REALTIME timeout: EFAULT, EINVAL.
fn timeout<K: Kernel + ?Sized>(k: &K, at: Reg) -> Result<Option<Deadline>, Errno> {
    at.opt_ptr::<Timespec>()
        .map(|p| Ok(time::deadline(k, ClockId::Realtime, p.read(k)?, true)))
        .transpose()
}

/// mq_open(name_ptr, name_len, oflag, mode, attr_ptr, fd_slot) -> fd
pub fn open<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [name_ptr, name_len, oflag, mode, attr_ptr, fd_slot] = a.regs();
    let oflag: MqOpenFlags = oflag.flags()?;
    let mode = mode.u32()?;
    let placement = fd_slot.fd_slot()?;
    // Linux copies the attributes first, whenever they are given.
    let attr = attr_ptr
        .opt_ptr::<MqAttrAbi>()
        .map(|p| p.read(k))
        .transpose()?;
    let mqueues = &k.ipc().mqueues;
    let name = names::read_name(k, mqueues, name_ptr, name_len)?;
    let access = match AccessMode::from_oflag(oflag.bits()) {
        Ok(mode) => mode,
        Err(_) => AccessMode::NoAccess,
    };
    let create = oflag.contains(MqOpenFlags::CREATE);
    let req = MqOpen {
        access,
        create,
        exclusive: oflag.contains(MqOpenFlags::EXCLUSIVE),
        mode,
        attr: attr.filter(|_| create).map(|a| (a.maxmsg, a.msgsize)),
    };
    let opened = mqueues.open(k, &name, req)?;
    let how = Install {
        access,
        nonblocking: oflag.contains(MqOpenFlags::NONBLOCK),
        placement,
        // Linux installs every mq descriptor close-on-exec, O_CLOEXEC or
        // not (F_GETFD is 1 after a plain mq_open, measured on Linux 6.18).
        cloexec: true,
    };
    names::install_open(k, mqueues, &name, opened, how)
}

/// mq_unlink(name_ptr, name_len)
pub fn unlink<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    names::unlink(k, &k.ipc().mqueues, a)
}

/// mq_timedsend(fd, msg_ptr, len, prio, timeout_ptr)
pub fn timedsend<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, msg, len, prio, timeout_ptr, _] = a.regs();
    let deadline = timeout(k, timeout_ptr)?;
    let prio = prio.u32()?;
    if prio >= MQ_PRIO_MAX {
        return err(EINVAL);
    }
    let text = msg.slice(len)?;
    let file = queue_fd(k, fd)?;
    queue_of(&file)?.send(k, &file, text, prio, deadline)?;
    Ok(0)
}

/// mq_timedreceive(fd, buf_ptr, len, prio_ptr, timeout_ptr) -> length
pub fn timedreceive<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, buf, len, prio_ptr, timeout_ptr, _] = a.regs();
    let deadline = timeout(k, timeout_ptr)?;
    let buf = buf.slice(len)?;
    let file = queue_fd(k, fd)?;
    queue_of(&file)?.receive(k, &file, buf, prio_ptr.opt_ptr::<u32>(), deadline)
}

/// mq_getsetattr(fd, new_attr_ptr, old_attr_ptr)
pub fn getsetattr<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, new_ptr, old_ptr, ..] = a.regs();
    let new = new_ptr
        .opt_ptr::<MqAttrAbi>()
        .map(|p| p.read(k))
        .transpose()?;
    if new.is_some_and(|n| n.flags & !MQ_NONBLOCK != 0) {
        return err(EINVAL);
    }
    let file = queue_fd(k, fd)?;
    let queue = queue_of(&file)?;
    let old: Option<UserPtr<MqAttrAbi>> = old_ptr.opt_ptr();
    // Prove the old attributes writable first, so a bad pointer changes
    // nothing (Linux sets O_NONBLOCK, then fails EFAULT).
    if let Some(p) = old {
        p.bytes()?.probe_writable(k)?;
    }
    let was = queue.getsetattr(&file, new.map(|n| n.flags & MQ_NONBLOCK != 0));
    if let Some(p) = old {
        p.write(k, &MqAttrAbi::from(was))?;
    }
    Ok(0)
}

/// mq_notify(fd, sigevent_ptr): null unregisters.
pub fn notify<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, sigevent, ..] = a.regs();
    let how = sigevent
        .opt_ptr::<SigEventAbi>()
        .map(|p| notification(k, p.read(k)?))
        .transpose()?;
    let file = queue_fd(k, fd)?;
    queue_of(&file)?.notify(k, how)?;
    Ok(0)
}
