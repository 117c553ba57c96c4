//! A semaphore set and the namespace's table of them (Linux's
//! ipc/sem.c: `newary`, `do_semtimedop`, `semctl_*`, `freeary`).
//!
//! Each call checks what Linux checks, in Linux's order, so each bad
//! input gets the errno Linux gives it; the syscall layer does the part
//! before the set is looked up (nsops, copies, the timeout). Blocking
//! goes through the one helper (`ipc::common::wait::wait`) on the list
//! `wake::Target::of` picks; wakers complete blocked calls in place
//! (`wake.rs`).
//!
//! Accounting: a set is charged to its creator's effective uid
//! (`ObjectKind::SemSet`, its semaphores as `Resource::Sems`, its memory
//! as `Resource::KernelBytes`), refunded at IPC_RMID. Linux bounds sets
//! by semmni, semmns and semmsl only; the kernel-bytes charge is ours, so
//! that one user cannot fill kernel memory with semaphores. It counts the
//! semaphores only: semmni already bounds the sets themselves, and one
//! user may hold all 32000 of them as on Linux (gVisor's
//! SemGetSystemLimits, tests/sysv_sem_conformance.rs).
//!
//! Lock order: the id table, then one set's state (ids.rs); a process's
//! undo list (`undo.rs`) is never locked with a set's state held. User
//! memory is reached by the syscall layer only, with no lock held.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::Cell;
use core::mem::size_of;

use crate::errno::{err, Errno, EACCES, EFBIG, EIDRM, EINVAL, ENOMEM, ENOSPC, ERANGE, ETIMEDOUT};
use crate::ipc::common::limits::{Charge, ObjectKind, Resource};
use crate::ipc::common::perm::Access;
use crate::ipc::common::wait::{wait, Blocking, Handoff, Step};
use crate::ipc::sysv::ids::{GetRequest, IdTable, SysvObject};
use crate::ipc::sysv::limits::SemLimits;
use crate::ipc::sysv::now_seconds;
use crate::ipc::sysv::perm::IpcPerm;
use crate::ipc::sysv::sem::ops::{apply, settle, OpsFailed, Sem, SemBuf, SEMAEM, SEMVMX};
use crate::ipc::sysv::sem::undo::SemUndoList;
use crate::ipc::sysv::sem::wake::{Batch, Changed, Pending, Target, UndoMap, Waiters};
use crate::kernel::{Credentials, Deadline, Kernel, Pid};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::syscall::abi::{SemInfo, SemidDs};

/// Linux's SEMUSZ (IPC_INFO's semusz).
pub const SEMUSZ: i32 = 20;
/// Linux's SEMMAP and SEMMNU: SEMMNS of the default limits (32000 sets of
/// 32000), reported by IPC_INFO and SEM_INFO as constants.
pub const SEMMAP: i32 = 1_024_000_000;
/// Linux's SEMUME: SEMOPM of the default limits.
pub const SEMUME: i32 = 500;

struct SetState {
    perm: IpcPerm,
    removed: bool,
    sems: Box<[Sem]>,
    otime: i64,
    ctime: i64,
    waiters: Waiters,
    undo: UndoMap,
    /// The creator's charge (the set, its semaphores, their memory),
    /// refunded when the set is removed.
    charge: Option<Charge>,
}

/// Kernel memory one semaphore of a set holds: its value and pid, its two
/// wait lists, and a SEM_UNDO slot per process (one counted).
const BYTES_PER_SEM: usize =
    size_of::<Sem>() + 2 * size_of::<crate::ipc::common::waitq::WaitQueue<()>>() + 2;

/// One semaphore set.
pub struct SemSet {
    nsems: usize,
    state: Mutex<SetState>,
}

impl SysvObject for SemSet {
    fn perm(&self) -> IpcPerm {
        self.state.lock().perm
    }
}

/// What GETVAL, GETPID, GETNCNT and GETZCNT read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SemField {
    /// semval.
    Value,
    /// sempid.
    Pid,
    /// Callers waiting for the value to grow.
    NCount,
    /// Callers waiting for it to be zero.
    ZCount,
}

/// The semaphore limits in force (the one place the family reads them).
pub fn limits<K: Kernel + ?Sized>(k: &K) -> SemLimits {
    crate::ipc::sysv::limits::get(&k.ipc().acct).sem()
}

fn boxed<T: Clone>(n: usize, v: T) -> Result<Box<[T]>, Errno> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| Errno::new(ENOMEM))?;
    out.resize(n, v);
    Ok(out.into_boxed_slice())
}

impl SetState {
    fn check(&self, creds: &Credentials, want: Access) -> Result<(), Errno> {
        if !self.perm.allows(creds, want) {
            return err(EACCES);
        }
        if self.removed {
            return err(EIDRM);
        }
        Ok(())
    }

    /// Completes the waiters a change made runnable; sem_otime moves if
    /// any completed.
    fn update<K: Kernel + ?Sized>(&mut self, k: &K, changed: Changed<'_>) {
        let SetState {
            sems,
            undo,
            waiters,
            ..
        } = self;
        if waiters.update(k, sems, undo, changed) > 0 {
            self.otime = now_seconds(k);
        }
    }

    /// Makes process `pid`'s (zero) adjustments of this set if it has
    /// none (ENOMEM).
    fn ensure_undo(&mut self, pid: Pid, nsems: usize) -> Result<(), Errno> {
        if let alloc::collections::btree_map::Entry::Vacant(slot) = self.undo.entry(pid) {
            slot.insert(boxed(nsems, 0i16)?);
        }
        Ok(())
    }

    /// SETVAL and SETALL: the adjustments of semaphore `num` (all, with
    /// None) are cleared in every process.
    fn clear_undo(&mut self, num: Option<usize>) {
        for adj in self.undo.values_mut() {
            match num {
                Some(i) => {
                    if let Some(a) = adj.get_mut(i) {
                        *a = 0;
                    }
                }
                None => adj.fill(0),
            }
        }
    }
}

impl SemSet {
    /// Number of semaphores.
    pub fn nsems(&self) -> usize {
        self.nsems
    }

    /// Checks that `creds` may access the set as `want` asks (EACCES)
    /// and that it still exists (EIDRM).
    pub fn check(&self, creds: &Credentials, want: Access) -> Result<(), Errno> {
        self.state.lock().check(creds, want)
    }

    /// Makes `pid`'s undo entry (EIDRM if the set is gone, ENOMEM).
    fn ensure_undo(&self, pid: Pid) -> Result<(), Errno> {
        let mut st = self.state.lock();
        if st.removed {
            return err(EIDRM);
        }
        st.ensure_undo(pid, self.nsems)
    }

    /// semop / semtimedop on this set: the operations (num checked <
    /// nsems) apply atomically; blocks until they can, `deadline` passes
    /// (EAGAIN), a signal (EINTR) or removal (EIDRM).
    fn semop<K: Kernel + ?Sized>(
        &self,
        k: &K,
        ops: &Batch,
        deadline: Option<Deadline>,
    ) -> Result<(), Errno> {
        let creds = k.credentials();
        let pid = k.current_pid();
        let alter = ops.iter().any(SemBuf::alters);
        let undo = ops.iter().any(SemBuf::undo);
        let want = if alter { Access::WRITE } else { Access::READ };
        let how = deadline.map_or(Blocking::Forever, Blocking::Until);
        let target = Cell::new(Target::ComplexAlter);
        let nsems = self.nsems;
        let r = wait(
            k,
            &self.state,
            how,
            |st: &mut SetState| st.waiters.queue(target.get()),
            |st: &mut SetState| {
                if let Err(e) = st.check(&creds, want) {
                    return Step::Done(Err(e));
                }
                if undo {
                    if let Err(e) = st.ensure_undo(pid, nsems) {
                        return Step::Done(Err(e));
                    }
                }
                let adj = if undo {
                    st.undo.get_mut(&pid).map(|a| &mut a[..])
                } else {
                    None
                };
                match apply(&mut st.sems, adj, ops, pid) {
                    Ok(()) => {
                        st.otime = now_seconds(k);
                        if alter {
                            st.update(k, Changed::Ops(ops));
                        }
                        Step::Done(Ok(()))
                    }
                    Err(OpsFailed::Error(e)) => Step::Done(Err(e)),
                    Err(OpsFailed::Block { index }) => {
                        target.set(st.waiters.route(ops));
                        Step::Block(Handoff::new(Pending {
                            ops: ops.clone(),
                            pid,
                            blocking: index,
                        }))
                    }
                }
            },
        );
        match r {
            Err(e) if e.errno == ETIMEDOUT => err(crate::errno::EAGAIN),
            r => r,
        }
    }

    /// GETVAL, GETPID, GETNCNT, GETZCNT of semaphore `num`: EACCES
    /// without read permission, then EINVAL for a bad `num`, EIDRM.
    pub fn field<K: Kernel + ?Sized>(&self, k: &K, num: i32, f: SemField) -> Result<usize, Errno> {
        let creds = k.credentials();
        if !self.perm().allows(&creds, Access::READ) {
            return err(EACCES);
        }
        let i = usize::try_from(num)
            .ok()
            .filter(|&i| i < self.nsems)
            .ok_or(Errno::new(EINVAL))?;
        let mut st = self.state.lock();
        if st.removed {
            return err(EIDRM);
        }
        Ok(match f {
            SemField::Value => st.sems[i].val as usize,
            SemField::Pid => st.sems[i].pid as usize,
            SemField::NCount => st.waiters.count(k, i, false),
            SemField::ZCount => st.waiters.count(k, i, true),
        })
    }

    /// GETALL: every value (EACCES without read permission, EIDRM).
    pub fn values<K: Kernel + ?Sized>(&self, k: &K) -> Result<Vec<u16>, Errno> {
        let st = self.state.lock();
        st.check(&k.credentials(), Access::READ)?;
        let mut out = Vec::new();
        out.try_reserve_exact(self.nsems)
            .map_err(|_| Errno::new(ENOMEM))?;
        out.extend(st.sems.iter().map(|s| s.val as u16));
        Ok(out)
    }

    /// SETVAL of semaphore `num`: ERANGE outside 0..=SEMVMX first, then
    /// EINVAL for a bad `num`, EACCES without alter permission, EIDRM.
    /// Clears every process's adjustment of it and wakes who can go on.
    pub fn set_value<K: Kernel + ?Sized>(&self, k: &K, num: i32, val: i32) -> Result<(), Errno> {
        if !(0..=SEMVMX).contains(&val) {
            return err(ERANGE);
        }
        let i = usize::try_from(num)
            .ok()
            .filter(|&i| i < self.nsems)
            .ok_or(Errno::new(EINVAL))?;
        let now = now_seconds(k);
        let mut st = self.state.lock();
        st.check(&k.credentials(), Access::WRITE)?;
        st.clear_undo(Some(i));
        st.sems[i] = Sem {
            val,
            pid: k.current_pid(),
        };
        st.ctime = now;
        st.update(k, Changed::All);
        Ok(())
    }

    /// SETALL: `vals` has one value per semaphore (the syscall layer read
    /// `nsems()` of them); ERANGE for any above SEMVMX (nothing changes),
    /// EACCES, EIDRM. Clears every adjustment of the set.
    pub fn set_all<K: Kernel + ?Sized>(&self, k: &K, vals: &[u16]) -> Result<(), Errno> {
        if vals.len() != self.nsems {
            return err(EINVAL);
        }
        if vals.iter().any(|&v| i32::from(v) > SEMVMX) {
            return err(ERANGE);
        }
        let pid = k.current_pid();
        let now = now_seconds(k);
        let mut st = self.state.lock();
        st.check(&k.credentials(), Access::WRITE)?;
        for (s, &v) in st.sems.iter_mut().zip(vals) {
            *s = Sem {
                val: i32::from(v),
                pid,
            };
        }
        st.clear_undo(None);
        st.ctime = now;
        st.update(k, Changed::All);
        Ok(())
    }

    fn stat<K: Kernel + ?Sized>(&self, k: &K, check: bool) -> Result<SemidDs, Errno> {
        let st = self.state.lock();
        if check && !st.perm.allows(&k.credentials(), Access::READ) {
            return err(EACCES);
        }
        if st.removed {
            return err(EIDRM);
        }
        Ok(SemidDs {
            perm: st.perm.to_abi(),
            otime: st.otime,
            ctime: st.ctime,
            nsems: self.nsems as u64,
        })
    }

    /// The exit of process `pid`: its adjustments of this set are added
    /// to the values, each clamped to 0..=SEMVMX, and whoever can go on
    /// then does (Linux's `exit_sem`).
    fn settle_undo<K: Kernel + ?Sized>(&self, k: &K, pid: Pid) {
        let mut st = self.state.lock();
        if st.removed {
            return;
        }
        let Some(adj) = st.undo.remove(&pid) else {
            return;
        };
        for (s, &a) in st.sems.iter_mut().zip(adj.iter()) {
            if a != 0 {
                s.val = settle(s.val, a);
                s.pid = pid;
            }
        }
        st.otime = now_seconds(k);
        st.update(k, Changed::All);
    }

    fn destroy<K: Kernel + ?Sized>(&self, k: &K) {
        let mut st = self.state.lock();
        st.removed = true;
        st.undo.clear();
        st.charge = None;
        st.waiters.remove_all(k);
    }
}

/// The semaphore sets of one namespace.
#[derive(Default)]
pub struct SemNamespace {
    ids: IdTable<SemSet>,
    /// Semaphores in all sets (SEM_INFO's semaem; semmns counts them).
    used: AtomicUsize,
}

impl SemNamespace {
    /// semget(key, nsems, semflg) -> id. EINVAL for nsems outside
    /// 0..=semmsl, 0 for a new set, or more than an existing set has;
    /// ENOSPC past semmns or semmni; ENOENT, EEXIST, EACCES as every
    /// SysV get.
    pub fn get<K: Kernel + ?Sized>(
        &self,
        k: &K,
        key: i32,
        nsems: i32,
        flags: u32,
    ) -> Result<i32, Errno> {
        let lim = limits(k);
        let n = usize::try_from(nsems)
            .ok()
            .filter(|&n| n <= lim.semmsl as usize)
            .ok_or(Errno::new(EINVAL))?;
        let now = now_seconds(k);
        let creds = k.credentials();
        let req = GetRequest {
            key,
            flags,
            limit: lim.semmni,
        };
        self.ids.get(
            &creds,
            req,
            |set| if set.nsems < n { err(EINVAL) } else { Ok(()) },
            |perm| {
                if n == 0 {
                    return err(EINVAL);
                }
                let used = self.used.load(Ordering::Relaxed);
                if used + n > lim.semmns as usize {
                    return err(ENOSPC);
                }
                let bytes = n.saturating_mul(BYTES_PER_SEM);
                let charge = k.ipc().acct.charge_with(
                    creds.euid,
                    creds.privileged(),
                    ObjectKind::SemSet,
                    &[(Resource::Sems, n), (Resource::KernelBytes, bytes)],
                )?;
                let set = SemSet {
                    nsems: n,
                    state: Mutex::new(SetState {
                        perm,
                        removed: false,
                        sems: boxed(n, Sem::default())?,
                        otime: 0,
                        ctime: now,
                        waiters: Waiters::new(n)?,
                        undo: UndoMap::new(),
                        charge: Some(charge),
                    }),
                };
                // Under the table lock: no other get races this check.
                self.used.fetch_add(n, Ordering::Relaxed);
                Ok(Arc::new(set))
            },
        )
    }

    /// The set `id` names (EINVAL).
    pub fn lookup(&self, id: i32) -> Result<Arc<SemSet>, Errno> {
        self.ids.lookup(id)
    }

    /// semtimedop after the syscall layer read the operations (1..=semopm
    /// of them) and the timeout: EINVAL, EFBIG for a sem_num past the
    /// set, EACCES, EIDRM, then the operations' own outcome (ERANGE,
    /// EAGAIN, EINTR, EIDRM while blocked).
    pub fn semop<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        ops: &Batch,
        deadline: Option<Deadline>,
    ) -> Result<(), Errno> {
        if ops.iter().any(SemBuf::undo) {
            // Linux finds (or makes) the undo entry first, before any
            // other check (EINVAL here, EIDRM): even a call that then
            // fails leaves one, and the exit that settles it moves
            // sem_otime.
            let pid = k.current_pid();
            k.ipc()
                .processes
                .of(pid)
                .state(SemUndoList::default)
                .add(id)?;
            self.ids.lookup(id)?.ensure_undo(pid)?;
        }
        let set = self.ids.lookup(id)?;
        let max = ops.iter().map(|o| usize::from(o.num)).max().unwrap_or(0);
        if max >= set.nsems {
            return err(EFBIG);
        }
        set.semop(k, ops, deadline)
    }

    /// IPC_STAT (by id, read permission) or SEM_STAT / SEM_STAT_ANY (by
    /// table index, `check` false for _ANY); returns the id SEM_STAT
    /// returns with the semid_ds.
    pub fn stat<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        by_index: bool,
        check: bool,
    ) -> Result<(i32, SemidDs), Errno> {
        let (full, set) = if by_index {
            self.ids.by_index(id)?
        } else {
            (0, self.ids.lookup(id)?)
        };
        Ok((full, set.stat(k, check)?))
    }

    /// IPC_SET: EINVAL, EPERM (not owner, creator or privileged), EINVAL
    /// for an id that names nobody.
    pub fn set<K: Kernel + ?Sized>(
        &self,
        k: &K,
        id: i32,
        uid: u32,
        gid: u32,
        mode: u32,
    ) -> Result<(), Errno> {
        let now = now_seconds(k);
        self.ids.control(&k.credentials(), id, |set| {
            let mut st = set.state.lock();
            st.perm.set(uid, gid, mode)?;
            st.ctime = now;
            Ok(())
        })
    }

    /// IPC_RMID: EINVAL, EPERM; every blocked caller fails EIDRM and the
    /// set's undo adjustments are dropped.
    pub fn remove<K: Kernel + ?Sized>(&self, k: &K, id: i32) -> Result<(), Errno> {
        self.remove_as(k, &k.credentials(), id)
    }

    fn remove_as<K: Kernel + ?Sized>(
        &self,
        k: &K,
        creds: &Credentials,
        id: i32,
    ) -> Result<(), Errno> {
        self.ids.remove(creds, id, |set| {
            set.destroy(k);
            self.used.fetch_sub(set.nsems, Ordering::Relaxed);
        })
    }

    /// IPC_INFO (`usage` false) or SEM_INFO (`usage` true), and the value
    /// both return: the highest index in use, or 0.
    pub fn info<K: Kernel + ?Sized>(&self, k: &K, usage: bool) -> (SemInfo, usize) {
        let lim = limits(k);
        let int = |n: u64| n.min(i32::MAX as u64) as i32;
        // SEMMAP, SEMMNU and SEMUME are Linux's compile-time constants
        // (SEMMNS = SEMMNI * SEMMSL, SEMOPM of the defaults), whatever the
        // tunables say (measured: tests/sysv_sem_conformance.rs, semget05).
        let mut info = SemInfo {
            semmap: SEMMAP,
            semmni: int(lim.semmni.into()),
            semmns: int(lim.semmns.into()),
            semmnu: SEMMAP,
            semmsl: int(lim.semmsl.into()),
            semopm: int(lim.semopm.into()),
            semume: SEMUME,
            semusz: SEMUSZ,
            semvmx: SEMVMX,
            semaem: SEMAEM,
        };
        if usage {
            info.semusz = int(self.ids.in_use() as u64);
            info.semaem = int(self.used.load(Ordering::Relaxed) as u64);
        }
        (info, self.ids.max_index().unwrap_or(0) as usize)
    }

    /// The exit hook's part for set `id`: applies `pid`'s adjustments if
    /// the set still exists.
    pub fn settle_undo<K: Kernel + ?Sized>(&self, k: &K, id: i32, pid: Pid) {
        if let Ok(set) = self.ids.lookup(id) {
            set.settle_undo(k, pid);
        }
    }

    /// Removes every set (the namespace is going away).
    pub fn remove_all<K: Kernel + ?Sized>(&self, k: &K) {
        let root = Credentials::new(0, 0);
        for (id, _) in self.ids.snapshot() {
            let _ = self.remove_as(k, &root, id);
        }
    }

    /// Number of sets.
    pub fn sets(&self) -> usize {
        self.ids.in_use()
    }

    /// Every set's id and values, as GETALL reads them (a harness
    /// compares them with what its model of the calls predicts; no
    /// permission check).
    pub fn contents(&self) -> Vec<(i32, Vec<u16>)> {
        self.ids
            .snapshot()
            .into_iter()
            .map(|(id, set)| {
                let st = set.state.lock();
                (id, st.sems.iter().map(|s| s.val as u16).collect())
            })
            .collect()
    }

    /// Semaphores in all sets (for leak checks).
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Blocked callers of set `id` (tests wait until one sleeps).
    pub fn blocked(&self, id: i32) -> Result<usize, Errno> {
        Ok(self.ids.lookup(id)?.state.lock().waiters.len())
    }
}
