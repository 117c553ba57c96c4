//! Typed syscall arguments: every register a syscall file reads is decoded
//! here, and a value out of range for its type is refused, never
//! truncated (no `as u32` on a register).
//!
//! A syscall destructures its six registers (`let [fd, buf, len, ..] =
//! args.regs();`) and asks each `Reg` for what it holds: `u32()`,
//! `count()`, `int()`, `flags()`, `ptr()`, `slice(len)`, `name(len,
//! max)`, `fd()`, `fd_slot()`, `clock()`. The errno of a refusal is the
//! one Linux gives for a bad value of that kind (EINVAL, EBADF, EFAULT,
//! ENAMETOOLONG). Linux's own syscalls read `int` and `u32` arguments
//! from the low 32 bits instead; docs/abi.md ("register decoding") says
//! why ours refuse the rest.

use crate::errno::{Errno, EBADF, EINVAL, ENAMETOOLONG};
use crate::kernel::{ClockId, FdPlacement};
use crate::syscall::abi::FD_SLOT_ANY;
use crate::syscall::uaccess::{UserPtr, UserSlice};

/// One argument register, undecoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reg(usize);

/// The six argument registers of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Args([usize; 6]);

impl Args {
    /// The registers as the arch glue decoded them.
    pub const fn new(raw: [usize; 6]) -> Self {
        Args(raw)
    }

    /// The registers, to destructure.
    pub fn regs(&self) -> [Reg; 6] {
        self.0.map(Reg)
    }
}

impl From<[usize; 6]> for Args {
    fn from(raw: [usize; 6]) -> Self {
        Args(raw)
    }
}

fn einval<T>() -> Result<T, Errno> {
    Err(Errno::new(EINVAL))
}

impl Reg {
    /// A full-width value (a length, an opaque word the ABI defines as
    /// register-sized).
    pub const fn word(self) -> usize {
        self.0
    }

    /// A `u32` (a futex value or bitset, a semaphore value, a mode):
    /// EINVAL above `u32::MAX`.
    pub fn u32(self) -> Result<u32, Errno> {
        u32::try_from(self.0).or_else(|_| einval())
    }

    /// A count that C passes as a non-negative `int` (futex wake and
    /// requeue counts): EINVAL above `i32::MAX`, which a negative `int`
    /// becomes once zero- or sign-extended.
    pub fn count(self) -> Result<usize, Errno> {
        match i32::try_from(self.0) {
            Ok(n) if n >= 0 => Ok(self.0),
            _ => einval(),
        }
    }

    /// A C `int` (a boolean such as `pshared`): the register holds it
    /// sign- or zero-extended; anything else is EINVAL.
    pub fn int(self) -> Result<i32, Errno> {
        match (
            i32::try_from(isize::from_ne_bytes(self.0.to_ne_bytes())),
            u32::try_from(self.0),
        ) {
            (Ok(v), _) => Ok(v),
            (_, Ok(v)) => Ok(i32::from_ne_bytes(v.to_ne_bytes())),
            _ => einval(),
        }
    }

    /// A flags word: EINVAL for a bit `F` does not define.
    pub fn flags<F: bitflags::Flags<Bits = usize>>(self) -> Result<F, Errno> {
        F::from_bits(self.0).map_or_else(einval, Ok)
    }

    /// A pointer to one `T` in user memory (checked at each access).
    pub const fn ptr<T>(self) -> UserPtr<T> {
        UserPtr::new(self.0)
    }

    /// An optional pointer: null is None.
    pub fn opt_ptr<T>(self) -> Option<UserPtr<T>> {
        (self.0 != 0).then(|| UserPtr::new(self.0))
    }

    /// The user buffer at this address with `len` bytes: EFAULT if it
    /// wraps the address space.
    pub fn slice(self, len: Reg) -> Result<UserSlice, Errno> {
        UserSlice::new(self.0, len.0)
    }

    /// A name given as (pointer, length without NUL), at most `max` bytes:
    /// ENAMETOOLONG above `max` before any memory is touched, then EFAULT
    /// if the range wraps.
    pub fn name(self, len: Reg, max: usize) -> Result<UserSlice, Errno> {
        if len.0 > max {
            return Err(Errno::new(ENAMETOOLONG));
        }
        self.slice(len)
    }

    /// An fd (C's `int`): EBADF above `i32::MAX` (a negative fd).
    pub fn fd(self) -> Result<usize, Errno> {
        match i32::try_from(self.0) {
            Ok(fd) if fd >= 0 => Ok(self.0),
            _ => Err(Errno::new(EBADF)),
        }
    }

    /// Whether it holds `sentinel` (FD_NEW and the like).
    pub fn is(self, sentinel: usize) -> bool {
        self.0 == sentinel
    }

    /// Where a new fd goes: FD_SLOT_ANY is the lowest free number, any
    /// other value exactly that one (EBADF above `i32::MAX`).
    pub fn fd_slot(self) -> Result<FdPlacement, Errno> {
        if self.0 == FD_SLOT_ANY {
            return Ok(FdPlacement::Lowest);
        }
        self.fd().map(FdPlacement::Exact)
    }

    /// A kernel-ABI clock id: EINVAL for one we do not know.
    pub fn clock(self) -> Result<ClockId, Errno> {
        ClockId::from_abi(self.0).map_or_else(einval, Ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscall::abi::FutexFlags;

    fn reg(v: usize) -> Reg {
        Args::new([v, 0, 0, 0, 0, 0]).regs()[0]
    }

    #[test]
    fn u32_refuses_what_does_not_fit() {
        assert_eq!(reg(7).u32(), Ok(7));
        assert_eq!(reg(u32::MAX as usize).u32(), Ok(u32::MAX));
        // `as u32` would make this 1.
        assert_eq!(reg((1 << 32) + 1).u32().unwrap_err().errno, EINVAL);
    }

    #[test]
    fn counts_are_non_negative_ints_without_truncation() {
        assert_eq!(reg(0).count(), Ok(0));
        assert_eq!(reg(i32::MAX as usize).count(), Ok(i32::MAX as usize));
        assert_eq!(reg(1 << 31).count().unwrap_err().errno, EINVAL);
        assert_eq!(reg(usize::MAX).count().unwrap_err().errno, EINVAL, "-1");
        // Truncating to u32 first would read 1 here and accept it.
        assert_eq!(reg((1 << 32) + 1).count().unwrap_err().errno, EINVAL);
    }

    #[test]
    fn ints_are_sign_or_zero_extended_and_names_bounded_before_memory() {
        assert_eq!(reg(5).int(), Ok(5));
        assert_eq!(reg(usize::MAX).int(), Ok(-1), "sign-extended -1");
        assert_eq!(reg(u32::MAX as usize).int(), Ok(-1), "zero-extended -1");
        assert_eq!(reg((1 << 32) | 1).int().unwrap_err().errno, EINVAL);
        let name = reg(0x1000).name(reg(8), 8).unwrap();
        assert_eq!(name.len(), 8);
        let long = reg(0x1000).name(reg(9), 8).unwrap_err();
        assert_eq!(long.errno, ENAMETOOLONG);
        // The length is judged before the range: no EFAULT for a wrap.
        let wrap = reg(usize::MAX).name(reg(usize::MAX), 8).unwrap_err();
        assert_eq!(wrap.errno, ENAMETOOLONG);
    }

    #[test]
    fn flags_fds_slots_clocks_and_pointers() {
        assert_eq!(reg(1).flags::<FutexFlags>(), Ok(FutexFlags::SHARED));
        assert_eq!(reg(1 << 9).flags::<FutexFlags>().unwrap_err().errno, EINVAL);
        assert_eq!(reg(3).fd(), Ok(3));
        assert_eq!(reg(usize::MAX).fd().unwrap_err().errno, EBADF);
        assert_eq!(reg((1 << 32) + 3).fd().unwrap_err().errno, EBADF);
        assert_eq!(reg(FD_SLOT_ANY).fd_slot(), Ok(FdPlacement::Lowest));
        assert_eq!(reg(5).fd_slot(), Ok(FdPlacement::Exact(5)));
        assert_eq!(reg(1 << 40).fd_slot().unwrap_err().errno, EBADF);
        assert_eq!(reg(1).clock(), Ok(ClockId::Monotonic));
        assert_eq!(reg(2).clock().unwrap_err().errno, EINVAL);
        assert_eq!(reg(0).opt_ptr::<u32>(), None);
        assert_eq!(reg(0x1000).opt_ptr::<u32>().map(|p| p.addr()), Some(0x1000));
        let len = reg(usize::MAX);
        assert!(reg(16).slice(len).is_err(), "wrapping range");
        assert_eq!(reg(16).slice(reg(4)).map(|s| s.len()), Ok(4));
        assert!(reg(9).is(9) && !reg(9).is(8));
        assert_eq!(reg(42).word(), 42);
    }
}
