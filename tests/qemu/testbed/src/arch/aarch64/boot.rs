//! Entry from QEMU's `-kernel` loader: x0 holds the device tree address and
//! the CPU is at EL1 (or EL2 with `virtualization=on`; then we drop to EL1).

use core::arch::global_asm;

// SAFETY: (global_asm is not an unsafe block, but it is the most unsafe code
// here) runs first, with the MMU off; it touches only system registers, its
// own stack and .bss, and keeps x0 (the DTB address) for Rust.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    mrs     x1, CurrentEL
    lsr     x1, x1, #2
    cmp     x1, #2
    b.ne    1f
    // EL2: EL1 is AArch64, EL1 may use both timers' counters, no offset.
    mov     x1, #(1 << 31)
    msr     hcr_el2, x1
    mov     x1, #3
    msr     cnthctl_el2, x1
    msr     cntvoff_el2, xzr
    mov     x1, #0x3c5              // EL1h with D, A, I, F masked
    msr     spsr_el2, x1
    adr     x1, 1f
    msr     elr_el2, x1
    eret
1:
    adrp    x1, __boot_stack_top
    add     x1, x1, :lo12:__boot_stack_top
    mov     sp, x1
    // Zero .bss (linker script keeps both ends 16-byte aligned).
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
2:
    cmp     x1, x2
    b.hs    3f
    stp     xzr, xzr, [x1], #16
    b       2b
3:
    // Compiled code (memcpy, formatting) uses FP/SIMD registers: allow them
    // at EL1 and EL0 before the first Rust instruction.
    mov     x1, #(3 << 20)
    msr     cpacr_el1, x1
    isb
    bl      {entry}
4:
    wfe
    b       4b
    "#,
    entry = sym rust_entry,
);

/// First Rust code: find the RAM size (device tree, else fw_cfg), turn the MMU on, run the kernel.
extern "C" fn rust_entry(dtb: usize) -> ! {
    let ram = super::fdt::memory_range(dtb)
        .or_else(super::fwcfg::ram_range)
        .unwrap_or(super::mmu::DEFAULT_RAM);
    super::mmu::init_kernel_map(ram);
    crate::kernel_main()
}
