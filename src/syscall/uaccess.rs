//! The one door to user memory: typed user pointers and byte slices.
//!
//! A syscall argument that names user memory becomes a `UserPtr<T>` (one
//! value of a type with a fixed kernel-ABI encoding) or a `UserSlice`
//! (bytes), never a bare `usize` handed on; every access goes through
//! `Kernel::read_user` / `write_user` (EFAULT from the host's checks), and
//! a `UserValue`'s decoding validates what it reads (EINVAL), so an object
//! only ever sees checked values. In the spirit of Hubris's `USlice` and
//! Asterinas's `read_val_from_user`; the encodings are explicit byte
//! layouts, so no `unsafe` is needed here.

use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;

use crate::errno::{Errno, EFAULT};
use crate::ipc::common::time::Timespec;
use crate::ipc::fd::timerfd::ItimerSpec;
use crate::kernel::{Kernel, SharedMemKey, UserFault};

/// A type with a fixed kernel-ABI encoding in user memory.
pub trait UserValue: Sized {
    /// Encoded size in bytes.
    const SIZE: usize;
    /// Decodes `raw` (exactly `SIZE` bytes), validating ranges (EINVAL).
    fn decode(raw: &[u8]) -> Result<Self, Errno>;
    /// Encodes into `out` (exactly `SIZE` bytes).
    fn encode(&self, out: &mut [u8]);
}

/// The `N` bytes at `raw[at..at + N]` (callers pass in-range offsets of
/// a buffer of their type's `SIZE`).
fn bytes<const N: usize>(raw: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    b.copy_from_slice(&raw[at..at + N]);
    b
}

impl UserValue for u32 {
    const SIZE: usize = 4;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        Ok(u32::from_ne_bytes(bytes(raw, 0)))
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_ne_bytes());
    }
}

impl UserValue for u64 {
    const SIZE: usize = 8;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        Ok(u64::from_ne_bytes(bytes(raw, 0)))
    }
    fn encode(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_ne_bytes());
    }
}

/// The kernel-ABI timespec: `{ i64 tv_sec; i64 tv_nsec; }`, validated as
/// `Timespec::validate` does (EINVAL).
impl UserValue for Timespec {
    const SIZE: usize = 16;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        let sec = i64::from_ne_bytes(bytes(raw, 0));
        let nsec = i64::from_ne_bytes(bytes(raw, 8));
        Timespec::validate(sec, nsec)
    }
    fn encode(&self, out: &mut [u8]) {
        out[..8].copy_from_slice(&self.sec.to_ne_bytes());
        out[8..16].copy_from_slice(&self.nsec.to_ne_bytes());
    }
}

/// The kernel-ABI itimerspec: interval, then value.
impl UserValue for ItimerSpec {
    const SIZE: usize = 32;
    fn decode(raw: &[u8]) -> Result<Self, Errno> {
        Ok(ItimerSpec {
            interval: Timespec::decode(&raw[..16])?,
            value: Timespec::decode(&raw[16..32])?,
        })
    }
    fn encode(&self, out: &mut [u8]) {
        self.interval.encode(&mut out[..16]);
        self.value.encode(&mut out[16..32]);
    }
}

/// The largest `UserValue` encoding (the stack buffer of one copy).
const MAX_VALUE: usize = 128;

/// The user address of one `T`.
pub struct UserPtr<T> {
    addr: usize,
    _of: PhantomData<fn() -> T>,
}

impl<T> Clone for UserPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for UserPtr<T> {}

impl<T> core::fmt::Debug for UserPtr<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "UserPtr({:#x})", self.addr)
    }
}

impl<T> PartialEq for UserPtr<T> {
    fn eq(&self, other: &Self) -> bool {
        self.addr == other.addr
    }
}
impl<T> Eq for UserPtr<T> {}

impl<T> UserPtr<T> {
    /// The user address `addr` (unchecked: each access checks).
    pub const fn new(addr: usize) -> Self {
        UserPtr {
            addr,
            _of: PhantomData,
        }
    }

    /// The address, for what keys by it (a futex word's identity), never
    /// for a copy.
    pub const fn addr(&self) -> usize {
        self.addr
    }

    /// The `U` at `offset` bytes into this `T` (a field of a user struct):
    /// EFAULT if the address wraps.
    pub fn field<U>(&self, offset: usize) -> Result<UserPtr<U>, Errno> {
        self.addr
            .checked_add(offset)
            .map(UserPtr::new)
            .ok_or(Errno::new(EFAULT))
    }

    /// Whether the address is a multiple of `align`.
    pub const fn is_aligned(&self, align: usize) -> bool {
        self.addr.is_multiple_of(align)
    }
}

/// The atomic word accesses of futexes and semaphores, through the
/// host's user-memory primitives (EFAULT for a misaligned or unmapped
/// word).
impl UserPtr<u32> {
    /// Sequentially consistent load (`Kernel::load_user_u32`).
    pub fn load<K: Kernel + ?Sized>(&self, k: &K) -> Result<u32, Errno> {
        Ok(k.load_user_u32(self.addr)?)
    }

    /// Compare-and-exchange; returns the value found
    /// (`Kernel::cmpxchg_user_u32`).
    pub fn cmpxchg<K: Kernel + ?Sized>(&self, k: &K, old: u32, new: u32) -> Result<u32, Errno> {
        Ok(k.cmpxchg_user_u32(self.addr, old, new)?)
    }

    /// A read that never sleeps: `None` if the page must be faulted in
    /// first (`Kernel::read_user_u32_nofault`).
    pub fn read_nofault<K: Kernel + ?Sized>(&self, k: &K) -> Result<Option<u32>, Errno> {
        Ok(k.read_user_u32_nofault(self.addr)?)
    }

    /// Makes the word's page resident; may sleep (`Kernel::fault_in_user`).
    pub fn fault_in<K: Kernel + ?Sized>(&self, k: &K) -> Result<(), Errno> {
        Ok(k.fault_in_user(self.addr)?)
    }

    /// The key of the memory behind the word, equal in every address
    /// space that maps it (`Kernel::shared_key`).
    pub fn shared_key<K: Kernel + ?Sized>(&self, k: &K) -> Result<SharedMemKey, Errno> {
        k.shared_key(self.addr)
    }
}

impl<T: UserValue> UserPtr<T> {
    /// The user bytes it covers (EFAULT if they wrap the address space).
    pub fn bytes(&self) -> Result<UserSlice, Errno> {
        UserSlice::new(self.addr, T::SIZE)
    }

    /// Reads and validates the value: EFAULT, then the type's EINVAL.
    pub fn read<K: Kernel + ?Sized>(&self, k: &K) -> Result<T, Errno> {
        let mut raw = [0u8; MAX_VALUE];
        let raw = &mut raw[..T::SIZE];
        k.read_user(self.addr, raw)?;
        T::decode(raw)
    }

    /// Writes the value (EFAULT; a prefix may have been written).
    pub fn write<K: Kernel + ?Sized>(&self, k: &K, value: &T) -> Result<(), Errno> {
        let mut raw = [0u8; MAX_VALUE];
        let raw = &mut raw[..T::SIZE];
        value.encode(raw);
        k.write_user(self.addr, raw)?;
        Ok(())
    }
}

/// `len` bytes of user memory at `addr`, the range known not to wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSlice {
    addr: usize,
    len: usize,
}

impl UserSlice {
    /// The range `[addr, addr + len)`: EFAULT if it wraps (as Linux's
    /// access_ok). Mapping is checked by each access.
    pub fn new(addr: usize, len: usize) -> Result<Self, Errno> {
        match addr.checked_add(len) {
            Some(_) => Ok(UserSlice { addr, len }),
            None => Err(Errno::new(EFAULT)),
        }
    }

    /// Its length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Its first `len` bytes (all of it if shorter).
    pub fn prefix(&self, len: usize) -> UserSlice {
        self.sub(0, len)
    }

    /// The `len` bytes at `offset` into it, both clamped to its end.
    pub fn sub(&self, offset: usize, len: usize) -> UserSlice {
        let start = offset.min(self.len);
        UserSlice {
            // No wrap: `new` proved addr + self.len does not.
            addr: self.addr + start,
            len: len.min(self.len - start),
        }
    }

    /// The `T` at its start, if it is long enough (EINVAL otherwise, as
    /// a read into a short buffer).
    pub fn value<T: UserValue>(&self) -> Result<UserPtr<T>, Errno> {
        if self.len < T::SIZE {
            return Err(Errno::new(crate::errno::EINVAL));
        }
        Ok(UserPtr::new(self.addr))
    }

    /// Copies all of it into `dst` (which must be as long).
    pub fn read_into<K: Kernel + ?Sized>(&self, k: &K, dst: &mut [u8]) -> Result<(), Errno> {
        let n = dst.len().min(self.len);
        k.read_user(self.addr, &mut dst[..n])?;
        Ok(())
    }

    /// Copies all of it into a new buffer. Callers bound `len` first.
    pub fn read_vec<K: Kernel + ?Sized>(&self, k: &K) -> Result<Vec<u8>, Errno> {
        let mut raw = vec![0u8; self.len];
        k.read_user(self.addr, &mut raw)?;
        Ok(raw)
    }

    /// Copies `src` to its start (at most its length); returns the bytes
    /// written.
    pub fn write_from<K: Kernel + ?Sized>(&self, k: &K, src: &[u8]) -> Result<usize, Errno> {
        let n = src.len().min(self.len);
        k.write_user(self.addr, &src[..n])?;
        Ok(n)
    }

    /// Proves all of it writable before any state changes (by writing
    /// zeros), so a bad buffer fails with EFAULT and loses nothing.
    pub fn probe_writable<K: Kernel + ?Sized>(&self, k: &K) -> Result<(), Errno> {
        const CHUNK: usize = 128;
        let zeros = [0u8; CHUNK];
        let mut done = 0;
        while done < self.len {
            let n = (self.len - done).min(CHUNK);
            // In range: `new` proved addr + len does not wrap.
            k.write_user(self.addr + done, &zeros[..n])
                .map_err(|UserFault| Errno::new(EFAULT))?;
            done += n;
        }
        Ok(())
    }
}

#[cfg(all(test, feature = "hosted"))]
mod tests {
    use super::*;
    use crate::errno::EINVAL;
    use crate::hosted::{ClockMode, HostedKernel};
    use crate::kernel::Credentials;

    #[test]
    fn values_round_trip_and_validate() {
        let k = HostedKernel::new(ClockMode::Virtual);
        let p = k.spawn_process(Credentials::new(1000, 1000));
        let _t = k.enter(&p);
        let at = k.alloc_private(64);
        let ts = UserPtr::<Timespec>::new(at);
        let v = Timespec::validate(3, 999_999_999).unwrap();
        ts.write(&*k, &v).unwrap();
        assert_eq!(ts.read(&*k), Ok(v));
        // tv_nsec out of range: EINVAL after a good copy.
        UserPtr::<u64>::new(at + 8)
            .write(&*k, &1_000_000_000)
            .unwrap();
        assert_eq!(ts.read(&*k).unwrap_err().errno, EINVAL);
        let spec = ItimerSpec {
            interval: Timespec::validate(1, 2).unwrap(),
            value: Timespec::validate(3, 4).unwrap(),
        };
        let sp = UserPtr::<ItimerSpec>::new(at + 32);
        sp.write(&*k, &spec).unwrap();
        assert_eq!(sp.read(&*k), Ok(spec));
        let w = UserPtr::<u32>::new(at);
        w.write(&*k, &0xdead_beef).unwrap();
        assert_eq!(w.read(&*k), Ok(0xdead_beef));
    }

    #[test]
    fn bad_memory_is_efault_and_wrapping_ranges_never_exist() {
        let k = HostedKernel::new(ClockMode::Virtual);
        let p = k.spawn_process(Credentials::new(1000, 1000));
        let _t = k.enter(&p);
        assert_eq!(UserPtr::<u64>::new(8).read(&*k).unwrap_err().errno, EFAULT);
        assert_eq!(UserSlice::new(usize::MAX - 3, 8).unwrap_err().errno, EFAULT);
        assert_eq!(
            UserPtr::<u64>::new(usize::MAX - 3)
                .bytes()
                .unwrap_err()
                .errno,
            EFAULT
        );
        let at = k.alloc_private(16);
        let s = UserSlice::new(at, 16).unwrap();
        assert_eq!(s.value::<u64>().map(|p| p.addr()), Ok(at));
        assert_eq!(s.prefix(4).value::<u64>().unwrap_err().errno, EINVAL);
        assert_eq!(s.write_from(&*k, &[1; 32]), Ok(16), "at most its length");
        let mut back = [0u8; 16];
        s.read_into(&*k, &mut back).unwrap();
        assert_eq!(back, [1; 16]);
        assert!(s.probe_writable(&*k).is_ok());
        assert_eq!(s.read_vec(&*k).unwrap(), vec![0; 16], "probing zeroes");
        let past = UserSlice::new(at, 1 << 20).unwrap();
        assert_eq!(past.probe_writable(&*k).unwrap_err().errno, EFAULT);
    }
}
