//! User memory access through the page tables: every page of a range must
//! be mapped for user access (writable for writes), else `Fault` (EFAULT).
//! The copy goes through the kernel identity map of the physical frames,
//! so it works whatever address space is active.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::arch::{AddressSpace, PAGE_SIZE};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// Calls `f(pa, offset, len)` for each page piece of `[va, va + len)`.
fn each_piece(
    aspace: &AddressSpace,
    va: usize,
    len: usize,
    write: bool,
    mut f: impl FnMut(usize, usize, usize),
) -> Result<(), Fault> {
    va.checked_add(len).ok_or(Fault)?;
    // Check the whole range first so a failed copy changes nothing.
    let mut off = 0;
    while off < len {
        let a = va + off;
        aspace.translate(a, write).ok_or(Fault)?;
        off += PAGE_SIZE - a % PAGE_SIZE;
    }
    let mut off = 0;
    while off < len {
        let a = va + off;
        let pa = aspace.translate(a, write).ok_or(Fault)?;
        let n = (PAGE_SIZE - a % PAGE_SIZE).min(len - off);
        f(pa, off, n);
        off += n;
    }
    Ok(())
}

pub fn read(aspace: &AddressSpace, va: usize, dst: &mut [u8]) -> Result<(), Fault> {
    let len = dst.len();
    each_piece(aspace, va, len, false, |pa, off, n| {
        // SAFETY: `pa..pa+n` lies in one user frame proved mapped above,
        // reachable through the identity map; `dst[off..off+n]` is in bounds.
        unsafe { core::ptr::copy_nonoverlapping(pa as *const u8, dst[off..].as_mut_ptr(), n) }
    })
}

pub fn write(aspace: &AddressSpace, va: usize, src: &[u8]) -> Result<(), Fault> {
    each_piece(aspace, va, src.len(), true, |pa, off, n| {
        // SAFETY: as in `read`, with the page proved writable.
        unsafe { core::ptr::copy_nonoverlapping(src[off..].as_ptr(), pa as *mut u8, n) }
    })
}

pub fn cmpxchg_u32(aspace: &AddressSpace, va: usize, old: u32, new: u32) -> Result<u32, Fault> {
    if va % 4 != 0 {
        return Err(Fault);
    }
    let pa = aspace.translate(va, true).ok_or(Fault)?;
    // SAFETY: `pa` is 4-byte aligned inside a writable user frame; user
    // threads access it only with atomics or plain accesses of their own,
    // and this CPU is the only one.
    let a = unsafe { AtomicU32::from_ptr(pa as *mut u32) };
    Ok(
        match a.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        },
    )
}

/// Atomic, sequentially consistent load of an aligned user u32.
pub fn load_u32(aspace: &AddressSpace, va: usize) -> Result<u32, Fault> {
    if va % 4 != 0 {
        return Err(Fault);
    }
    let pa = aspace.translate(va, false).ok_or(Fault)?;
    // SAFETY: `pa` is 4-byte aligned inside a readable user frame, reached
    // through the identity map; as in `cmpxchg_u32`.
    let a = unsafe { AtomicU32::from_ptr(pa as *mut u32) };
    Ok(a.load(Ordering::SeqCst))
}

/// Reads a plain-old-data value.
pub fn read_val<T: Copy + Default>(aspace: &AddressSpace, va: usize) -> Result<T, Fault> {
    let mut v = T::default();
    // SAFETY: T is Copy plain data used only for the ABI structs and
    // integers (any bit pattern valid); the slice covers exactly `v`.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(&mut v as *mut T as *mut u8, core::mem::size_of::<T>())
    };
    read(aspace, va, bytes)?;
    Ok(v)
}

/// Writes a plain-old-data value.
pub fn write_val<T: Copy>(aspace: &AddressSpace, va: usize, v: &T) -> Result<(), Fault> {
    // SAFETY: reading the bytes of a Copy value.
    let bytes = unsafe {
        core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>())
    };
    write(aspace, va, bytes)
}
