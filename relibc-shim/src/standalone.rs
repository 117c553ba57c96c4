//! What a staticlib on a bare target needs from a Rust crate and that a
//! libc written in Rust (relibc) would otherwise provide: a panic handler
//! and a global allocator. The shim never panics on purpose and never
//! allocates; `redbear-ipc` (linked for its constants) brings in `alloc`,
//! so an allocator must exist. Ours always fails.

use core::alloc::{GlobalAlloc, Layout};

struct NoAlloc;

// SAFETY: returning null is always a valid answer of `alloc`.
unsafe impl GlobalAlloc for NoAlloc {
    unsafe fn alloc(&self, _layout: Layout) -> *mut u8 {
        core::ptr::null_mut()
    }
    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOC: NoAlloc = NoAlloc;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    crate::arch::trap()
}
