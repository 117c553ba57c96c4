//! A bump allocator over MMAP_ANON chunks (never frees): enough for test
//! programs that want `alloc` (and for crates that need a global one).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::sys;

const CHUNK: usize = 1 << 20;

struct Bump {
    lock: AtomicBool,
    state: core::cell::UnsafeCell<(usize, usize)>, // (next, end)
}

// SAFETY: `state` is only touched with `lock` held.
unsafe impl Sync for Bump {}

#[global_allocator]
static HEAP: Bump = Bump {
    lock: AtomicBool::new(false),
    state: core::cell::UnsafeCell::new((0, 0)),
};

// SAFETY: returns fresh, suitably aligned, non-overlapping blocks or null.
unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        while self.lock.swap(true, Ordering::Acquire) {
            core::hint::spin_loop();
        }
        // SAFETY: the lock is held.
        let st = unsafe { &mut *self.state.get() };
        let align = layout.align().max(16);
        let mut start = (st.0 + align - 1) & !(align - 1);
        if st.0 == 0 || start + layout.size() > st.1 {
            let want = (layout.size() + align).max(CHUNK);
            match sys::mmap_anon(want) {
                Ok(base) => {
                    *st = (base, base + want);
                    start = (base + align - 1) & !(align - 1);
                }
                Err(_) => {
                    self.lock.store(false, Ordering::Release);
                    return core::ptr::null_mut();
                }
            }
        }
        st.0 = start + layout.size();
        self.lock.store(false, Ordering::Release);
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
