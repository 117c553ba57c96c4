//! Exit status 0 iff the aarch64 stub passes all six argument registers and
//! returns the result as the convention says; 1..5 name the failing step.
#![no_std]
#![no_main]

#[path = "../../../src/arch/aarch64.rs"]
#[allow(dead_code)]
mod arch;

use arch::syscall6;

// Linux aarch64 syscall numbers.
const WRITE: usize = 64;
const EXIT: usize = 93;
const GETPID: usize = 172;
const MUNMAP: usize = 215;
const MMAP: usize = 222;

fn exit(code: usize) -> ! {
    // SAFETY: exit takes no pointers.
    unsafe { syscall6(EXIT, [code, 0, 0, 0, 0, 0]) };
    loop {}
}

/// The program's entry.
///
/// # Safety
/// Called once by the loader.
#[no_mangle]
pub unsafe extern "C" fn _start() -> ! {
    // SAFETY: each call's pointers are valid (a fresh mapping, a static).
    unsafe {
        let pid = syscall6(GETPID, [0; 6]);
        if pid == 0 || pid > usize::MAX - 4096 {
            exit(1)
        }
        // mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
        // -1, 0) reads x0..x5: a wrong register fails it.
        let at = syscall6(MMAP, [0, 4096, 3, 0x22, usize::MAX, 0]);
        if at > usize::MAX - 4096 {
            exit(2)
        }
        (at as *mut u64).write(42);
        // A file mapping of a bad fd: EBADF proves x4 reached the kernel.
        if syscall6(MMAP, [0, 4096, 1, 0x1, 12345, 0]) != (-9isize) as usize {
            exit(3)
        }
        if syscall6(MUNMAP, [at, 4096, 0, 0, 0, 0]) != 0 {
            exit(4)
        }
        let msg = b"ok - aarch64 svc stub: x8 number, x0..x5 arguments, x0 result\n";
        if syscall6(WRITE, [1, msg.as_ptr() as usize, msg.len(), 0, 0, 0]) != msg.len() {
            exit(5)
        }
    }
    exit(0)
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(99)
}
