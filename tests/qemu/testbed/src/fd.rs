//! Per-process fd tables holding redbear-ipc open descriptions. Every fd
//! added or removed is reported to its description (`fd_added`,
//! `fd_closed` with the owner's pid), so the objects' close hooks run for
//! close and exit alike. A removed entry is reported by whoever drops it,
//! outside the process table lock: `close` hands the description back,
//! and a table reports the fds it still holds when it is dropped.
//!
//! The table is an array indexed by fd, as a real kernel's: a lookup is
//! one bounds check and one load, whatever the number of open fds. It
//! grows on demand (a process that opens few fds keeps a short one), and
//! `free_from` remembers where the lowest free fd may be, so allocating
//! the lowest fd does not rescan the fds below it.

use alloc::vec::Vec;

use redbear_ipc::kernel::{FdPlacement, FileRef};
use testbed_abi::errno::*;

/// Highest fd number + 1 (room for the 10 000-timerfd curve of ci/bench
/// in one process; Linux's default RLIMIT_NOFILE hard limit is 4096).
pub const MAX_FDS: usize = 16384;
/// Lowest number handed out: 0..3 stay stdin/stdout/stderr (the console).
pub const FIRST_FD: usize = 3;

pub struct FdEntry {
    pub file: FileRef,
    pub cloexec: bool,
}

#[derive(Default)]
pub struct FdTable {
    owner: u32,
    slots: Vec<Option<FdEntry>>,
    /// No fd below this (and at or above FIRST_FD) is free.
    free_from: usize,
}

impl FdTable {
    /// The empty table of process `owner`.
    pub fn new(owner: u32) -> FdTable {
        FdTable {
            owner,
            slots: Vec::new(),
            free_from: FIRST_FD,
        }
    }

    fn entry(&self, fd: usize) -> Option<&FdEntry> {
        self.slots.get(fd).and_then(Option::as_ref)
    }

    fn lowest_free(&self) -> Option<usize> {
        let start = self.free_from.max(FIRST_FD);
        (start..MAX_FDS).find(|&fd| self.entry(fd).is_none())
    }

    pub fn install(
        &mut self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, isize> {
        let lowest = matches!(placement, FdPlacement::Lowest);
        let fd = match placement {
            FdPlacement::Exact(fd) if fd >= MAX_FDS => return Err(EBADF),
            FdPlacement::Exact(fd) if self.entry(fd).is_some() => return Err(17), // EEXIST
            FdPlacement::Exact(fd) => fd,
            FdPlacement::Lowest => self.lowest_free().ok_or(EMFILE)?,
        };
        if fd >= self.slots.len() {
            // Doubling keeps growth amortized O(1) per fd.
            let want = (fd + 1).max(self.slots.len() * 2).clamp(8, MAX_FDS);
            self.slots
                .try_reserve_exact(want - self.slots.len())
                .map_err(|_| ENOMEM)?;
            self.slots.resize_with(want, || None);
        }
        file.fd_added();
        self.slots[fd] = Some(FdEntry { file, cloexec });
        // The lowest free fd was taken: every fd below it is in use.
        if lowest || fd == self.free_from {
            self.free_from = fd + 1;
        }
        Ok(fd)
    }

    pub fn get(&self, fd: usize) -> Result<FileRef, isize> {
        self.entry(fd).map(|e| e.file.clone()).ok_or(EBADF)
    }

    /// Removes `fd`; the caller reports it (`fd_closed`) and drops the
    /// returned description outside any lock.
    pub fn close(&mut self, fd: usize) -> Result<FileRef, isize> {
        let e = self.slots.get_mut(fd).and_then(Option::take).ok_or(EBADF)?;
        self.free_from = self.free_from.min(fd);
        Ok(e.file)
    }

    pub fn dup(&mut self, fd: usize) -> Result<usize, isize> {
        let file = self.get(fd)?;
        self.install(file, FdPlacement::Lowest, false)
    }

    /// A forked child's table: the same descriptions under the same
    /// numbers, each reported added.
    pub fn fork(&self, owner: u32) -> FdTable {
        let slots = self
            .slots
            .iter()
            .map(|s| {
                s.as_ref().map(|e| {
                    e.file.fd_added();
                    FdEntry {
                        file: e.file.clone(),
                        cloexec: e.cloexec,
                    }
                })
            })
            .collect();
        FdTable {
            owner,
            slots,
            free_from: self.free_from,
        }
    }

    /// EXEC: removes every FD_CLOEXEC entry; the caller reports them
    /// (`fd_closed`) and drops them outside any lock.
    pub fn take_cloexec(&mut self) -> Vec<FileRef> {
        let mut taken = Vec::new();
        for (fd, slot) in self.slots.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|e| e.cloexec) {
                if let Some(e) = slot.take() {
                    taken.push(e.file);
                    self.free_from = self.free_from.min(fd);
                }
            }
        }
        taken
    }

    pub fn cloexec(&mut self, fd: usize) -> Result<&mut bool, isize> {
        self.slots
            .get_mut(fd)
            .and_then(Option::as_mut)
            .map(|e| &mut e.cloexec)
            .ok_or(EBADF)
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        for e in core::mem::take(&mut self.slots).into_iter().flatten() {
            e.file.fd_closed(self.owner);
        }
    }
}
