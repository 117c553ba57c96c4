//! Port I/O, MSRs, the descriptor tables and the per-CPU block: GDT
//! (kernel and user segments in the order `sysret` needs, then one TSS
//! descriptor per CPU), a TSS per CPU (rsp0 = the task's kernel stack,
//! IST1 for double faults), the syscall MSRs, and GS: in the kernel the GS
//! base is the CPU's `PerCpu` (the entries `swapgs` on the way in from
//! user mode and out to it), so `gs:[..]` is this CPU's block.

use core::arch::asm;
use core::ptr::addr_of_mut;

use crate::arch::MAX_CPUS;

/// Selectors. STAR's sysret base 0x10 makes user SS = 0x18|3, CS = 0x20|3.
pub const KERNEL_CS: u64 = 0x08;
pub const USER_DS: u64 = 0x18 | 3;
pub const USER_CS: u64 = 0x20 | 3;
/// The boot CPU's TSS selector; CPU i's is 16 bytes further per index.
pub const TSS_SEL: u16 = 0x28;

pub const GDT_ENTRIES: usize = 5 + 2 * MAX_CPUS;
pub const GDT_BYTES: usize = GDT_ENTRIES * 8;

/// The GDT; `_start32` loads it with a 32-bit base, `init` again with the
/// TSS filled in.
#[no_mangle]
pub static mut GDT: [u64; GDT_ENTRIES] = {
    let mut g = [0u64; GDT_ENTRIES];
    g[1] = 0x00AF_9A00_0000_FFFF; // 0x08 kernel code, 64-bit
    g[2] = 0x00CF_9200_0000_FFFF; // 0x10 kernel data
    g[3] = 0x00CF_F200_0000_FFFF; // 0x18 user data
    g[4] = 0x00AF_FA00_0000_FFFF; // 0x20 user code, 64-bit
                                  // 0x28..: two entries per CPU for its TSS descriptor (`init_cpu`).
    g
};

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

/// One CPU's block; its address is the kernel GS base of that CPU. The
/// first three fields are read by the entry code at fixed offsets.
#[repr(C)]
pub struct PerCpu {
    /// gs:[0]: kernel stack top that `syscall_entry` switches to (the
    /// running task's).
    pub kstack: u64,
    /// gs:[8]: scratch slot for the user rsp during that switch.
    pub user_rsp: u64,
    /// gs:[16]: this CPU's index (`cpu_index`).
    pub index: u64,
    /// Local APIC id (the IPI destination).
    pub apic_id: u64,
    pub tss: Tss,
}

pub const PERCPU_KSTACK: usize = 0;
pub const PERCPU_USER_RSP: usize = 8;
pub const PERCPU_INDEX: usize = 16;
const _: () = assert!(core::mem::offset_of!(PerCpu, kstack) == PERCPU_KSTACK);
const _: () = assert!(core::mem::offset_of!(PerCpu, user_rsp) == PERCPU_USER_RSP);
const _: () = assert!(core::mem::offset_of!(PerCpu, index) == PERCPU_INDEX);

static mut PERCPU: [PerCpu; MAX_CPUS] = [const {
    PerCpu {
        kstack: 0,
        user_rsp: 0,
        index: 0,
        apic_id: 0,
        tss: Tss {
            _reserved0: 0,
            rsp: [0; 3],
            _reserved1: 0,
            ist: [0; 7],
            _reserved2: 0,
            _reserved3: 0,
            iomap_base: 104,
        },
    }
}; MAX_CPUS];

#[repr(C, align(16))]
struct IstStack([u8; 16 * 1024]);
static mut DOUBLE_FAULT_STACKS: [IstStack; MAX_CPUS] =
    [const { IstStack([0; 16 * 1024]) }; MAX_CPUS];

const MSR_GS_BASE: u32 = 0xC000_0101;
const MSR_KERNEL_GS_BASE: u32 = 0xC000_0102;

/// This CPU's index (0 = boot CPU), from its per-CPU block.
pub fn cpu_index() -> usize {
    let v: u64;
    // SAFETY: in the kernel GS holds this CPU's PerCpu (set by `init_cpu`
    // before any other code of this CPU runs; `swapgs` keeps it there).
    unsafe {
        asm!("mov {}, gs:[{off}]", out(reg) v, off = const PERCPU_INDEX,
             options(nostack, readonly, preserves_flags))
    };
    v as usize
}

/// Records the boot CPU's APIC id (known once its APIC is mapped).
pub fn set_boot_apic_id(id: u32) {
    // SAFETY: boot CPU, before any other CPU reads it.
    unsafe { (*addr_of_mut!(PERCPU))[0].apic_id = id as u64 }
}

/// The local APIC id of CPU `index`.
pub fn apic_id_of(index: usize) -> u32 {
    // SAFETY: written once by that CPU in `init_cpu` before it announced
    // itself; read-only afterwards.
    unsafe { (*addr_of_mut!(PERCPU))[index.min(MAX_CPUS - 1)].apic_id as u32 }
}

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

pub fn outw(port: u16, v: u16) {
    // SAFETY: as `outb` (fw_cfg's selector port).
    unsafe {
        asm!("out dx, ax", in("dx") port, in("ax") v, options(nomem, nostack, preserves_flags))
    }
}

pub fn outl(port: u16, v: u32) {
    // SAFETY: as `outb`.
    unsafe {
        asm!("out dx, eax", in("dx") port, in("eax") v, options(nomem, nostack, preserves_flags))
    }
}

pub fn wrmsr(msr: u32, v: u64) {
    // SAFETY: only called with architectural MSRs (STAR/LSTAR/SFMASK, the
    // GS bases) during a CPU's init, with values consistent with the GDT
    // and per-CPU blocks above.
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

/// Makes this CPU CPU `index`: its per-CPU block as the kernel GS base
/// (user GS base 0), its TSS descriptor filled and loaded with the GDT's
/// 64-bit base, and the `syscall` MSRs (they are per CPU). Runs first on
/// each CPU, interrupts off.
pub fn init_cpu(index: usize, apic_id: u32) {
    assert!(index < MAX_CPUS);
    // SAFETY: each CPU touches only its own PerCpu, stack and GDT slots
    // here, before anything else reads them; interrupts are off.
    unsafe {
        let pc = &mut (*addr_of_mut!(PERCPU))[index];
        pc.index = index as u64;
        pc.apic_id = apic_id as u64;
        let ist_top = addr_of_mut!(DOUBLE_FAULT_STACKS[index]) as u64 + 16 * 1024;
        pc.tss.ist[0] = ist_top;
        wrmsr(MSR_GS_BASE, pc as *mut PerCpu as u64);
        wrmsr(MSR_KERNEL_GS_BASE, 0);
        let base = addr_of_mut!(pc.tss) as u64;
        let limit = (core::mem::size_of::<Tss>() - 1) as u64;
        let low = (limit & 0xffff)
            | ((base & 0xff_ffff) << 16)
            | (0x89u64 << 40) // present, 64-bit available TSS
            | (((limit >> 16) & 0xf) << 48)
            | (((base >> 24) & 0xff) << 56);
        let gdt = &mut *addr_of_mut!(GDT);
        gdt[5 + 2 * index] = low;
        gdt[6 + 2 * index] = base >> 32;
        let ptr = DescPtr {
            limit: (GDT_BYTES - 1) as u16,
            base: gdt.as_ptr() as u64,
        };
        asm!("lgdt [{}]", in(reg) &ptr, options(nostack));
        let sel = TSS_SEL + 16 * index as u16;
        asm!("ltr {0:x}", in(reg) sel, options(nostack));
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
    // SAFETY: this CPU's own block; the kernel runs with interrupts off,
    // so no trap of this CPU reads these while they change, and no other
    // CPU reads them.
    unsafe {
        let pc = &mut (*addr_of_mut!(PERCPU))[cpu_index()];
        pc.tss.rsp[0] = top;
        pc.kstack = top;
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

/// Loads the IDT `init_idt` filled (on each other CPU).
pub fn load_idt() {
    // SAFETY: the IDT is complete before any other CPU starts and never
    // changes afterwards.
    unsafe {
        let ptr = DescPtr {
            limit: (core::mem::size_of::<[IdtEntry; 256]>() - 1) as u16,
            base: (*addr_of_mut!(IDT)).as_ptr() as u64,
        };
        asm!("lidt [{}]", in(reg) &ptr, options(nostack));
    }
}

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
