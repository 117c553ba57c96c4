//! The kernel heap: per-size free lists of small blocks in front of a
//! linked-list allocator over the first part of free RAM.
//!
//! The linked-list allocator is first fit: every allocation walks the
//! free holes from the start of the heap until one is large enough. With
//! many live objects interleaved with holes too small for a request, that
//! walk grew with the objects: with 5000 POSIX queues open, one 64-byte
//! message's allocation (mq_send) cost about 20 000 instructions, against
//! 700 with one queue (docs/performance.md, the mq curve). So a request of
//! at most `SMALL_MAX` bytes (alignment at most `SMALL_ALIGN`) is rounded
//! up to a size class and served from that class's free list; a freed
//! small block goes back to its list, never to the allocator underneath.
//! A class's list is refilled from the allocator only when empty, so after
//! warm-up a small allocation and free are O(1). The price: memory freed
//! as small blocks stays reserved for its class (at most the class's peak
//! use); `used` reports it as free.

use core::alloc::{GlobalAlloc, Layout};
use core::ops::Range;
use core::ptr::{self, NonNull};

use linked_list_allocator::Heap;
use spin::Mutex;

/// Largest heap: tables, kernel stacks, process and IPC objects.
const MAX_HEAP: usize = 128 << 20;

/// The size classes; each a multiple of `SMALL_ALIGN`.
const CLASSES: [usize; 12] = [16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];
/// Largest request served by a class.
const SMALL_MAX: usize = CLASSES[CLASSES.len() - 1];
/// Alignment of every class block.
const SMALL_ALIGN: usize = 16;

/// A free class block: the link to the next one, in its first word.
struct FreeBlock {
    next: *mut FreeBlock,
}

struct State {
    heap: Heap,
    free: [*mut FreeBlock; CLASSES.len()],
    /// Bytes held in the free lists (allocated from `heap`, free to use).
    cached: usize,
}

// SAFETY: the free lists' pointers refer to blocks of the heap's own
// memory, reached only under the lock.
unsafe impl Send for State {}

struct KernelHeap(Mutex<State>);

#[global_allocator]
static HEAP: KernelHeap = KernelHeap(Mutex::new(State {
    heap: Heap::empty(),
    free: [ptr::null_mut(); CLASSES.len()],
    cached: 0,
}));

/// The class of `layout`, if it is small.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > SMALL_MAX || layout.align() > SMALL_ALIGN {
        return None;
    }
    CLASSES.iter().position(|&c| c >= layout.size())
}

// SAFETY: class blocks are allocated from the heap with the class's size
// and SMALL_ALIGN, so they satisfy every layout of their class; a block
// is on at most one free list and never handed out while listed; other
// requests go to the heap unchanged, with their own layout.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut s = self.0.lock();
        let Some(c) = class_of(layout) else {
            return s
                .heap
                .allocate_first_fit(layout)
                .map_or(ptr::null_mut(), |p| p.as_ptr());
        };
        let head = s.free[c];
        if !head.is_null() {
            // SAFETY: `head` is a listed free block (see above).
            s.free[c] = unsafe { (*head).next };
            s.cached -= CLASSES[c];
            return head.cast();
        }
        // Never fails: every class size is a multiple of SMALL_ALIGN.
        let Ok(block) = Layout::from_size_align(CLASSES[c], SMALL_ALIGN) else {
            return ptr::null_mut();
        };
        s.heap
            .allocate_first_fit(block)
            .map_or(ptr::null_mut(), |p| p.as_ptr())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let mut s = self.0.lock();
        match class_of(layout) {
            Some(c) => {
                let block = ptr.cast::<FreeBlock>();
                // SAFETY: `ptr` is a class block of `c` (allocated above
                // for this layout's class), at least 16 bytes, aligned,
                // and no longer used by its owner.
                unsafe { block.write(FreeBlock { next: s.free[c] }) };
                s.free[c] = block;
                s.cached += CLASSES[c];
            }
            None => {
                if let Some(p) = NonNull::new(ptr) {
                    // SAFETY: `ptr` came from `allocate_first_fit` with
                    // this layout (the caller's contract for dealloc).
                    unsafe { s.heap.deallocate(p, layout) };
                }
            }
        }
    }
}

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
    unsafe { HEAP.0.lock().heap.init(ram.start as *mut u8, size) };
    ram.start + size..ram.end
}

/// Bytes allocated now (blocks in the class lists count as free).
pub fn used() -> usize {
    let s = HEAP.0.lock();
    s.heap.used() - s.cached
}

/// Bytes the allocator underneath has not handed out (some of them may be
/// too fragmented for a large request; the class lists' blocks, usable
/// only by small requests, are not counted).
pub fn free() -> usize {
    HEAP.0.lock().heap.free()
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
