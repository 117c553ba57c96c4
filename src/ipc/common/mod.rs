//! The machinery every family shares: blocking and wait queues, open
//! descriptions, name tables, permissions, accounting and limits, poll,
//! per-process state, time.

pub mod file;
pub mod limits;
pub mod name;
pub mod names;
pub mod open_file;
pub mod perm;
pub mod poll;
pub mod pollee;
pub mod process;
pub mod registry;
pub mod time;
pub mod wait;
pub mod waitq;
