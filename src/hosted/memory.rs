//! Simulated user memory for the hosted kernel.
//!
//! Tests allocate regions and pass their addresses to syscalls as user
//! pointers. A region is private to one process or shared by all (a shared
//! mapping); any address outside the caller's regions is a fault, so null
//! and wild pointers give EFAULT exactly as on a real kernel.
//!
//! A kernel page (`Kernel::shared_page_alloc`, a named semaphore's) is a
//! `Frame` that lives while the kernel's handle or any mapping holds it;
//! mapping it makes a region at the frame's own address, visible to the
//! processes that mapped it (`Visibility::Mapped`), so its address and
//! shared key are the same in every process.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::RwLock;

use crate::kernel::{Pid, UserFault};

/// Who may touch a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Only this process.
    Private(Pid),
    /// Every process (a shared mapping at the same address).
    Shared,
    /// The processes that mapped this kernel page (`Region::mappers`).
    Mapped,
}

/// The memory of one region, or of one kernel page. A page's frame counts
/// itself in `UserMemory::pages` while it lives (leak checks).
pub struct Frame {
    words: Box<[AtomicU32]>,
    live: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl Frame {
    fn base(&self) -> usize {
        self.words.as_ptr() as usize
    }

    /// The kernel's view of word `index` (`None` past the frame).
    pub fn word(&self, index: usize) -> Option<&AtomicU32> {
        self.words.get(index)
    }

    /// The key `UserMemory::key` gives for the frame's first byte in any
    /// process that maps it: its host address.
    pub fn key(&self) -> u64 {
        self.base() as u64
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Region {
    frame: std::sync::Arc<Frame>,
    len: usize,
    vis: Visibility,
    /// False once `protect` made it read-only (writes and atomic
    /// read-modify-writes fault, reads succeed).
    writable: bool,
    /// A kernel page's mappings: how many each process holds.
    mappers: BTreeMap<Pid, usize>,
}

/// What an access does to the bytes it touches.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl Region {
    fn base(&self) -> usize {
        self.frame.base()
    }
}

/// A test's rule for writes that fault as if the memory had just been
/// unmapped by another thread: called with the address and bytes of each
/// write, true fails it (nothing written).
/// It runs with no lock of the hosted memory held.
pub type WriteFault = std::sync::Arc<dyn Fn(usize, &[u8]) -> bool + Send + Sync>;

/// All regions, by base address.
#[derive(Default)]
pub struct UserMemory {
    /// Writes that fail on purpose (tests of a fault after a probe).
    write_fault: std::sync::Mutex<Option<WriteFault>>,
    regions: RwLock<BTreeMap<usize, Region>>,
    /// Addresses whose "page" a test marked not resident: a no-fault read
    /// of them asks the caller to fault them in first.
    nonresident: std::sync::Mutex<std::collections::BTreeSet<usize>>,
    /// How many times `fault_in` was called (tests).
    faults: std::sync::atomic::AtomicUsize,
    /// Kernel pages alive (frames not yet freed).
    pages: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Most kernel pages alive at once (`None`: no limit): ENOMEM past it.
    page_limit: std::sync::Mutex<Option<usize>>,
    /// Whether `map_page` fails ENOMEM (an exhausted address space).
    maps_fail: std::sync::atomic::AtomicBool,
}

/// Bytes of one kernel page.
const PAGE: usize = crate::kernel::SHARED_PAGE_SIZE;

impl UserMemory {
    /// Allocates `len` zeroed bytes (4-aligned) visible as `vis`; returns
    /// the user address.
    pub fn alloc(&self, len: usize, vis: Visibility) -> usize {
        let words: Box<[AtomicU32]> = (0..len.div_ceil(4).max(1))
            .map(|_| AtomicU32::new(0))
            .collect();
        let region = Region {
            frame: std::sync::Arc::new(Frame { words, live: None }),
            len,
            vis,
            writable: true,
            mappers: BTreeMap::new(),
        };
        let base = region.base();
        self.regions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(base, region);
        base
    }

    /// Unmaps the region starting at `base`.
    pub fn free(&self, base: usize) {
        self.regions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&base);
    }

    /// mprotect(2) of the region at `base`: read-only (`writable` false) or
    /// read-write again. Unknown bases are ignored.
    pub fn protect(&self, base: usize, writable: bool) {
        if let Some(r) = self
            .regions
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&base)
        {
            r.writable = writable;
        }
    }

    /// Runs `f` on the host pointer of [addr, addr+len) if `pid` may access
    /// it all (one region) the way `access` needs, else faults.
    fn with_range<R>(
        &self,
        pid: Pid,
        addr: usize,
        len: usize,
        access: Access,
        f: impl FnOnce(*mut u8) -> R,
    ) -> Result<R, UserFault> {
        let regions = self.regions.read().unwrap_or_else(|p| p.into_inner());
        let (_, region) = regions.range(..=addr).next_back().ok_or(UserFault)?;
        let end = addr.checked_add(len).ok_or(UserFault)?;
        if end > region.base() + region.len || (access == Access::Write && !region.writable) {
            return Err(UserFault);
        }
        match region.vis {
            Visibility::Private(owner) if owner != pid => return Err(UserFault),
            Visibility::Mapped if !region.mappers.contains_key(&pid) => return Err(UserFault),
            _ => {}
        }
        Ok(f(addr as *mut u8))
    }

    /// Copies out of user memory.
    pub fn read(&self, pid: Pid, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        self.with_range(pid, src, dst.len(), Access::Read, |p| {
            // SAFETY: the range lies inside a live region (checked above,
            // read lock held), which owns that many bytes.
            unsafe { std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), dst.len()) }
        })
    }

    /// Makes the writes `rule` picks fault from now on (`None`: none).
    pub fn fail_writes(&self, rule: Option<WriteFault>) {
        *self.write_fault.lock().unwrap_or_else(|p| p.into_inner()) = rule;
    }

    /// Copies into user memory.
    pub fn write(&self, pid: Pid, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        let rule = self
            .write_fault
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if rule.is_some_and(|rule| rule(dst, src)) {
            return Err(UserFault);
        }
        self.with_range(pid, dst, src.len(), Access::Write, |p| {
            // SAFETY: as in `read`; the region's bytes are plain data.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), p, src.len()) }
        })
    }

    /// Atomic compare-exchange of an aligned u32.
    pub fn cmpxchg_u32(&self, pid: Pid, addr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        if !addr.is_multiple_of(4) {
            return Err(UserFault);
        }
        self.with_range(pid, addr, 4, Access::Write, |p| {
            // SAFETY: an aligned 4-byte range inside a region made of
            // AtomicU32s, so it is exactly one of them.
            let word = unsafe { &*(p as *const AtomicU32) };
            match word.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(v) | Err(v) => v,
            }
        })
    }

    /// Atomic, sequentially consistent load of an aligned u32.
    pub fn load_u32(&self, pid: Pid, addr: usize) -> Result<u32, UserFault> {
        if !addr.is_multiple_of(4) {
            return Err(UserFault);
        }
        self.with_range(pid, addr, 4, Access::Read, |p| {
            // SAFETY: as in `cmpxchg_u32`: exactly one of the region's
            // AtomicU32s.
            let word = unsafe { &*(p as *const AtomicU32) };
            word.load(Ordering::SeqCst)
        })
    }

    /// The shared key of `addr`: its host address if `pid` may access it.
    pub fn key(&self, pid: Pid, addr: usize) -> Result<u64, UserFault> {
        self.with_range(pid, addr, 1, Access::Read, |p| p as u64)
    }

    /// Marks the word at `addr` not resident until the next `fault_in`.
    pub fn evict(&self, addr: usize) {
        self.nonresident
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr);
    }

    /// A no-fault read: `None` if the word was evicted.
    pub fn read_u32_nofault(&self, pid: Pid, addr: usize) -> Result<Option<u32>, UserFault> {
        if self
            .nonresident
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&addr)
        {
            self.with_range(pid, addr, 4, Access::Read, |_| ())?;
            return Ok(None);
        }
        self.load_u32(pid, addr).map(Some)
    }

    /// Makes `addr` resident again (the sleeping fault-in).
    pub fn fault_in(&self, pid: Pid, addr: usize) -> Result<(), UserFault> {
        self.with_range(pid, addr, 1, Access::Read, |_| ())?;
        self.faults
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.nonresident
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&addr);
        Ok(())
    }

    /// Number of fault-ins so far.
    pub fn faults(&self) -> usize {
        self.faults.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A zeroed kernel page with `init` at offset 0: ENOMEM past the
    /// page limit (`limit_pages`).
    pub fn alloc_page(&self, init: &[u8; 16]) -> Result<std::sync::Arc<Frame>, crate::Errno> {
        let limit = *self.page_limit.lock().unwrap_or_else(|p| p.into_inner());
        // Reserve first, so two allocations cannot both pass the limit.
        let before = self.pages.fetch_add(1, Ordering::SeqCst);
        if limit.is_some_and(|max| before >= max) {
            self.pages.fetch_sub(1, Ordering::SeqCst);
            return Err(crate::Errno::new(crate::errno::ENOMEM));
        }
        let words: Box<[AtomicU32]> = (0..PAGE / 4).map(|_| AtomicU32::new(0)).collect();
        for (i, chunk) in init.chunks_exact(4).enumerate() {
            let mut word = [0u8; 4];
            word.copy_from_slice(chunk);
            words[i].store(u32::from_ne_bytes(word), Ordering::SeqCst);
        }
        Ok(std::sync::Arc::new(Frame {
            words,
            live: Some(self.pages.clone()),
        }))
    }

    /// Maps `frame` into `pid` (at the frame's own address, the same in
    /// every process); the mapping holds the frame. ENOMEM while
    /// `fail_maps` is on.
    pub fn map_page(&self, frame: &std::sync::Arc<Frame>, pid: Pid) -> Result<usize, crate::Errno> {
        if self.maps_fail.load(Ordering::SeqCst) {
            return Err(crate::Errno::new(crate::errno::ENOMEM));
        }
        let base = frame.base();
        let mut regions = self.regions.write().unwrap_or_else(|p| p.into_inner());
        let region = regions.entry(base).or_insert_with(|| Region {
            frame: frame.clone(),
            len: PAGE,
            vis: Visibility::Mapped,
            writable: true,
            mappers: BTreeMap::new(),
        });
        *region.mappers.entry(pid).or_insert(0) += 1;
        Ok(base)
    }

    /// Removes one of `pid`'s mappings of `frame` at `uaddr`: EINVAL if
    /// there is none. The last mapping's removal drops the region.
    pub fn unmap_page(&self, frame: &Frame, pid: Pid, uaddr: usize) -> Result<(), crate::Errno> {
        let einval = crate::Errno::new(crate::errno::EINVAL);
        let mut regions = self.regions.write().unwrap_or_else(|p| p.into_inner());
        let region = regions.get_mut(&uaddr).ok_or(einval)?;
        if region.vis != Visibility::Mapped || !std::ptr::eq(&*region.frame, frame) {
            return Err(einval);
        }
        let count = region.mappers.get_mut(&pid).ok_or(einval)?;
        *count -= 1;
        if *count == 0 {
            region.mappers.remove(&pid);
        }
        if region.mappers.is_empty() {
            regions.remove(&uaddr);
        }
        Ok(())
    }

    /// exit(2) of `pid`: its page mappings go.
    pub fn unmap_all(&self, pid: Pid) {
        let mut regions = self.regions.write().unwrap_or_else(|p| p.into_inner());
        regions.retain(|_, r| {
            if r.vis != Visibility::Mapped {
                return true;
            }
            r.mappers.remove(&pid);
            !r.mappers.is_empty()
        });
    }

    /// fork(2): `child` gets every page mapping `parent` has (shared).
    pub fn fork_mappings(&self, parent: Pid, child: Pid) {
        let mut regions = self.regions.write().unwrap_or_else(|p| p.into_inner());
        for r in regions.values_mut() {
            if let Some(&n) = r.mappers.get(&parent) {
                r.mappers.insert(child, n);
            }
        }
    }

    /// Kernel pages alive now (leak checks).
    pub fn pages(&self) -> usize {
        self.pages.load(Ordering::SeqCst)
    }

    /// At most `max` kernel pages alive at once (`None`: no limit).
    pub fn limit_pages(&self, max: Option<usize>) {
        *self.page_limit.lock().unwrap_or_else(|p| p.into_inner()) = max;
    }

    /// Makes `map_page` fail ENOMEM (`true`) or succeed again.
    pub fn fail_maps(&self, fail: bool) {
        self.maps_fail.store(fail, Ordering::SeqCst);
    }

    /// Number of regions, for leak checks.
    pub fn regions(&self) -> usize {
        self.regions.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}
