//! Clocks of the hosted kernel: real (host time) or virtual (moved only by
//! the test, so timeout tests are deterministic).

use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::kernel::ClockId;

/// How the hosted kernel keeps time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockMode {
    /// Host time: monotonic from a start instant, realtime from the system.
    Real,
    /// Time stands still until `advance` or `set_realtime`.
    Virtual,
}

struct State {
    /// Virtual monotonic (= boottime) nanoseconds.
    mono_ns: u64,
    /// Offset of realtime over monotonic, in ns (settable).
    realtime_offset: i128,
}

/// The clock source.
pub struct Clock {
    mode: ClockMode,
    start: Instant,
    state: Mutex<State>,
}

impl Clock {
    /// A clock in `mode`; virtual clocks start at 1 s monotonic and at the
    /// host's realtime.
    pub fn new(mode: ClockMode) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let mono_ns = 1_000_000_000;
        Clock {
            mode,
            start: Instant::now(),
            state: Mutex::new(State {
                mono_ns,
                realtime_offset: wall - mono_ns as i128,
            }),
        }
    }

    /// The mode.
    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    fn mono(&self, st: &State) -> u64 {
        match self.mode {
            ClockMode::Real => st
                .mono_ns
                .saturating_add(self.start.elapsed().as_nanos() as u64),
            ClockMode::Virtual => st.mono_ns,
        }
    }

    /// Now on `clock`, ns since its epoch.
    pub fn now(&self, clock: ClockId) -> u64 {
        let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mono = self.mono(&st);
        match clock {
            ClockId::Monotonic | ClockId::Boottime => mono,
            ClockId::Realtime => {
                (mono as i128 + st.realtime_offset).clamp(0, u64::MAX as i128) as u64
            }
        }
    }

    /// Moves virtual time forward (no effect on a real clock).
    pub fn advance(&self, ns: u64) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if self.mode == ClockMode::Virtual {
            st.mono_ns = st.mono_ns.saturating_add(ns);
        }
    }

    /// Sets CLOCK_REALTIME (clock_settime).
    pub fn set_realtime(&self, ns: u64) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mono = self.mono(&st);
        st.realtime_offset = ns as i128 - mono as i128;
    }
}
