//! pipe(2) / pipe2(2): a byte channel of the testbed's own, as two fd
//! objects (the read end and the write end) over one shared buffer, so
//! each end's poll answers for itself as Linux's does. Blocking goes
//! through redbear-ipc's wait helper and wait queues, readiness through
//! its `Pollee`, like the subsystem's fd objects.
//!
//! Linux's rules (fs/pipe.c) kept here: capacity 65536 bytes; a read
//! takes what is there (up to its length), blocks while the pipe is empty
//! and a writer is open, and returns 0 (EOF) once none is; a write of at
//! most PIPE_BUF (4096) bytes is atomic, a longer one may be split, a
//! blocking write returns only when everything is written, a nonblocking
//! one what fitted (EAGAIN if nothing did); a write with no reader open
//! sends SIGPIPE to the writing thread and fails EPIPE (or returns what
//! it wrote before). A signal ends a blocked call with EINTR, or with the
//! bytes moved so far. Poll: the read end POLLIN while bytes are there,
//! POLLHUP once no writer is open; the write end POLLOUT while there is
//! room for PIPE_BUF bytes, POLLERR once no reader is open.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use redbear_ipc::errno::{err, Errno, EAGAIN, EBADF, ENOMEM, EPIPE};
use redbear_ipc::ipc::common::file::{FileKind, FileObject, IoResult};
use redbear_ipc::ipc::common::open_file::{AccessMode, Closer, FileRef, OpenFile};
use redbear_ipc::ipc::common::pollee::{Pollee, Readiness};
use redbear_ipc::ipc::common::wait::{wait, Blocking};
use redbear_ipc::ipc::common::waitq::WaitQueue;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::sync::Mutex;
use redbear_ipc::syscall::uaccess::UserSlice;

/// Bytes a pipe holds (Linux's default, 16 pages).
pub const CAPACITY: usize = 65536;
/// Writes up to this size are atomic.
pub const PIPE_BUF: usize = 4096;

struct State {
    buf: VecDeque<u8>,
    readers: usize,
    writers: usize,
    /// Tasks blocked reading / writing.
    rq: WaitQueue,
    wq: WaitQueue,
}

struct Shared {
    state: Mutex<State>,
    /// Observers of the read end / the write end.
    read_pollee: Pollee,
    write_pollee: Pollee,
}

/// One end of a pipe.
pub struct End {
    shared: Arc<Shared>,
    write: bool,
}

impl End {
    /// One number for both ends of a pipe (FSTAT's st_ino, as Linux's
    /// one inode per pipe).
    pub fn inode(&self) -> usize {
        Arc::as_ptr(&self.shared) as usize
    }
}

/// The two descriptions of a new pipe: (read end, write end).
pub fn create(k: &dyn Kernel, nonblocking: bool) -> Result<(FileRef, FileRef), Errno> {
    let mut buf = VecDeque::new();
    buf.try_reserve_exact(CAPACITY)
        .map_err(|_| Errno::new(ENOMEM))?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            buf,
            readers: 1,
            writers: 1,
            rq: WaitQueue::new(),
            wq: WaitQueue::new(),
        }),
        read_pollee: Pollee::new(),
        write_pollee: Pollee::new(),
    });
    let r = Arc::new(End {
        shared: shared.clone(),
        write: false,
    });
    let w = Arc::new(End {
        shared,
        write: true,
    });
    Ok((
        OpenFile::new(k, r, AccessMode::ReadOnly, nonblocking),
        OpenFile::new(k, w, AccessMode::WriteOnly, nonblocking),
    ))
}

impl End {
    fn read_end(&self, k: &dyn Kernel, file: &OpenFile, ubuf: UserSlice) -> IoResult {
        let len = ubuf.len();
        let sh = &self.shared;
        let taken: Vec<u8> = wait(
            k,
            &sh.state,
            Blocking::new(file.nonblocking(), None),
            |s| &mut s.rq,
            |s| {
                if s.buf.is_empty() {
                    return if s.writers == 0 {
                        Ok(Vec::new())
                    } else {
                        err(EAGAIN)
                    };
                }
                let n = len.min(s.buf.len());
                let mut out = Vec::new();
                out.try_reserve_exact(n).map_err(|_| Errno::new(ENOMEM))?;
                out.extend(s.buf.drain(..n));
                s.wq.wake_all(k);
                Ok(out)
            },
        )?;
        if taken.is_empty() {
            return Ok(0);
        }
        if let Err(e) = ubuf.write_from(k, &taken) {
            // Put the bytes back in front: a faulting read loses nothing.
            let mut s = sh.state.lock();
            for &b in taken.iter().rev() {
                s.buf.push_front(b);
            }
            s.rq.wake_all(k);
            return Err(e);
        }
        sh.write_pollee.notify(Readiness::OUT);
        Ok(taken.len())
    }

    fn write_end(&self, k: &dyn Kernel, file: &OpenFile, ubuf: UserSlice) -> IoResult {
        let len = ubuf.len();
        if len == 0 {
            return Ok(0);
        }
        let sh = &self.shared;
        let mut done = 0;
        let mut chunk = Vec::new();
        while done < len {
            // Copy in at most CAPACITY at a time: a huge write allocates
            // no more than the pipe holds.
            let part = (len - done).min(CAPACITY);
            chunk.clear();
            chunk
                .try_reserve_exact(part)
                .map_err(|_| Errno::new(ENOMEM))?;
            chunk.resize(part, 0);
            if let Err(e) = ubuf.sub(done, part).read_into(k, &mut chunk) {
                return if done > 0 { Ok(done) } else { Err(e) };
            }
            let mut at = 0;
            while at < part {
                let atomic = len <= PIPE_BUF;
                let r = wait(
                    k,
                    &sh.state,
                    Blocking::new(file.nonblocking(), None),
                    |s| &mut s.wq,
                    |s| {
                        if s.readers == 0 {
                            return err(EPIPE);
                        }
                        let room = CAPACITY - s.buf.len();
                        let want = part - at;
                        if room == 0 || (atomic && room < want) {
                            return err(EAGAIN);
                        }
                        let n = want.min(room);
                        s.buf.extend(&chunk[at..at + n]);
                        s.rq.wake_all(k);
                        Ok(n)
                    },
                );
                match r {
                    Ok(n) => {
                        at += n;
                        sh.read_pollee.notify(Readiness::IN);
                    }
                    Err(e) => {
                        if e == Errno::new(EPIPE) {
                            crate::sigcalls::raise_pipe();
                        }
                        let moved = done + at;
                        return if moved > 0 { Ok(moved) } else { Err(e) };
                    }
                }
            }
            done += part;
        }
        Ok(done)
    }
}

impl FileObject for End {
    fn kind(&self) -> FileKind {
        FileKind::Pipe
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        if self.write {
            return err(EBADF);
        }
        self.read_end(k, file, buf)
    }
    fn write(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        if !self.write {
            return err(EBADF);
        }
        self.write_end(k, file, buf)
    }
    fn poll(&self, _k: &dyn Kernel) -> Readiness {
        let s = self.shared.state.lock();
        let mut r = Readiness::empty();
        if self.write {
            if CAPACITY - s.buf.len() >= PIPE_BUF {
                r |= Readiness::OUT;
            }
            if s.readers == 0 {
                r |= Readiness::ERR;
            }
        } else {
            if !s.buf.is_empty() {
                r |= Readiness::IN;
            }
            if s.writers == 0 {
                r |= Readiness::HUP;
            }
        }
        r
    }
    fn pollee(&self) -> Option<&Pollee> {
        Some(if self.write {
            &self.shared.write_pollee
        } else {
            &self.shared.read_pollee
        })
    }
    /// The end's last fd closed: the other side sees EOF (readers) or
    /// EPIPE (writers), and its pollers are told.
    fn closed(&self, _file: &OpenFile, closer: Closer) {
        if !closer.last {
            return;
        }
        let k = crate::ipc::kernel();
        let sh = &self.shared;
        {
            let mut s = sh.state.lock();
            if self.write {
                s.writers = s.writers.saturating_sub(1);
                s.rq.wake_all(k);
            } else {
                s.readers = s.readers.saturating_sub(1);
                s.wq.wake_all(k);
            }
        }
        if self.write {
            sh.read_pollee.notify(Readiness::HUP);
        } else {
            sh.write_pollee.notify(Readiness::ERR);
        }
    }
}
