//! Time: the 8259 PICs (remapped to 32..47, only IRQ0 unmasked), the PIT
//! channel 0 as the periodic tick, and the TSC (calibrated against PIT
//! channel 2) as the monotonic clock.

use core::sync::atomic::{AtomicU64, Ordering};

use super::cpu::{inb, outb, rdtsc};

const PIT_HZ: u64 = 1_193_182;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_BASE: AtomicU64 = AtomicU64::new(0);
static LAST_NS: AtomicU64 = AtomicU64::new(0);

/// Remaps the PICs with every line masked.
pub fn init_pic() {
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, 32);
    outb(0xA1, 40);
    outb(0x21, 4);
    outb(0xA1, 2);
    outb(0x21, 1);
    outb(0xA1, 1);
    outb(0x21, 0xff);
    outb(0xA1, 0xff);
}

/// Measures the TSC rate over 10 ms of PIT channel 2.
pub fn calibrate_tsc() {
    let ticks: u16 = (PIT_HZ / 100) as u16;
    // Gate on, speaker off.
    outb(0x61, (inb(0x61) & !0x02) | 0x01);
    outb(0x43, 0xB0); // channel 2, lo/hi, mode 0
    outb(0x42, ticks as u8);
    outb(0x42, (ticks >> 8) as u8);
    let t0 = rdtsc();
    let mut spins = 0u64;
    while inb(0x61) & 0x20 == 0 && spins < 100_000_000 {
        spins += 1;
    }
    let t1 = rdtsc();
    let mut hz = (t1 - t0) * 100;
    if hz < 1_000_000 {
        hz = 1_000_000_000;
    }
    TSC_HZ.store(hz, Ordering::Relaxed);
    TSC_BASE.store(rdtsc(), Ordering::Relaxed);
}

/// Starts PIT channel 0 at `hz` and unmasks IRQ0.
pub fn start(hz: u32) {
    let div = (PIT_HZ / hz.max(19) as u64).min(0xffff) as u16;
    outb(0x43, 0x34); // channel 0, lo/hi, mode 2
    outb(0x40, div as u8);
    outb(0x40, (div >> 8) as u8);
    outb(0x21, 0xfe);
}

pub fn eoi() {
    outb(0x20, 0x20);
}

/// Busy-waits `ns` nanoseconds of TSC time.
pub fn delay_ns(ns: u64) {
    let hz = TSC_HZ.load(Ordering::Relaxed).max(1);
    let want = (ns as u128 * hz as u128 / 1_000_000_000u128) as u64;
    let t0 = rdtsc();
    while rdtsc().wrapping_sub(t0) < want {
        core::hint::spin_loop();
    }
}

/// Nanoseconds since calibration; never goes back.
pub fn monotonic_ns() -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed).max(1);
    let d = rdtsc().wrapping_sub(TSC_BASE.load(Ordering::Relaxed));
    let ns = (d as u128 * 1_000_000_000u128 / hz as u128) as u64;
    let last = LAST_NS.fetch_max(ns, Ordering::Relaxed);
    ns.max(last)
}
