//! SysV semaphore sets (sys/sem.h).
//!
//! - `ops`: the semop engine (atomic application of one call's
//!   operations, SEM_UNDO adjustments, exit settlement);
//! - `wake`: the blocked callers of a set and how a change completes them;
//! - `set`: the set object and the namespace's table of sets;
//! - `undo`: the per-process list of sets with SEM_UNDO adjustments.

pub mod ops;
pub mod set;
pub mod undo;
pub mod wake;

pub use set::{SemField, SemNamespace, SemSet};
