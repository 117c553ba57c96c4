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

/// Bytes not allocated now (some of them may be too fragmented for a
/// large request).
pub fn free() -> usize {
    HEAP.lock().free()
}

/// Heap kept free by the allocations user programs can repeat without a
/// bound of their own (a kernel stack per task): the tables that grow
/// with them (a process's thread list, the run queue's entries, IPC
/// objects) allocate infallibly, and an exhausted heap would panic the
/// kernel there. So a new task is refused (EAGAIN) while less than this
/// would be left, whatever the heap's size (a small RAM, or ci/qemu-test's
/// TESTBED_REPEAT, whose bigger image leaves a smaller heap).
pub const RESERVE: usize = 8 << 20;

/// Whether `bytes` more may be taken for something a user can repeat.
pub fn has_room_for(bytes: usize) -> bool {
    free() >= bytes.saturating_add(RESERVE)
}
