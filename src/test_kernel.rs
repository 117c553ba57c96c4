//! The one small test kernel: `TestKernel<H>` implements `Kernel` for a
//! test that supplies only its scheduling (and, if it has any, its user
//! memory) as a `TestHost`; the rest is fixed: one root process, pid 1, in
//! address space 1, with no fds. The scripted kernel of the wait unit
//! tests and the shuttle kernel of tests/model_check.rs are built on it.
//! The full std host (processes, fds, signals, simulated memory) is
//! `hosted`.

use core::ops::Deref;

use crate::errno::{err, Errno, EBADF};
use crate::ipc::Ipc;
use crate::kernel::{
    ClockId, Credentials, Deadline, FdPlacement, FileRef, Kernel, ParkOutcome, Pid, SharedMemKey,
    TaskId, UserFault,
};

/// What a test kernel supplies. User memory defaults to none at all
/// (every access faults); the clock defaults to 0.
pub trait TestHost: Sized + Send + Sync {
    /// The IPC namespace.
    fn ipc(&self) -> &Ipc;
    /// The calling task.
    fn current_task(&self) -> TaskId;
    /// `Kernel::park`, given the whole kernel (a scripted park may act on
    /// objects as another task would).
    fn park(k: &TestKernel<Self>, deadline: Option<Deadline>) -> ParkOutcome;
    /// `Kernel::unpark`.
    fn unpark(&self, task: TaskId);
    /// `Kernel::now`.
    fn now(&self, clock: ClockId) -> u64 {
        let _ = clock;
        0
    }
    /// `Kernel::read_user`.
    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        let _ = (src, dst);
        Err(UserFault)
    }
    /// `Kernel::write_user`.
    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        let _ = (dst, src);
        Err(UserFault)
    }
    /// `Kernel::load_user_u32`.
    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault> {
        let _ = uaddr;
        Err(UserFault)
    }
    /// `Kernel::cmpxchg_user_u32`.
    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        let _ = (uaddr, old, new);
        Err(UserFault)
    }
}

/// A `Kernel` over a `TestHost` (which it derefs to, for the test's own
/// state).
pub struct TestKernel<H>(pub H);

impl<H> Deref for TestKernel<H> {
    type Target = H;
    fn deref(&self) -> &H {
        &self.0
    }
}

impl<H: TestHost> Kernel for TestKernel<H> {
    fn ipc(&self) -> &Ipc {
        self.0.ipc()
    }
    fn current_task(&self) -> TaskId {
        self.0.current_task()
    }
    fn current_pid(&self) -> Pid {
        1
    }
    fn credentials(&self) -> Credentials {
        Credentials::new(0, 0)
    }
    fn address_space(&self) -> u64 {
        1
    }
    fn shared_key(&self, uaddr: usize) -> Result<SharedMemKey, Errno> {
        Ok(SharedMemKey::try_from(uaddr).unwrap_or(SharedMemKey::MAX))
    }
    fn now(&self, clock: ClockId) -> u64 {
        self.0.now(clock)
    }
    fn park(&self, deadline: Option<Deadline>) -> ParkOutcome {
        H::park(self, deadline)
    }
    fn unpark(&self, task: TaskId) {
        self.0.unpark(task)
    }
    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        self.0.read_user(src, dst)
    }
    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        self.0.write_user(dst, src)
    }
    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault> {
        self.0.load_user_u32(uaddr)
    }
    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        self.0.cmpxchg_user_u32(uaddr, old, new)
    }
    fn install_fd(&self, _: FileRef, _: FdPlacement, _: bool) -> Result<usize, Errno> {
        err(EBADF)
    }
    fn get_fd(&self, _: usize) -> Result<FileRef, Errno> {
        err(EBADF)
    }
}
