//! Route to redbear-ipc's syscall block (placeholder until the testbed's
//! `Kernel` implementation is wired up).

pub fn dispatch(_nr: usize, _args: [usize; 6]) -> usize {
    (-testbed_abi::errno::ENOSYS) as usize
}
