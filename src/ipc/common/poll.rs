//! The poll(2) loop every host shares.
//!
//! A host decodes its poll call into `PollEntry`s, gives an `Observer` that
//! wakes the polling task, and a way to park it; `poll` registers the
//! observer on every object, settles due timers, reports readiness and
//! sleeps until an object changes, the next timer expiry, or the poll's own
//! deadline, whichever comes first. The wait is driven by the objects'
//! observers, never by polling at an interval.

use alloc::sync::Arc;

use crate::errno::{err, Errno, EINTR};
use crate::ipc::common::open_file::FileRef;
use crate::ipc::common::pollee::{Observer, Readiness};
use crate::kernel::{ClockId, Kernel, ParkOutcome};

/// What one entry of a poll set refers to.
pub enum PollFile {
    /// Not polled (poll(2) skips a negative fd): never ready.
    Ignored,
    /// Not an open fd: always ready (poll(2) reports POLLNVAL for it).
    Invalid,
    /// An open description.
    Open(FileRef),
}

/// One entry of a poll set and its result.
pub struct PollEntry {
    /// What it polls.
    pub file: PollFile,
    /// The events asked for; ERR and HUP are reported even if not asked.
    pub wanted: Readiness,
    /// After `poll`: the events that are ready (empty for `Ignored` and
    /// `Invalid` entries).
    pub ready: Readiness,
}

impl PollEntry {
    /// An entry asking `file` for `wanted`.
    pub fn new(file: PollFile, wanted: Readiness) -> Self {
        PollEntry {
            file,
            wanted,
            ready: Readiness::empty(),
        }
    }

    fn open(&self) -> Option<&FileRef> {
        match &self.file {
            PollFile::Open(f) => Some(f),
            PollFile::Ignored | PollFile::Invalid => None,
        }
    }

    /// Settles `ready`; returns whether the entry counts as ready.
    fn check(&mut self, k: &dyn Kernel) -> bool {
        self.ready = match &self.file {
            PollFile::Open(f) => f.poll(k) & (self.wanted | Readiness::ERR | Readiness::HUP),
            PollFile::Ignored | PollFile::Invalid => Readiness::empty(),
        };
        matches!(self.file, PollFile::Invalid) || !self.ready.is_empty()
    }
}

/// Fires due timers, settles every entry's `ready`; returns how many are
/// ready and the monotonic time of the check.
fn check_all<K: Kernel>(k: &K, entries: &mut [PollEntry]) -> (usize, u64) {
    k.ipc().expire_timers(k);
    let mut ready = 0;
    for e in entries.iter_mut() {
        if e.check(k) {
            ready += 1;
        }
    }
    (ready, k.now(ClockId::Monotonic))
}

/// poll(2): fills in every entry's `ready` and returns how many entries
/// are ready (an `Invalid` one counts), waiting until one is or until
/// `deadline` (absolute CLOCK_MONOTONIC ns; None waits forever; a past one
/// does not wait). `waker` makes the observer registered on every object
/// while the call waits (only if it waits), which must make `park` return; `park(wake_at)` sleeps until then
/// (monotonic ns) or a wake-up. EINTR when `park` reports a signal.
pub fn poll<K: Kernel>(
    k: &K,
    entries: &mut [PollEntry],
    deadline: Option<u64>,
    waker: impl FnOnce() -> Arc<dyn Observer>,
    mut park: impl FnMut(Option<u64>) -> ParkOutcome,
) -> Result<usize, Errno> {
    // A poll that will not sleep (something ready, or a zero timeout)
    // registers nothing: registering and unregistering cost a lock and a
    // list walk per object, more than the readiness check itself.
    let (ready, now) = check_all(k, entries);
    if ready > 0 || deadline.is_some_and(|d| now >= d) {
        return Ok(ready);
    }
    let waker = waker();
    for p in entries.iter().filter_map(|e| e.open()?.pollee()) {
        p.register(&waker);
    }
    let result = loop {
        // Again after registering: a change between the first check and
        // the registration would otherwise be missed.
        let (ready, now) = check_all(k, entries);
        if ready > 0 || deadline.is_some_and(|d| now >= d) {
            break Ok(ready);
        }
        // The next timer expiry, moved onto the monotonic clock.
        let timer = k.ipc().next_timer_deadline().map(|t| {
            let left = t.at_ns.saturating_sub(k.now(t.clock));
            now.saturating_add(left)
        });
        let wake_at = match (deadline, timer) {
            (Some(d), Some(t)) => Some(d.min(t)),
            (d, t) => d.or(t),
        };
        if park(wake_at) == ParkOutcome::Interrupted {
            break err(EINTR);
        }
    };
    for p in entries.iter().filter_map(|e| e.open()?.pollee()) {
        p.unregister(&waker);
    }
    result
}
