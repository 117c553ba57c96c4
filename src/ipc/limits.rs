//! Accounting and limits: every kernel object is charged to the user that
//! created it, so no local user can grow kernel memory without bound.
//!
//! A `Charge` is held by the object it pays for and refunds itself when the
//! object is dropped; a user whose usage returns to zero leaves the table.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use crate::errno::{err, Errno, ENOMEM, ENOSPC};
use crate::sync::Mutex;

/// The kinds of charged objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum ObjectKind {
    /// A named POSIX semaphore.
    NamedSem = 0,
    /// An eventfd.
    EventFd = 1,
    /// A signalfd.
    SignalFd = 2,
    /// A timerfd.
    TimerFd = 3,
}

/// Number of `ObjectKind`s.
pub const KINDS: usize = 4;

/// Configured limits of one IPC namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Objects of each kind one unprivileged user may hold.
    pub per_user_objects: [usize; KINDS],
    /// Objects of each kind in the whole namespace, privileged or not.
    pub total_objects: [usize; KINDS],
    /// Kernel bytes one unprivileged user may hold across all kinds.
    pub per_user_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Named semaphores; eventfd, signalfd and timerfd (which the
            // host's RLIMIT_NOFILE bounds per process, and this per user).
            per_user_objects: [256, 4096, 1024, 4096],
            total_objects: [4096, 65536, 16384, 65536],
            per_user_bytes: 8 << 20,
        }
    }
}

/// What one user holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Objects per kind.
    pub objects: [usize; KINDS],
    /// Kernel bytes.
    pub bytes: usize,
}

impl Usage {
    fn is_zero(&self) -> bool {
        *self == Usage::default()
    }
}

#[derive(Default)]
struct Table {
    users: BTreeMap<u32, Usage>,
    totals: [usize; KINDS],
}

/// The accounting of one IPC namespace.
pub struct Accounting {
    limits: Limits,
    table: Mutex<Table>,
}

impl Accounting {
    /// Accounting under `limits`.
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Accounting {
            limits,
            table: Mutex::new(Table::default()),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Charges one object of `kind` costing `bytes` to `uid`. ENOSPC when
    /// an object count is at its limit, ENOMEM when the user's bytes are.
    /// `privileged` callers pass the per-user limits, not the totals.
    pub fn charge(
        self: &Arc<Self>,
        uid: u32,
        privileged: bool,
        kind: ObjectKind,
        bytes: usize,
    ) -> Result<Charge, Errno> {
        let k = kind as usize;
        let mut t = self.table.lock();
        if t.totals[k] >= self.limits.total_objects[k] {
            return err(ENOSPC);
        }
        let now = t.users.get(&uid).copied().unwrap_or_default();
        if !privileged {
            if now.objects[k] >= self.limits.per_user_objects[k] {
                return err(ENOSPC);
            }
            if now.bytes.saturating_add(bytes) > self.limits.per_user_bytes {
                return err(ENOMEM);
            }
        }
        let entry = t.users.entry(uid).or_default();
        entry.objects[k] += 1;
        entry.bytes += bytes;
        t.totals[k] += 1;
        Ok(Charge {
            acct: self.clone(),
            uid,
            kind,
            bytes,
        })
    }

    /// What `uid` holds now (zero if nothing).
    pub fn usage(&self, uid: u32) -> Usage {
        self.table
            .lock()
            .users
            .get(&uid)
            .copied()
            .unwrap_or_default()
    }

    /// Number of users holding anything, for leak checks.
    pub fn users_charged(&self) -> usize {
        self.table.lock().users.len()
    }

    fn refund(&self, uid: u32, kind: ObjectKind, bytes: usize) {
        let k = kind as usize;
        let mut t = self.table.lock();
        t.totals[k] = t.totals[k].saturating_sub(1);
        if let Some(u) = t.users.get_mut(&uid) {
            u.objects[k] = u.objects[k].saturating_sub(1);
            u.bytes = u.bytes.saturating_sub(bytes);
            if u.is_zero() {
                t.users.remove(&uid);
            }
        }
    }
}

/// One object's payment; refunded on drop.
pub struct Charge {
    acct: Arc<Accounting>,
    uid: u32,
    kind: ObjectKind,
    bytes: usize,
}

impl Charge {
    /// The user charged.
    pub fn uid(&self) -> u32 {
        self.uid
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.acct.refund(self.uid, self.kind, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Arc<Accounting> {
        Accounting::new(Limits {
            per_user_objects: [2; KINDS],
            total_objects: [3; KINDS],
            per_user_bytes: 100,
        })
    }

    #[test]
    fn per_user_and_total_limits_and_refund_to_zero() {
        let a = small();
        let c1 = a.charge(1, false, ObjectKind::NamedSem, 10).unwrap();
        let c2 = a.charge(1, false, ObjectKind::NamedSem, 10).unwrap();
        assert_eq!(
            a.charge(1, false, ObjectKind::NamedSem, 10).err(),
            Some(Errno::new(ENOSPC))
        );
        let c3 = a.charge(2, false, ObjectKind::NamedSem, 10).unwrap();
        // Total reached: even the privileged are refused.
        assert_eq!(
            a.charge(0, true, ObjectKind::NamedSem, 10).err(),
            Some(Errno::new(ENOSPC))
        );
        assert_eq!(a.usage(1).objects[ObjectKind::NamedSem as usize], 2);
        drop((c1, c2, c3));
        assert_eq!(a.users_charged(), 0);
        assert_eq!(a.usage(1), Usage::default());
    }

    #[test]
    fn byte_limit_gives_enomem_and_changes_nothing() {
        let a = small();
        assert_eq!(
            a.charge(1, false, ObjectKind::NamedSem, 101).err(),
            Some(Errno::new(ENOMEM))
        );
        assert_eq!(a.users_charged(), 0);
        let _big = a.charge(0, true, ObjectKind::NamedSem, 1000).unwrap();
        assert_eq!(a.usage(0).bytes, 1000);
    }
}
