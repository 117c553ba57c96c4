//! A process' signal state: the mask, and the pending signals with what
//! they carry. Standard signals (1..=33) coalesce: one pending instance
//! each, the latest sender's information. Realtime signals (34..=64) queue
//! in order with their own information, up to `RT_QUEUE_MAX` (then the
//! sender gets EAGAIN, as Linux's sigqueue does). Delivery and signalfd
//! take the lowest-numbered pending signal first.

use alloc::collections::VecDeque;

use redbear_ipc::kernel::SigInfo;
use testbed_abi::errno::{EAGAIN, EINVAL};

/// First realtime signal.
pub const SIGRTMIN: usize = 34;
/// Most queued realtime signals per process.
pub const RT_QUEUE_MAX: usize = 128;

pub fn bit(sig: usize) -> u64 {
    1u64 << (sig - 1)
}

pub struct SigState {
    /// Blocked signals.
    pub mask: u64,
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
            mask: 0,
            pending: 0,
            standard: [SigInfo::default(); SIGRTMIN - 1],
            realtime: VecDeque::new(),
        }
    }
}

impl SigState {
    pub fn pending(&self) -> u64 {
        self.pending
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
