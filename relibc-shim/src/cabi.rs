//! libc's values on this target and their translation to the kernel ABI
//! (docs/abi.md). Linux-layout targets (Linux, the QEMU testbed's
//! `-unknown-none`) use Linux's values, which are the kernel ABI's clock
//! ids; Redox's relibc takes its O_* and CLOCK_* values from
//! redox_syscall, so the shim does too.

use core::ffi::{c_int, c_long};
use core::mem::size_of;

use redbear_ipc::kernel::ClockId;
use redbear_ipc::syscall::abi::{FdFlags, MqOpenFlags, OpenFlags};

/// C `struct timespec` of relibc and glibc on LP64 targets:
/// `{ time_t tv_sec; long tv_nsec; }`, 16 bytes, the kernel ABI's layout.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds, valid in `[0, 1e9)` (C `long`: 64 bits on every
    /// target the shim builds for).
    pub tv_nsec: i64,
}

// The C layouts equal the kernel ABI's only on LP64 (64-bit `long` and
// `time_t`, 8-byte pointers), which is what lets the shim hand the
// caller's pointers to the kernel unchanged; any other target stops here.
const _: () = {
    assert!(size_of::<c_long>() == size_of::<i64>(), "LP64 targets only");
    assert!(size_of::<usize>() == size_of::<u64>(), "LP64 targets only");
    assert!(size_of::<Timespec>() == redbear_ipc::syscall::abi::TIMESPEC_SIZE);
    assert!(core::mem::offset_of!(Timespec, tv_sec) == 0);
    assert!(core::mem::offset_of!(Timespec, tv_nsec) == 8);
};

impl Timespec {
    /// Whether `tv_nsec` is in `[0, 1e9)`.
    pub fn nsec_valid(&self) -> bool {
        (0..1_000_000_000).contains(&self.tv_nsec)
    }

    /// The kernel ABI's 16 bytes: `{ i64 tv_sec; i64 tv_nsec; }`.
    pub fn to_abi(self) -> [u8; redbear_ipc::syscall::abi::TIMESPEC_SIZE] {
        let mut raw = [0u8; redbear_ipc::syscall::abi::TIMESPEC_SIZE];
        raw[..8].copy_from_slice(&self.tv_sec.to_ne_bytes());
        raw[8..].copy_from_slice(&self.tv_nsec.to_ne_bytes());
        raw
    }
}

#[cfg(target_os = "redox")]
mod values {
    use core::ffi::c_int;
    pub const O_CREAT: c_int = syscall::flag::O_CREAT as c_int;
    pub const O_EXCL: c_int = syscall::flag::O_EXCL as c_int;
    pub const CLOCK_REALTIME: c_int = syscall::flag::CLOCK_REALTIME as c_int;
    pub const CLOCK_MONOTONIC: c_int = syscall::flag::CLOCK_MONOTONIC as c_int;
    pub const O_NONBLOCK: c_int = syscall::flag::O_NONBLOCK as c_int;
    // relibc's own (redox_syscall 0.9 has no O_CLOEXEC; relibc's generated
    // fcntl.h defines it as 16777216 under __redox__).
    pub const O_CLOEXEC: c_int = 0x0100_0000;
    pub const O_RDONLY: c_int = syscall::flag::O_RDONLY as c_int;
    pub const O_WRONLY: c_int = syscall::flag::O_WRONLY as c_int;
    pub const O_RDWR: c_int = syscall::flag::O_RDWR as c_int;
    pub const O_ACCMODE: c_int = syscall::flag::O_ACCMODE as c_int;
}

// Linux's generic values (x86_64 and aarch64 agree); the host tests compare
// them with the host libc's.
#[cfg(not(target_os = "redox"))]
mod values {
    use core::ffi::c_int;
    pub const O_CREAT: c_int = 0o100;
    pub const O_EXCL: c_int = 0o200;
    pub const CLOCK_REALTIME: c_int = 0;
    pub const CLOCK_MONOTONIC: c_int = 1;
    pub const O_NONBLOCK: c_int = 0o4000;
    pub const O_CLOEXEC: c_int = 0o2000000;
    pub const O_RDONLY: c_int = 0;
    pub const O_WRONLY: c_int = 1;
    pub const O_RDWR: c_int = 2;
    pub const O_ACCMODE: c_int = 3;
}

/// libc's `O_CREAT` on this target.
pub const O_CREAT: c_int = values::O_CREAT;
/// libc's `O_EXCL` on this target.
pub const O_EXCL: c_int = values::O_EXCL;
/// libc's `CLOCK_REALTIME` on this target.
pub const CLOCK_REALTIME: c_int = values::CLOCK_REALTIME;
/// libc's `CLOCK_MONOTONIC` on this target.
pub const CLOCK_MONOTONIC: c_int = values::CLOCK_MONOTONIC;

/// libc's `O_NONBLOCK` on this target (= EFD_/SFD_/TFD_NONBLOCK).
pub const O_NONBLOCK: c_int = values::O_NONBLOCK;
/// libc's `O_CLOEXEC` on this target (= EFD_/SFD_/TFD_CLOEXEC).
pub const O_CLOEXEC: c_int = values::O_CLOEXEC;

/// mq_open's `oflag` in the kernel ABI: the access mode (libc's O_RDONLY,
/// O_WRONLY, O_RDWR; any other O_ACCMODE value is Linux's "neither",
/// the kernel's 3), O_CREAT, O_EXCL, O_NONBLOCK, O_CLOEXEC; every other
/// bit is ignored, as Linux's mq_open ignores it.
pub fn mq_oflag(oflag: c_int) -> MqOpenFlags {
    let acc = match oflag & values::O_ACCMODE {
        values::O_RDONLY => MqOpenFlags::empty(),
        values::O_WRONLY => MqOpenFlags::WRONLY,
        values::O_RDWR => MqOpenFlags::RDWR,
        _ => MqOpenFlags::WRONLY | MqOpenFlags::RDWR,
    };
    [
        (O_CREAT, MqOpenFlags::CREATE),
        (O_EXCL, MqOpenFlags::EXCLUSIVE),
        (O_NONBLOCK, MqOpenFlags::NONBLOCK),
        (O_CLOEXEC, MqOpenFlags::CLOEXEC),
    ]
    .into_iter()
    .filter(|&(bit, _)| oflag & bit != 0)
    .fold(acc, |f, (_, flag)| f | flag)
}

/// Creation flags of the fd-event calls in the kernel ABI: `*_NONBLOCK`
/// and `*_CLOEXEC` are libc's O_NONBLOCK and O_CLOEXEC; `semaphore` is a
/// family's own bit for `FdFlags::SEMAPHORE` (EFD_SEMAPHORE; 0 for
/// none). `None` for any other bit (EINVAL).
pub fn fd_flags(flags: c_int, semaphore: c_int) -> Option<FdFlags> {
    let mut f = FdFlags::empty();
    let mut rest = flags;
    for (bit, flag) in [
        (O_NONBLOCK, FdFlags::NONBLOCK),
        (O_CLOEXEC, FdFlags::CLOEXEC),
        (semaphore, FdFlags::SEMAPHORE),
    ] {
        if bit != 0 && rest & bit != 0 {
            f |= flag;
            rest &= !bit;
        }
    }
    (rest == 0).then_some(f)
}

/// A libc clock id that a semaphore or futex wait accepts, in the kernel
/// ABI; `None` for every other clock (EINVAL).
pub fn wait_clock(clock: c_int) -> Option<ClockId> {
    match clock {
        CLOCK_REALTIME => Some(ClockId::Realtime),
        CLOCK_MONOTONIC => Some(ClockId::Monotonic),
        _ => None,
    }
}

/// libc `oflag` of `sem_open`/`mq_open` in the kernel ABI. Bits other than
/// O_CREAT and O_EXCL are ignored, as glibc does; O_EXCL counts only with
/// O_CREAT.
pub fn open_flags(oflag: c_int) -> OpenFlags {
    let mut f = OpenFlags::empty();
    if oflag & O_CREAT != 0 {
        f |= OpenFlags::CREATE;
        if oflag & O_EXCL != 0 {
            f |= OpenFlags::EXCLUSIVE;
        }
    }
    f
}
