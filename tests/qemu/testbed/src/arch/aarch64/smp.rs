//! Starting the other CPUs through PSCI CPU_ON (the `hvc` conduit QEMU
//! virt gives a kernel loaded without EL3 firmware): CPU i is MPIDR
//! affinity i (QEMU virt with GICv2 numbers CPUs 0..8 in Aff0), started
//! until PSCI refuses one. Each starts at `a64_secondary_start` at EL1
//! with the MMU off and its index in x0; the assembly there turns the MMU
//! on with the boot CPU's values (`mmu::boot_values`), takes its stack
//! from `SECONDARY`, puts its index in TPIDR_EL1 (`cpu_index`, EL1 only)
//! and calls `secondary_main`.

use core::arch::{asm, global_asm};
use core::ptr::addr_of_mut;
use core::sync::atomic::{AtomicUsize, Ordering};

use alloc::boxed::Box;

use crate::arch::MAX_CPUS;

const PSCI_CPU_ON: u64 = 0xC400_0003;
const STACK_SIZE: usize = 64 * 1024;

/// Read with the MMU (and so the caches) off: the boot CPU cleans it to
/// the point of coherency before each CPU_ON.
#[repr(C, align(64))]
struct Secondary {
    mair: u64,
    tcr: u64,
    ttbr: u64,
    sctlr: u64,
    stacks: [u64; MAX_CPUS],
}

static mut SECONDARY: Secondary = Secondary {
    mair: 0,
    tcr: 0,
    ttbr: 0,
    sctlr: 0,
    stacks: [0; MAX_CPUS],
};
static ONLINE: AtomicUsize = AtomicUsize::new(1);

// SAFETY: (global_asm) runs on a CPU PSCI just started, MMU off, with
// only its own registers and the boot CPU's published `SECONDARY`.
global_asm!(
    r#"
    .section .text
    .global a64_secondary_start
a64_secondary_start:
    adrp    x1, {boot}
    add     x1, x1, :lo12:{boot}
    ldr     x2, [x1, #0]
    msr     mair_el1, x2
    ldr     x2, [x1, #8]
    msr     tcr_el1, x2
    ldr     x2, [x1, #16]
    msr     ttbr0_el1, x2
    dsb     sy
    isb
    tlbi    vmalle1
    dsb     nsh
    isb
    mov     x2, #(3 << 20)
    msr     cpacr_el1, x2
    isb
    ldr     x2, [x1, #24]
    msr     sctlr_el1, x2
    isb
    add     x2, x1, #32
    ldr     x3, [x2, x0, lsl #3]
    mov     sp, x3
    msr     tpidr_el1, x0
    bl      {main}
1:
    wfe
    b       1b
    "#,
    boot = sym SECONDARY,
    main = sym secondary_rust,
);

extern "C" {
    fn a64_secondary_start();
}

/// This CPU's index (TPIDR_EL1: 0 on the boot CPU, set by `init_boot`).
pub fn cpu_index() -> usize {
    let v: u64;
    // SAFETY: reading an EL1 system register EL0 cannot write.
    unsafe { asm!("mrs {v}, tpidr_el1", v = out(reg) v, options(nomem, nostack, preserves_flags)) };
    v as usize
}

/// The boot CPU is CPU 0.
pub fn init_boot() {
    // SAFETY: writes this CPU's own thread-id register.
    unsafe {
        asm!(
            "msr tpidr_el1, xzr",
            options(nomem, nostack, preserves_flags)
        )
    };
}

pub fn online() -> usize {
    ONLINE.load(Ordering::Acquire)
}

fn cpu_on(mpidr: u64, entry: u64, context: u64) -> i64 {
    let r: i64;
    // SAFETY: a PSCI call to the firmware QEMU emulates; CPU_ON starts
    // another CPU at `entry` and returns.
    unsafe {
        asm!("hvc #0", inlateout("x0") PSCI_CPU_ON => r, in("x1") mpidr, in("x2") entry,
             in("x3") context, options(nostack))
    };
    r
}

fn clean_to_poc(addr: usize, len: usize) {
    let mut a = addr & !63;
    while a < addr + len {
        // SAFETY: cache maintenance on our own static; no data changes.
        unsafe { asm!("dc cvac, {a}", a = in(reg) a, options(nostack, preserves_flags)) };
        a += 64;
    }
    // SAFETY: a barrier only.
    unsafe { asm!("dsb sy", options(nostack, preserves_flags)) };
}

/// Starts CPUs 1.. until PSCI refuses one or MAX_CPUS run, waiting up to
/// a second for each; returns the number running, this one included.
pub fn start_secondaries() -> usize {
    let (mair, tcr, ttbr, sctlr) = super::mmu::boot_values();
    super::gic::enable_sgi(super::gic::WAKE_SGI);
    for i in 1..MAX_CPUS {
        let stack: Box<[u8]> = alloc::vec![0u8; STACK_SIZE].into_boxed_slice();
        let top = (Box::leak(stack).as_mut_ptr() as u64 + STACK_SIZE as u64) & !15;
        // SAFETY: boot CPU; the started CPUs only read `SECONDARY`.
        let boot = unsafe { &mut *addr_of_mut!(SECONDARY) };
        boot.mair = mair;
        boot.tcr = tcr;
        boot.ttbr = ttbr;
        boot.sctlr = sctlr;
        boot.stacks[i] = top;
        clean_to_poc(
            boot as *mut Secondary as usize,
            core::mem::size_of::<Secondary>(),
        );
        let before = online();
        if cpu_on(i as u64, a64_secondary_start as *const () as u64, i as u64) != 0 {
            break;
        }
        let t0 = super::timer::monotonic_ns();
        while online() == before && super::timer::monotonic_ns() - t0 < 1_000_000_000 {
            core::hint::spin_loop();
        }
        if online() == before {
            break;
        }
    }
    online()
}

/// A started CPU's first Rust code: MMU on, own stack, IRQs masked.
extern "C" fn secondary_rust(_index: usize) -> ! {
    super::vectors::install();
    super::timer::allow_user_counter();
    super::gic::enable_sgi(super::gic::WAKE_SGI);
    super::timer::timer_start(crate::TICK_HZ);
    ONLINE.fetch_add(1, Ordering::AcqRel);
    crate::secondary_main()
}

/// Ends CPU `index`'s idle wait.
pub fn wake_cpu(index: usize) {
    if index < online() {
        super::gic::send_sgi(index, super::gic::WAKE_SGI);
    }
}
