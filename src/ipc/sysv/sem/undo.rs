//! SEM_UNDO: the per-process list of sets a process holds adjustments in
//! (Linux's `sem_undo_list`). The adjustments themselves live in each
//! set, keyed by pid, so a waker completing a blocked SEM_UNDO call finds
//! them without allocating; this list only says where to look when the
//! process exits. It is shared by the threads of a process (one per pid)
//! and not inherited across fork (`ProcessState::fork`'s default).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::errno::Errno;
use crate::ipc::common::process::ProcessState;
use crate::kernel::{Kernel, Pid};
use crate::sync::Mutex;

/// The sets (by id) a process made SEM_UNDO calls on.
#[derive(Default)]
pub struct SemUndoList {
    sets: Mutex<BTreeSet<i32>>,
}

impl SemUndoList {
    /// Records set `id` (its adjustments are settled at exit).
    pub fn add(&self, id: i32) -> Result<(), Errno> {
        self.sets.lock().insert(id);
        Ok(())
    }

    /// The sets recorded (tests).
    pub fn sets(&self) -> Vec<i32> {
        self.sets.lock().iter().copied().collect()
    }
}

impl ProcessState for SemUndoList {
    fn exit(&self, k: &dyn Kernel, pid: Pid) {
        let ids = core::mem::take(&mut *self.sets.lock());
        for id in ids {
            k.ipc().sysv.sem.settle_undo(k, id, pid);
        }
    }
}
