//! The limits of POSIX message queues, in one place: Linux's
//! /proc/sys/fs/mqueue files and RLIMIT_MSGQUEUE, with their defaults.
//!
//! `check_attr` is Linux's `mq_attr_ok` order of checks, and `queue_bytes`
//! its accounting formula (with x86_64's structure sizes), so EINVAL,
//! EOVERFLOW and the per-user EMFILE fall exactly where Linux's do.

use crate::errno::{err, Errno, EINVAL, EOVERFLOW};

/// Largest priority plus one (MQ_PRIO_MAX).
pub const MQ_PRIO_MAX: u32 = 32768;
/// The most messages a privileged caller may ask for (HARD_MSGMAX).
pub const HARD_MSGMAX: usize = 65536;
/// The largest message a privileged caller may ask for (HARD_MSGSIZEMAX).
pub const HARD_MSGSIZEMAX: usize = 16 << 20;
/// What Linux accounts per possible message (`sizeof(struct msg_msg)`).
const MSG_HEADER_BYTES: usize = 48;
/// What Linux accounts per possible priority level in use
/// (`sizeof(struct posix_msg_tree_node)`).
const PRIO_NODE_BYTES: usize = 48;

/// The tunables of one IPC namespace's message queues.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MqLimits {
    /// msg_max: the most messages an unprivileged caller may ask for.
    pub msg_max: usize,
    /// msgsize_max: the largest message an unprivileged caller may ask for.
    pub msgsize_max: usize,
    /// msg_default: maxmsg when mq_open gets no attributes.
    pub msg_default: usize,
    /// msgsize_default: msgsize when mq_open gets no attributes.
    pub msgsize_default: usize,
    /// queues_max: queues in the namespace (unprivileged creators get
    /// ENOSPC beyond it).
    pub queues_max: usize,
    /// RLIMIT_MSGQUEUE: bytes of queue capacity one user may hold (EMFILE).
    pub user_bytes: usize,
}

impl Default for MqLimits {
    fn default() -> Self {
        MqLimits {
            msg_max: 10,
            msgsize_max: 8192,
            msg_default: 10,
            msgsize_default: 8192,
            queues_max: 256,
            user_bytes: 819_200,
        }
    }
}

/// One tunable, by name, as the /proc/sys/fs/mqueue files name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MqTunable {
    /// msg_max
    MsgMax,
    /// msgsize_max
    MsgsizeMax,
    /// msg_default
    MsgDefault,
    /// msgsize_default
    MsgsizeDefault,
    /// queues_max
    QueuesMax,
    /// RLIMIT_MSGQUEUE (per user)
    UserBytes,
}

impl MqLimits {
    /// Reads one tunable.
    pub fn get(&self, t: MqTunable) -> usize {
        match t {
            MqTunable::MsgMax => self.msg_max,
            MqTunable::MsgsizeMax => self.msgsize_max,
            MqTunable::MsgDefault => self.msg_default,
            MqTunable::MsgsizeDefault => self.msgsize_default,
            MqTunable::QueuesMax => self.queues_max,
            MqTunable::UserBytes => self.user_bytes,
        }
    }

    /// Sets one tunable, within the ranges Linux's sysctl accepts
    /// (msg_max 1..=HARD_MSGMAX, msgsize_max 128..=HARD_MSGSIZEMAX, the
    /// defaults within their maxima' ranges); EINVAL outside them. The
    /// caller checks privilege.
    pub fn set(&mut self, t: MqTunable, value: usize) -> Result<(), Errno> {
        let ok = match t {
            MqTunable::MsgMax | MqTunable::MsgDefault => (1..=HARD_MSGMAX).contains(&value),
            MqTunable::MsgsizeMax | MqTunable::MsgsizeDefault => {
                (128..=HARD_MSGSIZEMAX).contains(&value)
            }
            MqTunable::QueuesMax => true,
            MqTunable::UserBytes => true,
        };
        if !ok {
            return err(EINVAL);
        }
        match t {
            MqTunable::MsgMax => self.msg_max = value,
            MqTunable::MsgsizeMax => self.msgsize_max = value,
            MqTunable::MsgDefault => self.msg_default = value,
            MqTunable::MsgsizeDefault => self.msgsize_default = value,
            MqTunable::QueuesMax => self.queues_max = value,
            MqTunable::UserBytes => self.user_bytes = value,
        }
        Ok(())
    }

    /// The capacity of a new queue: the defaults without attributes, else
    /// `maxmsg`/`msgsize` checked as Linux's `mq_attr_ok`: EINVAL for
    /// values <= 0 or above the caller's ceiling (the tunables, or the hard
    /// limits when privileged), EOVERFLOW when the byte total overflows.
    pub fn check_attr(
        &self,
        attr: Option<(i64, i64)>,
        privileged: bool,
    ) -> Result<(usize, usize), Errno> {
        let Some((maxmsg, msgsize)) = attr else {
            return Ok((self.msg_default, self.msgsize_default));
        };
        if maxmsg <= 0 || msgsize <= 0 {
            return err(EINVAL);
        }
        let (maxmsg, msgsize) = (maxmsg as u64, msgsize as u64);
        let (max_n, max_size) = if privileged {
            (HARD_MSGMAX, HARD_MSGSIZEMAX)
        } else {
            (self.msg_max, self.msgsize_max)
        };
        if maxmsg > max_n as u64 || msgsize > max_size as u64 {
            return err(EINVAL);
        }
        // Both now fit comfortably in usize on a 64-bit kernel; on a
        // 32-bit one the product may not.
        let (maxmsg, msgsize) = (maxmsg as usize, msgsize as usize);
        if queue_bytes(maxmsg, msgsize).is_none() {
            return err(EOVERFLOW);
        }
        Ok((maxmsg, msgsize))
    }
}

/// The bytes a queue of `maxmsg` x `msgsize` is charged at creation:
/// its full message capacity plus the index (Linux's `mq_bytes`).
pub fn queue_bytes(maxmsg: usize, msgsize: usize) -> Option<usize> {
    let tree = maxmsg.checked_mul(MSG_HEADER_BYTES)?.checked_add(
        maxmsg
            .min(MQ_PRIO_MAX as usize)
            .checked_mul(PRIO_NODE_BYTES)?,
    )?;
    maxmsg.checked_mul(msgsize)?.checked_add(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_linux_ceilings() {
        let l = MqLimits::default();
        assert_eq!(l.check_attr(None, false), Ok((10, 8192)));
        assert_eq!(l.check_attr(Some((10, 8192)), false), Ok((10, 8192)));
        assert_eq!(l.check_attr(Some((11, 8192)), false), err(EINVAL));
        assert_eq!(l.check_attr(Some((10, 8193)), false), err(EINVAL));
        assert_eq!(l.check_attr(Some((0, 1)), true), err(EINVAL));
        assert_eq!(l.check_attr(Some((1, -1)), true), err(EINVAL));
        assert_eq!(l.check_attr(Some((11, 8193)), true), Ok((11, 8193)));
        assert_eq!(
            l.check_attr(Some((HARD_MSGMAX as i64, HARD_MSGSIZEMAX as i64)), true),
            Ok((HARD_MSGMAX, HARD_MSGSIZEMAX))
        );
        assert_eq!(
            l.check_attr(Some((HARD_MSGMAX as i64 + 1, 1)), true),
            err(EINVAL)
        );
    }

    /// Measured on Linux 6.18 in a fresh IPC namespace: nine default
    /// queues fit 819200 bytes and the tenth is EMFILE; after them, eight
    /// 1 x 8192 queues fit, and then 1 x 6880 fits where 1 x 6881 does not.
    #[test]
    fn default_queue_cost_lets_nine_queues_fit_the_user_budget() {
        let l = MqLimits::default();
        let one = queue_bytes(10, 8192).unwrap();
        assert_eq!(one, 10 * 8192 + 10 * 48 + 10 * 48);
        assert!(9 * one <= l.user_bytes && 10 * one > l.user_bytes);
        let left = l.user_bytes - 9 * one - 8 * queue_bytes(1, 8192).unwrap();
        assert_eq!(queue_bytes(1, 6880), Some(left));
    }

    #[test]
    fn tunables_read_and_set_within_range() {
        let mut l = MqLimits::default();
        assert_eq!(l.get(MqTunable::QueuesMax), 256);
        assert_eq!(l.set(MqTunable::MsgMax, 0), err(EINVAL));
        assert_eq!(l.set(MqTunable::MsgsizeMax, 127), err(EINVAL));
        l.set(MqTunable::MsgMax, 100).unwrap();
        assert_eq!(l.check_attr(Some((100, 8)), false), Ok((100, 8)));
        assert_eq!(
            l,
            MqLimits {
                msg_max: 100,
                ..MqLimits::default()
            }
        );
    }
}
