//! QEMU's fw_cfg device (virt: MMIO at 0x0902_0000), read for one fact: the
//! RAM range. QEMU 7.2 passes no device tree to a bare ELF `-kernel` (x0 is
//! 0 and nothing is at the base of RAM) and leaves fw_cfg's RAM_SIZE item
//! at 0 on Arm, but it does publish SMBIOS tables there, whose type 16
//! structure (Physical Memory Array) gives the RAM size; virt's RAM starts
//! at RAM_BASE.

use core::ops::Range;
use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x0902_0000;
const DATA: usize = BASE; // byte-wide reads stream the selected item
const SELECTOR: usize = BASE + 8; // 16-bit, big-endian
const KEY_SIGNATURE: u16 = 0x0000;
const KEY_FILE_DIR: u16 = 0x0019;
const SMBIOS_FILE: &[u8] = b"etc/smbios/smbios-tables";
/// Enough for QEMU's SMBIOS tables (a few hundred bytes).
const MAX_TABLES: usize = 2048;
const SMBIOS_PHYSICAL_MEMORY_ARRAY: u8 = 16;
/// Where QEMU virt's RAM starts.
const RAM_BASE: usize = 0x4000_0000;

fn select(key: u16) {
    // SAFETY: the fw_cfg selector register (device memory, or untranslated
    // with the MMU off); selecting an item has no other effect.
    unsafe { write_volatile(SELECTOR as *mut u16, key.to_be()) };
}

fn read(out: &mut [u8]) {
    for b in out.iter_mut() {
        // SAFETY: the fw_cfg data register: each read returns the selected
        // item's next byte.
        *b = unsafe { read_volatile(DATA as *const u8) };
    }
}

/// The first RAM range described by QEMU's SMBIOS tables.
pub fn ram_range() -> Option<Range<usize>> {
    let mut sig = [0u8; 4];
    select(KEY_SIGNATURE);
    read(&mut sig);
    if &sig != b"QEMU" {
        return None;
    }
    let (key, size) = find_file(SMBIOS_FILE)?;
    let mut tables = [0u8; MAX_TABLES];
    let len = size.min(MAX_TABLES);
    select(key);
    read(&mut tables[..len]);
    let size = memory_array_size(&tables[..len])?;
    Some(RAM_BASE..RAM_BASE.checked_add(size)?)
}

/// (selector, size) of the fw_cfg file called `name`.
fn find_file(name: &[u8]) -> Option<(u16, usize)> {
    select(KEY_FILE_DIR);
    let mut count = [0u8; 4];
    read(&mut count);
    for _ in 0..u32::from_be_bytes(count) {
        // Entry: size u32 BE, select u16 BE, reserved u16, name [u8; 56].
        let mut e = [0u8; 64];
        read(&mut e);
        let fname = &e[8..];
        let flen = fname.iter().position(|&c| c == 0).unwrap_or(fname.len());
        if &fname[..flen] == name {
            let size = u32::from_be_bytes([e[0], e[1], e[2], e[3]]) as usize;
            return Some((u16::from_be_bytes([e[4], e[5]]), size));
        }
    }
    None
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?) as u64)
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Walks the SMBIOS structures (header: type, length, handle; then the
/// formatted area; then strings ending in a double NUL) to the first
/// type 16 and returns its maximum capacity in bytes (QEMU: the RAM size).
fn memory_array_size(t: &[u8]) -> Option<usize> {
    let mut p = 0;
    while p + 4 <= t.len() {
        let (ty, len) = (t[p], t[p + 1] as usize);
        if len < 4 {
            return None;
        }
        if ty == SMBIOS_PHYSICAL_MEMORY_ARRAY {
            let s = &t[p..(p + len).min(t.len())];
            let kb = le32(s, 7)?;
            let bytes = if kb == 0x8000_0000 {
                le64(s, 0x0f)?
            } else {
                kb * 1024
            };
            return Some(bytes as usize).filter(|&b| b != 0);
        }
        // Skip the string set: up to and including two NULs in a row.
        let mut q = p + len;
        while q + 1 < t.len() && !(t[q] == 0 && t[q + 1] == 0) {
            q += 1;
        }
        p = q + 2;
    }
    None
}
