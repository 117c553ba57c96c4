//! The exception vector table (VBAR_EL1) and the register save/restore
//! around every exception.
//!
//! Every taken exception (EL0 or EL1, sync or IRQ) pushes a full
//! `TrapFrame` (x0-x30, sp_el0, elr_el1, spsr_el1, q0-q31, fpcr, fpsr) on
//! the current kernel stack, so a handler may block and switch tasks; the
//! task's FP/SIMD state travels in its frame. From EL0 the CPU uses SP_EL1,
//! which still holds the task's kernel stack top from the last `eret`.
//! `a64_exception_return` is also how a new user task first enters EL0.

use core::arch::{asm, global_asm};

/// Must match `TrapFrame`'s size (checked in `traps`).
pub const FRAME_SIZE: usize = 800;

// SAFETY: (global_asm) the save/restore pair is symmetric and keeps the
// stack 16-byte aligned; the Rust handlers get a valid `&mut TrapFrame`.
global_asm!(
    r#"
    .macro SAVE_FRAME
    sub     sp, sp, #800
    stp     x0, x1, [sp, #0]
    stp     x2, x3, [sp, #16]
    stp     x4, x5, [sp, #32]
    stp     x6, x7, [sp, #48]
    stp     x8, x9, [sp, #64]
    stp     x10, x11, [sp, #80]
    stp     x12, x13, [sp, #96]
    stp     x14, x15, [sp, #112]
    stp     x16, x17, [sp, #128]
    stp     x18, x19, [sp, #144]
    stp     x20, x21, [sp, #160]
    stp     x22, x23, [sp, #176]
    stp     x24, x25, [sp, #192]
    stp     x26, x27, [sp, #208]
    stp     x28, x29, [sp, #224]
    mrs     x0, sp_el0
    stp     x30, x0, [sp, #240]
    mrs     x0, elr_el1
    mrs     x1, spsr_el1
    stp     x0, x1, [sp, #256]
    add     x0, sp, #272
    stp     q0, q1, [x0, #0]
    stp     q2, q3, [x0, #32]
    stp     q4, q5, [x0, #64]
    stp     q6, q7, [x0, #96]
    stp     q8, q9, [x0, #128]
    stp     q10, q11, [x0, #160]
    stp     q12, q13, [x0, #192]
    stp     q14, q15, [x0, #224]
    stp     q16, q17, [x0, #256]
    stp     q18, q19, [x0, #288]
    stp     q20, q21, [x0, #320]
    stp     q22, q23, [x0, #352]
    stp     q24, q25, [x0, #384]
    stp     q26, q27, [x0, #416]
    stp     q28, q29, [x0, #448]
    stp     q30, q31, [x0, #480]
    mrs     x1, fpcr
    mrs     x2, fpsr
    str     x1, [sp, #784]
    str     x2, [sp, #792]
    mov     x0, sp
    .endm

    // Vector slots are 0x80 bytes: each only jumps to its stub.
    .macro STUB name, handler
    .section .text.vectors, "ax"
    .balign 16
\name:
    SAVE_FRAME
    bl      \handler
    b       a64_exception_return
    .endm

    .section .text.vectors, "ax"
    .balign 2048
    .global a64_vectors
a64_vectors:
    // Current EL with SP_EL0: never used (the kernel runs on SP_EL1).
    .balign 0x80
    b       a64_cur_sp0
    .balign 0x80
    b       a64_cur_sp0
    .balign 0x80
    b       a64_cur_sp0
    .balign 0x80
    b       a64_cur_sp0
    // Current EL with SP_EL1: kernel faults and IRQs while in the kernel.
    .balign 0x80
    b       a64_cur_sync
    .balign 0x80
    b       a64_cur_irq
    .balign 0x80
    b       a64_cur_other
    .balign 0x80
    b       a64_cur_other
    // Lower EL, AArch64: syscalls, user faults, IRQs in user mode.
    .balign 0x80
    b       a64_low_sync
    .balign 0x80
    b       a64_low_irq
    .balign 0x80
    b       a64_low_other
    .balign 0x80
    b       a64_low_other
    // Lower EL, AArch32: not supported (EL0 is AArch64 only).
    .balign 0x80
    b       a64_low_other
    .balign 0x80
    b       a64_low_other
    .balign 0x80
    b       a64_low_other
    .balign 0x80
    b       a64_low_other

    STUB a64_cur_sp0, {bad}
    STUB a64_cur_sync, {cur_sync}
    STUB a64_cur_irq, {irq}
    STUB a64_cur_other, {bad}
    STUB a64_low_sync, {low_sync}
    STUB a64_low_irq, {irq}
    STUB a64_low_other, {bad}

    .global a64_exception_return
a64_exception_return:
    add     x0, sp, #272
    ldp     q0, q1, [x0, #0]
    ldp     q2, q3, [x0, #32]
    ldp     q4, q5, [x0, #64]
    ldp     q6, q7, [x0, #96]
    ldp     q8, q9, [x0, #128]
    ldp     q10, q11, [x0, #160]
    ldp     q12, q13, [x0, #192]
    ldp     q14, q15, [x0, #224]
    ldp     q16, q17, [x0, #256]
    ldp     q18, q19, [x0, #288]
    ldp     q20, q21, [x0, #320]
    ldp     q22, q23, [x0, #352]
    ldp     q24, q25, [x0, #384]
    ldp     q26, q27, [x0, #416]
    ldp     q28, q29, [x0, #448]
    ldp     q30, q31, [x0, #480]
    ldr     x1, [sp, #784]
    ldr     x2, [sp, #792]
    msr     fpcr, x1
    msr     fpsr, x2
    ldp     x0, x1, [sp, #256]
    msr     elr_el1, x0
    msr     spsr_el1, x1
    ldp     x30, x0, [sp, #240]
    msr     sp_el0, x0
    ldp     x0, x1, [sp, #0]
    ldp     x2, x3, [sp, #16]
    ldp     x4, x5, [sp, #32]
    ldp     x6, x7, [sp, #48]
    ldp     x8, x9, [sp, #64]
    ldp     x10, x11, [sp, #80]
    ldp     x12, x13, [sp, #96]
    ldp     x14, x15, [sp, #112]
    ldp     x16, x17, [sp, #128]
    ldp     x18, x19, [sp, #144]
    ldp     x20, x21, [sp, #160]
    ldp     x22, x23, [sp, #176]
    ldp     x24, x25, [sp, #192]
    ldp     x26, x27, [sp, #208]
    ldp     x28, x29, [sp, #224]
    add     sp, sp, #800
    eret
    "#,
    bad = sym super::traps::a64_unexpected,
    cur_sync = sym super::traps::a64_kernel_sync,
    irq = sym super::traps::a64_irq,
    low_sync = sym super::traps::a64_user_sync,
);

extern "C" {
    static a64_vectors: u8;
}

/// Points VBAR_EL1 at the table.
pub fn install() {
    // SAFETY: the table is 2 KiB aligned code with one branch per slot.
    unsafe {
        asm!(
            "msr vbar_el1, {v}",
            "isb",
            v = in(reg) core::ptr::addr_of!(a64_vectors) as u64,
            options(nostack),
        )
    };
}
