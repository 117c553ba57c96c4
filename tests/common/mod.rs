//! Shared helpers of the integration tests: a hosted kernel, a process, and
//! syscalls through `dispatch` with Linux-style results.
#![allow(dead_code)]

use std::sync::Arc;

use redbear_ipc::hosted::{ClockMode, HostedKernel, Process, TaskGuard};
use redbear_ipc::kernel::Credentials;
use redbear_ipc::syscall::dispatch;

/// A hosted kernel with one process entered by the calling thread.
pub struct Env {
    pub k: Arc<HostedKernel>,
    pub proc: Arc<Process>,
    pub guard: TaskGuard,
}

/// The leak check every test ends with: once the test's fds are closed
/// and its names unlinked, the namespace's accounting is back to zero
/// (every object and byte refunded, every timer-queue slot among them, no
/// user left in the table) and the timer queue is empty. `Env` runs it
/// when dropped, after closing its process's fds, removing every name and
/// every SysV object (the namespace's teardown); a test may call it
/// earlier.
pub fn assert_accounting_zero(k: &HostedKernel) {
    use redbear_ipc::kernel::Kernel;
    let left = k.ipc().acct.outstanding();
    assert!(
        left.is_zero(),
        "accounting did not return to zero: {left:?}"
    );
    let timers = &k.ipc().timers;
    assert_eq!(
        (timers.entries(), timers.slots()),
        (0, 0),
        "timer-queue entries and slots left behind"
    );
}

impl Drop for Env {
    fn drop(&mut self) {
        // A failing test has already reported; do not turn it into an
        // abort by panicking again.
        if std::thread::panicking() {
            return;
        }
        use redbear_ipc::kernel::Kernel;
        self.proc.fds().clear();
        self.k.ipc().sems.clear();
        self.k.ipc().mqueues.clear();
        // SysV objects outlive processes: removed as `ipcrm -a` would.
        self.k.ipc().sysv.remove_all(&*self.k);
        assert_accounting_zero(&self.k);
    }
}

impl Env {
    pub fn new(mode: ClockMode) -> Self {
        Self::with_creds(mode, Credentials::new(1000, 1000))
    }

    pub fn with_creds(mode: ClockMode, creds: Credentials) -> Self {
        let k = HostedKernel::new(mode);
        let proc = k.spawn_process(creds);
        let guard = k.enter(&proc);
        Env { k, proc, guard }
    }
}

/// One syscall: Ok(value) or Err(errno).
pub fn sys(k: &HostedKernel, nr: usize, args: &[usize]) -> Result<usize, i32> {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    dispatch(k, nr, a).map_err(|e| e.errno)
}

/// Writes a kernel-ABI timespec into user memory and returns its address.
pub fn timespec(k: &HostedKernel, sec: i64, nsec: i64) -> usize {
    use redbear_ipc::kernel::Kernel;
    let at = k.alloc_private(16);
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&sec.to_ne_bytes());
    raw[8..].copy_from_slice(&nsec.to_ne_bytes());
    k.write_user(at, &raw).expect("fresh region is writable");
    at
}

/// Reads a u32 of user memory.
pub fn peek_u32(k: &HostedKernel, at: usize) -> u32 {
    redbear_ipc::kernel::read_user_u32(k, at).expect("readable")
}

/// Writes a u32 of user memory.
pub fn poke_u32(k: &HostedKernel, at: usize, v: u32) {
    use redbear_ipc::kernel::Kernel;
    k.write_user(at, &v.to_ne_bytes()).expect("writable")
}

/// Writes bytes into a fresh private region; returns (address, length).
pub fn user_bytes(k: &HostedKernel, bytes: &[u8]) -> (usize, usize) {
    use redbear_ipc::kernel::Kernel;
    let at = k.alloc_private(bytes.len().max(1));
    k.write_user(at, bytes).expect("writable");
    (at, bytes.len())
}
