//! aarch64: `svc #0` with the number in x8, arguments in x0..x5, the
//! result in x0.

use core::arch::asm;

/// Issues syscall `nr` with six arguments.
///
/// # Safety
/// The kernel may read or write memory named by the arguments; the caller
/// answers for them as for any syscall.
#[inline]
pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> usize {
    let ret: usize;
    // SAFETY: the caller vouches for the arguments; x0 carries the result.
    unsafe {
        asm!(
            "svc #0",
            in("x8") nr,
            inlateout("x0") a[0] => ret,
            in("x1") a[1],
            in("x2") a[2],
            in("x3") a[3],
            in("x4") a[4],
            in("x5") a[5],
            options(nostack),
        );
    }
    ret
}

/// Stops the program with an undefined-instruction exception (panics of a
/// standalone build end here).
pub fn trap() -> ! {
    loop {
        // SAFETY: udf raises an exception; it touches no memory.
        unsafe { asm!("udf #0", options(nomem, nostack)) };
    }
}
