//! Per-process fd tables holding redbear-ipc file objects.

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
    map: BTreeMap<usize, FdEntry>,
}

impl FdTable {
    pub fn new() -> FdTable {
        FdTable {
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
        self.map.insert(fd, FdEntry { file, cloexec });
        Ok(fd)
    }

    pub fn get(&self, fd: usize) -> Result<FileRef, isize> {
        self.map.get(&fd).map(|e| e.file.clone()).ok_or(EBADF)
    }

    /// Removes `fd`; the caller drops the returned object outside any lock.
    pub fn close(&mut self, fd: usize) -> Result<FileRef, isize> {
        self.map.remove(&fd).map(|e| e.file).ok_or(EBADF)
    }

    pub fn dup(&mut self, fd: usize) -> Result<usize, isize> {
        let file = self.get(fd)?;
        self.install(file, FdPlacement::Lowest, false)
    }

    pub fn cloexec(&mut self, fd: usize) -> Result<&mut bool, isize> {
        self.map.get_mut(&fd).map(|e| &mut e.cloexec).ok_or(EBADF)
    }
}
