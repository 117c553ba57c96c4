//! Leaving QEMU. PSCI SYSTEM_OFF (through `hvc #0`: QEMU virt's PSCI
//! conduit when no EL3 firmware is loaded) always ends QEMU with status 0,
//! so a non-zero status first goes through Arm semihosting's
//! SYS_EXIT_EXTENDED, which QEMU turns into its own exit status when run
//! with `-semihosting-config enable=on,target=native`. Without that option
//! the semihosting `hlt #0xf000` is an undefined instruction; the EL1 sync
//! handler recognises it and falls back to SYSTEM_OFF (`traps`).

use core::arch::asm;

const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const SEMIHOSTING_SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x2_0026;

/// Ends the run with `code` as QEMU's exit status (see the module comment).
pub fn exit(code: u32) -> ! {
    let mut line = [0u8; 32];
    let n = format_exit(&mut line, code);
    super::uart::console_write(&line[..n]);
    if code != 0 {
        semihosting_exit(code);
    }
    power_off()
}

/// `PSCI SYSTEM_OFF`; never returns.
pub fn power_off() -> ! {
    // SAFETY: a PSCI call to the hypervisor-level firmware QEMU emulates;
    // SYSTEM_OFF does not return.
    unsafe { asm!("hvc #0", in("x0") PSCI_SYSTEM_OFF, options(nostack)) };
    loop {
        // SAFETY: idles forever should the call fail.
        unsafe { asm!("wfi", options(nostack)) };
    }
}

/// The semihosting instruction; `traps` checks for it on an undefined
/// instruction fault at EL1.
pub const SEMIHOSTING_HLT: u32 = 0xd45e_0000;

fn semihosting_exit(code: u32) {
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, code as u64];
    // SAFETY: SYS_EXIT with a parameter block (reason, status) on the
    // stack; QEMU reads it and exits. If semihosting is off the `hlt`
    // traps and the handler powers off instead.
    unsafe {
        asm!("hlt #0xf000", in("x0") SEMIHOSTING_SYS_EXIT, in("x1") block.as_ptr(), options(nostack))
    };
}

/// "testbed: exit N\n" without the formatting machinery (panics end here).
fn format_exit(buf: &mut [u8; 32], code: u32) -> usize {
    let head = b"testbed: exit ";
    buf[..head.len()].copy_from_slice(head);
    let mut digits = [0u8; 10];
    let (mut v, mut k) = (code, 0);
    loop {
        digits[k] = b'0' + (v % 10) as u8;
        k += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut n = head.len();
    for i in (0..k).rev() {
        buf[n] = digits[i];
        n += 1;
    }
    buf[n] = b'\n';
    n + 1
}
