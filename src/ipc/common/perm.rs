//! Ownership and permission bits of IPC objects (POSIX named objects and,
//! later, SysV ones): one type serves every family.

use crate::kernel::Credentials;

/// Access a caller asks for, as rwx-style bits (read 4, write/alter 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(pub u32);

impl Access {
    /// Read (SysV: read/stat; POSIX: open for reading).
    pub const READ: Access = Access(4);
    /// Write (SysV: alter; POSIX: open for writing).
    pub const WRITE: Access = Access(2);
    /// Read and write.
    pub const READ_WRITE: Access = Access(6);
}

/// Owner, creator and mode of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjPerm {
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
    /// Creator user id.
    pub cuid: u32,
    /// Creator group id.
    pub cgid: u32,
    /// Permission bits (low 9 bits used).
    pub mode: u32,
}

impl ObjPerm {
    /// The permissions of an object `creds` creates with `mode`.
    pub fn new(creds: &Credentials, mode: u32) -> Self {
        ObjPerm {
            uid: creds.euid,
            gid: creds.egid,
            cuid: creds.euid,
            cgid: creds.egid,
            mode: mode & 0o777,
        }
    }

    /// Whether `creds` may access the object as `want` asks: the owner's,
    /// group's or others' bits, the first class that matches (as Linux's
    /// ipcperms: owner if the effective uid is the owner or creator, group
    /// if the caller is in the owner's or creator's group through its
    /// effective gid or a supplementary group), or any access when
    /// privileged.
    pub fn allows(&self, creds: &Credentials, want: Access) -> bool {
        if creds.privileged() {
            return true;
        }
        let granted = if creds.euid == self.uid || creds.euid == self.cuid {
            self.mode >> 6
        } else if creds.in_group(self.gid) || creds.in_group(self.cgid) {
            self.mode >> 3
        } else {
            self.mode
        } & 0o7;
        granted & want.0 == want.0
    }

    /// Whether `creds` owns or created the object (may change or remove it).
    pub fn is_owner(&self, creds: &Credentials) -> bool {
        creds.privileged() || creds.euid == self.uid || creds.euid == self.cuid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_are_exclusive_like_linux() {
        let owner = Credentials::new(1000, 100);
        let group = Credentials::new(1001, 100);
        let other = Credentials::new(1002, 200);
        let p = ObjPerm::new(&owner, 0o046); // owner nothing, group r, other rw
        assert!(
            !p.allows(&owner, Access::READ),
            "owner class wins even if others may"
        );
        assert!(p.allows(&group, Access::READ));
        assert!(!p.allows(&group, Access::WRITE));
        assert!(p.allows(&other, Access::READ_WRITE));
        assert!(p.allows(&Credentials::new(0, 0), Access::READ_WRITE));
        assert!(p.is_owner(&owner) && !p.is_owner(&group));
    }

    #[test]
    fn supplementary_groups_select_the_group_class() {
        let owner = Credentials::new(1000, 100);
        let p = ObjPerm::new(&owner, 0o640); // group may read, others nothing
        let outsider = Credentials::new(1002, 200);
        assert!(!p.allows(&outsider, Access::READ));
        let member = outsider.with_groups(&[5, 100, 7]).unwrap();
        assert!(member.in_group(100) && member.in_group(200));
        assert!(
            p.allows(&member, Access::READ),
            "a supplementary group counts"
        );
        assert!(
            !p.allows(&member, Access::WRITE),
            "with the group's bits only"
        );
        // The creator's group counts too (Linux checks cgid as well).
        let mut moved = p;
        moved.gid = 300;
        assert!(moved.allows(&member, Access::READ));
        moved.cgid = 301;
        assert!(!moved.allows(&member, Access::READ));
        // The group class is exclusive: a member gets the group bits even
        // where others may do more.
        let q = ObjPerm::new(&owner, 0o606);
        assert!(!q.allows(&member, Access::READ));
        assert!(q.allows(&outsider, Access::READ));
    }

    #[test]
    fn groups_are_bounded_and_sorted() {
        use crate::kernel::{Groups, NGROUPS_MAX};
        let too_many: alloc::vec::Vec<u32> = (0..=NGROUPS_MAX as u32).collect();
        assert_eq!(
            Groups::new(&too_many).unwrap_err().errno,
            crate::errno::EINVAL
        );
        let g = Groups::new(&[9, 3, 3, 1]).unwrap();
        assert_eq!(g.as_slice(), &[1, 3, 3, 9]);
        assert!(g.contains(3) && !g.contains(2));
        assert!(Groups::new(&too_many[..NGROUPS_MAX]).is_ok());
    }
}
