//! timerfd: a timer on one clock whose expirations are read as a count.
//!
//! The count is computed from the clock when someone looks (read, poll,
//! gettime, or the timer queue at expiry), so late reads still get every
//! period that passed: `1 + (now - next) / interval`. Blocking readers park
//! with the next expiry as their deadline; the namespace's `TimerQueue`
//! wakes readers and observers at expiry for hosts that poll.

use alloc::sync::{Arc, Weak};
use core::any::Any;

use crate::errno::{err, Errno, ECANCELED};
use crate::ipc::common::file::{check_u64_read, FdCore, FileKind, FileObject, IoResult};
use crate::ipc::common::limits::ObjectKind;
use crate::ipc::common::open_file::{AccessMode, FileRef, OpenFile};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::ipc::common::time::Timespec;
use crate::ipc::common::wait::{wait, Blocking, Step};
use crate::ipc::common::waitq::WaitQueue;
use crate::ipc::fd::timers::TimerQueue;
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::sync::Mutex;

/// A timer setting: first expiry and period (zero: one-shot).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ItimerSpec {
    /// Period after the first expiry; zero for a one-shot timer.
    pub interval: Timespec,
    /// Time to (or, absolute, point of) the first expiry; zero disarms.
    pub value: Timespec,
}

impl ItimerSpec {
    /// The zero setting (disarmed).
    pub const ZERO: ItimerSpec = ItimerSpec {
        interval: Timespec { sec: 0, nsec: 0 },
        value: Timespec { sec: 0, nsec: 0 },
    };
}

#[derive(Clone, Copy)]
struct Arm {
    next: u64,
    cancel_on_set: bool,
}

struct State {
    arm: Option<Arm>,
    /// The period last set; kept (and reported by gettime) even while
    /// disarmed, as Linux does.
    interval: u64,
    generation: u64,
    ticks: u64,
    canceled: bool,
    readers: WaitQueue,
}

impl State {
    /// Counts the expirations up to `now`.
    fn settle(&mut self, now: u64) {
        let interval = self.interval;
        let Some(arm) = self.arm.as_mut() else { return };
        if now < arm.next {
            return;
        }
        match (now - arm.next).checked_div(interval) {
            None => {
                // One-shot: fires once and disarms.
                self.ticks = self.ticks.saturating_add(1);
                self.arm = None;
            }
            Some(late) => {
                let periods = late + 1;
                self.ticks = self.ticks.saturating_add(periods);
                arm.next = arm.next.saturating_add(periods.saturating_mul(interval));
            }
        }
    }
}

/// How `settime` interprets its value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetFlags {
    /// TFD_TIMER_ABSTIME: the value is a point on the clock.
    pub absolute: bool,
    /// TFD_TIMER_CANCEL_ON_SET: with an absolute realtime timer, a setting
    /// of the realtime clock makes the next read fail ECANCELED.
    pub cancel_on_set: bool,
}

/// What an expiring queue entry meant to its timer.
pub(crate) enum Expiry {
    /// Re-armed, disarmed or closed since it was queued.
    Stale,
    /// A one-shot timer fired.
    Done,
    /// A periodic timer fired; its next expiry.
    Again(u64),
}

/// A timerfd object.
pub struct TimerFd {
    id: u64,
    clock: ClockId,
    state: Mutex<State>,
    core: FdCore,
    queue: Arc<TimerQueue>,
    me: Weak<TimerFd>,
}

const COST: usize = core::mem::size_of::<TimerFd>();

impl TimerFd {
    /// timerfd_create(clock): a disarmed timer charged to the caller, and
    /// its first open description (read-write).
    pub fn create<K: Kernel + ?Sized>(
        k: &K,
        clock: ClockId,
        nonblocking: bool,
    ) -> Result<FileRef, Errno> {
        let ipc = k.ipc();
        let core = FdCore::new(k, ObjectKind::TimerFd, COST)?;
        let timer = Arc::new_cyclic(|me| TimerFd {
            id: ipc.next_object_id(),
            clock,
            state: Mutex::new(State {
                arm: None,
                interval: 0,
                generation: 0,
                ticks: 0,
                canceled: false,
                readers: WaitQueue::new(),
            }),
            core,
            queue: ipc.timers.clone(),
            me: me.clone(),
        });
        ipc.timerfds.register(&timer);
        Ok(OpenFile::new(k, timer, AccessMode::ReadWrite, nonblocking))
    }

    /// The clock it runs on.
    pub fn clock(&self) -> ClockId {
        self.clock
    }

    fn current(st: &State, now: u64) -> ItimerSpec {
        ItimerSpec {
            interval: Timespec::from_ns(st.interval),
            value: Timespec::from_ns(st.arm.map_or(0, |a| a.next.saturating_sub(now))),
        }
    }

    /// timerfd_gettime: time to the next expiry and the period.
    pub fn get<K: Kernel + ?Sized>(&self, k: &K) -> ItimerSpec {
        let now = k.now(self.clock);
        let mut st = self.state.lock();
        st.settle(now);
        Self::current(&st, now)
    }

    /// timerfd_settime: arms (or with a zero value disarms) and returns
    /// the previous setting. Pending expirations are discarded.
    pub fn set<K: Kernel + ?Sized>(&self, k: &K, new: ItimerSpec, flags: SetFlags) -> ItimerSpec {
        let now = k.now(self.clock);
        let (old, had_entry, armed) = {
            let mut st = self.state.lock();
            st.settle(now);
            let old = Self::current(&st, now);
            let had_entry = st.arm.is_some();
            st.generation += 1;
            st.ticks = 0;
            st.canceled = false;
            st.interval = new.interval.as_ns();
            st.arm = (new.value != Timespec::from_ns(0)).then(|| Arm {
                next: if flags.absolute {
                    new.value.as_ns()
                } else {
                    now.saturating_add(new.value.as_ns())
                },
                cancel_on_set: flags.cancel_on_set
                    && flags.absolute
                    && self.clock == ClockId::Realtime,
            });
            (old, had_entry, st.arm.map(|a| (a.next, st.generation)))
        };
        if had_entry {
            self.queue.note_stale();
        }
        if let Some((at, generation)) = armed {
            self.queue
                .arm(self.clock, at, self.id, generation, self.me.clone());
        }
        // A past absolute time has already expired: readers may proceed.
        self.wake(k);
        old
    }

    /// Whether `generation` is the timer's live arming (timer queue).
    pub(crate) fn is_current(&self, generation: u64) -> bool {
        let st = self.state.lock();
        st.generation == generation && st.arm.is_some()
    }

    /// The timer queue's entry of `generation` came due at `now`.
    pub(crate) fn expired<K: Kernel + ?Sized>(&self, k: &K, generation: u64, now: u64) -> Expiry {
        let outcome = {
            let mut st = self.state.lock();
            if st.generation != generation || st.arm.is_none() {
                return Expiry::Stale;
            }
            st.settle(now);
            st.readers.wake(k, usize::MAX);
            match st.arm {
                Some(a) => Expiry::Again(a.next),
                None => Expiry::Done,
            }
        };
        self.core.pollee.notify(Readiness::IN);
        outcome
    }

    /// The realtime clock was set: cancel-on-set timers report ECANCELED.
    pub(crate) fn clock_was_set<K: Kernel + ?Sized>(&self, k: &K) {
        let mut st = self.state.lock();
        if st.arm.is_some_and(|a| a.cancel_on_set) {
            st.canceled = true;
            st.readers.wake(k, usize::MAX);
            drop(st);
            self.core.pollee.notify(Readiness::IN);
        }
    }

    fn wake<K: Kernel + ?Sized>(&self, k: &K) {
        self.state.lock().readers.wake(k, usize::MAX);
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        if self.state.lock().arm.is_some() {
            self.queue.note_stale();
        }
    }
}

impl FileObject for TimerFd {
    fn kind(&self) -> FileKind {
        FileKind::TimerFd
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: usize, len: usize) -> IoResult {
        check_u64_read(k, buf, len)?;
        // The next expiry is a re-check point, not a timeout.
        let ticks = wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), None),
            |s| &mut s.readers,
            |st| {
                st.settle(k.now(self.clock));
                if st.canceled {
                    st.canceled = false;
                    st.ticks = 0;
                    return Step::Done(err(ECANCELED));
                }
                if st.ticks > 0 {
                    return Step::Done(Ok(core::mem::take(&mut st.ticks)));
                }
                match st.arm {
                    Some(a) => Step::BlockUntil(
                        (),
                        Deadline {
                            clock: self.clock,
                            at_ns: a.next,
                        },
                    ),
                    None => Step::Block(()),
                }
            },
        )?;
        k.write_user(buf, &ticks.to_ne_bytes())?;
        Ok(8)
    }

    fn poll(&self, k: &dyn Kernel) -> Readiness {
        let mut st = self.state.lock();
        st.settle(k.now(self.clock));
        if st.ticks > 0 || st.canceled {
            Readiness::IN
        } else {
            Readiness::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.core.pollee)
    }
}
