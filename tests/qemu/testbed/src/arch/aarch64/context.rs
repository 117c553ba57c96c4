//! Kernel-side task switching. A switch is a function call, so only the
//! AAPCS64 callee-saved state is kept: x19-x29, lr, sp, d8-d15, plus DAIF
//! so each task resumes with the IRQ mask it switched away with. User
//! registers (and all of q0-q31) live in the task's `TrapFrame`.

use core::arch::global_asm;

/// Saved kernel state of a task that is not running.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskContext {
    x19_x29: [u64; 11],
    lr: u64,
    sp: u64,
    daif: u64,
    d8_d15: [u64; 8],
}

/// DAIF with IRQs (and FIQs, SErrors, debug) masked: how a new task starts
/// in the kernel; `eret` to EL0 then unmasks through SPSR.
const DAIF_MASKED: u64 = 0x3c0;

impl TaskContext {
    /// A context whose first `switch` enters EL0 at `entry` with
    /// sp_el0 = `sp` and x0 = `arg`; the task's traps then use the kernel
    /// stack ending at `kstack_top`. Both stack pointers are rounded down
    /// to 16 bytes: the AAPCS64 wants it and SCTLR.SA/SA0 enforce it.
    pub fn new_user(kstack_top: usize, entry: usize, sp: usize, arg: usize) -> TaskContext {
        let mut c = TaskContext {
            sp: (kstack_top & !15) as u64,
            daif: DAIF_MASKED,
            ..Default::default()
        };
        c.lr = a64_enter_user as *const () as u64;
        c.x19_x29[0] = entry as u64;
        c.x19_x29[1] = (sp & !15) as u64;
        c.x19_x29[2] = arg as u64;
        c
    }

    /// FORK's child: the first `switch` lands in the common exception
    /// return with a copy of `frame` on the fresh kernel stack.
    pub fn fork_of(kstack_top: usize, frame: &super::traps::TrapFrame) -> TaskContext {
        let at = (kstack_top & !15) - core::mem::size_of::<super::traps::TrapFrame>();
        // SAFETY: the caller hands over a fresh kernel stack ending at
        // `kstack_top`; the frame (800 bytes, a multiple of 16) fits below
        // its top and nothing else uses that stack yet.
        unsafe { (at as *mut super::traps::TrapFrame).write(*frame) };
        TaskContext {
            sp: at as u64,
            daif: DAIF_MASKED,
            lr: a64_exception_return as *const () as u64,
            ..Default::default()
        }
    }

    /// (Beyond the contract.) A kernel task that starts as `entry(arg)` on
    /// the stack ending at `kstack_top`; `entry` must never return.
    pub fn new_kernel(
        kstack_top: usize,
        entry: extern "C" fn(usize) -> !,
        arg: usize,
    ) -> TaskContext {
        let mut c = TaskContext {
            sp: (kstack_top & !15) as u64,
            daif: DAIF_MASKED,
            ..Default::default()
        };
        c.lr = a64_enter_kernel as *const () as u64;
        c.x19_x29[0] = entry as usize as u64;
        c.x19_x29[1] = arg as u64;
        c
    }
}

extern "C" {
    fn a64_switch(prev: *mut TaskContext, next: *const TaskContext);
    fn a64_enter_user();
    fn a64_enter_kernel();
    fn a64_exception_return();
}

/// Saves the running task's context into `prev` and resumes `next`.
///
/// # Safety
/// `prev` must be writable, `next` must hold a context made by
/// `TaskContext::new_*` or saved by `switch`, and its stack must be alive.
pub unsafe fn switch(prev: *mut TaskContext, next: *const TaskContext) {
    // SAFETY: forwarded from the caller; the assembly follows the C ABI
    // (it preserves every callee-saved register of the caller when the
    // task is eventually resumed).
    unsafe { a64_switch(prev, next) }
}

// SAFETY: (global_asm) offsets follow `TaskContext`'s #[repr(C)] layout:
// x19-x29 at 0, lr at 88, sp at 96, daif at 104, d8-d15 at 112.
global_asm!(
    r#"
    .section .text, "ax"
    .global a64_switch
a64_switch:
    stp     x19, x20, [x0, #0]
    stp     x21, x22, [x0, #16]
    stp     x23, x24, [x0, #32]
    stp     x25, x26, [x0, #48]
    stp     x27, x28, [x0, #64]
    stp     x29, x30, [x0, #80]
    mov     x9, sp
    mrs     x10, daif
    stp     x9, x10, [x0, #96]
    stp     d8, d9, [x0, #112]
    stp     d10, d11, [x0, #128]
    stp     d12, d13, [x0, #144]
    stp     d14, d15, [x0, #160]

    ldp     x19, x20, [x1, #0]
    ldp     x21, x22, [x1, #16]
    ldp     x23, x24, [x1, #32]
    ldp     x25, x26, [x1, #48]
    ldp     x27, x28, [x1, #64]
    ldp     x29, x30, [x1, #80]
    ldp     d8, d9, [x1, #112]
    ldp     d10, d11, [x1, #128]
    ldp     d12, d13, [x1, #144]
    ldp     d14, d15, [x1, #160]
    ldp     x9, x10, [x1, #96]
    mov     sp, x9
    msr     daif, x10
    ret

    // First run of a user task: x19 = entry, x20 = user sp, x21 = arg.
    // Build a zeroed TrapFrame (EL0t, IRQs unmasked) and leave through the
    // common exception return.
    .global a64_enter_user
a64_enter_user:
    sub     sp, sp, #800
    mov     x9, sp
    add     x10, sp, #800
1:
    stp     xzr, xzr, [x9], #16
    cmp     x9, x10
    b.lo    1b
    str     x21, [sp, #0]
    str     x20, [sp, #248]
    str     x19, [sp, #256]
    b       a64_exception_return

    // First run of a kernel task: x19 = entry, x20 = arg.
    .global a64_enter_kernel
a64_enter_kernel:
    mov     x0, x20
    mov     x29, xzr
    blr     x19
2:
    wfe
    b       2b
    "#
);
