//! Starting the other CPUs: QEMU's CPU count from fw_cfg, a real-mode
//! trampoline copied to `TRAMPOLINE` (below 1 MiB, where a STARTUP IPI can
//! point), the INIT / STARTUP broadcast, and each CPU's first Rust code.
//!
//! The trampoline goes from real mode straight to long mode (PAE, LME,
//! then PE and PG at once) on the boot page tables and the kernel GDT,
//! takes a slot with `lock xadd` (every CPU runs it at the same time),
//! loads that slot's stack and calls `ap_entry(slot + 1)`. CPUs beyond
//! MAX_CPUS halt in the trampoline.

use core::arch::global_asm;
use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicUsize, Ordering};

use alloc::boxed::Box;

use super::{apic, cpu, timer};
use crate::arch::MAX_CPUS;

/// Where the trampoline runs; a STARTUP IPI names its page.
const TRAMPOLINE: usize = 0x8000;
/// Each other CPU's boot (then scheduler loop) stack.
const AP_STACK_SIZE: usize = 64 * 1024;

global_asm!(
    r#"
    .section .text.ap_trampoline, "ax"
    .code16
    .global ap_tramp_start
ap_tramp_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl ({tb} + ap_tramp_gdtr - ap_tramp_start)
    movl ({tb} + ap_tramp_cr3 - ap_tramp_start), %eax
    movl %eax, %cr3
    "#,
    enter_long_mode!(),
    r#"
    ljmpl $0x08, $({tb} + ap_tramp_long - ap_tramp_start)

    .code64
ap_tramp_long:
    "#,
    load_data_segments!(),
    r#"
    movl $1, %eax
    lock xaddl %eax, ({tb} + ap_tramp_count - ap_tramp_start)
    cmpl ${slots}, %eax
    jae 9f
    movq ({tb} + ap_tramp_stacks - ap_tramp_start), %rbx
    movq (%rbx,%rax,8), %rsp
    leal 1(%eax), %edi
    movq ({tb} + ap_tramp_entry - ap_tramp_start), %rax
    xorl %ebp, %ebp
    callq *%rax
9:
    cli
    hlt
    jmp 9b

    .balign 8
    .global ap_tramp_gdtr
ap_tramp_gdtr:
    .word 0
    .long 0
    .balign 8
    .global ap_tramp_cr3
ap_tramp_cr3:
    .quad 0
    .global ap_tramp_count
ap_tramp_count:
    .quad 0
    .global ap_tramp_stacks
ap_tramp_stacks:
    .quad 0
    .global ap_tramp_entry
ap_tramp_entry:
    .quad 0
    .global ap_tramp_end
ap_tramp_end:
    .code64
    .text
    "#,
    tb = const TRAMPOLINE,
    slots = const MAX_CPUS - 1,
    options(att_syntax)
);

extern "C" {
    static ap_tramp_start: u8;
    static ap_tramp_gdtr: u8;
    static ap_tramp_cr3: u8;
    static ap_tramp_count: u8;
    static ap_tramp_stacks: u8;
    static ap_tramp_entry: u8;
    static ap_tramp_end: u8;
}

/// Stack tops of the other CPUs, by slot (cpu index - 1).
static mut AP_STACKS: [u64; MAX_CPUS - 1] = [0; MAX_CPUS - 1];
/// Other CPUs that reached `ap_entry`.
static ARRIVED: AtomicUsize = AtomicUsize::new(0);
/// CPUs running, the boot CPU included.
static ONLINE: AtomicUsize = AtomicUsize::new(1);

/// QEMU's fw_cfg (I/O ports 0x510 selector, 0x511 data): FW_CFG_NB_CPUS.
fn qemu_cpus() -> usize {
    cpu::outw(0x510, 0x0000);
    let sig = [
        cpu::inb(0x511),
        cpu::inb(0x511),
        cpu::inb(0x511),
        cpu::inb(0x511),
    ];
    if &sig != b"QEMU" {
        return 1;
    }
    cpu::outw(0x510, 0x0005);
    let lo = cpu::inb(0x511) as usize;
    let hi = cpu::inb(0x511) as usize;
    (hi << 8 | lo).max(1)
}

/// CPUs running now.
pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

/// Starts every other CPU (at most MAX_CPUS in all) and waits up to a
/// second for them; returns the number running, this one included.
pub fn start_secondaries() -> usize {
    let want = qemu_cpus().min(MAX_CPUS);
    if want <= 1 {
        return 1;
    }
    apic::enable(true);
    cpu::set_boot_apic_id(apic::id());
    apic::calibrate(crate::TICK_HZ);
    // SAFETY: boot CPU, before any other CPU runs: the stacks come from
    // the heap and are never freed; the trampoline page below 1 MiB is
    // identity-mapped RAM that nothing else uses after boot (the PVH start
    // info was read by `free_ram`).
    unsafe {
        let stacks = &mut *addr_of_mut!(AP_STACKS);
        for slot in stacks.iter_mut().take(want - 1) {
            let s: Box<[u8]> = alloc::vec![0u8; AP_STACK_SIZE].into_boxed_slice();
            *slot = (Box::leak(s).as_mut_ptr() as u64 + AP_STACK_SIZE as u64) & !15;
        }
        let start = addr_of!(ap_tramp_start) as usize;
        let len = addr_of!(ap_tramp_end) as usize - start;
        core::ptr::copy_nonoverlapping(start as *const u8, TRAMPOLINE as *mut u8, len);
        let at = |sym: *const u8| TRAMPOLINE + (sym as usize - start);
        let gdtr = at(addr_of!(ap_tramp_gdtr));
        (gdtr as *mut u16).write_unaligned((cpu::GDT_BYTES - 1) as u16);
        ((gdtr + 2) as *mut u32).write_unaligned(addr_of!(cpu::GDT) as u32);
        (at(addr_of!(ap_tramp_cr3)) as *mut u64).write(addr_of!(super::boot::BOOT_PML4) as u64);
        (at(addr_of!(ap_tramp_count)) as *mut u64).write(0);
        (at(addr_of!(ap_tramp_stacks)) as *mut u64).write(stacks.as_ptr() as u64);
        (at(addr_of!(ap_tramp_entry)) as *mut u64).write(ap_entry as *const () as u64);
    }
    apic::start_others((TRAMPOLINE >> 12) as u8);
    for _ in 0..1000 {
        if ARRIVED.load(Ordering::Acquire) >= want - 1 {
            break;
        }
        timer::delay_ns(1_000_000);
    }
    online()
}

/// First Rust code of another CPU, on its own stack, interrupts off.
extern "C" fn ap_entry(index: usize) -> ! {
    cpu::init_cpu(index, apic::id());
    cpu::load_idt();
    apic::enable(false);
    apic::timer_start();
    ARRIVED.fetch_add(1, Ordering::AcqRel);
    ONLINE.fetch_add(1, Ordering::AcqRel);
    crate::secondary_main()
}
