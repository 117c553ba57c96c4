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

/// One past the highest user address (TTBR0's range).
const USER_LIMIT: u64 = 1 << 48;

/// What a signal handler's frame saves of the interrupted context: the
/// whole trap frame, which holds every general and FP/SIMD register.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct UserContext {
    pub frame: TrapFrame,
}

impl Default for UserContext {
    fn default() -> UserContext {
        UserContext {
            frame: TrapFrame {
                x: [0; 31],
                sp_el0: 0,
                elr_el1: 0,
                spsr_el1: 0,
                q: [0; 32],
                fpcr: 0,
                fpsr: 0,
            },
        }
    }
}

/// The handler returns through x30 (`bl`), not through the stack.
pub const RETURN_ADDRESS_ON_STACK: bool = false;

/// SPSR's condition flags (NZCV): all of it the user may choose.
const SPSR_NZCV: u64 = 0xf000_0000;

impl UserContext {
    pub fn save(frame: &TrapFrame) -> UserContext {
        UserContext { frame: *frame }
    }

    /// Makes this (user-supplied) context current; SPSR keeps only the
    /// condition flags (EL0t, interrupts unmasked), FPCR/FPSR their
    /// defined bits.
    pub fn restore(&self, frame: &mut TrapFrame) -> bool {
        let mut f = self.frame;
        f.spsr_el1 &= SPSR_NZCV;
        f.fpcr &= 0x07ff_ff00;
        f.fpsr &= 0xf800_009f;
        *frame = f;
        true
    }
}

impl TrapFrame {
    /// The user stack pointer.
    pub fn user_sp(&self) -> usize {
        self.sp_el0 as usize
    }

    /// The user pc (where the trap returns to).
    pub fn user_pc(&self) -> usize {
        self.elr_el1 as usize
    }

    /// Whether `addr` may be a user code address (sigaction checks it).
    pub fn user_address_ok(addr: usize) -> bool {
        (addr as u64) < USER_LIMIT
    }

    /// Enters a handler: `pc(args)` on stack `sp`, returning to `ret`.
    pub fn enter_handler(&mut self, pc: usize, sp: usize, args: [usize; 3], ret: usize) {
        self.elr_el1 = pc as u64;
        self.sp_el0 = sp as u64;
        self.x[0] = args[0] as u64;
        self.x[1] = args[1] as u64;
        self.x[2] = args[2] as u64;
        self.x[30] = ret as u64;
    }

    /// EXEC: the frame enters a new image at `entry` with sp_el0 = `sp`
    /// and x0 = `arg`, every other register (q0-q31, FPCR, FPSR included)
    /// zero and SPSR EL0t with interrupts unmasked, as a new task starts.
    pub fn exec_reset(&mut self, entry: usize, sp: usize, arg: usize) {
        *self = TrapFrame {
            x: [0; 31],
            sp_el0: (sp & !15) as u64,
            elr_el1: entry as u64,
            spsr_el1: 0,
            q: [0; 32],
            fpcr: 0,
            fpsr: 0,
        };
        self.x[0] = arg as u64;
    }

    /// Rewinds an interrupted `svc` so it runs again: ELR back over the
    /// instruction, x0 (which held the result) back to the first argument.
    pub fn rewind_syscall(&mut self, _nr: usize, args: &[usize; 6]) {
        self.elr_el1 -= 4;
        self.x[0] = args[0] as u64;
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
        EC_SVC64 => {
            crate::trap::on_syscall(frame);
        }
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
pub extern "C" fn a64_irq(frame: &mut TrapFrame) {
    super::gic::handle_irq(frame);
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
