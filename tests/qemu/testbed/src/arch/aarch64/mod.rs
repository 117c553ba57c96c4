//! aarch64 (QEMU `-M virt -cpu cortex-a57`) implementation of the testbed's
//! architecture contract (`super`'s `contract_check`).
//!
//! One job per file:
//! - `boot`: `_start`, the drop to EL1, boot stack, .bss, then Rust.
//! - `cpu`: FP/SIMD enable, DAIF (interrupt mask), wfi.
//! - `uart`: PL011 polled output.
//! - `fdt`, `fwcfg`: the RAM size (device tree if QEMU passes one, else
//!   QEMU's fw_cfg).
//! - `mmu`: kernel identity map, per-process `AddressSpace`.
//! - `vectors`: the exception vector table and register save/restore.
//! - `traps`: `TrapFrame` and the Rust side of every exception.
//! - `gic` + `timer`: GICv2 and the generic (virtual) timer tick.
//! - `context`: `TaskContext`, `switch`, the first entry to EL0.
//! - `psci`: power off (and the exit status through semihosting).
//! - `smp`: the other CPUs (PSCI CPU_ON), `cpu_index` (TPIDR_EL1), wake-up
//!   SGIs.

mod boot;
mod context;
mod cpu;
mod fdt;
mod fwcfg;
mod gic;
mod mmu;
mod psci;
mod smp;
mod timer;
mod traps;
mod uart;
mod vectors;

pub use context::{switch, TaskContext};
pub use cpu::{interrupts_disable, interrupts_restore, wait_for_interrupt};
pub use mmu::{activate_kernel_space, AddressSpace};
pub use psci::exit;
pub use timer::{monotonic_ns, timer_start};
pub use traps::{TrapFrame, UserContext, RETURN_ADDRESS_ON_STACK};
pub use uart::console_write;

/// Serial, trap vectors, FP/SIMD, EL0 access to the virtual counter. The MMU is already on (the boot path
/// turns it on before any Rust code of the common kernel runs, so atomics
/// and unaligned accesses see Normal memory from the first instruction).
pub fn init_early() {
    smp::init_boot();
    cpu::enable_fp();
    uart::init();
    vectors::install();
    timer::allow_user_counter();
}

pub use smp::{cpu_index, start_secondaries, wake_cpu};

/// RAM from the end of the kernel image (page aligned) to the end of RAM.
pub fn free_ram() -> core::ops::Range<usize> {
    mmu::free_ram()
}
