//! Worker threads that outlive one fuzz input. A spawned call used to get
//! a new OS thread, and creating one (a few hundred microseconds on the
//! shared VM) was most of an execution's time; a worker waits for its
//! next call instead, and is handed one in a few microseconds.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::Mutex;

type Job = Box<dyn FnOnce() + Send>;

/// Idle workers, each the sending end of its own job channel.
static IDLE: Mutex<Vec<Sender<Job>>> = Mutex::new(Vec::new());

/// A call running on a worker: finished once the job returned (or
/// panicked); the panic is kept for `join`.
pub struct Running {
    done: Receiver<std::thread::Result<()>>,
    outcome: Option<std::thread::Result<()>>,
}

impl Running {
    /// Whether the job has returned.
    pub fn is_finished(&mut self) -> bool {
        if self.outcome.is_none() {
            match self.done.try_recv() {
                Ok(r) => self.outcome = Some(r),
                // The worker died without reporting: only if the job's
                // unwinding escaped, which `catch_unwind` prevents.
                Err(TryRecvError::Disconnected) => self.outcome = Some(Ok(())),
                Err(TryRecvError::Empty) => {}
            }
        }
        self.outcome.is_some()
    }

    /// The job's outcome, once finished (taken: a second call is `None`).
    pub fn take(&mut self) -> Option<std::thread::Result<()>> {
        self.outcome.take()
    }

    /// Waits up to `limit` for the job to return; whether it has.
    pub fn wait(&mut self, limit: std::time::Duration) -> bool {
        if self.outcome.is_none() {
            match self.done.recv_timeout(limit) {
                Ok(r) => self.outcome = Some(r),
                Err(RecvTimeoutError::Disconnected) => self.outcome = Some(Ok(())),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        self.outcome.is_some()
    }

    /// Waits for the job; its panic, if it panicked.
    pub fn join(mut self) -> std::thread::Result<()> {
        match self.outcome.take() {
            Some(r) => r,
            None => self.done.recv().unwrap_or(Ok(())),
        }
    }
}

fn idle() -> std::sync::MutexGuard<'static, Vec<Sender<Job>>> {
    IDLE.lock().unwrap_or_else(|p| p.into_inner())
}

/// A new worker thread: runs jobs until its channel closes.
fn start() -> Sender<Job> {
    let (tx, rx) = channel::<Job>();
    std::thread::spawn(move || {
        while let Ok(job) = rx.recv() {
            job();
        }
    });
    tx
}

/// Runs `f` on an idle worker (a new one if none is idle). The worker is
/// idle again once `f` has returned, before `Running` says finished, so a
/// harness that waits for one call to finish can hand the next to it.
pub fn run(f: impl FnOnce() + Send + 'static) -> Running {
    let worker = idle().pop().unwrap_or_else(start);
    let (tx, done) = channel();
    let me = worker.clone();
    let job: Job = Box::new(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        idle().push(me);
        let _ = tx.send(r);
    });
    if let Err(back) = worker.send(job) {
        // A worker whose thread is gone: run the job on a fresh one.
        let _ = start().send(back.0);
    }
    Running {
        done,
        outcome: None,
    }
}
