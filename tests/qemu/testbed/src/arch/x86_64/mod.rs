//! x86_64: PVH boot, COM1, isa-debug-exit, GDT/TSS/IDT, `syscall`/`sysretq`,
//! PIT tick through the 8259 PIC, TSC clock, 4-level paging.

/// The switch to long mode that the boot CPU and every other CPU run
/// (32-bit code, CR3 already pointing at the boot tables).
macro_rules! enter_long_mode {
    () => {
        r#"
    /* CR4: PAE | OSFXSR | OSXMMEXCPT */
    movl %cr4, %eax
    orl $0x620, %eax
    movl %eax, %cr4
    /* EFER: LME | SCE */
    movl $0xC0000080, %ecx
    rdmsr
    orl $0x101, %eax
    wrmsr
    /* CR0: PG | MP | PE, EM off */
    movl %cr0, %eax
    orl $0x80000003, %eax
    andl $0xFFFFFFFB, %eax
    movl %eax, %cr0
"#
    };
}

/// First thing in 64-bit code: the kernel data segment (GDT entry 2) in
/// DS/ES/SS, null FS/GS.
macro_rules! load_data_segments {
    () => {
        r#"
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
"#
    };
}

mod apic;
mod boot;
mod context;
mod cpu;
mod paging;
mod serial;
mod smp;
mod timer;
mod trap;

use core::arch::asm;
use core::ops::Range;

pub use context::{switch, TaskContext};
pub use cpu::cpu_index;
pub use paging::activate_kernel_space;
pub use paging::AddressSpace;
pub use smp::start_secondaries;
pub use trap::{TrapFrame, UserContext, RETURN_ADDRESS_ON_STACK};

/// Per-CPU block (GS), GDT/TSS, syscall MSRs, serial, IDT, PIC (masked),
/// TSC calibration, the APIC page mapped (used only with several CPUs).
pub fn init_early() {
    cpu::init_cpu(0, 0);
    serial::init();
    apic::map();
    cpu::init_idt(&trap::stubs());
    timer::init_pic();
    timer::calibrate_tsc();
}

/// Ends CPU `index`'s idle wait (a wake-up IPI).
pub fn wake_cpu(index: usize) {
    if index < smp::online() {
        apic::send_ipi(cpu::apic_id_of(index), trap::WAKE_VECTOR);
    }
}

pub fn console_write(bytes: &[u8]) {
    serial::write(bytes);
}

/// isa-debug-exit: QEMU exits with status `(code << 1) | 1`.
pub fn exit(code: u32) -> ! {
    cpu::outl(0xf4, code);
    loop {
        // SAFETY: halting with interrupts off ends this CPU's work.
        unsafe { asm!("cli; hlt", options(nomem, nostack)) }
    }
}

extern "C" {
    static __kernel_end: u8;
}

/// RAM after the kernel image: the PVH memory map's RAM entry holding the
/// image, capped at the 1 GiB the kernel maps.
pub fn free_ram() -> Range<usize> {
    let start = core::ptr::addr_of!(__kernel_end) as usize;
    let start = (start + 0xfff) & !0xfff;
    let cap = 1usize << 30;
    // SAFETY: _start32 saved the PVH start-info address QEMU passed; its
    // layout is the Xen/PVH `hvm_start_info` (version >= 1 has the memory
    // map), and all RAM below 1 GiB is identity-mapped.
    let end = unsafe {
        let info = boot::PVH_START_INFO as usize;
        let mut end = 0usize;
        if info != 0xffff_ffff && info < cap && (info as *const u32).read() == 0x336e_c578 {
            let version = ((info + 4) as *const u32).read();
            let map = ((info + 40) as *const u64).read() as usize;
            let n = ((info + 48) as *const u32).read() as usize;
            if version >= 1 && map != 0 && map < cap {
                for i in 0..n.min(128) {
                    let e = map + i * 24;
                    let addr = (e as *const u64).read() as usize;
                    let size = ((e + 8) as *const u64).read() as usize;
                    let kind = ((e + 16) as *const u32).read();
                    if kind == 1 && addr <= start && start < addr + size {
                        end = addr + size;
                    }
                }
            }
        }
        if end == 0 {
            end = 64 << 20;
        }
        end
    };
    start..(end.min(cap) & !0xfff)
}

pub fn timer_start(hz: u32) {
    timer::start(hz);
}

pub fn monotonic_ns() -> u64 {
    timer::monotonic_ns()
}

pub fn interrupts_disable() -> bool {
    let flags: u64;
    // SAFETY: reads RFLAGS and clears IF; no memory is touched.
    unsafe { asm!("pushfq; pop {}; cli", out(reg) flags, options(nomem)) }
    flags & 0x200 != 0
}

pub fn interrupts_restore(enabled: bool) {
    if enabled {
        // SAFETY: re-enables interrupts the caller had on.
        unsafe { asm!("sti", options(nomem, nostack)) }
    }
}

pub fn wait_for_interrupt() {
    // SAFETY: `sti; hlt` is atomic with respect to interrupts (the sti
    // shadow), so a pending IRQ wakes the hlt; the handler runs on this
    // stack and returns here, where interrupts go off again.
    unsafe { asm!("sti; hlt; cli", options(nomem, nostack)) }
}
