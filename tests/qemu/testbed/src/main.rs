//! The Red Bear IPC QEMU testbed: a small kernel that links `redbear-ipc`
//! and runs every embedded user program as a test, reporting TAP on the
//! serial console and the result as QEMU's exit status.
//!
//! Boot order: the arch's entry calls `kernel_main`, which brings up the
//! trap vectors (`arch::init_early`), the heap and the frame allocator, the
//! clock tick, and then hands over to the TAP runner.
#![no_std]
#![no_main]

extern crate alloc;

pub mod arch;
#[macro_use]
mod console;
mod clock;
mod elf;
mod exec;
mod fd;
mod fileops;
mod frames;
mod fstat;
mod heap;
mod ipc;
mod knobs;
mod pipe;
mod process;
mod programs;
mod runner;
mod sched;
mod shm;
mod sigcalls;
mod sigframe;
mod signal;
mod syscall;
mod tidmap;
mod trap;
mod usermem;

/// Timer tick rate: 100 Hz, or `TESTBED_TICK_HZ` at build time (a
/// faster tick preempts user code more often; ci/stress-mutation).
pub const TICK_HZ: u32 = match option_env!("TESTBED_TICK_HZ") {
    Some(v) => parse_hz(v.as_bytes()),
    None => 100,
};

/// `TESTBED_TICK_HZ`: decimal digits, 10 to 10000 (a build error else).
const fn parse_hz(b: &[u8]) -> u32 {
    let mut n = 0u32;
    let mut i = 0;
    while i < b.len() {
        assert!(b[i].is_ascii_digit(), "TESTBED_TICK_HZ: not a number");
        n = n * 10 + (b[i] - b'0') as u32;
        assert!(n <= 10_000, "TESTBED_TICK_HZ: above 10000");
        i += 1;
    }
    assert!(n >= 10, "TESTBED_TICK_HZ: below 10");
    n
}

/// Called once by the arch boot code on the boot stack, interrupts off.
pub fn kernel_main() -> ! {
    arch::init_early();
    println!(
        "# red bear ipc testbed ({})",
        if cfg!(target_arch = "x86_64") {
            "x86_64"
        } else {
            "aarch64"
        }
    );
    let ram = arch::free_ram();
    let ram = heap::init(ram);
    frames::init(ram.clone());
    println!(
        "# free RAM {:#x}..{:#x} ({} MiB for user pages), clock {}",
        ram.start,
        ram.end,
        (ram.end - ram.start) >> 20,
        clock::mode_name()
    );
    sched::init();
    let cpus = arch::start_secondaries();
    sched::set_online(cpus);
    println!("# {} CPU{} online", cpus, if cpus == 1 { "" } else { "s" });
    arch::timer_start(TICK_HZ);
    let failed = runner::run_all(cpus);
    arch::exit(if failed == 0 { 0 } else { 1 })
}

/// Called once by the arch on every CPU but the boot CPU, on a stack of
/// its own, interrupts off, its tick running; never returns.
pub fn secondary_main() -> ! {
    sched::secondary_loop()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    arch::interrupts_disable();
    println!("KERNEL PANIC: {}", info);
    arch::exit(3)
}
