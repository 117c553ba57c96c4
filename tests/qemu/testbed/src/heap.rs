//! The kernel heap: a linked-list allocator over the first part of free RAM.

use core::ops::Range;

use linked_list_allocator::LockedHeap;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

/// Largest heap: tables, kernel stacks, process and IPC objects.
const MAX_HEAP: usize = 128 << 20;

/// Takes a quarter of `ram` (at most 128 MiB) for the heap and returns the
/// rest; with `TESTBED_HEAP_MIB` at build time, up to that many MiB and
/// 7/8 of `ram` (the rest is user frames).
pub fn init(ram: Range<usize>) -> Range<usize> {
    let len = ram.end - ram.start;
    let size = match crate::knobs::HEAP_MIB {
        None => (len / 4).min(MAX_HEAP),
        Some(mib) => (len / 8 * 7).min(mib << 20),
    } & !0xfff;
    // SAFETY: `ram` is unused, identity-mapped RAM handed over by the arch
    // once at boot; the heap owns [start, start + size) from now on.
    unsafe { HEAP.lock().init(ram.start as *mut u8, size) };
    ram.start + size..ram.end
}

/// Bytes allocated now.
pub fn used() -> usize {
    HEAP.lock().used()
}
