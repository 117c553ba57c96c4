//! The namespace-wide SysV limits, in one place (Linux's
//! /proc/sys/kernel/msgmni, msgmax, msgmnb): readable by anyone, settable
//! by the privileged. The host kernel exposes them however it exposes
//! tunables (a sysctl file, a scheme); the subsystem only keeps and checks
//! them. Each family has its own group (`MsgLimits`, `SemLimits`).

use crate::errno::{err, Errno, EINVAL, EPERM};
use crate::ipc::sysv::ids::IPCMNI;
use crate::kernel::Credentials;
use crate::sync::Mutex;

/// Linux's MSGMNI: most message queues.
pub const MSGMNI: u32 = 32000;
/// Linux's MSGMAX: largest message, in bytes.
pub const MSGMAX: u32 = 8192;
/// Linux's MSGMNB: default msg_qbytes of a new queue.
pub const MSGMNB: u32 = 16384;

/// Message-queue limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgLimits {
    /// Most queues in the namespace (0..=IPCMNI).
    pub msgmni: u32,
    /// Largest message text (0..=i32::MAX).
    pub msgmax: u32,
    /// msg_qbytes of a new queue, and the most an unprivileged IPC_SET
    /// may set (0..=i32::MAX).
    pub msgmnb: u32,
}

impl Default for MsgLimits {
    fn default() -> Self {
        MsgLimits {
            msgmni: MSGMNI,
            msgmax: MSGMAX,
            msgmnb: MSGMNB,
        }
    }
}

impl MsgLimits {
    fn valid(&self) -> bool {
        self.msgmni <= IPCMNI && self.msgmax <= i32::MAX as u32 && self.msgmnb <= i32::MAX as u32
    }
}

/// Linux's SEMMSL: most semaphores in one set.
pub const SEMMSL: u32 = 32000;
/// Linux's SEMMNS: most semaphores in all sets of the namespace.
pub const SEMMNS: u32 = 1_024_000_000;
/// Linux's SEMOPM: most operations in one semop call.
pub const SEMOPM: u32 = 500;
/// Linux's SEMMNI: most semaphore sets.
pub const SEMMNI: u32 = 32000;

/// Semaphore-set limits (Linux's /proc/sys/kernel/sem, in its order:
/// semmsl, semmns, semopm, semmni; measured 32000 1024000000 500 32000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemLimits {
    /// Most semaphores in one set (0..=INT_MAX).
    pub semmsl: u32,
    /// Most semaphores in the namespace (0..=INT_MAX).
    pub semmns: u32,
    /// Most operations in one semop (1..=INT_MAX).
    pub semopm: u32,
    /// Most sets (0..=IPCMNI).
    pub semmni: u32,
}

impl Default for SemLimits {
    fn default() -> Self {
        SemLimits {
            semmsl: SEMMSL,
            semmns: SEMMNS,
            semopm: SEMOPM,
            semmni: SEMMNI,
        }
    }
}

impl SemLimits {
    fn valid(&self) -> bool {
        let int = i32::MAX as u32;
        self.semmni <= IPCMNI && self.semmsl <= int && self.semmns <= int && self.semopm <= int
    }
}

/// Every SysV limit of one namespace.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SysvLimits {
    /// Message queues.
    pub msg: MsgLimits,
    /// Semaphore sets.
    pub sem: SemLimits,
}

/// The limits in force, behind their own lock (innermost: taken and
/// dropped without calling anything).
#[derive(Default)]
pub struct LimitsCell(Mutex<SysvLimits>);

impl LimitsCell {
    /// The limits now.
    pub fn get(&self) -> SysvLimits {
        *self.0.lock()
    }

    /// Replaces the limits: EPERM unless `creds` are privileged, EINVAL
    /// for a value out of its range (then nothing changes). Objects that
    /// exist keep what they were created with (a queue's msg_qbytes).
    pub fn set(&self, creds: &Credentials, new: SysvLimits) -> Result<(), Errno> {
        if !creds.privileged() {
            return err(EPERM);
        }
        if !new.msg.valid() || !new.sem.valid() {
            return err(EINVAL);
        }
        *self.0.lock() = new;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_privileged_set_and_ranges_hold() {
        let cell = LimitsCell::default();
        assert_eq!(cell.get().msg, MsgLimits::default());
        let mut new = cell.get();
        new.msg.msgmax = 100;
        assert_eq!(
            cell.set(&Credentials::new(1000, 1000), new).err(),
            Some(Errno::new(EPERM))
        );
        cell.set(&Credentials::new(0, 0), new).unwrap();
        assert_eq!(cell.get().msg.msgmax, 100);
        let mut bad = new;
        bad.msg.msgmni = IPCMNI + 1;
        assert_eq!(
            cell.set(&Credentials::new(0, 0), bad).err(),
            Some(Errno::new(EINVAL))
        );
        bad = new;
        bad.msg.msgmnb = i32::MAX as u32 + 1;
        assert_eq!(
            cell.set(&Credentials::new(0, 0), bad).err(),
            Some(Errno::new(EINVAL))
        );
        assert_eq!(cell.get(), new);
    }

    #[test]
    fn semaphore_limits_are_linux_defaults_and_checked() {
        let cell = LimitsCell::default();
        let sem = cell.get().sem;
        assert_eq!(
            (sem.semmsl, sem.semmns, sem.semopm, sem.semmni),
            (32000, 1_024_000_000, 500, 32000)
        );
        let mut new = cell.get();
        new.sem.semopm = 10;
        assert_eq!(
            cell.set(&Credentials::new(1000, 1000), new).err(),
            Some(Errno::new(EPERM))
        );
        cell.set(&Credentials::new(0, 0), new).unwrap();
        assert_eq!(cell.get().sem.semopm, 10);
        let mut bad = new;
        bad.sem.semmni = IPCMNI + 1;
        assert_eq!(
            cell.set(&Credentials::new(0, 0), bad).err(),
            Some(Errno::new(EINVAL))
        );
        assert_eq!(cell.get(), new);
    }
}
