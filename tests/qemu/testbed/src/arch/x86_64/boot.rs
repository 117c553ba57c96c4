//! PVH entry: QEMU's `-kernel` loader reads the XEN_ELFNOTE_PHYS32_ENTRY
//! note and starts `_start32` in 32-bit protected mode, paging off, with the
//! physical address of `hvm_start_info` in ebx. The code below clears .bss,
//! identity-maps the first 1 GiB with 2 MiB pages (kernel only), turns on
//! PAE, SSE (CR4.OSFXSR/OSXMMEXCPT), long mode and `syscall` (EFER.LME/SCE),
//! loads the GDT and jumps to 64-bit code, which calls `crate::kernel_main`.

use core::arch::global_asm;

/// Physical address of the PVH `hvm_start_info`, saved by `_start32`.
#[no_mangle]
#[used]
pub static mut PVH_START_INFO: u32 = 0xffff_ffff;

/// The boot PML4 / PDPT / PD. `BOOT_PD` maps [0, 1 GiB) with 2 MiB
/// supervisor pages and is shared by every address space.
#[repr(C, align(4096))]
pub struct Table(pub [u64; 512]);

#[no_mangle]
pub static mut BOOT_PML4: Table = Table([0; 512]);
#[no_mangle]
pub static mut BOOT_PDPT: Table = Table([0; 512]);
#[no_mangle]
pub static mut BOOT_PD: Table = Table([0; 512]);
/// [3 GiB, 4 GiB): only the local APIC's page (`apic::map`).
pub static mut BOOT_PD_HI: Table = Table([0; 512]);

/// Stack of the boot path, then of the scheduler loop.
#[repr(C, align(16))]
pub struct BootStack(pub [u8; BOOT_STACK_SIZE]);
pub const BOOT_STACK_SIZE: usize = 64 * 1024;
#[no_mangle]
pub static mut BOOT_STACK: BootStack = BootStack([0; BOOT_STACK_SIZE]);

global_asm!(
    r#"
    .section .note.Xen, "a", @note
    .balign 4
    .long 4
    .long 8
    .long 18
    .asciz "Xen"
    .balign 4
    .quad _start32
    .balign 4

    .section .text.boot, "ax"
    .code32
    .global _start32
_start32:
    cli
    cld
    movl %ebx, PVH_START_INFO
    /* clear .bss (the tables and the boot stack live there) */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb
    /* PML4[0] -> PDPT, PDPT[0] -> PD, PD = 512 x 2 MiB identity */
    movl $BOOT_PDPT, %eax
    orl $3, %eax
    movl %eax, BOOT_PML4
    movl $BOOT_PD, %eax
    orl $3, %eax
    movl %eax, BOOT_PDPT
    xorl %ecx, %ecx
1:
    movl %ecx, %eax
    shll $21, %eax
    orl $0x83, %eax
    movl %eax, BOOT_PD(,%ecx,8)
    movl $0, BOOT_PD+4(,%ecx,8)
    incl %ecx
    cmpl $512, %ecx
    jne 1b
    movl $BOOT_PML4, %eax
    movl %eax, %cr3
    "#,
    enter_long_mode!(),
    r#"
    lgdt boot_gdt_ptr
    ljmp $0x08, $long_entry

    .code64
long_entry:
    "#,
    load_data_segments!(),
    r#"
    movabsq $BOOT_STACK + {stack_size}, %rsp
    xorl %ebp, %ebp
    call {entry}
2:
    hlt
    jmp 2b

    .section .data
    .balign 8
boot_gdt_ptr:
    .word {gdt_limit}
    .long GDT
    "#,
    entry = sym x86_entry,
    stack_size = const BOOT_STACK_SIZE,
    gdt_limit = const super::cpu::GDT_BYTES - 1,
    options(att_syntax)
);

extern "C" fn x86_entry() -> ! {
    crate::kernel_main()
}
