//! `IdTable<T>`: the key -> id table of one SysV family (Linux's
//! `ipc_ids`, gVisor's `ipc.Registry`, Asterinas's `IpcIds`).
//!
//! Lock order: the table's lock, then one object's state lock (taken by
//! `SysvObject::perm` and by the closures `get`, `control` and `remove`
//! run). Nothing here touches user memory or parks.
//!
//! Ids are `seq * SEQ_MULTIPLIER + index`, allocated as Linux does: the
//! index cycles through `0..max(in_use * 3 / 2, 64)` (capped at IPCMNI),
//! taking the lowest free slot at or after the one past the last
//! allocated, and the sequence number advances each time the index wraps
//! back. A removed id is therefore not handed out again until the index
//! has come round and the sequence has moved on, and an id whose sequence
//! does not match its slot's object is EINVAL: a stale id never reaches a
//! new object. In a fresh namespace the ids equal Linux's, which lets the
//! differential tests compare them exactly.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use crate::errno::{err, Errno, EACCES, EEXIST, EINVAL, ENOENT, ENOSPC, EPERM};
use crate::ipc::sysv::perm::{requested_by_flags, IpcPerm};
use crate::kernel::Credentials;
use crate::sync::Mutex;

/// The most objects one table can hold, and the id's index modulus.
pub const IPCMNI: u32 = 32768;
/// Ids are `seq * SEQ_MULTIPLIER + index`.
pub const SEQ_MULTIPLIER: u32 = IPCMNI;
/// Sequence numbers run in `0..SEQ_LIMIT` (Linux: INT_MAX >> 15).
pub const SEQ_LIMIT: u32 = (i32::MAX as u32) >> 15;
/// The index cycle never shrinks below this (Linux's ipc_min_cycle).
pub const MIN_CYCLE: u32 = 64;

/// The key that always makes a new object.
pub const IPC_PRIVATE: i32 = 0;
/// xxxget flag: create if the key is unused.
pub const IPC_CREAT: u32 = 0o1000;
/// xxxget flag with IPC_CREAT: fail EEXIST if the key is used.
pub const IPC_EXCL: u32 = 0o2000;

/// A SysV object the table can hold.
pub trait SysvObject: Send + Sync {
    /// A copy of the object's permissions (takes its state lock).
    fn perm(&self) -> IpcPerm;
}

/// An id as user space sees it.
pub const fn make_id(seq: u16, index: u32) -> i32 {
    (seq as u32 * SEQ_MULTIPLIER + index) as i32
}

/// The index part of an id (Linux's `ipcid_to_idx`).
pub const fn index_of(id: i32) -> u32 {
    (id as u32) % SEQ_MULTIPLIER
}

struct Slot<T> {
    seq: u16,
    key: i32,
    obj: Arc<T>,
}

struct Table<T> {
    slots: BTreeMap<u32, Slot<T>>,
    keys: BTreeMap<i32, u32>,
    seq: u32,
    last_index: Option<u32>,
    next_index: u32,
}

impl<T> Table<T> {
    /// The lowest free index in `from..end` (none when `from >= end`: the
    /// cycle shrank below the last index after removals).
    fn free_from(&self, from: u32, end: u32) -> Option<u32> {
        if from >= end {
            return None;
        }
        let mut want = from;
        for (&used, _) in self.slots.range(from..end) {
            if used != want {
                break;
            }
            want += 1;
        }
        (want < end).then_some(want)
    }

    /// Picks the next index and its sequence number, without committing
    /// (Linux's `ipc_idr_alloc` with `idr_alloc_cyclic`).
    fn next_slot(&self) -> Option<(u32, u32)> {
        let in_use = self.slots.len() as u32;
        let end = (in_use * 3 / 2).clamp(MIN_CYCLE, IPCMNI);
        let start = self.next_index;
        let index = match self.free_from(start, end) {
            Some(i) => i,
            None if start > 0 => self.free_from(0, end)?,
            None => return None,
        };
        let seq = match self.last_index {
            Some(last) if index <= last => {
                let s = self.seq + 1;
                if s >= SEQ_LIMIT {
                    0
                } else {
                    s
                }
            }
            _ => self.seq,
        };
        Some((index, seq))
    }

    fn find(&self, id: i32) -> Result<&Slot<T>, Errno> {
        if id < 0 {
            return err(EINVAL);
        }
        match self.slots.get(&index_of(id)) {
            Some(slot) if make_id(slot.seq, index_of(id)) == id => Ok(slot),
            _ => err(EINVAL),
        }
    }
}

/// What an xxxget asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetRequest {
    /// The key (IPC_PRIVATE: always a new object).
    pub key: i32,
    /// The raw flags: IPC_CREAT, IPC_EXCL and the mode bits.
    pub flags: u32,
    /// The family's object limit (msgmni, semmni), capped at IPCMNI.
    pub limit: u32,
}

/// The id table of one SysV family.
pub struct IdTable<T> {
    table: Mutex<Table<T>>,
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable {
            table: Mutex::new(Table {
                slots: BTreeMap::new(),
                keys: BTreeMap::new(),
                seq: 0,
                last_index: None,
                next_index: 0,
            }),
        }
    }
}

impl<T: SysvObject> IdTable<T> {
    /// xxxget: finds or creates the object for `req` and returns its id.
    /// A found object must pass `check_existing` (a family's extra rule,
    /// such as semget's nsems) and then grant what the flags' mode asks
    /// (EACCES); a missing key needs IPC_CREAT (ENOENT); IPC_CREAT |
    /// IPC_EXCL on a used key is EEXIST; a full table is ENOSPC. `make`
    /// builds the new object from its permissions; if it fails the table
    /// is unchanged.
    pub fn get(
        &self,
        creds: &Credentials,
        req: GetRequest,
        check_existing: impl FnOnce(&T) -> Result<(), Errno>,
        make: impl FnOnce(IpcPerm) -> Result<Arc<T>, Errno>,
    ) -> Result<i32, Errno> {
        let mut t = self.table.lock();
        if req.key != IPC_PRIVATE {
            if let Some(&index) = t.keys.get(&req.key) {
                if req.flags & IPC_CREAT != 0 && req.flags & IPC_EXCL != 0 {
                    return err(EEXIST);
                }
                let Some(slot) = t.slots.get(&index) else {
                    return err(EINVAL);
                };
                check_existing(&slot.obj)?;
                if !slot.obj.perm().allows(creds, requested_by_flags(req.flags)) {
                    return err(EACCES);
                }
                return Ok(make_id(slot.seq, index));
            }
            if req.flags & IPC_CREAT == 0 {
                return err(ENOENT);
            }
        }
        if t.slots.len() as u32 >= req.limit.min(IPCMNI) {
            return err(ENOSPC);
        }
        let Some((index, seq)) = t.next_slot() else {
            return err(ENOSPC);
        };
        let seq16 = seq as u16; // seq < SEQ_LIMIT = 65535
        let obj = make(IpcPerm::new(creds, req.key, seq16, req.flags))?;
        t.slots.insert(
            index,
            Slot {
                seq: seq16,
                key: req.key,
                obj,
            },
        );
        if req.key != IPC_PRIVATE {
            t.keys.insert(req.key, index);
        }
        t.seq = seq;
        t.last_index = Some(index);
        t.next_index = index + 1;
        Ok(make_id(seq16, index))
    }

    /// The object `id` names: EINVAL for a negative id, an empty slot or a
    /// stale sequence number.
    pub fn lookup(&self, id: i32) -> Result<Arc<T>, Errno> {
        Ok(self.table.lock().find(id)?.obj.clone())
    }

    /// The object in slot `index mod IPCMNI` and its full id, for the
    /// index-based *_STAT calls (EINVAL for a negative or empty index).
    pub fn by_index(&self, index: i32) -> Result<(i32, Arc<T>), Errno> {
        if index < 0 {
            return err(EINVAL);
        }
        let t = self.table.lock();
        let i = index_of(index);
        let slot = t.slots.get(&i).ok_or(Errno::new(EINVAL))?;
        Ok((make_id(slot.seq, i), slot.obj.clone()))
    }

    /// Runs `apply` on object `id` if `creds` may control it (IPC_SET and
    /// friends): EINVAL, EPERM. The table stays locked meanwhile, so no
    /// other control call interleaves.
    pub fn control<R>(
        &self,
        creds: &Credentials,
        id: i32,
        apply: impl FnOnce(&T) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        let t = self.table.lock();
        let slot = t.find(id)?;
        if !slot.obj.perm().may_control(creds) {
            return err(EPERM);
        }
        apply(&slot.obj)
    }

    /// IPC_RMID: takes object `id` out of the table if `creds` may control
    /// it (EINVAL, EPERM) and runs `destroy` on it with the table still
    /// locked, so its key is free and its waiters are told (EIDRM) before
    /// any other call can see the table.
    pub fn remove(
        &self,
        creds: &Credentials,
        id: i32,
        destroy: impl FnOnce(&T),
    ) -> Result<(), Errno> {
        let mut t = self.table.lock();
        let slot = t.find(id)?;
        if !slot.obj.perm().may_control(creds) {
            return err(EPERM);
        }
        let (index, key) = (index_of(id), slot.key);
        if key != IPC_PRIVATE {
            t.keys.remove(&key);
        }
        if let Some(slot) = t.slots.remove(&index) {
            destroy(&slot.obj);
        }
        Ok(())
    }

    /// Number of objects in the table.
    pub fn in_use(&self) -> usize {
        self.table.lock().slots.len()
    }

    /// The highest index in use, if any (the value IPC_INFO returns).
    pub fn max_index(&self) -> Option<u32> {
        self.table.lock().slots.keys().next_back().copied()
    }

    /// Every object with its id, in index order (for removing all of a
    /// namespace's objects and for tests; user space enumerates with the
    /// *_STAT calls instead).
    pub fn snapshot(&self) -> alloc::vec::Vec<(i32, Arc<T>)> {
        let t = self.table.lock();
        t.slots
            .iter()
            .map(|(&i, s)| (make_id(s.seq, i), s.obj.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    struct Obj(Mutex<IpcPerm>);
    impl SysvObject for Obj {
        fn perm(&self) -> IpcPerm {
            *self.0.lock()
        }
    }

    const ROOT: Credentials = Credentials::new(0, 0);

    fn get(t: &IdTable<Obj>, creds: &Credentials, key: i32, flags: u32) -> Result<i32, Errno> {
        t.get(
            creds,
            GetRequest {
                key,
                flags,
                limit: 32000,
            },
            |_| Ok(()),
            |p| Ok(Arc::new(Obj(Mutex::new(p)))),
        )
    }

    fn code(r: Result<i32, Errno>) -> Result<i32, i32> {
        r.map_err(|e| e.errno)
    }

    #[test]
    fn keys_creat_excl_enoent_eacces() {
        let t = IdTable::default();
        let owner = Credentials::new(1000, 100);
        let other = Credentials::new(1001, 101);
        assert_eq!(code(get(&t, &owner, 7, 0o600)), Err(ENOENT));
        let id = get(&t, &owner, 7, IPC_CREAT | 0o600).unwrap();
        assert_eq!(get(&t, &owner, 7, 0).unwrap(), id);
        assert_eq!(get(&t, &owner, 7, IPC_CREAT).unwrap(), id);
        assert_eq!(code(get(&t, &owner, 7, IPC_CREAT | IPC_EXCL)), Err(EEXIST));
        assert_eq!(
            get(&t, &other, 7, 0).unwrap(),
            id,
            "asking nothing needs nothing"
        );
        assert_eq!(code(get(&t, &other, 7, 0o400)), Err(EACCES));
        assert_eq!(get(&t, &ROOT, 7, 0o666).unwrap(), id);
        let private = get(&t, &owner, IPC_PRIVATE, IPC_CREAT | IPC_EXCL).unwrap();
        assert_ne!(private, id);
        assert_ne!(get(&t, &owner, IPC_PRIVATE, 0).unwrap(), private);
        assert_eq!(t.in_use(), 3);
    }

    #[test]
    fn ids_follow_linux_allocation() {
        // The same sequence as measured on Linux 6.18 in a fresh namespace.
        let t = IdTable::default();
        let ids: Vec<i32> = (0..3).map(|_| get(&t, &ROOT, 0, 0o600).unwrap()).collect();
        assert_eq!(ids, [0, 1, 2]);
        t.remove(&ROOT, 0, |_| ()).unwrap();
        assert_eq!(get(&t, &ROOT, 0, 0o600).unwrap(), 3);
        for _ in 0..62 {
            let id = get(&t, &ROOT, 0, 0o600).unwrap();
            t.remove(&ROOT, id, |_| ()).unwrap();
        }
        assert_eq!(get(&t, &ROOT, 0, 0o600).unwrap(), 32773);
        assert_eq!(t.max_index(), Some(5));
    }

    #[test]
    fn stale_ids_never_reach_a_new_object() {
        let t = IdTable::default();
        let owner = Credentials::new(1000, 100);
        let mut stale = Vec::new();
        // Enough create/remove rounds to wrap the index cycle many times.
        for round in 0..1000 {
            let id = get(&t, &owner, 5, IPC_CREAT | 0o600).unwrap();
            assert!(!stale.contains(&id), "round {round}: id {id} reused");
            for &old in &stale {
                assert_eq!(t.lookup(old).err(), Some(Errno::new(EINVAL)));
            }
            t.remove(&owner, id, |_| ()).unwrap();
            assert_eq!(t.lookup(id).err(), Some(Errno::new(EINVAL)));
            assert_eq!(t.remove(&owner, id, |_| ()).err(), Some(Errno::new(EINVAL)));
            stale.push(id);
            if stale.len() > 200 {
                stale.remove(0);
            }
        }
    }

    #[test]
    fn ids_of_successive_objects_are_not_a_plain_counter() {
        // Keys differ, and the same index comes back only with a new
        // sequence number: ids are not 0, 1, 2, ... across removals.
        let t = IdTable::default();
        let mut seen = Vec::new();
        for key in 1..=200 {
            let id = get(&t, &ROOT, key, IPC_CREAT | 0o600).unwrap();
            t.remove(&ROOT, id, |_| ()).unwrap();
            seen.push(id);
        }
        assert!(seen.iter().any(|&id| id >= SEQ_MULTIPLIER as i32));
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "no id is handed out twice");
    }

    #[test]
    fn remove_frees_the_key_and_needs_control() {
        let t = IdTable::default();
        let owner = Credentials::new(1000, 100);
        let other = Credentials::new(1001, 100);
        let id = get(&t, &owner, 9, IPC_CREAT | 0o666).unwrap();
        assert_eq!(t.remove(&other, id, |_| ()).err(), Some(Errno::new(EPERM)));
        assert_eq!(
            t.control(&other, id, |_| Ok(())).err(),
            Some(Errno::new(EPERM))
        );
        let mut destroyed = false;
        t.remove(&owner, id, |_| destroyed = true).unwrap();
        assert!(destroyed);
        assert_eq!(code(get(&t, &owner, 9, 0)), Err(ENOENT));
        let again = get(&t, &owner, 9, IPC_CREAT).unwrap();
        assert_ne!(again, id);
    }

    #[test]
    fn limit_is_enospc_and_a_failed_make_changes_nothing() {
        let t: IdTable<Obj> = IdTable::default();
        let req = |key| GetRequest {
            key,
            flags: IPC_CREAT,
            limit: 2,
        };
        let mk = |p| Ok(Arc::new(Obj(Mutex::new(p))));
        t.get(&ROOT, req(1), |_| Ok(()), mk).unwrap();
        t.get(&ROOT, req(2), |_| Ok(()), mk).unwrap();
        assert_eq!(
            t.get(&ROOT, req(3), |_| Ok(()), mk).err(),
            Some(Errno::new(ENOSPC))
        );
        let t2: IdTable<Obj> = IdTable::default();
        let failed = t2.get(&ROOT, req(1), |_| Ok(()), |_| err(crate::errno::ENOMEM));
        assert_eq!(failed.err(), Some(Errno::new(crate::errno::ENOMEM)));
        assert_eq!(t2.in_use(), 0);
        assert_eq!(t2.get(&ROOT, req(1), |_| Ok(()), mk).unwrap(), 0);
    }

    #[test]
    fn the_cycle_wraps_when_it_shrinks_below_the_next_index() {
        // 1000 objects, all removed: the cycle is back to MIN_CYCLE, far
        // below the next index (1000). Like Linux's idr_alloc_cyclic, the
        // search starts over at 0, with the next sequence number.
        let t = IdTable::default();
        let ids: Vec<i32> = (0..1000)
            .map(|_| get(&t, &ROOT, 0, 0o600).unwrap())
            .collect();
        for id in ids {
            t.remove(&ROOT, id, |_| ()).unwrap();
        }
        assert_eq!(get(&t, &ROOT, 0, 0o600).unwrap(), SEQ_MULTIPLIER as i32);
        assert_eq!(t.max_index(), Some(0));
    }

    #[test]
    fn by_index_masks_and_reports_the_full_id() {
        let t = IdTable::default();
        for _ in 0..MIN_CYCLE {
            let id = get(&t, &ROOT, 0, 0).unwrap();
            t.remove(&ROOT, id, |_| ()).unwrap();
        }
        let id = get(&t, &ROOT, 0, 0).unwrap();
        assert_eq!(id, SEQ_MULTIPLIER as i32);
        assert_eq!(t.by_index(0).unwrap().0, id);
        assert_eq!(t.by_index(5 * SEQ_MULTIPLIER as i32).unwrap().0, id);
        assert!(t.by_index(1).is_err() && t.by_index(-1).is_err());
        assert_eq!(
            t.lookup(0).err(),
            Some(Errno::new(EINVAL)),
            "index without seq"
        );
    }
}
