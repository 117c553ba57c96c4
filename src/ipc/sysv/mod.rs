//! System V IPC: the machinery every SysV family shares, and the families.
//!
//! - `ids`: the key -> id table (IPC_PRIVATE, IPC_CREAT / IPC_EXCL,
//!   sequence-numbered ids, removal under the table lock);
//! - `perm`: `IpcPerm`, the permission object mutable under IPC_SET;
//! - `limits`: the SysV tunables (msgmni, msgmax, msgmnb, sem) as a view
//!   of the namespace's one set of limits, settable by the privileged;
//! - `msg`: message queues (sys/msg.h);
//! - `sem`: semaphore sets (sys/sem.h).
//!
//! Lock order (outermost first): a family's id table, then one object's
//! state, then the accounting table (which holds the limits). A family's calls reach user memory only
//! with none of these held.

pub mod ids;
pub mod limits;
pub mod msg;
pub mod perm;
pub mod sem;

/// The SysV part of one IPC namespace (its limits are the namespace's
/// `Accounting`'s; `limits` shows them).
#[derive(Default)]
pub struct SysvNamespace {
    /// Message queues.
    pub msg: msg::MsgNamespace,
    /// Semaphore sets.
    pub sem: sem::SemNamespace,
}

impl SysvNamespace {
    /// Removes every SysV object (`ipcrm -a`; the namespace is going
    /// away): SysV objects outlive the processes that made them, so a
    /// host that tears a namespace down, or a test runner between
    /// programs, calls this. Blocked callers fail EIDRM.
    pub fn remove_all<K: crate::kernel::Kernel + ?Sized>(&self, k: &K) {
        self.msg.remove_all(k);
        self.sem.remove_all(k);
    }
}

/// The current CLOCK_REALTIME second, the unit of every SysV time field.
pub fn now_seconds<K: crate::kernel::Kernel + ?Sized>(k: &K) -> i64 {
    (k.now(crate::kernel::ClockId::Realtime) / 1_000_000_000) as i64
}
