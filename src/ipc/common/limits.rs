//! Accounting and limits: every kernel object is charged to the user that
//! created it, so no local user can grow kernel memory without bound.
//!
//! Two things are counted, per user and in the whole namespace:
//! - objects of each `ObjectKind` (one per object: named semaphores,
//!   fd-event objects, message queues, semaphore sets);
//! - amounts of each `Resource` (kernel bytes, POSIX mq bytes as
//!   RLIMIT_MSGQUEUE counts them, SysV message bytes, SysV semaphores),
//!   which a charge may grow and shrink while its object lives (queued
//!   message bytes).
//!
//! A `Charge` is held by the object it pays for and refunds itself when
//! the object is dropped; a user whose usage returns to zero leaves the
//! table. Adding a family is adding its `ObjectKind` (and any `Resource`)
//! with its default limits and errno in `ObjectKind::spec` /
//! `Resource::spec`, the one place limits are defined.
//!
//! The limits are readable and settable at run time by a privileged caller
//! (`Accounting::limits` / `set_limits`, as /proc/sys/fs/mqueue/queues_max
//! and /proc/sys/kernel/msg* are); a lowered limit refuses new charges and
//! leaves existing ones alone, as Linux does.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::errno::{err, Errno, EINVAL, EMFILE, ENOMEM, ENOSPC, EPERM};
use crate::ipc::mq::limits::MqLimits;
use crate::kernel::Credentials;
use crate::sync::Mutex;

/// No limit.
pub const UNLIMITED: usize = usize::MAX;

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
    /// A POSIX message queue (queues_max).
    MqQueue = 4,
    /// A SysV message queue (msgmni).
    MsgQueue = 5,
    /// A SysV semaphore set (semmni).
    SemSet = 6,
}

/// Number of `ObjectKind`s.
pub const KINDS: usize = 7;

/// Amounts charged beside object counts; they may grow and shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Resource {
    /// Kernel memory held for a user's objects.
    KernelBytes = 0,
    /// POSIX mq bytes as RLIMIT_MSGQUEUE counts them, charged at mq_open
    /// for a queue's whole capacity.
    MqBytes = 1,
    /// Bytes of queued SysV messages.
    MsgBytes = 2,
    /// SysV semaphores, across all sets (semmns).
    Sems = 3,
    /// Timer-queue slots: one per timerfd, reserved at timerfd_create so
    /// that arming and expiry never allocate (the queue holds at most one
    /// entry per slot).
    TimerSlots = 4,
}

/// Number of `Resource`s.
pub const RESOURCES: usize = 5;

/// A limit's defaults and how it refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Default limit for one unprivileged user.
    pub per_user: usize,
    /// Default limit for the whole namespace.
    pub total: usize,
    /// The errno of a refused charge.
    pub errno: i32,
    /// Whether a privileged caller is held to the per-user limit.
    pub per_user_binds_privileged: bool,
    /// Whether a privileged caller is held to the namespace total.
    pub total_binds_privileged: bool,
}

const fn spec(per_user: usize, total: usize, errno: i32, binds: (bool, bool)) -> Spec {
    Spec {
        per_user,
        total,
        errno,
        per_user_binds_privileged: binds.0,
        total_binds_privileged: binds.1,
    }
}

/// Privileged callers pass the per-user limit but not the total.
const TOTAL_ONLY: (bool, bool) = (false, true);

impl ObjectKind {
    /// Every kind, in index order.
    pub const ALL: [ObjectKind; KINDS] = [
        ObjectKind::NamedSem,
        ObjectKind::EventFd,
        ObjectKind::SignalFd,
        ObjectKind::TimerFd,
        ObjectKind::MqQueue,
        ObjectKind::MsgQueue,
        ObjectKind::SemSet,
    ];

    /// Defaults and errno of this kind's limits (Linux's where Linux has
    /// them; the host's RLIMIT_NOFILE bounds fd objects per process, these
    /// per user).
    pub const fn spec(self) -> Spec {
        match self {
            ObjectKind::NamedSem => spec(256, 4096, ENOSPC, TOTAL_ONLY),
            ObjectKind::EventFd => spec(4096, 65536, ENOSPC, TOTAL_ONLY),
            ObjectKind::SignalFd => spec(1024, 16384, ENOSPC, TOTAL_ONLY),
            ObjectKind::TimerFd => spec(4096, 65536, ENOSPC, TOTAL_ONLY),
            // queues_max: CAP_SYS_RESOURCE passes it.
            ObjectKind::MqQueue => spec(UNLIMITED, 256, ENOSPC, (false, false)),
            // msgmni, semmni: nobody passes them.
            ObjectKind::MsgQueue => spec(UNLIMITED, 32000, ENOSPC, (false, true)),
            ObjectKind::SemSet => spec(UNLIMITED, 32000, ENOSPC, (false, true)),
        }
    }
}

impl Resource {
    /// Every resource, in index order.
    pub const ALL: [Resource; RESOURCES] = [
        Resource::KernelBytes,
        Resource::MqBytes,
        Resource::MsgBytes,
        Resource::Sems,
        Resource::TimerSlots,
    ];

    /// Defaults and errno of this resource's limits.
    pub const fn spec(self) -> Spec {
        match self {
            Resource::KernelBytes => spec(8 << 20, UNLIMITED, ENOMEM, TOTAL_ONLY),
            // RLIMIT_MSGQUEUE (819200) binds root too: it is an rlimit.
            Resource::MqBytes => spec(819_200, UNLIMITED, EMFILE, (true, true)),
            // Not a Linux limit (msgmnb per queue and msgmni bound it
            // there): ours keeps one user from holding 32000 full queues.
            Resource::MsgBytes => spec(16 << 20, UNLIMITED, ENOMEM, TOTAL_ONLY),
            // semmns.
            Resource::Sems => spec(UNLIMITED, 1_024_000_000, ENOSPC, (false, true)),
            // As many as timerfds: a bound of its own on the queue.
            Resource::TimerSlots => spec(4096, 65536, ENOSPC, TOTAL_ONLY),
        }
    }
}

/// The families' limits that are not counts, Linux's defaults: SysV's
/// (/proc/sys/kernel/msgmax, msgmnb, and sem's semmsl and semopm;
/// `ipc::sysv::limits` shows them with the counts msgmni, semmni and
/// semmns as Linux's files) and POSIX mq's (/proc/sys/fs/mqueue/msg_max,
/// msgsize_max, msg_default, msgsize_default: `mq::limits::MqLimits`).
/// mq's counts, queues_max and RLIMIT_MSGQUEUE, are the object and amount
/// limits above (`ObjectKind::MqQueue`, `Resource::MqBytes`);
/// `mq::limits::MqTunable` reads and writes all five /proc/sys/fs/mqueue
/// files by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilyLimits {
    /// SysV msg: largest message (msgmax).
    pub msgmax: usize,
    /// SysV msg: bytes a new queue may hold (msgmnb, its msg_qbytes).
    pub msgmnb: usize,
    /// SysV sem: most semaphores in a set (semmsl).
    pub semmsl: usize,
    /// SysV sem: most operations in one semop (semopm).
    pub semopm: usize,
    /// POSIX mq: message ceilings and defaults.
    pub mq: MqLimits,
}

impl Default for FamilyLimits {
    fn default() -> Self {
        FamilyLimits {
            msgmax: 8192,
            msgmnb: 16384,
            semmsl: 32000,
            semopm: 500,
            mq: MqLimits::default(),
        }
    }
}

impl FamilyLimits {
    /// Whether every value is one Linux's sysctls accept (the /proc files
    /// are ints).
    fn valid(&self) -> bool {
        let int = |v: usize| v <= i32::MAX as usize;
        int(self.msgmax)
            && int(self.msgmnb)
            && int(self.semmsl)
            && int(self.semopm)
            && self.mq.valid()
    }
}

/// Configured limits of one IPC namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Objects of each kind one user may hold.
    pub per_user_objects: [usize; KINDS],
    /// Objects of each kind in the whole namespace.
    pub total_objects: [usize; KINDS],
    /// Amount of each resource one user may hold.
    pub per_user_amounts: [usize; RESOURCES],
    /// Amount of each resource in the whole namespace.
    pub total_amounts: [usize; RESOURCES],
    /// The families' other limits.
    pub family: FamilyLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_user_objects: ObjectKind::ALL.map(|k| k.spec().per_user),
            total_objects: ObjectKind::ALL.map(|k| k.spec().total),
            per_user_amounts: Resource::ALL.map(|r| r.spec().per_user),
            total_amounts: Resource::ALL.map(|r| r.spec().total),
            family: FamilyLimits::default(),
        }
    }
}

/// What one user (or the namespace) holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Objects per kind.
    pub objects: [usize; KINDS],
    /// Amounts per resource.
    pub amounts: [usize; RESOURCES],
}

impl Usage {
    /// Whether nothing is held.
    pub fn is_zero(&self) -> bool {
        *self == Usage::default()
    }

    /// Kernel bytes held.
    pub fn bytes(&self) -> usize {
        self.amounts[Resource::KernelBytes as usize]
    }
}

/// What is still charged in a namespace (a leak check's report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outstanding {
    /// Users holding anything.
    pub users: usize,
    /// The namespace's totals.
    pub totals: Usage,
}

impl Outstanding {
    /// Whether everything has been refunded.
    pub fn is_zero(&self) -> bool {
        self.users == 0 && self.totals.is_zero()
    }
}

struct Table {
    limits: Limits,
    users: BTreeMap<u32, Usage>,
    totals: Usage,
}

impl Table {
    /// Whether `uid` may add `amount` of resource `r` (on top of what it
    /// holds), or the errno that refuses it.
    fn check_amount(
        &self,
        now: &Usage,
        privileged: bool,
        r: Resource,
        amount: usize,
    ) -> Option<i32> {
        amount_refused(
            &self.limits,
            &self.totals,
            now.amounts[r as usize],
            privileged,
            r,
            amount,
        )
    }

    fn check_object(&self, now: &Usage, privileged: bool, kind: ObjectKind) -> Option<i32> {
        let (i, s) = (kind as usize, kind.spec());
        let total_binds = s.total_binds_privileged || !privileged;
        let user_binds = s.per_user_binds_privileged || !privileged;
        ((total_binds && self.totals.objects[i] >= self.limits.total_objects[i])
            || (user_binds && now.objects[i] >= self.limits.per_user_objects[i]))
            .then_some(s.errno)
    }

    fn apply(&mut self, uid: u32, f: impl Fn(&mut Usage)) {
        f(&mut self.totals);
        let user = self.users.entry(uid).or_default();
        f(user);
        if user.is_zero() {
            self.users.remove(&uid);
        }
    }
}

/// Whether a user holding `held` of `r` may add `amount` (with the
/// namespace's `totals`), or the errno that refuses it.
fn amount_refused(
    limits: &Limits,
    totals: &Usage,
    held: usize,
    privileged: bool,
    r: Resource,
    amount: usize,
) -> Option<i32> {
    let (i, s) = (r as usize, r.spec());
    let over = |held: usize, limit: usize| held.saturating_add(amount) > limit;
    let total_binds = s.total_binds_privileged || !privileged;
    let user_binds = s.per_user_binds_privileged || !privileged;
    ((total_binds && over(totals.amounts[i], limits.total_amounts[i]))
        || (user_binds && over(held, limits.per_user_amounts[i])))
    .then_some(s.errno)
}

/// The accounting of one IPC namespace.
pub struct Accounting {
    table: Mutex<Table>,
}

impl Accounting {
    /// Accounting under `limits`.
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Accounting {
            table: Mutex::new(Table {
                limits,
                users: BTreeMap::new(),
                totals: Usage::default(),
            }),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.table.lock().limits
    }

    /// `f` of the limits in force, without copying them all (a hot path
    /// reading one value).
    pub fn with_limits<R>(&self, f: impl FnOnce(&Limits) -> R) -> R {
        f(&self.table.lock().limits)
    }

    /// Replaces the limits: EPERM unless `creds` are privileged, EINVAL
    /// for a family value Linux's sysctl would refuse (nothing changes).
    /// Charges already made stay, even above a lowered limit.
    pub fn set_limits(&self, creds: &Credentials, limits: Limits) -> Result<(), Errno> {
        self.update_limits(creds, |l| {
            *l = limits;
            Ok(())
        })
    }

    /// Changes the limits in place under one lock (a read-modify-write
    /// such as writing one /proc/sys/fs/mqueue file): EPERM unless `creds`
    /// are privileged; `change`'s error, or EINVAL for a family value
    /// Linux's sysctl would refuse, leaves them as they were.
    pub fn update_limits(
        &self,
        creds: &Credentials,
        change: impl FnOnce(&mut Limits) -> Result<(), Errno>,
    ) -> Result<(), Errno> {
        if !creds.privileged() {
            return err(EPERM);
        }
        let mut t = self.table.lock();
        let mut next = t.limits;
        change(&mut next)?;
        if !next.family.valid() {
            return err(EINVAL);
        }
        t.limits = next;
        Ok(())
    }

    /// Charges one object of `kind` costing `bytes` of kernel memory to
    /// `uid` (the kind's errno, ENOSPC, at an object limit; ENOMEM at the
    /// user's bytes). `privileged` callers pass the limits their kind lets
    /// them pass.
    pub fn charge(
        self: &Arc<Self>,
        uid: u32,
        privileged: bool,
        kind: ObjectKind,
        bytes: usize,
    ) -> Result<Charge, Errno> {
        self.charge_with(uid, privileged, kind, &[(Resource::KernelBytes, bytes)])
    }

    /// Charges one object of `kind` and `amounts` of resources to `uid`,
    /// all or nothing; a refusal is the errno of the first limit hit
    /// (object kinds first, then resources in the order given), e.g.
    /// mq_open: `MqQueue` (ENOSPC), then `MqBytes` for the queue's
    /// capacity (EMFILE).
    pub fn charge_with(
        self: &Arc<Self>,
        uid: u32,
        privileged: bool,
        kind: ObjectKind,
        amounts: &[(Resource, usize)],
    ) -> Result<Charge, Errno> {
        let mut want = [0usize; RESOURCES];
        for &(r, n) in amounts {
            want[r as usize] = want[r as usize].saturating_add(n);
        }
        let mut t = self.table.lock();
        let now = t.users.get(&uid).copied().unwrap_or_default();
        if let Some(errno) = t.check_object(&now, privileged, kind) {
            return err(errno);
        }
        for &(r, _) in amounts {
            if let Some(errno) = t.check_amount(&now, privileged, r, want[r as usize]) {
                return err(errno);
            }
        }
        t.apply(uid, |u| {
            u.objects[kind as usize] += 1;
            for (held, add) in u.amounts.iter_mut().zip(want) {
                *held += add;
            }
        });
        Ok(Charge {
            acct: self.clone(),
            uid,
            privileged,
            kind,
            amounts: want,
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

    /// The namespace's totals and every user holding anything, taken
    /// under one lock (a consistency check: the totals are the sum of the
    /// users', and no user is listed holding nothing).
    pub fn snapshot(&self) -> (Usage, Vec<(u32, Usage)>) {
        let t = self.table.lock();
        (t.totals, t.users.iter().map(|(u, x)| (*u, *x)).collect())
    }

    /// Number of users holding anything, for leak checks.
    pub fn users_charged(&self) -> usize {
        self.table.lock().users.len()
    }

    /// What is still charged: zero once every object is gone (the leak
    /// check tests make at their end).
    pub fn outstanding(&self) -> Outstanding {
        let t = self.table.lock();
        Outstanding {
            users: t.users.len(),
            totals: t.totals,
        }
    }

    // A live charge holds an object, so its user has an entry: grow and
    // shrink (once per message sent and received) search the user table
    // once and touch one resource, not the whole usage.
    fn grow(&self, c: &Charge, r: Resource, amount: usize, errno: i32) -> Result<(), Errno> {
        let mut guard = self.table.lock();
        let t = &mut *guard;
        let i = r as usize;
        let Some(u) = t.users.get_mut(&c.uid) else {
            if t.check_amount(&Usage::default(), c.privileged, r, amount)
                .is_some()
            {
                return err(errno);
            }
            t.apply(c.uid, |u| u.amounts[i] += amount);
            return Ok(());
        };
        if amount_refused(&t.limits, &t.totals, u.amounts[i], c.privileged, r, amount).is_some() {
            return err(errno);
        }
        u.amounts[i] += amount;
        t.totals.amounts[i] += amount;
        Ok(())
    }

    /// Gives back `amount` of `r` alone (see `grow`).
    fn shrink(&self, uid: u32, r: Resource, amount: usize) {
        let mut guard = self.table.lock();
        let t = &mut *guard;
        let i = r as usize;
        t.totals.amounts[i] = t.totals.amounts[i].saturating_sub(amount);
        if let Some(u) = t.users.get_mut(&uid) {
            u.amounts[i] = u.amounts[i].saturating_sub(amount);
            if u.is_zero() {
                t.users.remove(&uid);
            }
        }
    }

    fn refund(&self, uid: u32, objects: usize, kind: ObjectKind, amounts: [usize; RESOURCES]) {
        self.table.lock().apply(uid, |u| {
            u.objects[kind as usize] = u.objects[kind as usize].saturating_sub(objects);
            for (held, give) in u.amounts.iter_mut().zip(amounts) {
                *held = held.saturating_sub(give);
            }
        });
    }
}

/// One object's payment; refunded on drop. Its amounts may grow and
/// shrink while the object lives (the object holds it under its own lock;
/// accounting's lock is taken inside, innermost).
pub struct Charge {
    acct: Arc<Accounting>,
    uid: u32,
    privileged: bool,
    kind: ObjectKind,
    amounts: [usize; RESOURCES],
}

impl Charge {
    /// The user charged.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// How much of `r` this charge holds now (the object's own usage).
    pub fn amount(&self, r: Resource) -> usize {
        self.amounts[r as usize]
    }

    /// Adds `amount` of `r` (a message queued): fails with `errno`, the
    /// caller's choice (EAGAIN for msgsnd, for instance), when the user's
    /// or the namespace's limit would be passed, or when this object would
    /// hold more than `object_cap` (msgmnb; `UNLIMITED` for none). Nothing
    /// changes on failure.
    pub fn grow(
        &mut self,
        r: Resource,
        amount: usize,
        object_cap: usize,
        errno: i32,
    ) -> Result<(), Errno> {
        let i = r as usize;
        if self.amounts[i].saturating_add(amount) > object_cap {
            return err(errno);
        }
        self.acct.grow(self, r, amount, errno)?;
        self.amounts[i] += amount;
        Ok(())
    }

    /// Adds back `amount` of `r` that this charge just gave back, without
    /// checking limits (a received message put back after its copy to
    /// user memory failed: refusing it would lose the message).
    pub fn regrow(&mut self, r: Resource, amount: usize) {
        self.acct
            .table
            .lock()
            .apply(self.uid, |u| u.amounts[r as usize] += amount);
        self.amounts[r as usize] += amount;
    }

    /// Gives back `amount` of `r` (a message received); at most what the
    /// charge holds.
    pub fn shrink(&mut self, r: Resource, amount: usize) {
        let i = r as usize;
        let give = amount.min(self.amounts[i]);
        self.acct.shrink(self.uid, r, give);
        self.amounts[i] -= give;
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.acct.refund(self.uid, 1, self.kind, self.amounts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Arc<Accounting> {
        let mut limits = Limits {
            per_user_objects: [2; KINDS],
            total_objects: [3; KINDS],
            ..Limits::default()
        };
        limits.per_user_amounts[Resource::KernelBytes as usize] = 100;
        Accounting::new(limits)
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
        assert!(a.outstanding().is_zero());
    }

    #[test]
    fn byte_limit_gives_enomem_and_changes_nothing() {
        let a = small();
        assert_eq!(
            a.charge(1, false, ObjectKind::NamedSem, 101).err(),
            Some(Errno::new(ENOMEM))
        );
        assert!(a.outstanding().is_zero());
        let _big = a.charge(0, true, ObjectKind::NamedSem, 1000).unwrap();
        assert_eq!(a.usage(0).bytes(), 1000);
    }

    #[test]
    fn defaults_are_each_kinds_spec() {
        let l = Limits::default();
        assert_eq!(l.total_objects[ObjectKind::MqQueue as usize], 256);
        assert_eq!(l.per_user_amounts[Resource::MqBytes as usize], 819_200);
        assert_eq!(l.total_objects[ObjectKind::MsgQueue as usize], 32000);
        assert_eq!(l.total_amounts[Resource::Sems as usize], 1_024_000_000);
        for (i, k) in ObjectKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "ALL is in index order");
        }
        for (i, r) in Resource::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "ALL is in index order");
        }
    }

    #[test]
    fn mq_open_charges_capacity_all_or_nothing_with_each_limits_errno() {
        let a = Accounting::new(Limits::default());
        let queue = |uid, privileged, cap| {
            a.charge_with(
                uid,
                privileged,
                ObjectKind::MqQueue,
                &[(Resource::KernelBytes, 64), (Resource::MqBytes, cap)],
            )
        };
        let q1 = queue(1, false, 800_000).unwrap();
        // Past RLIMIT_MSGQUEUE: EMFILE, and nothing was charged.
        assert_eq!(queue(1, false, 20_000).err(), Some(Errno::new(EMFILE)));
        assert_eq!(a.usage(1).objects[ObjectKind::MqQueue as usize], 1);
        assert_eq!(a.usage(1).amounts[Resource::MqBytes as usize], 800_000);
        // The rlimit binds root too.
        assert_eq!(queue(0, true, 900_000).err(), Some(Errno::new(EMFILE)));
        // queues_max: ENOSPC for users, root passes it.
        let mut held = alloc::vec![q1];
        while held.len() < 256 {
            held.push(queue(2 + held.len() as u32, false, 1).unwrap());
        }
        assert_eq!(queue(999, false, 1).err(), Some(Errno::new(ENOSPC)));
        held.push(queue(0, true, 1).unwrap());
        drop(held);
        assert!(a.outstanding().is_zero());
    }

    #[test]
    fn a_charge_grows_and_shrinks_within_object_user_and_total_limits() {
        let mut limits = Limits::default();
        limits.per_user_amounts[Resource::MsgBytes as usize] = 300;
        limits.total_amounts[Resource::MsgBytes as usize] = 500;
        let a = Accounting::new(limits);
        let eagain = crate::errno::EAGAIN;
        let mut q = a.charge(1, false, ObjectKind::MsgQueue, 10).unwrap();
        let mut q2 = a.charge(1, false, ObjectKind::MsgQueue, 10).unwrap();
        let mut other = a.charge(2, false, ObjectKind::MsgQueue, 10).unwrap();
        let msg = Resource::MsgBytes;
        q.grow(msg, 150, 200, eagain).unwrap();
        // The object's own cap (msgmnb) refuses with the caller's errno.
        assert_eq!(q.grow(msg, 51, 200, eagain).err(), Some(Errno::new(eagain)));
        q.grow(msg, 50, 200, eagain).unwrap();
        // The user's limit (300) counts both queues.
        assert_eq!(
            q2.grow(msg, 101, UNLIMITED, ENOMEM).err(),
            Some(Errno::new(ENOMEM))
        );
        q2.grow(msg, 100, UNLIMITED, ENOMEM).unwrap();
        // The namespace's total (500) counts every user.
        assert_eq!(
            other.grow(msg, 201, UNLIMITED, eagain).err(),
            Some(Errno::new(eagain))
        );
        other.grow(msg, 200, UNLIMITED, eagain).unwrap();
        assert_eq!(a.usage(1).amounts[msg as usize], 300);
        assert_eq!(q.amount(msg), 200);
        q.shrink(msg, 120);
        assert_eq!(q.amount(msg), 80);
        assert_eq!(a.usage(1).amounts[msg as usize], 180);
        q.shrink(msg, 1000); // at most what it holds
        assert_eq!(q.amount(msg), 0);
        assert_eq!(a.usage(1).amounts[msg as usize], 100);
        drop((q, q2, other));
        assert!(a.outstanding().is_zero(), "{:?}", a.outstanding());
    }

    #[test]
    fn limits_are_read_and_set_by_the_privileged_only() {
        let a = Accounting::new(Limits::default());
        let mut l = a.limits();
        l.total_objects[ObjectKind::MqQueue as usize] = 1;
        l.family.msgmnb = 20;
        let user = Credentials::new(1000, 1000);
        let root = Credentials::new(0, 0);
        assert_eq!(a.set_limits(&user, l).err(), Some(Errno::new(EPERM)));
        assert_eq!(a.limits(), Limits::default(), "a refusal changes nothing");
        a.set_limits(&root, l).unwrap();
        assert_eq!(a.limits().family.msgmnb, 20);
        let q = a.charge(1, false, ObjectKind::MqQueue, 1).unwrap();
        assert_eq!(
            a.charge(2, false, ObjectKind::MqQueue, 1).err(),
            Some(Errno::new(ENOSPC))
        );
        // Lowering below what is held keeps existing charges.
        l.total_objects[ObjectKind::MqQueue as usize] = 0;
        a.set_limits(&root, l).unwrap();
        assert_eq!(a.usage(1).objects[ObjectKind::MqQueue as usize], 1);
        drop(q);
        // Values Linux's sysctls refuse: EINVAL, nothing changes.
        for bad in [
            FamilyLimits {
                msgmnb: usize::MAX,
                ..l.family
            },
            FamilyLimits {
                semopm: i32::MAX as usize + 1,
                ..l.family
            },
        ] {
            let try_l = Limits { family: bad, ..l };
            assert_eq!(a.set_limits(&root, try_l).err(), Some(Errno::new(EINVAL)));
        }
        assert_eq!(a.limits(), l);
    }
}
