//! Several users in one differential run.
//!
//! Linux side: a step runs in a forked child that took the actor's real,
//! effective and saved ids, dropped its supplementary groups and set its
//! umask (the test process runs as root: it may change ids, and the
//! child's umask is its own, so nothing leaks into the parent or into
//! other tests). The child sends its outcome back through a pipe.
//!
//! Our side: one hosted process per actor with the same credentials; a
//! step runs as a task of that process, after setting its umask.
#![allow(dead_code)]

use std::sync::Arc;

use redbear_ipc::hosted::{ClockMode, HostedKernel, Process, Task};
use redbear_ipc::kernel::Credentials;

use super::Outcome;

/// The actors of a run, (uid, gid): root; uid 1000 and 1001 sharing
/// group 1000; uid 1002 in a group of its own.
pub const ACTORS: [(u32, u32); 4] = [(0, 0), (1000, 1000), (1001, 1000), (1002, 1002)];

/// Runs `f` on Linux as actor `(uid, gid)` with `umask`, in a forked
/// child; its outcome comes back through a pipe. Panics if the host
/// refuses the fork or the id change (the differential needs root).
pub fn linux_as(uid: u32, gid: u32, umask: u32, f: impl FnOnce() -> Outcome) -> Outcome {
    LinuxChild::spawn(uid, gid, umask, f).wait()
}

/// A forked child running one step as an actor.
pub struct LinuxChild {
    pub pid: i32,
    pipe: i32,
    ids: (u32, u32),
}

impl LinuxChild {
    /// Forks a child that takes the ids and umask, runs `f` and reports.
    pub fn spawn(uid: u32, gid: u32, umask: u32, f: impl FnOnce() -> Outcome) -> Self {
        let mut pipe = [0i32; 2];
        // SAFETY: pipe writes two fds into the array.
        assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0, "pipe");
        // SAFETY: the child only changes its own ids, runs `f` (libc calls
        // of the step) and leaves with _exit; glibc keeps malloc usable in
        // a child of a threaded process.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: credential calls on the single-threaded child.
            let changed = unsafe {
                libc::setgroups(0, std::ptr::null()) == 0
                    && libc::setresgid(gid, gid, gid) == 0
                    && libc::setresuid(uid, uid, uid) == 0
            };
            let (tag, word) = if !changed {
                (2i64, 0i64)
            } else {
                // SAFETY: umask has no preconditions.
                unsafe { libc::umask(umask as libc::mode_t) };
                // A panic must not unwind into the test harness's copy here.
                match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                    Ok(Ok(v)) => (0, v),
                    Ok(Err(e)) => (1, e.into()),
                    Err(_) => (3, 0),
                }
            };
            let mut msg = [0u8; 16];
            msg[..8].copy_from_slice(&tag.to_ne_bytes());
            msg[8..].copy_from_slice(&word.to_ne_bytes());
            // SAFETY: msg is 16 readable bytes; _exit ends the child at once.
            unsafe {
                libc::write(pipe[1], msg.as_ptr().cast(), msg.len());
                libc::_exit(0);
            }
        }
        // SAFETY: closes our copy of the write end.
        unsafe { libc::close(pipe[1]) };
        LinuxChild {
            pid,
            pipe: pipe[0],
            ids: (uid, gid),
        }
    }

    /// Whether the child has reported (or died).
    pub fn finished(&self) -> bool {
        let mut p = libc::pollfd {
            fd: self.pipe,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    /// The child's outcome, once it has reported.
    pub fn wait(self) -> Outcome {
        let mut msg = [0u8; 16];
        // SAFETY: reads into 16 bytes; waits for our own child.
        let n = unsafe {
            let n = libc::read(self.pipe, msg.as_mut_ptr().cast(), msg.len());
            libc::close(self.pipe);
            let mut status = 0;
            libc::waitpid(self.pid, &mut status, 0);
            n
        };
        assert_eq!(n, 16, "the child reported nothing");
        let word =
            |i: usize| i64::from_ne_bytes(msg[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let (uid, gid) = self.ids;
        match word(0) {
            0 => Ok(word(1)),
            1 => Err(word(1) as i32),
            2 => panic!("setresuid/setresgid to {uid}:{gid} failed: the differential needs root"),
            _ => panic!("the step panicked in the child running as {uid}:{gid}"),
        }
    }
}

/// Our side: one hosted process per actor of `ACTORS`.
pub struct Actors {
    pub k: Arc<HostedKernel>,
    procs: Vec<Arc<Process>>,
}

impl Actors {
    pub fn new(mode: ClockMode) -> Self {
        let k = HostedKernel::new(mode);
        let procs = ACTORS
            .iter()
            .map(|&(uid, gid)| k.spawn_process(Credentials::new(uid, gid)))
            .collect();
        Actors { k, procs }
    }

    /// Actor `who`'s process.
    pub fn process(&self, who: usize) -> &Arc<Process> {
        &self.procs[who]
    }

    /// Starts `f` as a task of actor `who`'s process with `umask`; returns
    /// the task (to watch) and its handle.
    pub fn spawn<R: Send + 'static>(
        &self,
        who: usize,
        umask: u32,
        f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
    ) -> (Arc<Task>, std::thread::JoinHandle<R>) {
        let p = &self.procs[who];
        p.set_umask(umask);
        let (tx, rx) = std::sync::mpsc::channel();
        let k = self.k.clone();
        let h = self.k.spawn_task(p, move || {
            let _ = tx.send(k.current());
            f(&k)
        });
        (rx.recv().expect("actor task"), h)
    }

    /// Runs `f` as a task of actor `who`'s process with `umask`.
    pub fn run<R: Send + 'static>(
        &self,
        who: usize,
        umask: u32,
        f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
    ) -> R {
        self.spawn(who, umask, f).1.join().expect("actor task")
    }
}
