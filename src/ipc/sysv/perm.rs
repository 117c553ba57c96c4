//! `IpcPerm`: the permission object of every SysV object (Linux's
//! `kern_ipc_perm`): key, sequence, owner, creator and mode. The access
//! rules themselves are `ObjPerm`'s, shared with the POSIX families, so
//! supplementary groups reach SysV the day `ObjPerm` learns them.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::perm::{Access, ObjPerm};
use crate::kernel::Credentials;
use crate::syscall::abi::IpcPermAbi;

/// A uid or gid that names nobody (C's `(uid_t)-1`): IPC_SET refuses it.
pub const INVALID_ID: u32 = u32::MAX;

/// The permissions of one SysV object; mutable only through `set`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpcPerm {
    /// The key it was created with (IPC_PRIVATE = 0).
    pub key: i32,
    /// The sequence number baked into its id.
    pub seq: u16,
    /// Owner, creator and the low 9 mode bits.
    pub owner: ObjPerm,
}

impl IpcPerm {
    /// The permissions of an object `creds` creates under `key` with the
    /// low 9 bits of `flags` as its mode.
    pub fn new(creds: &Credentials, key: i32, seq: u16, flags: u32) -> Self {
        IpcPerm {
            key,
            seq,
            owner: ObjPerm::new(creds, flags & 0o777),
        }
    }

    /// Whether `creds` may access the object as `want` asks (Linux's
    /// `ipcperms`: the first class that matches, privilege bypasses).
    pub fn allows(&self, creds: &Credentials, want: Access) -> bool {
        self.owner.allows(creds, want)
    }

    /// Whether `creds` may IPC_SET or IPC_RMID: the owner, the creator or
    /// the privileged (else EPERM).
    pub fn may_control(&self, creds: &Credentials) -> bool {
        self.owner.is_owner(creds)
    }

    /// IPC_SET: new owner ids and low 9 mode bits; EINVAL for an id that
    /// names nobody, and then nothing changes.
    pub fn set(&mut self, uid: u32, gid: u32, mode: u32) -> Result<(), Errno> {
        if uid == INVALID_ID || gid == INVALID_ID {
            return err(EINVAL);
        }
        self.owner.uid = uid;
        self.owner.gid = gid;
        self.owner.mode = (self.owner.mode & !0o777) | (mode & 0o777);
        Ok(())
    }

    /// The kernel-ABI `struct ipc_perm`.
    pub fn to_abi(&self) -> IpcPermAbi {
        IpcPermAbi {
            key: self.key,
            uid: self.owner.uid,
            gid: self.owner.gid,
            cuid: self.owner.cuid,
            cgid: self.owner.cgid,
            mode: self.owner.mode,
            seq: self.seq,
        }
    }
}

/// The access an xxxget asks for when it finds an existing object: every
/// rwx bit in its flags' mode, whichever class it is written in (Linux
/// folds `(flg >> 6) | (flg >> 3) | flg`).
pub fn requested_by_flags(flags: u32) -> Access {
    Access(((flags >> 6) | (flags >> 3) | flags) & 0o7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_changes_only_owner_and_low_mode_bits() {
        let creator = Credentials::new(1000, 100);
        let mut p = IpcPerm::new(&creator, 42, 3, 0o1640 | 0o7000);
        assert_eq!(p.owner.mode, 0o640);
        p.set(2000, 200, 0o7604).unwrap();
        assert_eq!((p.owner.uid, p.owner.gid, p.owner.mode), (2000, 200, 0o604));
        assert_eq!(
            (p.owner.cuid, p.owner.cgid, p.key, p.seq),
            (1000, 100, 42, 3)
        );
        let before = p;
        assert_eq!(p.set(INVALID_ID, 1, 0).err(), Some(Errno::new(EINVAL)));
        assert_eq!(p.set(1, INVALID_ID, 0).err(), Some(Errno::new(EINVAL)));
        assert_eq!(p, before);
    }

    #[test]
    fn creator_keeps_control_after_giving_the_object_away() {
        let creator = Credentials::new(1000, 100);
        let other = Credentials::new(1001, 100);
        let mut p = IpcPerm::new(&creator, 1, 0, 0o600);
        p.set(1001, 100, 0o600).unwrap();
        assert!(p.may_control(&creator) && p.may_control(&other));
        assert!(!p.may_control(&Credentials::new(1002, 100)));
        assert!(p.may_control(&Credentials::new(0, 0)));
    }

    #[test]
    fn get_flags_request_every_bit_they_name() {
        assert_eq!(requested_by_flags(0).0, 0);
        assert_eq!(requested_by_flags(0o600).0, 6);
        assert_eq!(requested_by_flags(0o040).0, 4);
        assert_eq!(requested_by_flags(0o1002).0, 2);
    }
}
