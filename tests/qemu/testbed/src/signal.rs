//! A process' signal state: the pending signals with what they carry, and
//! which signals are caught. (Masks are per thread: `sched`.) Standard signals (1..=33) coalesce: one pending instance
//! each, the latest sender's information. Realtime signals (34..=64) queue
//! in order with their own information, up to `RT_QUEUE_MAX` (then the
//! sender gets EAGAIN, as Linux's sigqueue does). Delivery and signalfd
//! take the lowest-numbered pending signal first.
//!
//! Dispositions (SIGACTION): a user handler (delivered on a signal frame,
//! `sigframe.rs`), SIG_IGN, or SIG_DFL. Under SIG_DFL a signal can also be
//! *caught* (SIGCATCH): then it interrupts blocking calls (EINTR) and is
//! consumed on the way back to user mode, as if an empty handler ran.
//! Otherwise the default action applies: SIGCHLD, SIGURG and SIGWINCH are
//! ignored (an unblocked one is discarded when sent and interrupts
//! nothing, as on Linux), every other signal ends the process.

use alloc::collections::VecDeque;

use redbear_ipc::kernel::SigInfo;
use testbed_abi::errno::{EAGAIN, EINVAL};
use testbed_abi::SigAction;

/// `SigAction::handler` values that are not addresses.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// First realtime signal.
pub const SIGRTMIN: usize = 34;
/// Most queued realtime signals per process.
pub const RT_QUEUE_MAX: usize = 128;

pub fn bit(sig: usize) -> u64 {
    1u64 << (sig - 1)
}

/// What delivering a signal does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Ignore,
    Catch,
    Terminate,
    /// Run the user handler of this sigaction.
    Handler(SigAction),
}

fn ignored_by_default(sig: usize) -> bool {
    matches!(sig, 17 | 23 | 28) // SIGCHLD, SIGURG, SIGWINCH
}

pub struct SigState {
    /// Caught signals (SIGCATCH).
    pub caught: u64,
    /// The sigaction of each signal (SIGACTION).
    pub actions: [SigAction; 64],
    /// Signals with at least one pending instance.
    pending: u64,
    /// The pending instance of each standard signal.
    standard: [SigInfo; SIGRTMIN - 1],
    /// Pending realtime instances, oldest first.
    realtime: VecDeque<SigInfo>,
}

impl Default for SigState {
    fn default() -> Self {
        SigState {
            caught: 0,
            actions: [SigAction::default(); 64],
            pending: 0,
            standard: [SigInfo::default(); SIGRTMIN - 1],
            realtime: VecDeque::new(),
        }
    }
}

impl SigState {
    /// A forked child's state: the dispositions, nothing pending.
    pub fn fork(&self) -> SigState {
        SigState {
            caught: self.caught,
            actions: self.actions,
            ..SigState::default()
        }
    }

    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// EXEC: every handled signal goes back to SIG_DFL (its flags, mask
    /// and restorer with it); SIG_IGN, SIG_DFL and what is pending stay,
    /// as Linux's flush_signal_handlers leaves them. SIGCATCH stays too.
    pub fn exec(&mut self) {
        for a in self.actions.iter_mut() {
            if a.handler != SIG_IGN {
                *a = SigAction::default();
            }
        }
    }

    pub fn action(&self, sig: usize) -> Action {
        let act = self.actions[sig - 1];
        if act.handler == SIG_IGN {
            Action::Ignore
        } else if act.handler != SIG_DFL {
            Action::Handler(act)
        } else if self.caught & bit(sig) != 0 {
            Action::Catch
        } else if ignored_by_default(sig) {
            Action::Ignore
        } else {
            Action::Terminate
        }
    }

    /// Whether a send of `sig` is discarded at once (ignored, and not
    /// blocked by `mask`: the process' first thread's, as Linux checks).
    pub fn discards(&self, sig: usize, mask: u64) -> bool {
        mask & bit(sig) == 0 && self.action(sig) == Action::Ignore
    }

    /// Pending signals, not blocked by `mask` (a thread's), that interrupt
    /// a blocking call.
    pub fn interrupting(&self, mask: u64) -> u64 {
        let mut set = self.pending & !mask;
        let mut s = set;
        while s != 0 {
            let sig = s.trailing_zeros() as usize + 1;
            s &= s - 1;
            if self.action(sig) == Action::Ignore {
                set &= !bit(sig);
            }
        }
        set
    }

    /// Drops every pending instance of `sig` (it became ignored).
    pub fn discard(&mut self, sig: usize) {
        while self.take(bit(sig)).is_some() {}
    }

    /// Makes `info.signo` pending.
    pub fn queue(&mut self, info: SigInfo) -> Result<(), isize> {
        let sig = info.signo as usize;
        if !(1..=64).contains(&sig) {
            return Err(EINVAL);
        }
        if sig < SIGRTMIN {
            self.standard[sig - 1] = info;
        } else {
            if self.realtime.len() >= RT_QUEUE_MAX {
                return Err(EAGAIN);
            }
            self.realtime.try_reserve(1).map_err(|_| EAGAIN)?;
            self.realtime.push_back(info);
        }
        self.pending |= bit(sig);
        Ok(())
    }

    /// Makes a taken signal pending again (`Kernel::restore_signal`): a
    /// standard one merges with an instance sent meanwhile (which wins,
    /// being newer), a realtime one goes ahead of the queue, even past
    /// `RT_QUEUE_MAX` (it held a place). The take left the queue's
    /// capacity, so this does not allocate.
    pub fn restore(&mut self, info: SigInfo) {
        let sig = info.signo as usize;
        if !(1..=64).contains(&sig) {
            return;
        }
        if sig < SIGRTMIN {
            if self.pending & bit(sig) == 0 {
                self.standard[sig - 1] = info;
            }
        } else if self.realtime.try_reserve(1).is_ok() {
            self.realtime.push_front(info);
        } else {
            return;
        }
        self.pending |= bit(sig);
    }

    /// Dequeues the lowest-numbered pending signal in `set`.
    pub fn take(&mut self, set: u64) -> Option<SigInfo> {
        let hit = self.pending & set;
        if hit == 0 {
            return None;
        }
        let sig = hit.trailing_zeros() as usize + 1;
        if sig < SIGRTMIN {
            self.pending &= !bit(sig);
            return Some(self.standard[sig - 1]);
        }
        let at = self.realtime.iter().position(|i| i.signo as usize == sig)?;
        let info = self.realtime.remove(at)?;
        if !self.realtime.iter().any(|i| i.signo as usize == sig) {
            self.pending &= !bit(sig);
        }
        Some(info)
    }
}
