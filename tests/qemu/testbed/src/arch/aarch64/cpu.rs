//! CPU state that is not memory: FP/SIMD access, the IRQ mask, idling.

use core::arch::asm;

/// CPACR_EL1.FPEN = 0b11: no trap for FP/SIMD at EL1 or EL0.
pub fn enable_fp() {
    // SAFETY: only grants access to FP/SIMD registers; the ISB makes the
    // change visible before any later FP instruction.
    unsafe { asm!("msr cpacr_el1, {v}", "isb", v = in(reg) 3u64 << 20, options(nostack)) };
}

/// DAIF.I, the IRQ mask bit, as seen by `mrs daif`.
const DAIF_I: u64 = 1 << 7;

/// Masks IRQs; returns whether they were unmasked before.
pub fn interrupts_disable() -> bool {
    let daif: u64;
    // SAFETY: reads and sets the IRQ mask of this CPU only.
    unsafe { asm!("mrs {d}, daif", "msr daifset, #2", d = out(reg) daif, options(nostack)) };
    daif & DAIF_I == 0
}

/// Unmasks IRQs if `enabled` (the value `interrupts_disable` returned).
pub fn interrupts_restore(enabled: bool) {
    if enabled {
        // SAFETY: unmasking IRQs; the vectors are installed before the
        // common kernel ever has a reason to unmask them.
        unsafe { asm!("msr daifclr, #2", options(nostack)) };
    }
}

/// Idle until an interrupt has been handled. `wfi` wakes on a pending IRQ
/// even while it is masked, so waiting masked and unmasking only after the
/// wake cannot lose an IRQ that arrived between the caller's "nothing to
/// run" check and the `wfi`. The mask is left as the caller had it.
pub fn wait_for_interrupt() {
    // SAFETY: waits, lets the pending IRQ be taken by our vectors (which may
    // switch tasks and come back here), then puts the caller's mask back.
    unsafe {
        asm!(
            "mrs {d}, daif",
            "msr daifset, #2",
            "dsb sy",
            "wfi",
            "msr daifclr, #2",
            "isb",
            "msr daif, {d}",
            d = out(reg) _,
        )
    };
}
