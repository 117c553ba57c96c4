//! mq_notify registrations: who asked to be told, and how.
//!
//! A queue holds at most one. It fires once, when a message lands on an
//! empty queue that no receiver waits on, and is then gone; its owner
//! removes it with mq_notify(NULL) or by closing any descriptor of the
//! queue (the close hook), which also covers its exit. SIGEV_THREAD is a
//! C library feature built on SIGEV_SIGNAL (the kernel ABI has no thread
//! notification; the syscall layer refuses it with EINVAL).

use crate::kernel::Pid;

/// How to notify (struct sigevent's sigev_notify and its fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

/// A queue's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The process that registered (the signal goes to it).
    pub owner: Pid,
    /// What it asked for.
    pub how: Notification,
}
