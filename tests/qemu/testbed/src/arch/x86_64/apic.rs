//! The local APIC (xAPIC, MMIO at 0xFEE0_0000, mapped uncached by `map`):
//! enable, end of interrupt, the periodic timer of the other CPUs, IPIs,
//! and the INIT / STARTUP broadcast that starts the other CPUs. Touched
//! only when QEMU gives more than one CPU, so a one-CPU run keeps the
//! PIC-only setup.

use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

use super::boot::{BOOT_PDPT, BOOT_PD_HI};
use super::trap::{LAPIC_SPURIOUS_VECTOR, LAPIC_TIMER_VECTOR};

const BASE: usize = 0xFEE0_0000;
const ID: usize = 0x20;
const TPR: usize = 0x80;
const EOI: usize = 0xB0;
const SVR: usize = 0xF0;
const ICR_LO: usize = 0x300;
const ICR_HI: usize = 0x310;
const LVT_TIMER: usize = 0x320;
const LVT_LINT0: usize = 0x350;
const LVT_LINT1: usize = 0x360;
const TIMER_INIT: usize = 0x380;
const TIMER_CUR: usize = 0x390;
const TIMER_DIV: usize = 0x3E0;

const MASKED: u32 = 1 << 16;
const PERIODIC: u32 = 1 << 17;
const ICR_PENDING: u32 = 1 << 12;
const ICR_ASSERT: u32 = 1 << 14;
const ALL_BUT_SELF: u32 = 3 << 18;
const INIT: u32 = 5 << 8;
const STARTUP: u32 = 6 << 8;

/// Timer counts (divide by 1) per tick, measured by `calibrate`.
static PERIOD: AtomicU32 = AtomicU32::new(0);

/// Maps the APIC page: PDPT[3] -> BOOT_PD_HI, one 2 MiB uncached
/// supervisor page at 0xFEE0_0000. `AddressSpace::new` copies PDPT[3].
pub fn map() {
    // SAFETY: boot CPU, before any other CPU or address space exists; the
    // entries were not present, so no TLB entry needs flushing.
    unsafe {
        let pd = &mut (*addr_of_mut!(BOOT_PD_HI)).0;
        // P | RW | PWT | PCD | PS
        pd[(BASE >> 21) & 511] = BASE as u64 | 0x9b;
        (*addr_of_mut!(BOOT_PDPT)).0[3] = addr_of!(BOOT_PD_HI) as u64 | 3;
    }
}

fn read(off: usize) -> u32 {
    // SAFETY: an APIC register in the page `map` mapped.
    unsafe { read_volatile((BASE + off) as *const u32) }
}

fn write(off: usize, v: u32) {
    // SAFETY: as `read`.
    unsafe { write_volatile((BASE + off) as *mut u32, v) }
}

/// This CPU's APIC id.
pub fn id() -> u32 {
    read(ID) >> 24
}

/// Software-enables this CPU's APIC. On the boot CPU LINT0 stays the
/// 8259's way in (ExtINT: the PIT tick) and LINT1 NMI; the others mask
/// both.
pub fn enable(boot: bool) {
    write(TPR, 0);
    if boot {
        write(LVT_LINT0, 7 << 8);
        write(LVT_LINT1, 4 << 8);
    } else {
        write(LVT_LINT0, MASKED);
        write(LVT_LINT1, MASKED);
    }
    write(SVR, 0x100 | LAPIC_SPURIOUS_VECTOR as u32);
}

pub fn eoi() {
    write(EOI, 0);
}

/// Measures the timer's counts per tick of `hz` against the TSC.
pub fn calibrate(hz: u32) {
    write(TIMER_DIV, 0xB);
    write(LVT_TIMER, MASKED | LAPIC_TIMER_VECTOR as u32);
    write(TIMER_INIT, u32::MAX);
    super::timer::delay_ns(10_000_000);
    let elapsed = u32::MAX - read(TIMER_CUR);
    write(TIMER_INIT, 0);
    let per_tick = (elapsed as u64 * 100 / hz.max(1) as u64).clamp(1000, u32::MAX as u64);
    PERIOD.store(per_tick as u32, Ordering::Relaxed);
}

/// Starts this CPU's periodic timer at the calibrated rate.
pub fn timer_start() {
    write(TIMER_DIV, 0xB);
    write(LVT_TIMER, PERIODIC | LAPIC_TIMER_VECTOR as u32);
    write(TIMER_INIT, PERIOD.load(Ordering::Relaxed));
}

fn wait_icr() {
    let mut spins = 0u32;
    while read(ICR_LO) & ICR_PENDING != 0 && spins < 1_000_000 {
        spins += 1;
        core::hint::spin_loop();
    }
}

/// A fixed IPI with `vector` to the CPU with APIC id `dest`.
pub fn send_ipi(dest: u32, vector: u8) {
    wait_icr();
    write(ICR_HI, dest << 24);
    write(ICR_LO, ICR_ASSERT | vector as u32);
}

/// INIT, then STARTUP twice (at page `page` of the first MiB), to every
/// other CPU: they start at `page << 12` in real mode.
pub fn start_others(page: u8) {
    wait_icr();
    write(ICR_HI, 0);
    write(ICR_LO, ALL_BUT_SELF | ICR_ASSERT | INIT);
    super::timer::delay_ns(10_000_000);
    for _ in 0..2 {
        wait_icr();
        write(ICR_LO, ALL_BUT_SELF | ICR_ASSERT | STARTUP | page as u32);
        super::timer::delay_ns(200_000);
    }
}
