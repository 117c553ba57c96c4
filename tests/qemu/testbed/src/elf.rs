//! Loader for static, non-PIE ELF64 user programs linked at USER_BASE.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::arch::{AddressSpace, UserPerm, PAGE_SIZE, USER_BASE, USER_STACK_TOP};
use crate::frames;
use crate::process::STACK_SIZE;
use testbed_abi::errno::{EINVAL, ENOMEM};

const ENOEXEC: isize = 8;
const PT_LOAD: u32 = 1;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
/// Largest total image the loader accepts.
const MAX_IMAGE: usize = 64 << 20;

#[cfg(target_arch = "x86_64")]
const MACHINE: u16 = 62;
#[cfg(target_arch = "aarch64")]
const MACHINE: u16 = 183;

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<usize> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?) as usize)
}

struct Segment {
    offset: usize,
    vaddr: usize,
    filesz: usize,
    memsz: usize,
    flags: u32,
}

fn parse(image: &[u8]) -> Option<(usize, Vec<Segment>)> {
    if image.get(0..4)? != b"\x7fELF" || image[4] != 2 || image[5] != 1 {
        return None;
    }
    if u16_at(image, 16)? != 2 || u16_at(image, 18)? != MACHINE {
        return None;
    }
    let entry = u64_at(image, 24)?;
    let phoff = u64_at(image, 32)?;
    let phentsize = u16_at(image, 54)? as usize;
    let phnum = u16_at(image, 56)? as usize;
    if phentsize < 56 || phnum > 64 {
        return None;
    }
    let mut segs = Vec::new();
    for i in 0..phnum {
        let ph = phoff.checked_add(i.checked_mul(phentsize)?)?;
        if u32_at(image, ph)? != PT_LOAD {
            continue;
        }
        let s = Segment {
            flags: u32_at(image, ph + 4)?,
            offset: u64_at(image, ph + 8)?,
            vaddr: u64_at(image, ph + 16)?,
            filesz: u64_at(image, ph + 32)?,
            memsz: u64_at(image, ph + 40)?,
        };
        let file_end = s.offset.checked_add(s.filesz)?;
        let mem_end = s.vaddr.checked_add(s.memsz)?;
        if file_end > image.len() || s.filesz > s.memsz || s.memsz > MAX_IMAGE {
            return None;
        }
        if s.vaddr < USER_BASE || mem_end > USER_STACK_TOP - STACK_SIZE - PAGE_SIZE {
            return None;
        }
        segs.push(s);
    }
    Some((entry, segs))
}

/// Maps and fills the program's segments; returns the entry point. The
/// frames it allocates are appended to `owned`, also on failure, and each
/// page it maps to `mapped` (address and permissions).
pub fn load(
    image: &[u8],
    aspace: &mut AddressSpace,
    owned: &mut Vec<usize>,
    mapped: &mut Vec<(usize, UserPerm)>,
) -> Result<usize, isize> {
    let (entry, segs) = parse(image).ok_or(ENOEXEC)?;
    if segs.is_empty() {
        return Err(ENOEXEC);
    }
    // Page -> (write, exec), merged over segments that share a page.
    let mut pages: BTreeMap<usize, (bool, bool)> = BTreeMap::new();
    for s in &segs {
        let mut va = s.vaddr & !(PAGE_SIZE - 1);
        while va < s.vaddr + s.memsz {
            let e = pages.entry(va).or_insert((false, false));
            e.0 |= s.flags & PF_W != 0;
            e.1 |= s.flags & PF_X != 0;
            va += PAGE_SIZE;
        }
    }
    if pages.len() * PAGE_SIZE > MAX_IMAGE {
        return Err(EINVAL);
    }
    for (&va, &(write, exec)) in &pages {
        let pa = frames::alloc_zeroed().ok_or(ENOMEM)?;
        owned.push(pa);
        if !aspace.map_user(va, pa, UserPerm { write, exec }) {
            return Err(ENOMEM);
        }
        mapped.push((va, UserPerm { write, exec }));
    }
    for s in &segs {
        let data = &image[s.offset..s.offset + s.filesz];
        let mut done = 0;
        while done < data.len() {
            let va = s.vaddr + done;
            let pa = aspace.translate(va, false).ok_or(ENOMEM)?;
            let n = (PAGE_SIZE - va % PAGE_SIZE).min(data.len() - done);
            // SAFETY: `pa` is the start of an identity-mapped frame range of
            // `n` bytes inside one page this loader just allocated.
            unsafe { core::ptr::copy_nonoverlapping(data[done..].as_ptr(), pa as *mut u8, n) };
            done += n;
        }
    }
    if !pages.contains_key(&(entry & !(PAGE_SIZE - 1))) {
        return Err(ENOEXEC);
    }
    Ok(entry)
}
