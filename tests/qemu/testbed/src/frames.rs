//! Physical 4 KiB frames for user pages: a bump pointer over free RAM plus
//! a free list threaded through the freed frames themselves.

use core::ops::Range;

use spin::Mutex;

use crate::arch::PAGE_SIZE;

struct Frames {
    next: usize,
    end: usize,
    free_head: usize,
    free_count: usize,
}

static FRAMES: Mutex<Frames> = Mutex::new(Frames {
    next: 0,
    end: 0,
    free_head: 0,
    free_count: 0,
});

pub fn init(ram: Range<usize>) {
    let mut f = FRAMES.lock();
    f.next = (ram.start + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    f.end = ram.end & !(PAGE_SIZE - 1);
}

/// A zeroed frame, or None when RAM is exhausted.
pub fn alloc_zeroed() -> Option<usize> {
    let mut f = FRAMES.lock();
    let pa = if f.free_head != 0 {
        let pa = f.free_head;
        // SAFETY: every frame on the free list is identity-mapped RAM whose
        // first word holds the next entry (written by `free`).
        f.free_head = unsafe { (pa as *const usize).read() };
        f.free_count -= 1;
        pa
    } else if f.next + PAGE_SIZE <= f.end {
        let pa = f.next;
        f.next += PAGE_SIZE;
        pa
    } else {
        return None;
    };
    drop(f);
    // SAFETY: the frame is now exclusively ours and identity-mapped.
    unsafe { core::ptr::write_bytes(pa as *mut u8, 0, PAGE_SIZE) };
    Some(pa)
}

/// Returns a frame from `alloc_zeroed`.
pub fn free(pa: usize) {
    let mut f = FRAMES.lock();
    // SAFETY: the caller gives the frame back; nothing maps it any more.
    unsafe { (pa as *mut usize).write(f.free_head) };
    f.free_head = pa;
    f.free_count += 1;
}
