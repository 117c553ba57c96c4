//! STAT and FSTAT: Linux's `struct stat` (`testbed_abi::Stat`) for what
//! the testbed has in place of files. Measured on Linux 6.18 for the
//! same objects: a pipe end is S_IFIFO | 0600 (both ends one inode); an
//! eventfd, signalfd or timerfd is 0600 with no type bits, owner root,
//! all on one inode (the anonymous inode); a message queue is S_IFREG
//! with its mode, owner and group; a shm object S_IFREG with its mode and
//! size. A named semaphore's handle fd (the shim's) is S_IFREG with its
//! mode (as Linux's /dev/shm/sem.NAME). fds 0..2 are the console: a
//! character device, 0620. An embedded program is S_IFREG | 0755 owned
//! by root with its ELF size. nlink 1, blksize 4096; the times are 0 (the
//! testbed keeps none); a pipe's owner is the caller.

use redbear_ipc::ipc::common::file::FileKind;
use redbear_ipc::ipc::common::names::Named;
use redbear_ipc::ipc::mq::queue::MessageQueue;
use redbear_ipc::ipc::sem::named::NamedSem;
use redbear_ipc::kernel::FileRef;
use testbed_abi::errno::*;
use testbed_abi::Stat;

use crate::syscall::with_aspace;
use crate::{pipe, process, programs, usermem};

const S_IFREG: u32 = 0o100000;
const S_IFCHR: u32 = 0o020000;
const S_IFIFO: u32 = 0o010000;
/// st_dev of each kind of object (any distinct numbers).
const DEV_CONSOLE: u64 = 1;
const DEV_ANON: u64 = 2;
const DEV_PIPE: u64 = 3;
const DEV_IPC: u64 = 4;
const DEV_ARCHIVE: u64 = 5;

fn base(dev: u64, ino: u64, mode: u32, uid: u32, gid: u32) -> Stat {
    Stat {
        st_dev: dev,
        st_ino: ino,
        st_nlink: 1,
        st_mode: mode,
        st_uid: uid,
        st_gid: gid,
        st_blksize: 4096,
        ..Stat::default()
    }
}

fn of_file(file: &FileRef) -> Stat {
    let ino = alloc::sync::Arc::as_ptr(file.object()) as *const () as u64;
    match file.kind() {
        FileKind::Pipe => {
            let ino = file
                .downcast::<pipe::End>()
                .map_or(ino, |e| e.inode() as u64);
            let (uid, gid) = process::with_current(|p| (p.euid, p.egid)).unwrap_or((0, 0));
            base(DEV_PIPE, ino, S_IFIFO | 0o600, uid, gid)
        }
        FileKind::EventFd | FileKind::SignalFd | FileKind::TimerFd => {
            base(DEV_ANON, 1, 0o600, 0, 0)
        }
        FileKind::MessageQueue | FileKind::NamedSem => {
            let perm = match file.downcast::<MessageQueue>() {
                Some(q) => Some(*q.perm()),
                None => file.downcast::<NamedSem>().map(|s| *s.perm()),
            };
            let (mode, uid, gid) = perm.map_or((0, 0, 0), |p| (p.mode, p.uid, p.gid));
            base(DEV_IPC, ino, S_IFREG | mode, uid, gid)
        }
        FileKind::SharedMemory => {
            let (mode, uid, gid, size, blocks) = crate::shm::stat_of(file).unwrap_or_default();
            Stat {
                st_size: size as i64,
                st_blocks: blocks as i64,
                ..base(DEV_IPC, ino, mode, uid, gid)
            }
        }
    }
}

/// FSTAT(fd, *Stat).
pub fn fstat(fd: usize, out: usize) -> Result<usize, isize> {
    let st = if fd < crate::fd::FIRST_FD {
        base(DEV_CONSOLE, fd as u64 + 1, S_IFCHR | 0o620, 0, 0)
    } else {
        let file = process::with_current(|p| p.fds.get(fd)).unwrap_or(Err(ESRCH))?;
        of_file(&file)
    };
    with_aspace(|asp| usermem::write_val(asp, out, &st))?;
    Ok(0)
}

/// STAT(path, *Stat): the embedded program the path's last component
/// names (as EXEC finds it).
pub fn stat(path_ptr: usize, path_len: usize, out: usize) -> Result<usize, isize> {
    if path_len == 0 {
        return Err(ENOENT);
    }
    if path_len > 4096 {
        return Err(36); // ENAMETOOLONG
    }
    let mut path = alloc::vec![0u8; path_len];
    with_aspace(|asp| usermem::read(asp, path_ptr, &mut path))?;
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    let all = programs::all();
    let (i, prog) = all
        .iter()
        .enumerate()
        .find(|(_, p)| p.name.as_bytes() == name)
        .ok_or(ENOENT)?;
    let st = Stat {
        st_size: prog.image.len() as i64,
        st_blocks: prog.image.len().div_ceil(512) as i64,
        ..base(DEV_ARCHIVE, i as u64 + 1, S_IFREG | 0o755, 0, 0)
    };
    with_aspace(|asp| usermem::write_val(asp, out, &st))?;
    Ok(0)
}
