//! The architecture contract of the testbed kernel.
//!
//! The common kernel (scheduler, processes, fd tables, the `Kernel`
//! implementation, the program loader, the TAP runner) is written once and
//! talks to the hardware only through the items below. Each architecture
//! module (`x86_64`, `aarch64`) provides every item with exactly this
//! signature; `contract_check` makes a missing or mistyped item a compile
//! error on that architecture.
//!
//! Memory model, the same on both architectures:
//! - All RAM is identity-mapped (VA == PA) for the kernel only (not user
//!   accessible), with large pages, in every address space. Device MMIO the
//!   arch needs (PL011 on aarch64) is mapped the same way.
//! - User programs are static, non-PIE ELF files linked at `USER_BASE`
//!   (`tests/qemu/user.ld`); user stacks sit below `USER_STACK_TOP`. User
//!   pages are 4 KiB, mapped per process. Both constants lie above all RAM
//!   and in the lower half, so user and kernel ranges never overlap.
//! - The kernel reads and writes user memory directly (no SMAP/PAN), after
//!   `AddressSpace::translate` has proved every page of the range is mapped
//!   for user access (that check is how EFAULT comes from the real tables).
//!
//! Traps: the arch's entry code saves the user registers in a `TrapFrame` on
//! the current task's kernel stack and calls the common handlers
//! `crate::trap::on_syscall(&mut TrapFrame) -> bool` (true: the frame was
//! replaced by a signal frame or a sigreturn, so x86_64 must leave through
//! `iretq`), `crate::trap::on_timer(&mut TrapFrame)` and
//! `crate::trap::on_user_fault(&mut TrapFrame, FaultInfo)`; a task that
//! blocks inside them switches away with `switch` and resumes there later.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use aarch64::*;

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use x86_64::*;

/// First byte of user program images.
pub const USER_BASE: usize = 0x0000_0010_0000_0000;
/// One past the highest byte of the user stack region.
pub const USER_STACK_TOP: usize = 0x0000_0020_0000_0000;
/// Size of a page and of a kernel stack's granule.
pub const PAGE_SIZE: usize = 4096;
/// Most CPUs the testbed brings up (more are left parked by the arch).
pub const MAX_CPUS: usize = 8;

/// Why a user-mode fault happened, for the report line.
#[derive(Clone, Copy, Debug)]
pub struct FaultInfo {
    /// Faulting address where the hardware reports one, else 0.
    pub addr: usize,
    /// Architecture-specific cause (x86 vector/error code, aarch64 ESR).
    pub cause: u64,
}

/// Page permissions for `AddressSpace::map_user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserPerm {
    pub write: bool,
    pub exec: bool,
}

#[allow(dead_code)]
fn contract_check() {
    // Boot and console.
    let _: fn() = init_early; // serial, trap vectors, FP/SIMD on, no timer yet
    let _: fn(&[u8]) = console_write; // polled serial output
    let _: fn(u32) -> ! = exit; // x86: isa-debug-exit; aarch64: PSCI SYSTEM_OFF
    let _: fn() -> core::ops::Range<usize> = free_ram; // RAM after the kernel image, page aligned

    // Time and interrupts.
    let _: fn(u32) = timer_start; // periodic tick at the given Hz, calls trap::on_timer
    let _: fn() -> u64 = monotonic_ns; // TSC / CNTVCT based, never goes back
    let _: fn() -> bool = interrupts_disable; // returns whether they were enabled
    let _: fn(bool) = interrupts_restore;
    let _: fn() = wait_for_interrupt; // idle: enable, halt, return after an IRQ

    // CPUs. `start_secondaries` (after the heap and `sched::init`) boots
    // every other CPU QEMU gives, up to MAX_CPUS, and returns how many run
    // now, this one included; each enters `crate::secondary_main` on a
    // stack of its own with interrupts masked, its per-CPU state (trap
    // stack, `cpu_index`) set and its own tick running. `cpu_index` is 0
    // on the boot CPU, 1.. on the others in the order they came up.
    // `wake_cpu` makes that CPU's `wait_for_interrupt` return (an IPI).
    // `activate_kernel_space` loads the kernel-only tables (a CPU between
    // tasks must not keep a process's tables that another CPU may free).
    let _: fn() -> usize = start_secondaries;
    let _: fn() -> usize = cpu_index;
    let _: fn(usize) = wake_cpu;
    let _: fn() = activate_kernel_space;

    // Address spaces (per process).
    let _: fn() -> Option<AddressSpace> = AddressSpace::new; // kernel identity map included
    let _: fn(&mut AddressSpace, usize, usize, UserPerm) -> bool = AddressSpace::map_user; // (va, pa) 4 KiB
    let _: fn(&AddressSpace, usize, bool) -> Option<usize> = AddressSpace::translate; // (va, need_write) -> pa, user pages only
    let _: fn(&AddressSpace) = AddressSpace::activate;
    let _: fn(&AddressSpace) -> u64 = AddressSpace::id;

    // Tasks: a kernel stack each, switched cooperatively inside the kernel.
    // `TaskContext::new_user` makes a context whose first `switch` lands in
    // user mode at `entry` with `sp` and `arg` in the first argument register.
    let _: fn(usize, usize, usize, usize) -> TaskContext = TaskContext::new_user; // (kstack_top, entry, sp, arg)
    let _: unsafe fn(*mut TaskContext, *const TaskContext) = switch;
    // FORK's child: a context whose first `switch` returns to user mode
    // with a copy of the trap frame (and, x86_64, the live FP state).
    let _: fn(usize, &TrapFrame) -> TaskContext = TaskContext::fork_of;

    // Trap frame access for the common handlers.
    let _: fn(&TrapFrame) -> (usize, [usize; 6]) = TrapFrame::syscall_args;
    let _: fn(&mut TrapFrame, usize) = TrapFrame::set_return;

    // Signal frames (`sigframe.rs`): the interrupted user context as it is
    // saved on the user stack (`UserContext: Copy + Default`), restored
    // with privileged state forced safe (false: refused, nothing changed);
    // entering a handler `pc(args)` on `sp` returning to `ret` (on the
    // stack at `sp` if RETURN_ADDRESS_ON_STACK); re-running an interrupted
    // system call (SA_RESTART).
    let _: fn(&TrapFrame) -> UserContext = UserContext::save;
    let _: fn(&UserContext, &mut TrapFrame) -> bool = UserContext::restore;
    let _: fn(&TrapFrame) -> usize = TrapFrame::user_sp;
    let _: fn(usize) -> bool = TrapFrame::user_address_ok;
    let _: fn(&mut TrapFrame, usize, usize, [usize; 3], usize) = TrapFrame::enter_handler;
    let _: fn(&mut TrapFrame, usize, &[usize; 6]) = TrapFrame::rewind_syscall;
    // EXEC: enter a new image at `entry` on `sp` with `arg` in the first
    // argument register, every other register (FP/SIMD too) reset.
    let _: fn(&mut TrapFrame, usize, usize, usize) = TrapFrame::exec_reset;
    let _: bool = RETURN_ADDRESS_ON_STACK;
}
