//! Named POSIX semaphore calls for the testbed programs that use them
//! (included with `#[path]`): results as `Result<_, errno>`.
#![allow(dead_code)]

use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use user_rt::sys;

/// sem_open(name, oflag, mode, value) -> fd, at the lowest free number.
pub fn open(name: &[u8], oflag: OpenFlags, mode: usize, value: usize) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEM_OPEN,
        [
            name.as_ptr() as usize,
            name.len(),
            oflag.bits(),
            mode,
            value,
            FD_SLOT_ANY,
        ],
    ))
}

/// sem_unlink(name)
pub fn unlink(name: &[u8]) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEM_UNLINK,
        [name.as_ptr() as usize, name.len(), 0, 0, 0, 0],
    ))
}

/// sem_post on the semaphore of `fd`.
pub fn post(fd: usize) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEM_POST,
        [fd, SemFlags::REF_FD.bits(), 0, 0, 0, 0],
    ))
}

/// sem_wait on the semaphore of `fd`.
pub fn wait(fd: usize) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_SEM_WAIT,
        [fd, SemFlags::REF_FD.bits(), 0, 0, 0, 0],
    ))
}
