//! Where syscalls go: the real trap (`native`) or the hosted kernel
//! (`hosted`, feature `hosted-backend`). Both offer the same functions.

#[cfg(feature = "hosted-backend")]
pub mod hosted;
#[cfg(not(feature = "hosted-backend"))]
mod native;

#[cfg(feature = "hosted-backend")]
pub use hosted::{
    close_fd, fd_read, fd_write, raw_syscall, read_c, rebase_deadline, with_c_in, with_c_out,
    with_user_bytes,
};
#[cfg(not(feature = "hosted-backend"))]
pub use native::{
    close_fd, fd_read, fd_write, raw_syscall, read_c, rebase_deadline, with_c_in, with_c_out,
    with_user_bytes,
};
