//! PL011 UART at 0x0900_0000 (QEMU virt), polled output only.

use core::ptr::{read_volatile, write_volatile};

const BASE: usize = 0x0900_0000;
const DR: usize = 0x00; // data register
const FR: usize = 0x18; // flag register
const CR: usize = 0x30; // control register
const FR_TXFF: u32 = 1 << 5; // transmit FIFO full
const CR_UARTEN_TXE_RXE: u32 = (1 << 0) | (1 << 8) | (1 << 9);

/// Enables the UART and its transmitter (QEMU works without it; real
/// PL011s do not).
pub fn init() {
    // SAFETY: BASE is the PL011's MMIO block, mapped as device memory by the
    // kernel map (and untranslated before the MMU is on).
    unsafe { write_volatile((BASE + CR) as *mut u32, CR_UARTEN_TXE_RXE) };
}

/// Writes `bytes` as they are, waiting for FIFO space.
pub fn console_write(bytes: &[u8]) {
    for &b in bytes {
        // SAFETY: as in `init`; FR and DR are 32-bit registers.
        unsafe {
            while read_volatile((BASE + FR) as *const u32) & FR_TXFF != 0 {}
            write_volatile((BASE + DR) as *mut u32, b as u32);
        }
    }
}
