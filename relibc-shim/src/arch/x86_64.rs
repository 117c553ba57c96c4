//! x86_64: `syscall` with the number in rax, arguments in rdi, rsi, rdx,
//! r10, r8, r9, the result in rax; the instruction clobbers rcx and r11.

use core::arch::asm;

/// Issues syscall `nr` with six arguments.
///
/// # Safety
/// The kernel may read or write memory named by the arguments; the caller
/// answers for them as for any syscall.
#[inline]
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> usize {
    let ret: usize;
    // SAFETY: the caller vouches for the arguments; the asm clobbers only
    // what the syscall convention says.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Stops the program with an invalid-opcode fault (panics of a standalone
/// build end here).
pub fn trap() -> ! {
    loop {
        // SAFETY: ud2 raises #UD; it touches no memory.
        unsafe { asm!("ud2", options(nomem, nostack)) };
    }
}
