//! POSIX shared memory objects (shm_open(3) over SHM_OPEN, SHM_UNLINK,
//! FTRUNCATE and MMAP_FD): a named object of zeroed frames whose size
//! FTRUNCATE sets, mapped shared (FORK maps the pages again in the
//! child; another process that opens the name maps the same frames).
//!
//! Linux's rules kept here (tmpfs under /dev/shm, with glibc's shm_open):
//! O_CREAT / O_EXCL (EEXIST) / ENOENT, the mode less the umask, owner and
//! group from the effective ids, the access the open asks for checked
//! against the mode (EACCES), O_TRUNC, the fd always FD_CLOEXEC; unlink
//! by the owner or root only (EACCES, as glibc reports the sticky
//! directory's EPERM); ftruncate only through a writable fd (EINVAL).
//! Differences: a mapping covers the pages the object had when it was
//! made (later growth is not seen through it, and a page past the end
//! faults with SIGSEGV, not SIGBUS); pages a shrink cuts off stay mapped
//! where they were (zeroed past the new end within its last page, as
//! Linux); read and write on the fd are EINVAL; an object's memory
//! returns when its test ends, not at its last close and unmap.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use redbear_ipc::ipc::common::file::{FileKind, FileObject};
use redbear_ipc::ipc::common::open_file::{AccessMode, OpenFile};
use redbear_ipc::ipc::common::perm::{Access, ObjPerm};
use redbear_ipc::kernel::{FdPlacement, Kernel};
use spin::Mutex;
use testbed_abi::errno::*;

use crate::arch::PAGE_SIZE;
use crate::syscall::with_aspace;
use crate::{frames, process, usermem};

/// Most objects a test makes (ENOSPC), unlinked ones included: their
/// frames stay until it ends, so the count bounds the kernel's memory.
const MAX_OBJECTS: usize = 256;
/// Longest name (NAME_MAX).
const NAME_MAX: usize = 255;
const O_CREAT: usize = 0o100;
const O_EXCL: usize = 0o200;
const O_TRUNC: usize = 0o1000;
const S_IFREG: u32 = 0o100000;

struct State {
    size: usize,
    frames: Vec<usize>,
    /// Frames a shrink cut off: still mapped where they were.
    retired: Vec<usize>,
}

pub struct ShmObject {
    perm: ObjPerm,
    group: usize,
    state: Mutex<State>,
}

/// What an fd of an object refers to.
pub struct ShmFile {
    obj: Arc<ShmObject>,
}

impl FileObject for ShmFile {
    fn kind(&self) -> FileKind {
        FileKind::SharedMemory
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Names, and every live object (by test group, freed at its end).
static NAMES: Mutex<BTreeMap<Vec<u8>, Arc<ShmObject>>> = Mutex::new(BTreeMap::new());
static LIVE: Mutex<Vec<Arc<ShmObject>>> = Mutex::new(Vec::new());

impl ShmObject {
    /// Sets the size: new pages zeroed, cut-off ones retired, the bytes
    /// past a new end within its last page zeroed.
    fn resize(&self, size: usize) -> Result<(), isize> {
        let pages = size.div_ceil(PAGE_SIZE);
        let mut st = self.state.lock();
        while st.frames.len() < pages {
            let pa = frames::alloc_zeroed().ok_or(ENOMEM)?;
            st.frames.push(pa);
        }
        let cut = st.frames.split_off(pages);
        st.retired.extend(cut);
        if size % PAGE_SIZE != 0 {
            if let Some(&pa) = st.frames.last() {
                let from = size % PAGE_SIZE;
                // SAFETY: `pa` is a whole identity-mapped user frame of
                // this object; user code may race on it as on any shared
                // page, which cannot break the kernel.
                unsafe { core::ptr::write_bytes((pa + from) as *mut u8, 0, PAGE_SIZE - from) };
            }
        }
        st.size = size;
        Ok(())
    }

    /// FSTAT's fields: mode, owner, group, size, 512-byte blocks held.
    pub fn stat(&self) -> (u32, u32, u32, usize, usize) {
        let st = self.state.lock();
        (
            S_IFREG | self.perm.mode,
            self.perm.uid,
            self.perm.gid,
            st.size,
            st.frames.len() * PAGE_SIZE / 512,
        )
    }
}

fn read_name(ptr: usize, len: usize) -> Result<Vec<u8>, isize> {
    if len == 0 {
        return Err(EINVAL);
    }
    if len > NAME_MAX {
        return Err(36); // ENAMETOOLONG
    }
    let mut name = alloc::vec![0u8; len];
    with_aspace(|asp| usermem::read(asp, ptr, &mut name))?;
    if name.iter().any(|&b| b == b'/' || b == 0) {
        return Err(EINVAL);
    }
    Ok(name)
}

fn want(access: AccessMode) -> Access {
    match access {
        AccessMode::ReadOnly => Access::READ,
        AccessMode::WriteOnly => Access::WRITE,
        _ => Access::READ_WRITE,
    }
}

/// SHM_OPEN(name, oflag, mode) -> fd; the name without glibc's leading
/// slashes.
pub fn open(name_ptr: usize, name_len: usize, oflag: usize, mode: usize) -> Result<usize, isize> {
    let name = read_name(name_ptr, name_len)?;
    let access = AccessMode::from_oflag(oflag).map_err(|e| e.errno as isize)?;
    let k = crate::ipc::kernel();
    let creds = k.credentials();
    let group = process::with_current(|p| p.group).ok_or(ESRCH)?;
    let obj = {
        let mut names = NAMES.lock();
        match names.get(&name) {
            Some(_) if oflag & O_CREAT != 0 && oflag & O_EXCL != 0 => return Err(EEXIST),
            Some(o) if !o.perm.allows(&creds, want(access)) => return Err(EACCES),
            Some(o) => o.clone(),
            None if oflag & O_CREAT == 0 => return Err(ENOENT),
            None => {
                let mut live = LIVE.lock();
                if live.len() >= MAX_OBJECTS {
                    return Err(ENOSPC);
                }
                let mode = (mode as u32) & 0o777 & !k.umask();
                let o = Arc::new(ShmObject {
                    perm: ObjPerm::new(&creds, mode),
                    group,
                    state: Mutex::new(State {
                        size: 0,
                        frames: Vec::new(),
                        retired: Vec::new(),
                    }),
                });
                live.push(o.clone());
                names.insert(name, o.clone());
                o
            }
        }
    };
    if oflag & O_TRUNC != 0 {
        if !obj.perm.allows(&creds, Access::WRITE) {
            return Err(EACCES);
        }
        obj.resize(0)?;
    }
    let file = OpenFile::new(k, Arc::new(ShmFile { obj }), access, false);
    process::with_current(|p| p.fds.install(file, FdPlacement::Lowest, true)).unwrap_or(Err(ESRCH))
}

/// SHM_UNLINK(name): the object lives on while fds or mappings use it.
pub fn unlink(name_ptr: usize, name_len: usize) -> Result<usize, isize> {
    let name = read_name(name_ptr, name_len)?;
    let creds = crate::ipc::kernel().credentials();
    let mut names = NAMES.lock();
    let o = names.get(&name).ok_or(ENOENT)?;
    if !o.perm.is_owner(&creds) {
        return Err(EACCES);
    }
    names.remove(&name);
    Ok(0)
}

fn object_of(fd: usize) -> Result<(redbear_ipc::kernel::FileRef, Arc<ShmObject>), isize> {
    let file = process::with_current(|p| p.fds.get(fd)).unwrap_or(Err(ESRCH))?;
    let obj = file.downcast::<ShmFile>().map(|f| f.obj.clone());
    Ok((file, obj.ok_or(EINVAL)?))
}

/// FTRUNCATE(fd, len): a shm object opened for writing (else EINVAL, as
/// for any other fd); EFBIG above 16 MiB.
pub fn ftruncate(fd: usize, len: usize) -> Result<usize, isize> {
    let (file, obj) = object_of(fd)?;
    if !file.access().writable() || (len as isize) < 0 {
        return Err(EINVAL);
    }
    if len > process::MAX_MAP {
        return Err(EFBIG);
    }
    obj.resize(len)?;
    Ok(0)
}

/// MMAP_FD(fd, len, writable, offset) -> address: Linux's order of
/// checks (EACCES for a write mapping of a fd not open for writing or
/// any mapping of one not open for reading, ENODEV for a fd that is no
/// shm object, EINVAL for a length of 0 or an offset not page-aligned).
pub fn mmap(fd: usize, len: usize, writable: bool, off: usize) -> Result<usize, isize> {
    let file = process::with_current(|p| p.fds.get(fd)).unwrap_or(Err(ESRCH))?;
    if (writable && !file.access().writable()) || !file.access().readable() {
        return Err(EACCES);
    }
    let obj = file
        .downcast::<ShmFile>()
        .map(|f| f.obj.clone())
        .ok_or(ENODEV)?;
    if len == 0 || len > process::MAX_MAP || off % PAGE_SIZE != 0 {
        return Err(EINVAL);
    }
    let frames: Vec<usize> = {
        let st = obj.state.lock();
        st.frames.iter().skip(off / PAGE_SIZE).copied().collect()
    };
    process::map_shared_frames(&frames, len, writable)
}

/// A shm object behind `file`, for FSTAT.
pub fn stat_of(file: &OpenFile) -> Option<(u32, u32, u32, usize, usize)> {
    file.downcast::<ShmFile>().map(|f| f.obj.stat())
}

/// At the end of test `group`: its names go and its objects' frames
/// return (no process of it maps them any more).
pub fn release_group(group: usize) {
    NAMES.lock().retain(|_, o| o.group != group);
    let gone: Vec<Arc<ShmObject>> = {
        let mut live = LIVE.lock();
        let (gone, keep) = core::mem::take(&mut *live)
            .into_iter()
            .partition(|o| o.group == group);
        *live = keep;
        gone
    };
    for o in gone {
        let mut st = o.state.lock();
        let frames = core::mem::take(&mut st.frames);
        let retired = core::mem::take(&mut st.retired);
        frames.into_iter().chain(retired).for_each(frames::free);
    }
}
