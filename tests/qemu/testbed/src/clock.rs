//! The testbed clock. Virtual mode (default): time advances by one tick
//! period per timer tick, and when no task can run it jumps straight to the
//! next deadline, so sleeps and timeouts cost no real time and runs are
//! deterministic. Real mode (`TESTBED_CLOCK=real` at build time): the
//! arch's monotonic counter.
//!
//! CLOCK_MONOTONIC = CLOCK_BOOTTIME = ns since boot; CLOCK_REALTIME is that
//! plus an offset that starts at 2026-01-01 and CLOCK_SETTIME changes.

use core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Whether this build runs on virtual time.
pub const VIRTUAL: bool = match option_env!("TESTBED_CLOCK") {
    Some(v) => !matches!(v.as_bytes(), b"real"),
    None => true,
};

/// CLOCK_REALTIME at boot: 2026-01-01T00:00:00Z.
pub const REALTIME_AT_BOOT_NS: u64 = 1_767_225_600 * 1_000_000_000;

/// CLOCK_REALTIME - CLOCK_MONOTONIC; changed by `set_realtime`.
static RT_OFFSET: AtomicI64 = AtomicI64::new(REALTIME_AT_BOOT_NS as i64);

pub const TICK_NS: u64 = 1_000_000_000 / crate::TICK_HZ as u64;

static VIRT_NS: AtomicU64 = AtomicU64::new(0);
/// Hardware time of the last tick that advanced virtual time.
static LAST_TICK_HW: AtomicU64 = AtomicU64::new(0);

pub fn mode_name() -> &'static str {
    if VIRTUAL {
        "virtual"
    } else {
        "real"
    }
}

/// Monotonic nanoseconds since boot.
pub fn now() -> u64 {
    if VIRTUAL {
        VIRT_NS.load(Ordering::Relaxed)
    } else {
        crate::arch::monotonic_ns()
    }
}

pub fn realtime_now() -> u64 {
    (now() as i64)
        .saturating_add(RT_OFFSET.load(Ordering::Relaxed))
        .max(0) as u64
}

/// clock_settime(CLOCK_REALTIME): realtime deadlines move with it.
pub fn set_realtime(ns: u64) {
    RT_OFFSET.store((ns as i64).saturating_sub(now() as i64), Ordering::Relaxed);
}

/// An absolute deadline on CLOCK_MONOTONIC or CLOCK_REALTIME.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    pub realtime: bool,
    pub at_ns: u64,
}

impl Deadline {
    pub fn mono(at_ns: u64) -> Deadline {
        Deadline {
            realtime: false,
            at_ns,
        }
    }

    pub fn expired(&self) -> bool {
        if self.realtime {
            realtime_now() >= self.at_ns
        } else {
            now() >= self.at_ns
        }
    }

    /// The monotonic time the deadline corresponds to now (it moves when
    /// the realtime clock is set).
    pub fn as_mono(&self) -> u64 {
        if self.realtime {
            (self.at_ns as i64)
                .saturating_sub(RT_OFFSET.load(Ordering::Relaxed))
                .max(0) as u64
        } else {
            self.at_ns
        }
    }
}

/// One timer tick passed. Under TCG a loaded host can deliver ticks in a
/// burst; a tick less than half a period after the last counted one is
/// dropped, so virtual time never runs faster than the program does.
pub fn tick() {
    if VIRTUAL {
        let hw = crate::arch::monotonic_ns();
        let last = LAST_TICK_HW.load(Ordering::Relaxed);
        if hw.saturating_sub(last) >= TICK_NS / 2 {
            LAST_TICK_HW.store(hw, Ordering::Relaxed);
            VIRT_NS.fetch_add(TICK_NS, Ordering::Relaxed);
        }
    }
}

/// Nothing can run before `deadline`: in virtual mode time jumps there and
/// true is returned; in real mode false (the caller waits for interrupts).
pub fn idle_until(deadline: u64) -> bool {
    if VIRTUAL {
        VIRT_NS.fetch_max(deadline, Ordering::Relaxed);
        true
    } else {
        false
    }
}
