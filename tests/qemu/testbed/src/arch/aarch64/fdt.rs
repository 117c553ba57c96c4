//! Just enough of the flattened device tree to learn where RAM is.
//!
//! QEMU passes the DTB address in x0 to Linux images; for a bare ELF it
//! leaves x0 alone but still places the DTB at the base of RAM, so both
//! places are tried. Reads are byte-wise: this runs with the MMU off, where
//! all memory is device memory and unaligned accesses fault.

use core::ops::Range;

const MAGIC: u32 = 0xd00d_feed;
const RAM_BASE: usize = 0x4000_0000;
const BEGIN_NODE: u32 = 1;
const END_NODE: u32 = 2;
const PROP: u32 = 3;
const NOP: u32 = 4;
/// Upper bound on the tokens walked, in case of a corrupt tree.
const MAX_WORDS: usize = 1 << 20;

fn be32(addr: usize) -> u32 {
    let mut v = 0u32;
    for i in 0..4 {
        // SAFETY: callers only pass addresses inside the DTB blob, which
        // lies in RAM (identity mapped or MMU off).
        v = (v << 8) | unsafe { core::ptr::read_volatile((addr + i) as *const u8) } as u32;
    }
    v
}

fn cells(addr: usize, n: u32) -> u64 {
    (0..n as usize).fold(0u64, |acc, i| (acc << 32) | be32(addr + 4 * i) as u64)
}

/// True if the NUL-terminated string at `addr` starts with `prefix` and
/// (when `exact`) ends right after it.
fn str_is(addr: usize, prefix: &[u8], exact: bool) -> bool {
    for (i, &c) in prefix.iter().enumerate() {
        // SAFETY: reads within the DTB, stopping at the first mismatch.
        if unsafe { core::ptr::read_volatile((addr + i) as *const u8) } != c {
            return false;
        }
    }
    // SAFETY: one byte past the matched prefix, still inside the string.
    let next = unsafe { core::ptr::read_volatile((addr + prefix.len()) as *const u8) };
    !exact || next == 0
}

fn str_len(addr: usize) -> usize {
    let mut n = 0;
    // SAFETY: DTB strings are NUL-terminated inside the blob.
    while unsafe { core::ptr::read_volatile((addr + n) as *const u8) } != 0 {
        n += 1;
    }
    n
}

/// The first `/memory*` node's first `reg` range.
pub fn memory_range(x0: usize) -> Option<Range<usize>> {
    [x0, RAM_BASE].into_iter().find_map(|dtb| {
        if dtb == 0 || dtb % 4 != 0 || be32(dtb) != MAGIC {
            return None;
        }
        scan(dtb)
    })
}

fn scan(dtb: usize) -> Option<Range<usize>> {
    let structs = dtb + be32(dtb + 8) as usize;
    let strings = dtb + be32(dtb + 12) as usize;
    let (mut addr_cells, mut size_cells) = (2u32, 1u32);
    let mut depth = 0usize;
    let mut in_memory = false;
    let mut p = structs;
    for _ in 0..MAX_WORDS {
        match be32(p) {
            BEGIN_NODE => {
                depth += 1;
                let name = p + 4;
                in_memory = depth == 2 && str_is(name, b"memory", false);
                p = (name + str_len(name) + 1 + 3) & !3;
            }
            END_NODE => {
                depth = depth.saturating_sub(1);
                in_memory = false;
                p += 4;
            }
            PROP => {
                let len = be32(p + 4) as usize;
                let name = strings + be32(p + 8) as usize;
                let val = p + 12;
                if depth == 1 && str_is(name, b"#address-cells", true) {
                    addr_cells = be32(val);
                } else if depth == 1 && str_is(name, b"#size-cells", true) {
                    size_cells = be32(val);
                } else if in_memory && str_is(name, b"reg", true) {
                    if len < 4 * (addr_cells + size_cells) as usize {
                        return None;
                    }
                    let base = cells(val, addr_cells) as usize;
                    let size = cells(val + 4 * addr_cells as usize, size_cells) as usize;
                    return Some(base..base.checked_add(size)?);
                }
                p = (val + len + 3) & !3;
            }
            NOP => p += 4,
            _ => return None, // FDT_END or garbage
        }
    }
    None
}
