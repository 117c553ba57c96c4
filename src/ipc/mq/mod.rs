//! POSIX message queues.
//!
//! `store` holds one queue's messages (priority order, O(log n), nothing
//! lost when a copy-out fails).

pub mod store;
