//! Error numbers. They are redox_syscall's, which are Linux's values except
//! `EWOULDBLOCK` (41 on Redox): the subsystem never returns `EWOULDBLOCK`,
//! always `EAGAIN` (11), as Linux does.

pub use syscall::error::Error as Errno;
pub use syscall::error::{
    E2BIG, EACCES, EAGAIN, EBADF, EBUSY, ECANCELED, EEXIST, EFAULT, EFBIG, EIDRM, EINTR, EINVAL,
    EMFILE, EMSGSIZE, ENAMETOOLONG, ENFILE, ENOENT, ENOMEM, ENOMSG, ENOSPC, ENOSYS, EOPNOTSUPP,
    EOVERFLOW, EPERM, EPIPE, ERANGE, ETIMEDOUT,
};

/// Shorthand for `Err(Errno::new(code))`.
#[inline]
pub const fn err<T>(code: i32) -> Result<T, Errno> {
    Err(Errno::new(code))
}
