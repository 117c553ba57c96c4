//! POSIX message queues.
//!
//! `limits` holds the tunables and Linux's capacity rules; `store` holds one queue's messages (priority order, O(log n), nothing
//! lost when a copy-out fails).

pub mod limits;
pub mod store;
