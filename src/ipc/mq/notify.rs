//! mq_notify registrations: who asked to be told, and how.
//!
//! A queue holds at most one. It fires once, when a message lands on an
//! empty queue that no receiver waits on, and is then gone; its owner
//! removes it with mq_notify(NULL) or by closing any descriptor of the
//! queue (the close hook), which also covers its exit.
//!
//! SIGEV_THREAD is a C library feature; its kernel half is a notice
//! channel, as Linux's is a netlink socket: the registration names a
//! message queue of the caller's and a cookie, and firing posts a
//! `Notice` (the cookie, the sender's pid and uid) on that queue. The C
//! library's helper thread receives notices there and starts the thread.
//! No signal is involved, so it works on hosts that cannot send signals
//! from the kernel (Redox).

use alloc::sync::Weak;

use crate::ipc::common::file::FileObject;
use crate::kernel::Pid;

/// How to notify (struct sigevent's sigev_notify and its fields).
#[derive(Clone, Debug)]
pub enum Notification {
    /// SIGEV_NONE: nothing is sent, but the registration is held (and
    /// consumed) as for a signal.
    None,
    /// SIGEV_SIGNAL: send `signo` (0 sends nothing) with si_code
    /// SI_MESGQ and `value` as sigev_value.
    Signal {
        /// The signal, 0..=64.
        signo: u32,
        /// sigev_value, as the pointer member.
        value: u64,
    },
    /// SIGEV_THREAD: post a `Notice` carrying `cookie` on the message
    /// queue `channel` (held weakly: a channel that is gone when the
    /// registration fires loses the notice).
    Channel {
        /// The queue the notice goes to.
        channel: Weak<dyn FileObject>,
        /// What the notice carries back (the C library's record).
        cookie: u64,
    },
}

/// Size of a notice: cookie (u64) at 0, the sender's pid (u32) at 8 and
/// real uid (u32) at 12. A channel's msgsize must be at least this.
pub const NOTICE_SIZE: usize = 16;

/// What a SIGEV_THREAD registration posts on its channel when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The registration's cookie.
    pub cookie: u64,
    /// The pid of the task whose send fired it.
    pub pid: Pid,
    /// That task's real uid.
    pub uid: u32,
}

impl Notice {
    /// The notice as the message body a receiver reads.
    pub fn to_bytes(self) -> [u8; NOTICE_SIZE] {
        let mut b = [0u8; NOTICE_SIZE];
        b[..8].copy_from_slice(&self.cookie.to_ne_bytes());
        b[8..12].copy_from_slice(&self.pid.to_ne_bytes());
        b[12..].copy_from_slice(&self.uid.to_ne_bytes());
        b
    }

    /// A notice read back from a message body (`None` if not 16 bytes).
    pub fn from_bytes(b: &[u8]) -> Option<Notice> {
        let b: &[u8; NOTICE_SIZE] = b.try_into().ok()?;
        let mut c = [0u8; 8];
        c.copy_from_slice(&b[..8]);
        let mut p = [0u8; 4];
        p.copy_from_slice(&b[8..12]);
        let mut u = [0u8; 4];
        u.copy_from_slice(&b[12..]);
        Some(Notice {
            cookie: u64::from_ne_bytes(c),
            pid: Pid::from_ne_bytes(p),
            uid: u32::from_ne_bytes(u),
        })
    }
}

/// A queue's registration.
#[derive(Clone, Debug)]
pub struct Registration {
    /// The process that registered (the signal goes to it).
    pub owner: Pid,
    /// What it asked for.
    pub how: Notification,
}
