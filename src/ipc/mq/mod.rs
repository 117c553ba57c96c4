//! POSIX message queues.
//!
//! - `limits`: the /proc/sys/fs/mqueue tunables and Linux's capacity
//!   rules (the values live in `common::limits`);
//! - `store`: one queue's messages (priority order, O(log n), nothing
//!   lost when a copy-out fails);
//! - `queue`: the queue object behind every description (send, receive,
//!   hand-off both ways, attributes, notification, readiness);
//! - `notify`: mq_notify registrations;
//! - `namespace`: names, mq_open's checks and accounting, mq_unlink.

pub mod limits;
pub mod namespace;
pub mod notify;
pub mod queue;
pub mod store;
