//! The SysV tunables, as Linux's /proc/sys/kernel/msgmni, msgmax, msgmnb
//! and sem show them: a view of the namespace's one set of limits
//! (`ipc::common::limits::Limits`, kept by `Accounting`), not a copy.
//!
//! Where each value lives:
//! - msgmni: the namespace total of `ObjectKind::MsgQueue` objects;
//! - semmni: the namespace total of `ObjectKind::SemSet` objects;
//! - semmns: the namespace total of `Resource::Sems`;
//! - msgmax, msgmnb, semmsl, semopm: `FamilyLimits`.
//!
//! Anyone reads them ([`get`]); a privileged caller sets them ([`set`],
//! EPERM otherwise, EINVAL for a value Linux's sysctl refuses). A host
//! exposes them as files by name: [`Tunable`] gives each file's name and
//! its integers (one, or four for `sem`: semmsl semmns semopm semmni, in
//! Linux's order), so a procfs or scheme handler is a `from_name`, then
//! [`Tunable::read`] or [`Tunable::write`]. Objects that exist keep what
//! they were created with (a queue's msg_qbytes); a lowered count refuses
//! new objects and leaves existing ones alone, as Linux does.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::limits::{Accounting, Limits, ObjectKind, Resource};
use crate::ipc::sysv::ids::IPCMNI;
use crate::kernel::Credentials;

/// Linux's MSGMNI: most message queues.
pub const MSGMNI: u32 = 32000;
/// Linux's MSGMAX: largest message, in bytes.
pub const MSGMAX: u32 = 8192;
/// Linux's MSGMNB: default msg_qbytes of a new queue.
pub const MSGMNB: u32 = 16384;

/// Every SysV tunable of one namespace, Linux's sysctl values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysvLimits {
    /// Most message queues (0..=IPCMNI).
    pub msgmni: u32,
    /// Largest message text (0..=i32::MAX).
    pub msgmax: u32,
    /// msg_qbytes of a new queue, and the most an unprivileged IPC_SET
    /// may set (0..=i32::MAX).
    pub msgmnb: u32,
    /// Most semaphores in a set.
    pub semmsl: u32,
    /// Most semaphores in the namespace.
    pub semmns: u32,
    /// Most operations in one semop.
    pub semopm: u32,
    /// Most semaphore sets (0..=IPCMNI).
    pub semmni: u32,
}

impl Default for SysvLimits {
    fn default() -> Self {
        SysvLimits::of(&Limits::default())
    }
}

/// A limit as a sysctl int (values past `i32::MAX`, such as UNLIMITED,
/// read as `i32::MAX`, as Linux's int files cap them).
fn int(v: usize) -> u32 {
    v.min(i32::MAX as usize) as u32
}

/// The semaphore family's four values, in Linux's /proc/sys/kernel/sem
/// order (measured 32000 1024000000 500 32000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SemLimits {
    /// Most semaphores in one set.
    pub semmsl: u32,
    /// Most semaphores in the namespace.
    pub semmns: u32,
    /// Most operations in one semop.
    pub semopm: u32,
    /// Most sets.
    pub semmni: u32,
}

impl SysvLimits {
    /// The semaphore family's part.
    pub fn sem(&self) -> SemLimits {
        SemLimits {
            semmsl: self.semmsl,
            semmns: self.semmns,
            semopm: self.semopm,
            semmni: self.semmni,
        }
    }

    /// The SysV values of `l`.
    pub fn of(l: &Limits) -> Self {
        SysvLimits {
            msgmni: int(l.total_objects[ObjectKind::MsgQueue as usize]),
            msgmax: int(l.family.msgmax),
            msgmnb: int(l.family.msgmnb),
            semmsl: int(l.family.semmsl),
            semmns: int(l.total_amounts[Resource::Sems as usize]),
            semopm: int(l.family.semopm),
            semmni: int(l.total_objects[ObjectKind::SemSet as usize]),
        }
    }

    /// `l` with these SysV values.
    pub fn apply(&self, mut l: Limits) -> Limits {
        l.total_objects[ObjectKind::MsgQueue as usize] = self.msgmni as usize;
        l.family.msgmax = self.msgmax as usize;
        l.family.msgmnb = self.msgmnb as usize;
        l.family.semmsl = self.semmsl as usize;
        l.total_amounts[Resource::Sems as usize] = self.semmns as usize;
        l.family.semopm = self.semopm as usize;
        l.total_objects[ObjectKind::SemSet as usize] = self.semmni as usize;
        l
    }

    /// Whether Linux's sysctls would take every value.
    fn valid(&self) -> bool {
        let ints = [
            self.msgmax,
            self.msgmnb,
            self.semmsl,
            self.semmns,
            self.semopm,
        ];
        self.msgmni <= IPCMNI && self.semmni <= IPCMNI && ints.iter().all(|&v| v <= i32::MAX as u32)
    }
}

/// The SysV limits in force in the namespace `acct` accounts.
pub fn get(acct: &Accounting) -> SysvLimits {
    SysvLimits::of(&acct.limits())
}

/// msgmax alone (every msgsnd reads it).
pub fn msgmax(acct: &Accounting) -> u32 {
    acct.with_limits(|l| int(l.family.msgmax))
}

/// semopm alone (every semop reads it).
pub fn semopm(acct: &Accounting) -> u32 {
    acct.with_limits(|l| int(l.family.semopm))
}

/// Sets the SysV limits: EPERM unless `creds` are privileged, EINVAL for
/// a value out of its range; nothing changes on failure.
pub fn set(acct: &Accounting, creds: &Credentials, new: SysvLimits) -> Result<(), Errno> {
    if !new.valid() {
        return err(EINVAL);
    }
    acct.update_limits(creds, |l| {
        *l = new.apply(*l);
        Ok(())
    })
}

/// One /proc/sys/kernel file of SysV limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tunable {
    /// `msgmni`.
    MsgMni,
    /// `msgmax`.
    MsgMax,
    /// `msgmnb`.
    MsgMnb,
    /// `sem`: semmsl semmns semopm semmni.
    Sem,
}

impl Tunable {
    /// Every file.
    pub const ALL: [Tunable; 4] = [
        Tunable::MsgMni,
        Tunable::MsgMax,
        Tunable::MsgMnb,
        Tunable::Sem,
    ];

    /// The file's name under /proc/sys/kernel.
    pub const fn name(self) -> &'static str {
        match self {
            Tunable::MsgMni => "msgmni",
            Tunable::MsgMax => "msgmax",
            Tunable::MsgMnb => "msgmnb",
            Tunable::Sem => "sem",
        }
    }

    /// The file called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Tunable::ALL.into_iter().find(|t| t.name() == name)
    }

    fn values(self, l: &SysvLimits) -> ([u32; 4], usize) {
        match self {
            Tunable::MsgMni => ([l.msgmni, 0, 0, 0], 1),
            Tunable::MsgMax => ([l.msgmax, 0, 0, 0], 1),
            Tunable::MsgMnb => ([l.msgmnb, 0, 0, 0], 1),
            Tunable::Sem => ([l.semmsl, l.semmns, l.semopm, l.semmni], 4),
        }
    }

    /// The file's integers now (one, or four for `sem`), in `out`;
    /// returns how many.
    pub fn read(self, acct: &Accounting, out: &mut [u32; 4]) -> usize {
        let (v, n) = self.values(&get(acct));
        *out = v;
        n
    }

    /// Writes the file: exactly its number of integers (EINVAL
    /// otherwise), by a privileged caller (EPERM), each in range
    /// (EINVAL); nothing changes on failure.
    pub fn write(self, acct: &Accounting, creds: &Credentials, v: &[u32]) -> Result<(), Errno> {
        let mut l = get(acct);
        match (self, v) {
            (Tunable::MsgMni, &[x]) => l.msgmni = x,
            (Tunable::MsgMax, &[x]) => l.msgmax = x,
            (Tunable::MsgMnb, &[x]) => l.msgmnb = x,
            (Tunable::Sem, &[msl, mns, opm, mni]) => {
                (l.semmsl, l.semmns, l.semopm, l.semmni) = (msl, mns, opm, mni);
            }
            _ => return err(EINVAL),
        }
        set(acct, creds, l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::EPERM;

    const ROOT: Credentials = Credentials::new(0, 0);
    const USER: Credentials = Credentials::new(1000, 1000);

    #[test]
    fn defaults_are_linuxs() {
        let l = SysvLimits::default();
        assert_eq!((l.msgmni, l.msgmax, l.msgmnb), (MSGMNI, MSGMAX, MSGMNB));
        assert_eq!(
            (l.semmsl, l.semmns, l.semopm, l.semmni),
            (32000, 1_024_000_000, 500, 32000)
        );
    }

    #[test]
    fn set_writes_the_one_set_of_limits_for_the_privileged_only() {
        let acct = Accounting::new(Limits::default());
        let mut new = get(&acct);
        new.msgmax = 100;
        new.semmni = 7;
        assert_eq!(set(&acct, &USER, new).err(), Some(Errno::new(EPERM)));
        assert_eq!(get(&acct), SysvLimits::default());
        set(&acct, &ROOT, new).unwrap();
        let l = acct.limits();
        assert_eq!(l.family.msgmax, 100);
        assert_eq!(l.total_objects[ObjectKind::SemSet as usize], 7);
        assert_eq!(get(&acct), new);
        for bad in [
            SysvLimits {
                msgmni: IPCMNI + 1,
                ..new
            },
            SysvLimits {
                semmni: IPCMNI + 1,
                ..new
            },
            SysvLimits {
                msgmnb: i32::MAX as u32 + 1,
                ..new
            },
        ] {
            assert_eq!(set(&acct, &ROOT, bad).err(), Some(Errno::new(EINVAL)));
        }
        assert_eq!(get(&acct), new, "a refusal changes nothing");
    }

    #[test]
    fn the_files_read_and_write_by_name() {
        let acct = Accounting::new(Limits::default());
        let mut out = [0; 4];
        let msgmax = Tunable::from_name("msgmax").unwrap();
        assert_eq!(msgmax.read(&acct, &mut out), 1);
        assert_eq!(out[0], MSGMAX);
        let sem = Tunable::from_name("sem").unwrap();
        assert_eq!(sem.read(&acct, &mut out), 4);
        assert_eq!(out, [32000, 1_024_000_000, 500, 32000]);
        assert_eq!(Tunable::from_name("shmmax"), None);
        sem.write(&acct, &ROOT, &[250, 32000, 32, 128]).unwrap();
        assert_eq!(get(&acct).semopm, 32);
        assert_eq!(get(&acct).semmni, 128);
        // The wrong number of integers, or an unprivileged writer.
        assert_eq!(
            sem.write(&acct, &ROOT, &[1, 2]).err(),
            Some(Errno::new(EINVAL))
        );
        assert_eq!(
            msgmax.write(&acct, &USER, &[1]).err(),
            Some(Errno::new(EPERM))
        );
        msgmax.write(&acct, &ROOT, &[16]).unwrap();
        assert_eq!(get(&acct).msgmax, 16);
        for t in Tunable::ALL {
            assert_eq!(Tunable::from_name(t.name()), Some(t));
        }
    }
}
