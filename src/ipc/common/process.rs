//! Per-process IPC state and the host's fork and exit hooks.
//!
//! Some IPC state belongs to a process rather than to an object: SysV
//! SEM_UNDO adjustments (shared by the threads of a process, not inherited
//! across fork, applied when the process exits) and POSIX mq_notify
//! registrations (they end with their process). The subsystem keeps it
//! here, keyed by pid, so a host stores nothing for it; the host's part is
//! two calls:
//!
//! - `Ipc::process_exit(k, pid)` once per process, after its last thread
//!   has left the subsystem for good (every task of `pid` has ended, or
//!   can no longer make a call), and before `pid` can name another
//!   process. A thread blocked in the subsystem when its process is killed
//!   or exits is interrupted (`Kernel::park` returns `Interrupted`),
//!   returns, and ends; only then is the hook due, so settling never races
//!   with a thread of the same process still using its state.
//! - `Ipc::process_fork(k, parent, child)` when `child` is created as a
//!   copy of `parent` (fork, not a new thread). Nothing is inherited
//!   unless a state says so (`ProcessState::fork`); none does today:
//!   SEM_UNDO adjustments start empty in the child (POSIX semop) and mq
//!   notifications are not inherited (POSIX mq_notify).
//!
//! In both hooks `k`'s calling task is not of the process concerned (it
//! may be a parent, a reaper, or none at all): states use only the pid
//! they are given and `Kernel::unpark`, never the `current_*` methods.
//!
//! Lock order: the table's lock is a leaf (nothing is called with it
//! held); a state's own locks come after the locks of the objects it
//! refers to. `exit` and `fork` run with no subsystem lock held.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use crate::kernel::{Kernel, Pid};
use crate::sync::Mutex;

/// State a family keeps for one process (one value per type and process).
pub trait ProcessState: Any + Send + Sync {
    /// The process `pid` has exited: settle (SEM_UNDO) or drop what it
    /// registered (mq_notify). Called once, with no subsystem lock held.
    /// It must not park and must not touch user memory (the process's
    /// address space may be gone; on Redox it runs on the dying thread).
    fn exit(&self, k: &dyn Kernel, pid: Pid);

    /// The state the child of a fork starts with, or None (the default:
    /// not inherited).
    fn fork(&self, k: &dyn Kernel, child: Pid) -> Option<Arc<dyn ProcessState>> {
        let _ = (k, child);
        None
    }
}

/// The IPC state of one process: at most one value of each state type,
/// shared by all its threads.
#[derive(Default)]
pub struct ProcessIpc {
    states: Mutex<Vec<Arc<dyn ProcessState>>>,
}

fn downcast<T: ProcessState>(state: &Arc<dyn ProcessState>) -> Option<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = state.clone();
    any.downcast::<T>().ok()
}

impl ProcessIpc {
    /// The process's `T`, made by `make` on first use.
    pub fn state<T: ProcessState>(&self, make: impl FnOnce() -> T) -> Arc<T> {
        let mut states = self.states.lock();
        if let Some(found) = states.iter().find_map(downcast::<T>) {
            return found;
        }
        let made = Arc::new(make());
        states.push(made.clone());
        made
    }

    /// The process's `T`, if it has one.
    pub fn get<T: ProcessState>(&self) -> Option<Arc<T>> {
        self.states.lock().iter().find_map(downcast::<T>)
    }

    fn take_all(&self) -> Vec<Arc<dyn ProcessState>> {
        core::mem::take(&mut *self.states.lock())
    }

    fn snapshot(&self) -> Vec<Arc<dyn ProcessState>> {
        self.states.lock().clone()
    }
}

/// Every process that has IPC state, by pid. A process enters on first
/// use and leaves at `exit`.
#[derive(Default)]
pub struct ProcessTable {
    procs: Mutex<BTreeMap<Pid, Arc<ProcessIpc>>>,
}

impl ProcessTable {
    /// The state of process `pid`, created on first use.
    pub fn of(&self, pid: Pid) -> Arc<ProcessIpc> {
        self.procs.lock().entry(pid).or_default().clone()
    }

    /// The state of `pid` if it has any.
    pub fn get(&self, pid: Pid) -> Option<Arc<ProcessIpc>> {
        self.procs.lock().get(&pid).cloned()
    }

    /// Number of processes with state (tests prove it returns to zero).
    pub fn len(&self) -> usize {
        self.procs.lock().len()
    }

    /// Whether no process has state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The exit hook: `pid` leaves the table, then each of its states
    /// settles, in the order they were attached.
    pub fn exit(&self, k: &dyn Kernel, pid: Pid) {
        let Some(proc_ipc) = self.procs.lock().remove(&pid) else {
            return;
        };
        for state in proc_ipc.take_all() {
            state.exit(k, pid);
        }
    }

    /// The fork hook: `child` starts with what `parent`'s states pass on
    /// (nothing, by default). A stale entry under `child` (a host that
    /// reused a pid without the exit hook) is settled first, so the child
    /// never sees another process's state.
    pub fn fork(&self, k: &dyn Kernel, parent: Pid, child: Pid) {
        self.exit(k, child);
        let Some(from) = self.get(parent) else {
            return;
        };
        let inherited: Vec<_> = from
            .snapshot()
            .iter()
            .filter_map(|s| s.fork(k, child))
            .collect();
        if inherited.is_empty() {
            return;
        }
        let to = self.of(child);
        to.states.lock().extend(inherited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{AtomicU32, Ordering};

    /// A state that counts its settlements into a shared counter.
    struct Counted(Arc<AtomicU32>);

    impl ProcessState for Counted {
        fn exit(&self, _: &dyn Kernel, _: Pid) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Other;
    impl ProcessState for Other {
        fn exit(&self, _: &dyn Kernel, _: Pid) {}
    }

    #[test]
    fn one_state_per_type_and_process() {
        let t = ProcessTable::default();
        let n = Arc::new(AtomicU32::new(0));
        let a = t.of(7).state(|| Counted(n.clone()));
        let b = t.of(7).state(|| Counted(Arc::new(AtomicU32::new(99))));
        assert!(Arc::ptr_eq(&a, &b), "the second make is not used");
        assert!(t.of(7).get::<Other>().is_none());
        t.of(7).state(|| Other);
        assert!(t.of(7).get::<Other>().is_some());
        assert!(t.of(8).get::<Counted>().is_none(), "per process");
        assert_eq!(t.len(), 2);
    }
}
