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

bitflags! {
    /// Creation flags of eventfd2, signalfd4 and timerfd_create.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FdFlags: usize {
        /// O_NONBLOCK on the new description.
        const NONBLOCK = 1 << 0;
        /// FD_CLOEXEC on the new fd.
        const CLOEXEC = 1 << 1;
        /// eventfd only: EFD_SEMAPHORE.
        const SEMAPHORE = 1 << 2;
    }
}

bitflags! {
    /// Flags of timerfd_settime (Linux's values).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TimerSetFlags: usize {
        /// TFD_TIMER_ABSTIME.
        const ABSTIME = 1 << 0;
        /// TFD_TIMER_CANCEL_ON_SET.
        const CANCEL_ON_SET = 1 << 1;
    }
}

/// `fd` argument of signalfd4 that asks for a new signalfd (C's -1).
pub const FD_NEW: usize = usize::MAX;
/// Size of the signal mask signalfd4 takes (Linux's kernel sigset_t).
pub const SIGSET_SIZE: usize = 8;
/// Size of the kernel-ABI itimerspec: interval then value, two timespecs.
pub const ITIMERSPEC_SIZE: usize = 32;
/// Linux's CLOCK_REALTIME_ALARM (timerfd; needs privilege).
pub const CLOCK_REALTIME_ALARM: usize = 8;
/// Linux's CLOCK_BOOTTIME_ALARM (timerfd; needs privilege).
pub const CLOCK_BOOTTIME_ALARM: usize = 9;

/// Size of the kernel-ABI timespec: `{ i64 tv_sec; i64 tv_nsec; }`.
pub const TIMESPEC_SIZE: usize = 16;

/// Decodes a flags word, EINVAL on unknown bits.
pub fn flags<F: bitflags::Flags<Bits = usize>>(raw: usize) -> Result<F, crate::Errno> {
    F::from_bits(raw).ok_or(crate::Errno::new(crate::errno::EINVAL))
}
