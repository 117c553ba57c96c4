//! Per-process fd tables holding redbear-ipc open descriptions. Every fd
//! added or removed is reported to its description (`fd_added`,
//! `fd_closed` with the owner's pid), so the objects' close hooks run for
//! close and exit alike. A removed entry is reported by whoever drops it,
//! outside the process table lock: `close` hands the description back,
//! and a table reports the fds it still holds when it is dropped.

use alloc::collections::BTreeMap;

use redbear_ipc::kernel::{FdPlacement, FileRef};
use testbed_abi::errno::*;

/// Highest fd number + 1.
pub const MAX_FDS: usize = 256;
/// Lowest number handed out: 0..3 stay stdin/stdout/stderr (the console).
pub const FIRST_FD: usize = 3;

pub struct FdEntry {
    pub file: FileRef,
    pub cloexec: bool,
}

#[derive(Default)]
pub struct FdTable {
    owner: u32,
    map: BTreeMap<usize, FdEntry>,
}

impl FdTable {
    /// The empty table of process `owner`.
    pub fn new(owner: u32) -> FdTable {
        FdTable {
            owner,
            map: BTreeMap::new(),
        }
    }

    pub fn install(
        &mut self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, isize> {
        let fd = match placement {
            FdPlacement::Exact(fd) if fd >= MAX_FDS => return Err(EBADF),
            FdPlacement::Exact(fd) if self.map.contains_key(&fd) => return Err(17), // EEXIST
            FdPlacement::Exact(fd) => fd,
            FdPlacement::Lowest => (FIRST_FD..MAX_FDS)
                .find(|fd| !self.map.contains_key(fd))
                .ok_or(EMFILE)?,
        };
        file.fd_added();
        self.map.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    pub fn get(&self, fd: usize) -> Result<FileRef, isize> {
        self.map.get(&fd).map(|e| e.file.clone()).ok_or(EBADF)
    }

    /// Removes `fd`; the caller reports it (`fd_closed`) and drops the
    /// returned description outside any lock.
    pub fn close(&mut self, fd: usize) -> Result<FileRef, isize> {
        self.map.remove(&fd).map(|e| e.file).ok_or(EBADF)
    }

    pub fn dup(&mut self, fd: usize) -> Result<usize, isize> {
        let file = self.get(fd)?;
        self.install(file, FdPlacement::Lowest, false)
    }

    /// A forked child's table: the same descriptions under the same
    /// numbers, each reported added.
    pub fn fork(&self, owner: u32) -> FdTable {
        let mut map = BTreeMap::new();
        for (&fd, e) in &self.map {
            e.file.fd_added();
            map.insert(
                fd,
                FdEntry {
                    file: e.file.clone(),
                    cloexec: e.cloexec,
                },
            );
        }
        FdTable { owner, map }
    }

    /// EXEC: removes every FD_CLOEXEC entry; the caller reports them
    /// (`fd_closed`) and drops them outside any lock.
    pub fn take_cloexec(&mut self) -> alloc::vec::Vec<FileRef> {
        let fds: alloc::vec::Vec<usize> = self
            .map
            .iter()
            .filter(|(_, e)| e.cloexec)
            .map(|(&fd, _)| fd)
            .collect();
        fds.iter()
            .filter_map(|fd| self.map.remove(fd))
            .map(|e| e.file)
            .collect()
    }

    pub fn cloexec(&mut self, fd: usize) -> Result<&mut bool, isize> {
        self.map.get_mut(&fd).map(|e| &mut e.cloexec).ok_or(EBADF)
    }
}

impl Drop for FdTable {
    fn drop(&mut self) {
        for (_, e) in core::mem::take(&mut self.map) {
            e.file.fd_closed(self.owner);
        }
    }
}
