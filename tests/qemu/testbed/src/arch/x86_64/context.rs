//! Kernel-side task contexts and `switch`.
//!
//! FP/SSE policy: SSE is on (CR4.OSFXSR/OSXMMEXCPT set at boot) because C
//! user programs compiled by clang use it; the kernel itself is built for
//! the soft-float `x86_64-unknown-none` target and never touches it. So
//! the user FP/SSE state is still live in the registers when a task enters
//! `switch`, and `switch` saves it (fxsave) into the old context and loads
//! the new one's (fxrstor).

use core::arch::global_asm;

use super::cpu;
use super::trap::{user_enter_addr, TrapFrame};

/// Saved kernel state of a task that is not running.
#[repr(C, align(16))]
pub struct TaskContext {
    /// Saved kernel rsp (callee-saved registers and the return address are
    /// on the stack below it).
    rsp: usize,
    /// Top of the task's kernel stack (TSS.rsp0, syscall stack); 0 for the
    /// scheduler's own context, which never enters user mode.
    kstack_top: usize,
    /// fxsave area (512 bytes, 16-byte aligned: offset 16).
    fx: [u8; 512],
}

const _: () = assert!(core::mem::offset_of!(TaskContext, fx) == 16);

impl Default for TaskContext {
    /// A context for the scheduler loop (filled by the first `switch` away).
    fn default() -> TaskContext {
        TaskContext {
            rsp: 0,
            kstack_top: 0,
            fx: [0; 512],
        }
    }
}

impl TaskContext {
    /// A context whose first `switch` enters user mode at `entry` with
    /// stack pointer `sp` and `arg` in rdi, on the kernel stack ending at
    /// `kstack_top` (16-byte aligned).
    pub fn new_user(kstack_top: usize, entry: usize, sp: usize, arg: usize) -> TaskContext {
        let top = kstack_top & !15;
        let frame_addr = top - core::mem::size_of::<TrapFrame>();
        // Below the frame: user_enter as return address, then r15..rbp.
        let rsp = frame_addr - 8 - 6 * 8;
        // SAFETY: the caller hands over a fresh kernel stack whose top is
        // `kstack_top`; the frame and the seven words below it lie inside it
        // and nothing else uses that stack yet.
        unsafe {
            (frame_addr as *mut TrapFrame).write(TrapFrame::new_user(entry, sp, arg));
            (rsp as *mut [usize; 7]).write([0, 0, 0, 0, 0, 0, user_enter_addr()]);
        }
        let mut fx = [0u8; 512];
        // FCW = 0x37f (all x87 exceptions masked), MXCSR = 0x1f80.
        fx[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        fx[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        TaskContext {
            rsp,
            kstack_top: top,
            fx,
        }
    }

    /// FORK's child: like `new_user`, with the whole trap `frame` and the
    /// caller's live FP/SSE state (the kernel never touches it).
    pub fn fork_of(kstack_top: usize, frame: &TrapFrame) -> TaskContext {
        let mut c = TaskContext::new_user(kstack_top, 0, 0, 0);
        let frame_addr = c.kstack_top - core::mem::size_of::<TrapFrame>();
        // SAFETY: `new_user` laid its frame at this address on the fresh
        // stack; `fx` is 512 bytes, 16-byte aligned (offset 16 of an
        // align(16) struct).
        unsafe {
            (frame_addr as *mut TrapFrame).write(*frame);
            core::arch::asm!("fxsave64 [{}]", in(reg) c.fx.as_mut_ptr(), options(nostack));
        }
        c
    }
}

global_asm!(
    ".section .text",
    ".global testbed_switch",
    "testbed_switch:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "fxsave64 [rdi + 16]",
    "mov [rdi], rsp",
    "mov rdi, [rsi + 8]",
    "test rdi, rdi",
    "jz 1f",
    "push rsi",
    "call {set_kstack}",
    "pop rsi",
    "1:",
    "fxrstor64 [rsi + 16]",
    "mov rsp, [rsi]",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    set_kstack = sym set_kstack,
);

extern "C" fn set_kstack(top: u64) {
    cpu::set_kernel_stack(top);
}

extern "C" {
    fn testbed_switch(old: *mut TaskContext, new: *const TaskContext);
}

/// Saves the running kernel context in `old` and resumes `new`.
///
/// # Safety
/// `old` must be writable, `new` a context made by `new_user`, `empty`
/// (after a switch away from it) or a previous `switch`, and both must stay
/// valid until the context saved in `old` is resumed. Interrupts are off.
pub unsafe fn switch(old: *mut TaskContext, new: *const TaskContext) {
    // SAFETY: forwarded to the caller.
    unsafe { testbed_switch(old, new) }
}
