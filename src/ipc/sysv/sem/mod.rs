//! SysV semaphore sets.
//!
//! `ops` is the semop engine (atomic application of one call's
//! operations, SEM_UNDO adjustments, exit settlement).

pub mod ops;
