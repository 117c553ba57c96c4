//! The EL1 virtual timer (CNTV, PPI 27) as a periodic tick, and the
//! monotonic clock from its counter (CNTVCT).

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

/// The virtual timer's interrupt: PPI 11 = INTID 27.
pub const INTID: u32 = 27;

/// Counter ticks between two timer interrupts.
static PERIOD: AtomicU64 = AtomicU64::new(0);

fn frequency() -> u64 {
    let f: u64;
    // SAFETY: reading a system register.
    unsafe { asm!("mrs {f}, cntfrq_el0", f = out(reg) f, options(nomem, nostack)) };
    f
}

fn counter() -> u64 {
    let c: u64;
    // SAFETY: reading the counter; the ISB keeps it from being read early.
    unsafe { asm!("isb", "mrs {c}, cntvct_el0", c = out(reg) c, options(nomem, nostack)) };
    c
}

fn set_compare(cval: u64) {
    // SAFETY: programs this CPU's virtual timer only.
    unsafe { asm!("msr cntv_cval_el0, {v}", "isb", v = in(reg) cval, options(nomem, nostack)) };
}

/// Lets EL0 read CNTVCT_EL0 and CNTFRQ_EL0 (CNTKCTL_EL1.EL0VCTEN), as x86
/// user code may read the TSC: user programs can time themselves without a
/// syscall. The timer registers themselves stay EL1-only.
pub fn allow_user_counter() {
    // SAFETY: only widens EL0's read access to the virtual counter.
    unsafe { asm!("msr cntkctl_el1, {v}", "isb", v = in(reg) 1u64 << 1, options(nomem, nostack)) };
}

/// Starts a tick of `hz` per second; each tick calls `crate::trap::on_timer`
/// (when IRQs are unmasked).
pub fn timer_start(hz: u32) {
    let period = (frequency() / hz.max(1) as u64).max(1);
    PERIOD.store(period, Ordering::Relaxed);
    set_compare(counter() + period);
    // SAFETY: CNTV_CTL_EL0 = ENABLE, interrupt not masked.
    unsafe { asm!("msr cntv_ctl_el0, {v}", "isb", v = in(reg) 1u64, options(nomem, nostack)) };
    super::gic::enable(INTID);
}

/// Sets the next deadline one period after the current one (no drift), or
/// one period from now if ticks were missed.
pub fn rearm() {
    let period = PERIOD.load(Ordering::Relaxed);
    let cval: u64;
    // SAFETY: reading a system register.
    unsafe { asm!("mrs {v}, cntv_cval_el0", v = out(reg) cval, options(nomem, nostack)) };
    let now = counter();
    let next = cval + period;
    set_compare(if next > now { next } else { now + period });
}

/// Nanoseconds since boot (the counter starts at reset).
pub fn monotonic_ns() -> u64 {
    (counter() as u128 * 1_000_000_000 / frequency() as u128) as u64
}
