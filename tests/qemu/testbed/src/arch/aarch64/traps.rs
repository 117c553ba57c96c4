//! The Rust side of exceptions: decode ESR_EL1, hand syscalls, user faults
//! and the timer to the common kernel (`crate::trap`).

use super::super::FaultInfo;
use core::arch::asm;

/// The registers of the interrupted context, laid out as `vectors` saves
/// them (offsets are fixed by the assembly).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct TrapFrame {
    /// x0-x30.
    pub x: [u64; 31],
    pub sp_el0: u64,
    pub elr_el1: u64,
    pub spsr_el1: u64,
    /// q0-q31 (the FP/SIMD state of the interrupted context).
    pub q: [u128; 32],
    pub fpcr: u64,
    pub fpsr: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == super::vectors::FRAME_SIZE);

impl TrapFrame {
    /// (number from x8, arguments from x0-x5): Redox's aarch64 convention.
    pub fn syscall_args(&self) -> (usize, [usize; 6]) {
        let x = &self.x;
        (
            x[8] as usize,
            [x[0], x[1], x[2], x[3], x[4], x[5]].map(|v| v as usize),
        )
    }

    /// The syscall result goes back in x0.
    pub fn set_return(&mut self, value: usize) {
        self.x[0] = value as u64;
    }
}

// ESR_EL1 exception classes we tell apart.
const EC_UNKNOWN: u64 = 0x00;
const EC_SVC64: u64 = 0x15;
const EC_IABT_LOWER: u64 = 0x20;
const EC_PC_ALIGN: u64 = 0x22;
const EC_DABT_LOWER: u64 = 0x24;
const EC_WATCHPOINT_LOWER: u64 = 0x34;

fn esr() -> u64 {
    let v: u64;
    // SAFETY: reading a system register.
    unsafe { asm!("mrs {v}, esr_el1", v = out(reg) v, options(nomem, nostack)) };
    v
}

fn far() -> u64 {
    let v: u64;
    // SAFETY: reading a system register.
    unsafe { asm!("mrs {v}, far_el1", v = out(reg) v, options(nomem, nostack)) };
    v
}

/// Synchronous exception from EL0: `svc #0` or a fault.
pub extern "C" fn a64_user_sync(frame: &mut TrapFrame) {
    let esr = esr();
    match esr >> 26 {
        EC_SVC64 => crate::trap::on_syscall(frame),
        ec => {
            // FAR is only meaningful for aborts and PC alignment faults;
            // for the rest (undefined instruction, SP alignment, brk) the
            // faulting PC is the useful address.
            let has_far = matches!(
                ec,
                EC_IABT_LOWER | EC_DABT_LOWER | EC_PC_ALIGN | EC_WATCHPOINT_LOWER
            );
            let addr = if has_far { far() } else { frame.elr_el1 } as usize;
            crate::trap::on_user_fault(frame, FaultInfo { addr, cause: esr });
        }
    }
}

/// IRQ at either level: only the timer is enabled.
pub extern "C" fn a64_irq(_frame: &mut TrapFrame) {
    super::gic::handle_irq();
}

/// Synchronous exception at EL1: a kernel bug, except the semihosting
/// `hlt` of `psci::exit` when QEMU runs without semihosting.
pub extern "C" fn a64_kernel_sync(frame: &mut TrapFrame) {
    let esr = esr();
    if esr >> 26 == EC_UNKNOWN {
        // SAFETY: ELR points at the instruction that trapped, in the
        // kernel image (mapped, 4-byte aligned).
        let insn = unsafe { (frame.elr_el1 as *const u32).read() };
        if insn == super::psci::SEMIHOSTING_HLT {
            super::psci::power_off();
        }
    }
    panic!(
        "kernel exception: ESR {:#x} ELR {:#x} FAR {:#x} SP_EL0 {:#x}",
        esr,
        frame.elr_el1,
        far(),
        frame.sp_el0
    );
}

/// FIQ, SError, AArch32 EL0, or an exception taken on SP_EL0.
pub extern "C" fn a64_unexpected(frame: &mut TrapFrame) {
    panic!(
        "unexpected exception: ESR {:#x} ELR {:#x} SPSR {:#x}",
        esr(),
        frame.elr_el1,
        frame.spsr_el1
    );
}
