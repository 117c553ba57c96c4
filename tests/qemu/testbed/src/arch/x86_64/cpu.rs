//! Port I/O, MSRs, and the descriptor tables: GDT (kernel and user
//! segments in the order `sysret` needs, the TSS), TSS (rsp0 = the current
//! task's kernel stack, IST1 for double faults) and the syscall MSRs.

use core::arch::asm;
use core::ptr::addr_of_mut;

/// Selectors. STAR's sysret base 0x10 makes user SS = 0x18|3, CS = 0x20|3.
pub const KERNEL_CS: u64 = 0x08;
pub const USER_DS: u64 = 0x18 | 3;
pub const USER_CS: u64 = 0x20 | 3;
pub const TSS_SEL: u16 = 0x28;

pub const GDT_ENTRIES: usize = 7;
pub const GDT_BYTES: usize = GDT_ENTRIES * 8;

/// The GDT; `_start32` loads it with a 32-bit base, `init` again with the
/// TSS filled in.
#[no_mangle]
pub static mut GDT: [u64; GDT_ENTRIES] = [
    0,
    0x00AF_9A00_0000_FFFF, // 0x08 kernel code, 64-bit
    0x00CF_9200_0000_FFFF, // 0x10 kernel data
    0x00CF_F200_0000_FFFF, // 0x18 user data
    0x00AF_FA00_0000_FFFF, // 0x20 user code, 64-bit
    0,                     // 0x28 TSS low
    0,                     // 0x30 TSS high
];

#[repr(C, packed)]
pub struct Tss {
    _reserved0: u32,
    pub rsp: [u64; 3],
    _reserved1: u64,
    pub ist: [u64; 7],
    _reserved2: u64,
    _reserved3: u16,
    pub iomap_base: u16,
}

#[no_mangle]
pub static mut TSS: Tss = Tss {
    _reserved0: 0,
    rsp: [0; 3],
    _reserved1: 0,
    ist: [0; 7],
    _reserved2: 0,
    _reserved3: 0,
    iomap_base: 104,
};

#[repr(C, align(16))]
struct IstStack([u8; 16 * 1024]);
static mut DOUBLE_FAULT_STACK: IstStack = IstStack([0; 16 * 1024]);

/// Kernel stack top that `syscall_entry` switches to (the current task's).
#[no_mangle]
pub static mut SYSCALL_KSTACK: u64 = 0;
/// Scratch slot for the user rsp during `syscall_entry`'s stack switch.
#[no_mangle]
pub static mut SYSCALL_USER_RSP: u64 = 0;

#[repr(C, packed)]
struct DescPtr {
    limit: u16,
    base: u64,
}

pub fn outb(port: u16, v: u8) {
    // SAFETY: port I/O to devices this kernel owns (serial, PIC, PIT,
    // debug-exit); no memory is touched.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") v, options(nomem, nostack, preserves_flags))
    }
}

pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: as `outb`.
    unsafe {
        asm!("in al, dx", out("al") v, in("dx") port, options(nomem, nostack, preserves_flags))
    }
    v
}

pub fn outl(port: u16, v: u32) {
    // SAFETY: as `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack, preserves_flags))
    }
}

pub fn wrmsr(msr: u32, v: u64) {
    // SAFETY: only called with architectural MSRs (STAR/LSTAR/SFMASK) during
    // init, with values that make them consistent with the GDT above.
    unsafe {
        asm!("wrmsr", in("ecx") msr, in("eax") v as u32, in("edx") (v >> 32) as u32,
             options(nostack, preserves_flags))
    }
}

pub fn rdtsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: rdtsc only reads the time-stamp counter.
    unsafe { asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) }
    ((hi as u64) << 32) | lo as u64
}

pub fn read_cr2() -> u64 {
    let v: u64;
    // SAFETY: reading CR2 has no side effect.
    unsafe { asm!("mov {}, cr2", out(reg) v, options(nomem, nostack, preserves_flags)) }
    v
}

/// Fills the TSS descriptor, reloads the GDT with its 64-bit base, loads
/// the task register and programs the `syscall` MSRs.
pub fn init_gdt_tss_syscall() {
    // SAFETY: single-threaded early boot with interrupts off; the statics
    // are only touched here and by the trap/switch code afterwards.
    unsafe {
        let ist_top = addr_of_mut!(DOUBLE_FAULT_STACK) as u64 + 16 * 1024;
        (*addr_of_mut!(TSS)).ist[0] = ist_top;
        let base = addr_of_mut!(TSS) as u64;
        let limit = (core::mem::size_of::<Tss>() - 1) as u64;
        let low = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89u64 << 40) // present, 64-bit available TSS
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        let gdt = &mut *addr_of_mut!(GDT);
        gdt[5] = low;
        gdt[6] = base >> 32;
        let ptr = DescPtr {
            limit: (GDT_BYTES - 1) as u16,
            base: gdt.as_ptr() as u64,
        };
        asm!("lgdt [{}]", in(reg) &ptr, options(nostack));
        asm!("ltr {0:x}", in(reg) TSS_SEL, options(nostack));
    }
    // STAR: syscall CS = 0x08 (SS 0x10); sysret base 0x10 (SS 0x1b, CS 0x23).
    wrmsr(0xC000_0081, (0x10u64 << 48) | (KERNEL_CS << 32));
    wrmsr(0xC000_0082, super::trap::syscall_entry_addr() as u64);
    // SFMASK: clear IF, TF, DF, AC on entry (the kernel runs with IF = 0).
    wrmsr(0xC000_0084, 0x4_7700);
}

/// Sets the stack the CPU and `syscall_entry` switch to on a trap from
/// user mode.
pub fn set_kernel_stack(top: u64) {
    // SAFETY: single CPU; the kernel runs with interrupts off, so no trap
    // reads these while they change.
    unsafe {
        (*addr_of_mut!(TSS)).rsp[0] = top;
        *addr_of_mut!(SYSCALL_KSTACK) = top;
    }
}

#[repr(C)]
#[derive(Clone, Copy)]
struct IdtEntry {
    off_lo: u16,
    sel: u16,
    ist: u8,
    attr: u8,
    off_mid: u16,
    off_hi: u32,
    _zero: u32,
}

static mut IDT: [IdtEntry; 256] = [IdtEntry {
    off_lo: 0,
    sel: 0,
    ist: 0,
    attr: 0,
    off_mid: 0,
    off_hi: 0,
    _zero: 0,
}; 256];

/// Installs interrupt gates (DPL 0, so `int n` from user mode faults) for
/// every vector that has a stub.
pub fn init_idt(stubs: &[(u8, usize)]) {
    // SAFETY: early boot, interrupts off; the IDT is a static that lives
    // for the kernel's lifetime.
    unsafe {
        let idt = &mut *addr_of_mut!(IDT);
        for &(vec, addr) in stubs {
            idt[vec as usize] = IdtEntry {
                off_lo: addr as u16,
                sel: KERNEL_CS as u16,
                ist: if vec == 8 { 1 } else { 0 },
                attr: 0x8E,
                off_mid: (addr >> 16) as u16,
                off_hi: (addr >> 32) as u32,
                _zero: 0,
            };
        }
        let ptr = DescPtr {
            limit: (core::mem::size_of::<[IdtEntry; 256]>() - 1) as u16,
            base: idt.as_ptr() as u64,
        };
        asm!("lidt [{}]", in(reg) &ptr, options(nostack));
    }
}
