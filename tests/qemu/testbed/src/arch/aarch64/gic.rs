//! GICv2 (QEMU virt: distributor 0x0800_0000, CPU interface 0x0801_0000),
//! used for the virtual timer's PPI (banked: every CPU its own) and one
//! SGI, the wake-up of an idle CPU.

use core::ptr::{read_volatile, write_volatile};

const GICD: usize = 0x0800_0000;
const GICC: usize = 0x0801_0000;
const GICD_CTLR: usize = 0x000;
const GICD_ISENABLER: usize = 0x100;
const GICD_IPRIORITYR: usize = 0x400;
const GICC_CTLR: usize = 0x00;
const GICC_PMR: usize = 0x04;
const GICC_IAR: usize = 0x0c;
const GICC_EOIR: usize = 0x10;
const GICD_SGIR: usize = 0xF00;
const SPURIOUS: u32 = 1023;
/// The wake-up SGI (`wake_cpu`).
pub const WAKE_SGI: u32 = 0;

fn write(addr: usize, v: u32) {
    // SAFETY: GIC registers inside the device-mapped MMIO range.
    unsafe { write_volatile(addr as *mut u32, v) }
}

fn read(addr: usize) -> u32 {
    // SAFETY: as in `write`.
    unsafe { read_volatile(addr as *const u32) }
}

/// Turns the GIC on and enables interrupt `intid` (a PPI, so the banked
/// registers of this CPU) at the highest priority.
pub fn enable(intid: u32) {
    let n = intid as usize;
    // SAFETY: byte access to the priority register is allowed by GICv2.
    unsafe { write_volatile((GICD + GICD_IPRIORITYR + n) as *mut u8, 0) };
    write(GICD + GICD_ISENABLER + 4 * (n / 32), 1 << (n % 32));
    write(GICD + GICD_CTLR, 1);
    write(GICC + GICC_PMR, 0xff);
    write(GICC + GICC_CTLR, 1);
}

/// Enables SGI `id` on this CPU (banked) at the highest priority.
pub fn enable_sgi(id: u32) {
    let n = id as usize;
    // SAFETY: as in `enable`.
    unsafe { write_volatile((GICD + GICD_IPRIORITYR + n) as *mut u8, 0) };
    write(GICD + GICD_ISENABLER, 1 << n);
}

/// Sends SGI `id` to the CPU interface `cpu` (QEMU numbers them as the
/// CPUs). The barrier makes this CPU's earlier stores (the run queue)
/// visible first.
pub fn send_sgi(cpu: usize, id: u32) {
    // SAFETY: a barrier only.
    unsafe { core::arch::asm!("dsb ish", options(nostack, preserves_flags)) };
    write(GICD + GICD_SGIR, (1 << (16 + cpu)) | id);
}

/// Acknowledges, handles and ends the pending interrupt. The end of
/// interrupt comes before the common handler, which may switch tasks and
/// not come back for a while.
pub fn handle_irq(frame: &mut super::traps::TrapFrame) {
    let iar = read(GICC + GICC_IAR);
    let intid = iar & 0x3ff;
    if intid == SPURIOUS {
        return;
    }
    let is_timer = intid == super::timer::INTID;
    if is_timer {
        super::timer::rearm();
    }
    write(GICC + GICC_EOIR, iar);
    if is_timer {
        crate::trap::on_timer(frame);
    } else if intid == WAKE_SGI {
        // Ends an idle wait, or makes a user task look at its signals.
        crate::trap::on_wake(frame);
    }
}
