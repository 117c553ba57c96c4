//! timerfd: a timer on one clock whose expirations are read as a count.
//!
//! The count is computed from the clock when someone looks (read, poll,
//! gettime, or the host's timer tick through the timer queue), so late
//! reads still get every period that passed: `1 + (now - next) / interval`.
//! Blocking readers park with the next expiry as their deadline; the
//! namespace's `TimerQueue`, driven by the host's timer tick
//! (`Ipc::try_expire_timers`), wakes readers and observers at expiry. The
//! timer keeps its queue slot in step with its arming under its own lock,
//! so the queue holds one entry per armed timer and nothing else.

use alloc::sync::Arc;
use core::any::Any;

use crate::errno::{err, Errno, ECANCELED};
use crate::ipc::common::file::{check_u64_read, FdCore, FileKind, FileObject, IoResult};
use crate::ipc::common::limits::{ObjectKind, Resource};
use crate::ipc::common::open_file::{AccessMode, FileRef, OpenFile};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::ipc::common::time::Timespec;
use crate::ipc::common::wait::{wait, Blocking, Step};
use crate::ipc::common::waitq::WaitQueue;
use crate::ipc::fd::timers::{Busy, SlotId, TimerQueue};
use crate::kernel::{ClockId, Deadline, Kernel};
use crate::sync::Mutex;
use crate::syscall::uaccess::UserSlice;

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
    /// Counts the expirations up to `now`; returns whether the arming
    /// changed (its slot in the timer queue must follow).
    fn settle(&mut self, now: u64) -> bool {
        let interval = self.interval;
        let Some(arm) = self.arm.as_mut() else {
            return false;
        };
        if now < arm.next {
            return false;
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
        true
    }

    fn next(&self) -> Option<u64> {
        self.arm.map(|a| a.next)
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

/// A timerfd object.
pub struct TimerFd {
    clock: ClockId,
    state: Mutex<State>,
    core: FdCore,
    queue: Arc<TimerQueue>,
    /// Its slot in `queue`, reserved at create, freed at drop.
    slot: SlotId,
}

/// Kernel bytes of one timer: the object and its timer-queue slot.
const COST: usize = core::mem::size_of::<TimerFd>() + TimerQueue::SLOT_COST;

impl TimerFd {
    /// timerfd_create(clock): a disarmed timer charged to the caller with
    /// its timer-queue slot, and its first open description (read-write).
    pub fn create<K: Kernel + ?Sized>(
        k: &K,
        clock: ClockId,
        nonblocking: bool,
    ) -> Result<FileRef, Errno> {
        let ipc = k.ipc();
        let core = FdCore::with_amounts(
            k,
            ObjectKind::TimerFd,
            &[(Resource::KernelBytes, COST), (Resource::TimerSlots, 1)],
        )?;
        let queue = ipc.timers.clone();
        let timer = Arc::new_cyclic(|me| TimerFd {
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
            slot: queue.reserve(clock, me.clone()),
            queue,
        });
        ipc.timerfds.register(&timer);
        Ok(OpenFile::new(k, timer, AccessMode::ReadWrite, nonblocking))
    }

    /// The clock it runs on.
    pub fn clock(&self) -> ClockId {
        self.clock
    }

    /// Settles `st` at `now` and keeps the queue slot in step.
    fn settle(&self, st: &mut State, now: u64) {
        if st.settle(now) {
            self.queue.set(self.slot, st.next());
        }
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
        self.settle(&mut st, now);
        Self::current(&st, now)
    }

    /// Whether an expiration is waiting to be read (or a cancel to be
    /// reported), settled at now.
    fn expired_now<K: Kernel + ?Sized>(&self, k: &K) -> bool {
        let now = k.now(self.clock);
        let mut st = self.state.lock();
        self.settle(&mut st, now);
        st.ticks > 0 || st.canceled
    }

    /// timerfd_settime: arms (or with a zero value disarms) and returns
    /// the previous setting. Pending expirations are discarded. A setting
    /// that is already due (a past absolute time, 1 ns relative) expires
    /// at once: readers and observers are told.
    pub fn set<K: Kernel + ?Sized>(&self, k: &K, new: ItimerSpec, flags: SetFlags) -> ItimerSpec {
        let now = k.now(self.clock);
        let (old, due) = {
            let mut st = self.state.lock();
            st.settle(now);
            let old = Self::current(&st, now);
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
            st.settle(now);
            self.queue.set(self.slot, st.next());
            // A tick whose clock read was already past the new expiry may
            // have scanned the queue before the slot moved: settle again
            // at a clock read after the move, so that such a setting is
            // expired here and not left to the next tick.
            let later = k.now(self.clock);
            if later > now {
                self.settle(&mut st, later);
            }
            // Readers re-compute their deadline; they proceed if due.
            st.readers.wake(k, usize::MAX);
            (old, st.ticks > 0)
        };
        if due {
            self.core.pollee.notify(Readiness::IN);
        }
        old
    }

    /// The timer tick found this timer's slot due at `now`: settle it
    /// (which moves or removes the slot), wake readers and observers if it
    /// fired. With `try_only` the state lock is only tried (`Busy`).
    pub(crate) fn expire_due<K: Kernel + ?Sized>(
        &self,
        k: &K,
        now: u64,
        try_only: bool,
    ) -> Result<bool, Busy> {
        let fired = {
            let mut st = if try_only {
                self.state.try_lock().ok_or(Busy)?
            } else {
                self.state.lock()
            };
            let before = st.ticks;
            st.settle(now);
            // Past `now` or out: the tick never finds this slot due again.
            self.queue.set(self.slot, st.next());
            let fired = st.ticks != before;
            if fired {
                st.readers.wake(k, usize::MAX);
            }
            fired
        };
        if fired {
            self.core.pollee.notify(Readiness::IN);
        }
        Ok(fired)
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

    /// Gives back `ticks` that a read took but could not copy out, unless
    /// the timer was set since (settime discards pending expirations).
    fn untake<K: Kernel + ?Sized>(&self, k: &K, generation: u64, ticks: u64) {
        {
            let mut st = self.state.lock();
            if st.generation != generation {
                return;
            }
            st.ticks = st.ticks.saturating_add(ticks);
            st.readers.wake(k, usize::MAX);
        }
        self.core.pollee.notify(Readiness::IN);
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        self.queue.release(self.slot);
    }
}

impl FileObject for TimerFd {
    fn kind(&self) -> FileKind {
        FileKind::TimerFd
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        // EINVAL under 8 bytes; EFAULT before anything is taken if the
        // buffer is bad from the start.
        let out = check_u64_read(k, buf)?;
        // The next expiry is a re-check point, not a timeout.
        let (ticks, generation) = wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), None),
            |s| &mut s.readers,
            |st| {
                self.settle(st, k.now(self.clock));
                if st.canceled {
                    st.canceled = false;
                    st.ticks = 0;
                    return Step::Done(err(ECANCELED));
                }
                if st.ticks > 0 {
                    return Step::Done(Ok((core::mem::take(&mut st.ticks), st.generation)));
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
        // Copy, and give the count back if the copy faults: nothing is
        // lost, the next read returns it.
        if let Err(e) = out.write_from(k, &ticks.to_ne_bytes()) {
            self.untake(k, generation, ticks);
            return Err(e);
        }
        Ok(8)
    }

    fn poll(&self, k: &dyn Kernel) -> Readiness {
        if self.expired_now(k) {
            Readiness::IN
        } else {
            Readiness::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.core.pollee)
    }
}
