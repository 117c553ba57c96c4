//! What the counting benchmarks share: a system call through `dispatch`
//! on the hosted kernel that must succeed.

use redbear_ipc::hosted::HostedKernel;
use redbear_ipc::syscall::dispatch;

/// `dispatch(nr, args)` (missing arguments are 0); panics on an error,
/// which ends the benchmark: a figure from a failed call means nothing.
pub fn sys(k: &HostedKernel, nr: usize, args: &[usize]) -> usize {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    match dispatch(k, nr, a) {
        Ok(v) => v,
        Err(e) => panic!("syscall {nr} failed: errno {}", e.errno),
    }
}
