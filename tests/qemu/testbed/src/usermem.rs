//! User memory access through the page tables: every page of a range must
//! be mapped for user access (writable for writes), else `Fault` (EFAULT).
//! The copy goes through the kernel identity map of the physical frames,
//! so it works whatever address space is active.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::arch::{AddressSpace, PAGE_SIZE};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

/// Every page of `[va, va + len)` is mapped for user access (writable if
/// `write`).
fn check(aspace: &AddressSpace, va: usize, len: usize, write: bool) -> Result<(), Fault> {
    va.checked_add(len).ok_or(Fault)?;
    let mut off = 0;
    while off < len {
        let a = va + off;
        aspace.translate(a, write).ok_or(Fault)?;
        off += PAGE_SIZE - a % PAGE_SIZE;
    }
    Ok(())
}

/// Calls `f(pa, offset, len)` for each page piece of `[va, va + len)`.
fn each_piece(
    aspace: &AddressSpace,
    va: usize,
    len: usize,
    write: bool,
    mut f: impl FnMut(usize, usize, usize),
) -> Result<(), Fault> {
    // Check the whole range first so a failed copy changes nothing.
    check(aspace, va, len, write)?;
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

/// Writes each `(offset, bytes)` of `parts` at `va + offset`, all inside
/// `[va, va + len)`, which is checked writable first (a fault changes
/// nothing). One page walk per page, however many parts it holds: poll
/// writes each entry's `revents` and nothing else, as Linux does.
pub fn write_parts<B: AsRef<[u8]>>(
    aspace: &AddressSpace,
    va: usize,
    len: usize,
    parts: impl IntoIterator<Item = (usize, B)>,
) -> Result<(), Fault> {
    check(aspace, va, len, true)?;
    let mut page = usize::MAX;
    let mut frame = 0;
    for (off, bytes) in parts {
        let bytes = bytes.as_ref();
        if off.checked_add(bytes.len()).is_none_or(|end| end > len) {
            return Err(Fault);
        }
        for (i, b) in bytes.iter().enumerate() {
            let a = va + off + i;
            if a / PAGE_SIZE != page {
                frame = aspace.translate(a - a % PAGE_SIZE, true).ok_or(Fault)?;
                page = a / PAGE_SIZE;
            }
            // SAFETY: `a` lies in `[va, va + len)`, whose pages were proved
            // writable above; `frame` is its page's frame, reached through
            // the identity map.
            unsafe { *((frame + a % PAGE_SIZE) as *mut u8) = *b };
        }
    }
    Ok(())
}

/// Reads `dst.len()` plain-old-data values from consecutive addresses at
/// `va`, in one copy.
pub fn read_slice<T: Copy + Default>(
    aspace: &AddressSpace,
    va: usize,
    dst: &mut [T],
) -> Result<(), Fault> {
    // SAFETY: as in `read_val`: T is Copy plain data (any bit pattern
    // valid); the byte slice covers exactly `dst`.
    let bytes = unsafe {
        core::slice::from_raw_parts_mut(dst.as_mut_ptr() as *mut u8, core::mem::size_of_val(dst))
    };
    read(aspace, va, bytes)
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
