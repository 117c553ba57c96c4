//! Timeouts: validating a user timespec and turning it into a deadline.

use crate::errno::{err, Errno, EINVAL};
use crate::kernel::{ClockId, Deadline, Kernel};

/// Nanoseconds per second.
pub const NSEC_PER_SEC: u64 = 1_000_000_000;

/// A validated duration or point in time (seconds and nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    /// Whole seconds, never negative once validated.
    pub sec: i64,
    /// Nanoseconds in [0, 1e9).
    pub nsec: i64,
}

impl Timespec {
    /// Checks the ranges POSIX requires: EINVAL for nanoseconds outside
    /// [0, 1e9) or negative seconds.
    pub fn validate(sec: i64, nsec: i64) -> Result<Self, Errno> {
        if !(0..NSEC_PER_SEC as i64).contains(&nsec) || sec < 0 {
            return err(EINVAL);
        }
        Ok(Timespec { sec, nsec })
    }

    /// Total nanoseconds, saturating.
    pub fn as_ns(self) -> u64 {
        (self.sec as u64)
            .saturating_mul(NSEC_PER_SEC)
            .saturating_add(self.nsec as u64)
    }

    /// The timespec of `ns` nanoseconds.
    pub fn from_ns(ns: u64) -> Self {
        Timespec {
            sec: (ns / NSEC_PER_SEC) as i64,
            nsec: (ns % NSEC_PER_SEC) as i64,
        }
    }
}

/// A deadline on `clock` for a timeout given as absolute or relative.
pub fn deadline<K: Kernel + ?Sized>(
    k: &K,
    clock: ClockId,
    ts: Timespec,
    absolute: bool,
) -> Deadline {
    let at_ns = if absolute {
        ts.as_ns()
    } else {
        k.now(clock).saturating_add(ts.as_ns())
    };
    Deadline { clock, at_ns }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_out_of_range_nanoseconds_and_negative_seconds() {
        assert!(Timespec::validate(0, 0).is_ok());
        assert!(Timespec::validate(5, 999_999_999).is_ok());
        assert_eq!(Timespec::validate(0, 1_000_000_000), err(EINVAL));
        assert_eq!(Timespec::validate(0, -1), err(EINVAL));
        assert_eq!(Timespec::validate(-1, 0), err(EINVAL));
    }

    #[test]
    fn as_ns_saturates() {
        assert_eq!(
            Timespec {
                sec: i64::MAX,
                nsec: 5
            }
            .as_ns(),
            u64::MAX
        );
        assert_eq!(
            Timespec::from_ns(1_500_000_000),
            Timespec {
                sec: 1,
                nsec: 500_000_000
            }
        );
    }
}
