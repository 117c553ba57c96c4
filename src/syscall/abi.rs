//! The kernel ABI behind the new numbers: flag bits and layouts. This is
//! our ABI, not libc's; relibc-shim translates (docs/abi.md).

use bitflags::bitflags;

/// `fd_slot` argument of calls that create an fd: let the kernel choose
/// the lowest free number. Any other value asks for exactly that number
/// (Redox's `*_into` convention: EEXIST if taken).
pub const FD_SLOT_ANY: usize = usize::MAX;

bitflags! {
    /// Flags of the futex calls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FutexFlags: usize {
        /// The word is process-shared: key by the memory, not the address.
        const SHARED = 1 << 0;
        /// Timeouts are on CLOCK_REALTIME (else CLOCK_MONOTONIC).
        const CLOCK_REALTIME = 1 << 1;
        /// The timeout is an absolute time (else relative).
        const ABSOLUTE = 1 << 2;
    }
}

bitflags! {
    /// Flags of the semaphore calls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SemFlags: usize {
        /// `sem_ref` is an fd from `sem_open` (else a `sem_t` address).
        const REF_FD = 1 << 0;
        /// `sem_trywait`: EAGAIN instead of sleeping.
        const TRY = 1 << 1;
        /// Sleep at most until the absolute timeout at `timeout_ptr` on
        /// the clock argument.
        const TIMED = 1 << 2;
    }
}

bitflags! {
    /// `oflag` of `sem_open` (and later `mq_open`) in the kernel ABI.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OpenFlags: usize {
        /// O_CREAT.
        const CREATE = 1 << 0;
        /// O_EXCL.
        const EXCLUSIVE = 1 << 1;
    }
}

/// Size of the kernel-ABI timespec: `{ i64 tv_sec; i64 tv_nsec; }`.
pub const TIMESPEC_SIZE: usize = 16;

/// Decodes a flags word, EINVAL on unknown bits.
pub fn flags<F: bitflags::Flags<Bits = usize>>(raw: usize) -> Result<F, crate::Errno> {
    F::from_bits(raw).ok_or(crate::Errno::new(crate::errno::EINVAL))
}
