//! Translation tables: 4 KiB granule, 39-bit VAs (T0SZ = 25, walks start at
//! level 1), everything through TTBR0 (TTBR1 walks disabled).
//!
//! Level-1 slots 0..KERNEL_SLOTS are the kernel's and shared by every
//! address space: slot 0 holds device MMIO (GIC, PL011) as 2 MiB device
//! blocks, slots 1.. hold RAM identity-mapped as 2 MiB normal blocks, EL1
//! only. User pages (USER_BASE = 64 GiB and up) are 4 KiB level-3 pages in
//! tables owned by each `AddressSpace`, marked not-global.
//!
//! No ASIDs: `activate` flushes the EL1&0 TLB when the table changes. That is
//! cheap under TCG and leaves no stale-ASID cases to get wrong.

use super::super::{UserPerm, PAGE_SIZE, USER_BASE};
use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::arch::asm;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Used when the device tree cannot be read (QEMU's `-m 256M`).
pub const DEFAULT_RAM: Range<usize> = 0x4000_0000..0x5000_0000;

const ENTRIES: usize = 512;
const L1_SHIFT: usize = 30;
const L2_SHIFT: usize = 21;
const L3_SHIFT: usize = 12;
const BLOCK_2M: usize = 1 << L2_SHIFT;
/// Level-1 slots owned by the kernel: 0 (MMIO) and 1..=2 (up to 2 GiB RAM).
const KERNEL_SLOTS: usize = 3;
const RAM_SLOTS: usize = KERNEL_SLOTS - 1;
/// One past the highest user VA the tables can express (39-bit VAs).
const USER_END: usize = 1 << 39;
/// MMIO mapped as device memory: GICv2 (0x0800_0000) up to past the PL011.
const MMIO: Range<usize> = 0x0800_0000..0x0a00_0000;

// Descriptor bits.
const VALID: u64 = 1 << 0;
const TABLE: u64 = 1 << 1; // at levels 1-2: next-level table; at level 3: page
const ATTR_NORMAL: u64 = 0 << 2; // MAIR index 0
const ATTR_DEVICE: u64 = 1 << 2; // MAIR index 1
const AP_EL0: u64 = 1 << 6; // EL0 may access
const AP_RO: u64 = 1 << 7; // read-only (at every EL)
const SH_INNER: u64 = 3 << 8;
const AF: u64 = 1 << 10; // access flag (no AF faults wanted)
const NG: u64 = 1 << 11; // not global: user pages
const PXN: u64 = 1 << 53;
const UXN: u64 = 1 << 54;
const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;

const MAIR: u64 = 0xff | (0x04 << 8); // 0: normal WB-WA, 1: Device-nGnRE
const TCR: u64 = 25 // T0SZ: 39-bit VA
    | (1 << 8) | (1 << 10) | (3 << 12) // inner/outer WB-WA walks, inner shareable
    | (25 << 16) | (1 << 23) // T1SZ, EPD1: no TTBR1 walks
    | (2 << 32); // IPS: 40-bit PA
const SCTLR: u64 = 0x30d0_0800 // RES1 bits
    | (1 << 0) | (1 << 2) | (1 << 12) // M, C, I
    | (1 << 3) | (1 << 4) // SP alignment checks at EL1 and EL0
    | (1 << 14) | (1 << 15) | (1 << 26) // EL0 may use DC ZVA, CTR_EL0, cache ops
    | (1 << 16) | (1 << 18); // EL0 wfi/wfe do not trap

#[repr(C, align(4096))]
struct Table([u64; ENTRIES]);

static mut KERNEL_L1: Table = Table([0; ENTRIES]);
static mut MMIO_L2: Table = Table([0; ENTRIES]);
static mut RAM_L2: [Table; RAM_SLOTS] = [const { Table([0; ENTRIES]) }; RAM_SLOTS];
static RAM_END: AtomicUsize = AtomicUsize::new(0);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

extern "C" {
    static __kernel_end: u8;
}

/// Builds the kernel map for `ram` and turns the MMU on with it. Runs once,
/// first thing, with the MMU off.
pub fn init_kernel_map(ram: Range<usize>) {
    let lo = ram.start.max(1 << L1_SHIFT) & !(BLOCK_2M - 1);
    let hi = ram.end.min((KERNEL_SLOTS) << L1_SHIFT) & !(BLOCK_2M - 1);
    RAM_END.store(hi, Ordering::Relaxed);
    // SAFETY: single-threaded boot, MMU off, nothing else uses the static
    // tables yet; raw pointers avoid references to `static mut`.
    unsafe {
        let l1 = &mut (*core::ptr::addr_of_mut!(KERNEL_L1)).0;
        let mmio = &mut (*core::ptr::addr_of_mut!(MMIO_L2)).0;
        let ram_l2 = &mut *core::ptr::addr_of_mut!(RAM_L2);
        let mut pa = MMIO.start;
        while pa < MMIO.end {
            mmio[pa >> L2_SHIFT] = pa as u64 | VALID | ATTR_DEVICE | AF | PXN | UXN;
            pa += BLOCK_2M;
        }
        l1[0] = mmio.as_ptr() as u64 | VALID | TABLE;
        let mut pa = lo;
        while pa < hi {
            let t = &mut ram_l2[(pa >> L1_SHIFT) - 1].0;
            t[(pa >> L2_SHIFT) % ENTRIES] = pa as u64 | VALID | ATTR_NORMAL | SH_INNER | AF | UXN;
            pa += BLOCK_2M;
        }
        for (i, t) in ram_l2.iter().enumerate() {
            l1[1 + i] = t.0.as_ptr() as u64 | VALID | TABLE;
        }
        asm!(
            "msr mair_el1, {mair}",
            "msr tcr_el1, {tcr}",
            "msr ttbr0_el1, {ttbr}",
            "dsb sy",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            "msr sctlr_el1, {sctlr}",
            "isb",
            mair = in(reg) MAIR,
            tcr = in(reg) TCR,
            ttbr = in(reg) l1.as_ptr() as u64,
            sctlr = in(reg) SCTLR,
            options(nostack),
        );
    }
}

/// (MAIR, TCR, TTBR0, SCTLR) as `init_kernel_map` set them: what another
/// CPU loads to run on the kernel map.
pub fn boot_values() -> (u64, u64, u64, u64) {
    (MAIR, TCR, core::ptr::addr_of!(KERNEL_L1) as u64, SCTLR)
}

/// RAM after the kernel image, page aligned.
pub fn free_ram() -> Range<usize> {
    // Only the address of the linker symbol is taken (no read).
    let end = core::ptr::addr_of!(__kernel_end) as usize;
    (end + PAGE_SIZE - 1) & !(PAGE_SIZE - 1)..RAM_END.load(Ordering::Relaxed)
}

fn ram_contains(pa: usize) -> bool {
    pa >= (1 << L1_SHIFT) && pa < RAM_END.load(Ordering::Relaxed)
}

fn new_table() -> Option<*mut u64> {
    // SAFETY: non-zero size; the heap lives in identity-mapped RAM, so the
    // pointer is also the physical address the walker needs.
    let p = unsafe { alloc_zeroed(table_layout()) } as *mut u64;
    (!p.is_null()).then_some(p)
}

fn table_layout() -> Layout {
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap()
}

fn current_ttbr0() -> usize {
    let v: u64;
    // SAFETY: reading a system register.
    unsafe { asm!("mrs {v}, ttbr0_el1", v = out(reg) v, options(nomem, nostack)) };
    (v & ADDR_MASK) as usize
}

fn load_ttbr0(l1: usize) {
    // SAFETY: `l1` is a complete level-1 table with the kernel slots, so
    // the code and stack we are running on stay mapped across the switch;
    // the flush drops the previous space's user entries.
    unsafe {
        asm!(
            "dsb ishst",
            "msr ttbr0_el1, {t}",
            "isb",
            "tlbi vmalle1",
            "dsb nsh",
            "isb",
            t = in(reg) l1 as u64,
            options(nostack),
        )
    };
}

/// Loads the kernel-only table: a CPU between tasks holds no process's
/// tables, which another CPU may free.
pub fn activate_kernel_space() {
    let k = core::ptr::addr_of!(KERNEL_L1) as usize;
    if current_ttbr0() != k {
        load_ttbr0(k);
    }
}

/// One process's translation tables.
pub struct AddressSpace {
    /// Level-1 table (heap allocated, so VA == PA).
    l1: usize,
    id: u64,
}

impl AddressSpace {
    /// A new space holding only the kernel map.
    pub fn new() -> Option<AddressSpace> {
        let l1 = new_table()?;
        // SAFETY: `l1` is a fresh, exclusively owned table; the kernel
        // slots are copied from the static table, which no longer changes.
        unsafe {
            let k = &(*core::ptr::addr_of!(KERNEL_L1)).0;
            for (i, e) in k.iter().take(KERNEL_SLOTS).enumerate() {
                l1.add(i).write(*e);
            }
        }
        Some(AddressSpace {
            l1: l1 as usize,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Maps the 4 KiB user page at `va` to the RAM page `pa`. False if
    /// either is unaligned or out of range, or a table cannot be allocated.
    pub fn map_user(&mut self, va: usize, pa: usize, perm: UserPerm) -> bool {
        if va % PAGE_SIZE != 0 || pa % PAGE_SIZE != 0 || !(USER_BASE..USER_END).contains(&va) {
            return false;
        }
        if !ram_contains(pa) {
            return false;
        }
        let Some(l3) = self.l3_table(va, true) else {
            return false;
        };
        let mut e = pa as u64 | VALID | TABLE | ATTR_NORMAL | SH_INNER | AF | NG | AP_EL0 | PXN;
        if !perm.write {
            e |= AP_RO;
        }
        if !perm.exec {
            e |= UXN;
        }
        // SAFETY: `l3` is one of this space's tables; the index is < 512.
        // Replacing a live entry is break-before-make: clear, flush the VA,
        // then write the new one.
        unsafe {
            let slot = l3.add((va >> L3_SHIFT) % ENTRIES);
            if slot.read_volatile() & VALID != 0 {
                slot.write_volatile(0);
                asm!("dsb ishst", "tlbi vaae1is, {v}", "dsb ish", v = in(reg) (va >> 12) as u64, options(nostack));
            }
            slot.write_volatile(e);
            asm!("dsb ishst", "isb", options(nostack));
        }
        true
    }

    /// Removes the user page at `va` and returns its frame (None if none
    /// was mapped). The flush is broadcast (inner shareable), so no CPU
    /// keeps the translation.
    pub fn unmap_user(&mut self, va: usize) -> Option<usize> {
        if va % PAGE_SIZE != 0 || !(USER_BASE..USER_END).contains(&va) {
            return None;
        }
        let l3 = self.l3_table(va, false)?;
        // SAFETY: `l3` is one of this space's tables; the index is < 512.
        unsafe {
            let slot = l3.add((va >> L3_SHIFT) % ENTRIES);
            let e = slot.read_volatile();
            if e & VALID == 0 {
                return None;
            }
            slot.write_volatile(0);
            asm!("dsb ishst", "tlbi vaae1is, {v}", "dsb ish", "isb", v = in(reg) (va >> 12) as u64, options(nostack));
            Some((e & ADDR_MASK) as usize)
        }
    }

    /// The physical address behind the user VA `va`, if it is mapped for
    /// EL0 (and writable when `need_write`).
    pub fn translate(&self, va: usize, need_write: bool) -> Option<usize> {
        if !(USER_BASE..USER_END).contains(&va) {
            return None;
        }
        let l3 = self.l3_table(va, false)?;
        // SAFETY: reading an entry of one of this space's level-3 tables.
        let e = unsafe { l3.add((va >> L3_SHIFT) % ENTRIES).read_volatile() };
        let ok = e & (VALID | TABLE) == VALID | TABLE && e & AP_EL0 != 0;
        if !ok || (need_write && e & AP_RO != 0) {
            return None;
        }
        Some((e & ADDR_MASK) as usize | (va % PAGE_SIZE))
    }

    /// Makes this space the current one.
    pub fn activate(&self) {
        if current_ttbr0() != self.l1 {
            load_ttbr0(self.l1);
        }
    }

    /// A number unique among all spaces ever created.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The level-3 table covering `va`, created on the way if `create`.
    fn l3_table(&self, va: usize, create: bool) -> Option<*mut u64> {
        let mut table = self.l1 as *mut u64;
        for shift in [L1_SHIFT, L2_SHIFT] {
            // SAFETY: `table` is this space's level-1 table or one of its
            // level-2 tables; the index is < 512.
            unsafe {
                let slot = table.add((va >> shift) % ENTRIES);
                let e = slot.read_volatile();
                table = if e & (VALID | TABLE) == VALID | TABLE {
                    (e & ADDR_MASK) as *mut u64
                } else if create {
                    let t = new_table()?;
                    slot.write_volatile(t as u64 | VALID | TABLE);
                    t
                } else {
                    return None;
                };
            }
        }
        Some(table)
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        // Never leave TTBR0 pointing at freed tables.
        if current_ttbr0() == self.l1 {
            load_ttbr0(core::ptr::addr_of!(KERNEL_L1) as usize);
        }
        let l1 = self.l1 as *mut u64;
        // SAFETY: slots past KERNEL_SLOTS point only to tables this space
        // allocated; each is freed once, after its children.
        unsafe {
            for i in KERNEL_SLOTS..ENTRIES {
                let e = l1.add(i).read();
                if e & VALID == 0 {
                    continue;
                }
                let l2 = (e & ADDR_MASK) as *mut u64;
                for j in 0..ENTRIES {
                    let e2 = l2.add(j).read();
                    if e2 & VALID != 0 {
                        dealloc((e2 & ADDR_MASK) as *mut u8, table_layout());
                    }
                }
                dealloc(l2 as *mut u8, table_layout());
            }
            dealloc(l1 as *mut u8, table_layout());
        }
    }
}
