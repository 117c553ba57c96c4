//! relibc-shim: the C API of Red Bear IPC.
//!
//! Each IPC family is one module here and one header under `include/`
//! (`sem` + `semaphore.h`); a family's variadic C entry points, if any, are
//! a C file under `src/c/` that `build.rs` compiles. Everything a family
//! needs from below is in `sys` (syscalls, errno, user-memory staging) and
//! `cabi` (libc's values on this target and their translation to the
//! kernel ABI).
//!
//! Syscalls trap through `arch` (x86_64 `syscall`, aarch64 `svc #0`), or,
//! with the `hosted-backend` feature, go to `redbear_ipc::syscall::dispatch`
//! on a process-global hosted kernel so C programs can be tested on the
//! host (`backend`).
#![no_std]
#![forbid(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(feature = "hosted-backend")]
extern crate std;

pub mod arch;
pub mod backend;
pub mod cabi;
pub mod sys;

pub mod eventfd;
pub mod ipc;
pub mod mq;
pub mod mq_thread;
pub mod msg;
pub mod sem;
pub mod sem_sysv;
pub mod signalfd;
pub mod timerfd;

#[cfg(all(feature = "standalone", not(feature = "hosted-backend")))]
mod standalone;
