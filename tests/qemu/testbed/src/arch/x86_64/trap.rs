//! Trap entry: the `syscall` entry (stack switch through the per-CPU
//! block's kernel stack slot, return with `sysretq`), interrupt/exception
//! stubs (return with `iretq`), and the Rust side that hands them to the
//! common handlers. Every way in from user mode starts with `swapgs` and
//! every way out to it ends with one, so the kernel always runs with this
//! CPU's `PerCpu` as GS base; an interrupt taken in the kernel (the idle
//! `hlt`) swaps nothing.
//!
//! Every entry builds the same `TrapFrame` on the current task's kernel
//! stack; a new task's first return to user mode pops one too
//! (`user_enter`).

use core::arch::global_asm;

use super::cpu;
use crate::arch::FaultInfo;

/// The user registers saved on a trap, lowest address first.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector number; `SYSCALL_VECTOR` for `syscall`.
    pub vector: u64,
    pub error: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

pub const SYSCALL_VECTOR: u64 = 0x100;
pub const TIMER_VECTOR: u8 = 32;
pub const SPURIOUS_VECTOR: u8 = 39;
/// The local APIC timer (the tick of every CPU but the boot CPU).
pub const LAPIC_TIMER_VECTOR: u8 = 48;
/// The wake-up IPI (`wake_cpu`).
pub const WAKE_VECTOR: u8 = 49;
/// The local APIC's spurious vector.
pub const LAPIC_SPURIOUS_VECTOR: u8 = 255;

impl TrapFrame {
    /// (number, arguments) of a `syscall`: rax; rdi, rsi, rdx, r10, r8, r9.
    pub fn syscall_args(&self) -> (usize, [usize; 6]) {
        (
            self.rax as usize,
            [
                self.rdi as usize,
                self.rsi as usize,
                self.rdx as usize,
                self.r10 as usize,
                self.r8 as usize,
                self.r9 as usize,
            ],
        )
    }

    /// The value the syscall returns in rax.
    pub fn set_return(&mut self, value: usize) {
        self.rax = value as u64;
    }

    /// A frame that enters user mode at `entry` with `sp` and `arg` in rdi.
    pub fn new_user(entry: usize, sp: usize, arg: usize) -> TrapFrame {
        TrapFrame {
            rdi: arg as u64,
            rip: entry as u64,
            cs: cpu::USER_CS,
            rflags: 0x202,
            rsp: sp as u64,
            ss: cpu::USER_DS,
            ..TrapFrame::default()
        }
    }
}

/// One past the highest user address (the lower canonical half): `iretq`
/// and `sysretq` to a non-canonical rip fault in the kernel.
const USER_LIMIT: u64 = 1 << 47;

/// What a signal handler's frame saves of the interrupted context: every
/// general register and the fxsave image of the x87/SSE state.
#[repr(C, align(16))]
#[derive(Clone, Copy)]
pub struct UserContext {
    pub frame: TrapFrame,
    pub fx: [u8; 512],
}

const _: () = assert!(core::mem::offset_of!(UserContext, fx) % 16 == 0);

impl Default for UserContext {
    fn default() -> UserContext {
        UserContext {
            frame: TrapFrame::default(),
            fx: [0; 512],
        }
    }
}

/// The handler's return address is pushed on the user stack (x86 `call`).
pub const RETURN_ADDRESS_ON_STACK: bool = true;

impl UserContext {
    /// The interrupted context: `frame`, and the FP/SSE state, which is
    /// still live in the registers (the kernel never touches it).
    pub fn save(frame: &TrapFrame) -> UserContext {
        let mut c = UserContext {
            frame: *frame,
            fx: [0; 512],
        };
        // SAFETY: `fx` is 512 bytes, 16-byte aligned (checked above).
        unsafe { core::arch::asm!("fxsave64 [{}]", in(reg) c.fx.as_mut_ptr(), options(nostack)) };
        c
    }

    /// Makes this (user-supplied) context current: the registers into
    /// `frame` with the segments, privileged flags and MXCSR's reserved
    /// bits forced to safe values. False (nothing changed) for a
    /// non-canonical rip or rsp.
    pub fn restore(&self, frame: &mut TrapFrame) -> bool {
        let mut f = self.frame;
        if f.rip >= USER_LIMIT || f.rsp >= USER_LIMIT {
            return false;
        }
        f.cs = cpu::USER_CS;
        f.ss = cpu::USER_DS;
        // CF PF AF ZF SF TF DF OF AC from the user; IF and bit 1 set.
        f.rflags = (f.rflags & 0x4_0dd5) | 0x202;
        let mut live = UserContext::default();
        // SAFETY: as in `save`; this only reads the live state, for its
        // MXCSR_MASK.
        unsafe {
            core::arch::asm!("fxsave64 [{}]", in(reg) live.fx.as_mut_ptr(), options(nostack))
        };
        let word =
            |b: &[u8; 512], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let mask = match word(&live.fx, 28) {
            0 => 0xffbf,
            m => m,
        };
        live.fx = self.fx;
        let mxcsr = word(&self.fx, 24) & mask;
        live.fx[24..28].copy_from_slice(&mxcsr.to_le_bytes());
        // SAFETY: a 16-byte aligned fxsave image whose MXCSR has no bit
        // outside MXCSR_MASK, so fxrstor cannot fault.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) live.fx.as_ptr(), options(nostack)) };
        *frame = f;
        true
    }
}

impl TrapFrame {
    /// The user stack pointer.
    pub fn user_sp(&self) -> usize {
        self.rsp as usize
    }

    /// The user pc (where the trap returns to).
    pub fn user_pc(&self) -> usize {
        self.rip as usize
    }

    /// Whether `addr` may be a user code address (sigaction checks it).
    pub fn user_address_ok(addr: usize) -> bool {
        (addr as u64) < USER_LIMIT
    }

    /// Enters a handler: `pc(args)` on stack `sp` (the return address
    /// already stored at `sp` by the caller). DF and TF are cleared.
    pub fn enter_handler(&mut self, pc: usize, sp: usize, args: [usize; 3], _ret: usize) {
        self.rip = pc as u64;
        self.rsp = sp as u64;
        self.rdi = args[0] as u64;
        self.rsi = args[1] as u64;
        self.rdx = args[2] as u64;
        self.rax = 0;
        self.rflags &= !0x500;
    }

    /// EXEC: the frame enters a new image at `entry` with stack `sp` and
    /// `arg` in rdi, every other register zero, and the live x87/SSE
    /// state (the calling task's: the kernel never uses it) reset to
    /// its power-on values, as a new task starts.
    pub fn exec_reset(&mut self, entry: usize, sp: usize, arg: usize) {
        *self = TrapFrame::new_user(entry, sp, arg);
        #[repr(C, align(16))]
        struct Fx([u8; 512]);
        let mut fx = Fx([0u8; 512]);
        fx.0[0..2].copy_from_slice(&0x037fu16.to_le_bytes());
        fx.0[24..28].copy_from_slice(&0x1f80u32.to_le_bytes());
        // SAFETY: `fx` is a 16-byte aligned 512-byte fxsave image with a
        // valid FCW and MXCSR (no reserved bit set); only the user FP
        // state of the running task changes.
        unsafe { core::arch::asm!("fxrstor64 [{}]", in(reg) fx.0.as_ptr(), options(nostack)) };
    }

    /// Rewinds an interrupted `syscall` so it runs again: rip back over
    /// the 2-byte instruction, the number back in rax (the arguments are
    /// still in their registers).
    pub fn rewind_syscall(&mut self, nr: usize, _args: &[usize; 6]) {
        self.rip -= 2;
        self.rax = nr as u64;
    }
}

macro_rules! push_regs {
    () => {
        "push rax\npush rbx\npush rcx\npush rdx\npush rsi\npush rdi\npush rbp\n\
         push r8\npush r9\npush r10\npush r11\npush r12\npush r13\npush r14\npush r15\n"
    };
}
macro_rules! pop_regs {
    () => {
        "pop r15\npop r14\npop r13\npop r12\npop r11\npop r10\npop r9\npop r8\n\
         pop rbp\npop rdi\npop rsi\npop rdx\npop rcx\npop rbx\npop rax\n"
    };
}

global_asm!(
    ".section .text",
    ".global syscall_entry",
    "syscall_entry:",
    "swapgs",
    "mov gs:[{user_rsp}], rsp",
    "mov rsp, gs:[{kstack}]",
    "push {uds}",
    "push qword ptr gs:[{user_rsp}]",
    "push r11",
    "push {ucs}",
    "push rcx",
    "push 0",
    "push {sysvec}",
    push_regs!(),
    "mov rdi, rsp",
    "call {on_syscall}",
    // A signal frame or sigreturn replaced the context: sysret cannot
    // restore rcx and r11, so leave through iretq.
    "test al, al",
    "jnz user_enter",
    pop_regs!(),
    "add rsp, 16",
    // rip, cs, rflags, rsp, ss
    "pop rcx",
    "add rsp, 8",
    "pop r11",
    "or r11, 0x200",
    "pop rsp",
    "swapgs",
    "sysretq",
    "",
    ".global user_enter",
    "user_enter:",
    pop_regs!(),
    "add rsp, 16",
    "swapgs",
    "iretq",
    "",
    // vector, error, rip, cs: from user mode when cs's RPL is 3.
    "isr_common:",
    "test byte ptr [rsp + 24], 3",
    "jz 1f",
    "swapgs",
    "1:",
    push_regs!(),
    "mov rdi, rsp",
    "cld",
    "call {on_trap}",
    pop_regs!(),
    "add rsp, 16",
    "test byte ptr [rsp + 8], 3",
    "jz 2f",
    "swapgs",
    "2:",
    "iretq",
    uds = const cpu::USER_DS,
    ucs = const cpu::USER_CS,
    sysvec = const SYSCALL_VECTOR,
    user_rsp = const cpu::PERCPU_USER_RSP,
    kstack = const cpu::PERCPU_KSTACK,
    on_syscall = sym x86_on_syscall,
    on_trap = sym x86_on_trap,
);

macro_rules! isr {
    ($name:ident, $vec:literal, noerr) => {
        global_asm!(
            concat!(".global ", stringify!($name)),
            concat!(stringify!($name), ":"),
            "push 0",
            concat!("push ", stringify!($vec)),
            "jmp isr_common",
        );
    };
    ($name:ident, $vec:literal, err) => {
        global_asm!(
            concat!(".global ", stringify!($name)),
            concat!(stringify!($name), ":"),
            concat!("push ", stringify!($vec)),
            "jmp isr_common",
        );
    };
}

isr!(isr0, 0, noerr);
isr!(isr1, 1, noerr);
isr!(isr2, 2, noerr);
isr!(isr3, 3, noerr);
isr!(isr4, 4, noerr);
isr!(isr5, 5, noerr);
isr!(isr6, 6, noerr);
isr!(isr7, 7, noerr);
isr!(isr8, 8, err);
isr!(isr9, 9, noerr);
isr!(isr10, 10, err);
isr!(isr11, 11, err);
isr!(isr12, 12, err);
isr!(isr13, 13, err);
isr!(isr14, 14, err);
isr!(isr16, 16, noerr);
isr!(isr17, 17, err);
isr!(isr18, 18, noerr);
isr!(isr19, 19, noerr);
isr!(isr20, 20, noerr);
isr!(isr21, 21, err);
isr!(isr32, 32, noerr);
isr!(isr39, 39, noerr);
isr!(isr48, 48, noerr);
isr!(isr49, 49, noerr);
isr!(isr255, 255, noerr);

extern "C" {
    fn syscall_entry();
    pub fn user_enter();
    fn isr0();
    fn isr1();
    fn isr2();
    fn isr3();
    fn isr4();
    fn isr5();
    fn isr6();
    fn isr7();
    fn isr8();
    fn isr9();
    fn isr10();
    fn isr11();
    fn isr12();
    fn isr13();
    fn isr14();
    fn isr16();
    fn isr17();
    fn isr18();
    fn isr19();
    fn isr20();
    fn isr21();
    fn isr32();
    fn isr39();
    fn isr48();
    fn isr49();
    fn isr255();
}

pub fn syscall_entry_addr() -> usize {
    syscall_entry as *const () as usize
}

pub fn user_enter_addr() -> usize {
    user_enter as *const () as usize
}

/// (vector, stub address) of every installed gate.
pub fn stubs() -> [(u8, usize); 26] {
    let f = |x: unsafe extern "C" fn()| x as *const () as usize;
    [
        (0, f(isr0)),
        (1, f(isr1)),
        (2, f(isr2)),
        (3, f(isr3)),
        (4, f(isr4)),
        (5, f(isr5)),
        (6, f(isr6)),
        (7, f(isr7)),
        (8, f(isr8)),
        (9, f(isr9)),
        (10, f(isr10)),
        (11, f(isr11)),
        (12, f(isr12)),
        (13, f(isr13)),
        (14, f(isr14)),
        (16, f(isr16)),
        (17, f(isr17)),
        (18, f(isr18)),
        (19, f(isr19)),
        (20, f(isr20)),
        (21, f(isr21)),
        (TIMER_VECTOR, f(isr32)),
        (SPURIOUS_VECTOR, f(isr39)),
        (LAPIC_TIMER_VECTOR, f(isr48)),
        (WAKE_VECTOR, f(isr49)),
        (LAPIC_SPURIOUS_VECTOR, f(isr255)),
    ]
}

extern "C" fn x86_on_syscall(frame: &mut TrapFrame) -> bool {
    crate::trap::on_syscall(frame)
}

extern "C" fn x86_on_trap(frame: &mut TrapFrame) {
    let vector = frame.vector;
    if vector == TIMER_VECTOR as u64 {
        super::timer::eoi();
        crate::trap::on_timer(frame);
        return;
    }
    if vector == LAPIC_TIMER_VECTOR as u64 {
        super::apic::eoi();
        crate::trap::on_timer(frame);
        return;
    }
    if vector == WAKE_VECTOR as u64 {
        // Ends an idle wait, or makes a user task look at its signals.
        super::apic::eoi();
        crate::trap::on_wake(frame);
        return;
    }
    if vector == SPURIOUS_VECTOR as u64 || vector == LAPIC_SPURIOUS_VECTOR as u64 {
        return;
    }
    let addr = if vector == 14 {
        cpu::read_cr2() as usize
    } else {
        0
    };
    if frame.cs & 3 == 3 {
        let info = FaultInfo {
            addr,
            cause: (vector << 32) | (frame.error & 0xffff_ffff),
        };
        crate::trap::on_user_fault(frame, info);
        return;
    }
    crate::println!(
        "KERNEL FAULT: vector {} error {:#x} rip {:#x} addr {:#x} rsp {:#x}",
        vector,
        frame.error,
        frame.rip,
        addr,
        frame.rsp
    );
    super::exit(3);
}
