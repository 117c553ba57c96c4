//! The syscall layer: numbers, kernel ABI, dispatch, user-pointer helpers
//! and the per-architecture register conventions. Each family's file is
//! thin: decode the arguments, call the object, encode the result.

pub mod abi;
pub mod arch;
pub mod args;
pub mod dispatch;
pub mod numbers;
pub mod uaccess;

mod eventfd;
mod futex;
mod mq;
mod msg;
mod names;
mod sem;
mod sem_sysv;
mod signalfd;
mod timerfd;

pub use dispatch::{dispatch, dispatch_raw};
