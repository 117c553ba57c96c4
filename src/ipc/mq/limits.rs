//! The limits of POSIX message queues: Linux's /proc/sys/fs/mqueue files
//! and RLIMIT_MSGQUEUE. They live with every other limit in
//! `common::limits` (`FamilyLimits::mq` holds the message ceilings and
//! defaults; queues_max and RLIMIT_MSGQUEUE are accounting limits there);
//! this module names the five files (`MqTunable`), reads them for anyone
//! and writes them for a privileged caller (`read_tunable`,
//! `write_tunable`: a host exposes them as it exposes tunables, e.g. a
//! sysctl file or a scheme), and checks a new queue's attributes.
//!
//! `check_attr` is Linux's `mq_attr_ok` order of checks, and `queue_bytes`
//! its accounting formula (with x86_64's structure sizes), so EINVAL,
//! EOVERFLOW and the per-user EMFILE fall exactly where Linux's do.

use crate::errno::{err, Errno, EINVAL, EOVERFLOW};
use crate::ipc::common::limits::{Accounting, Limits, ObjectKind};
use crate::kernel::Credentials;

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

/// The message ceilings and defaults of one IPC namespace's queues
/// (part of `common::limits::FamilyLimits`, the one place limits live).
/// queues_max and RLIMIT_MSGQUEUE are accounting limits there
/// (`ObjectKind::MqQueue`, `Resource::MqBytes`).
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
}

impl Default for MqLimits {
    fn default() -> Self {
        MqLimits {
            msg_max: 10,
            msgsize_max: 8192,
            msg_default: 10,
            msgsize_default: 8192,
        }
    }
}

/// Smallest msgsize_max / msgsize_default Linux's sysctl accepts.
const MIN_MSGSIZE: usize = 128;

/// One /proc/sys/fs/mqueue file, by name.
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
    /// queues_max (the namespace's `ObjectKind::MqQueue` total)
    QueuesMax,
}

impl MqTunable {
    /// Every file, in the order Linux lists them.
    pub const ALL: [MqTunable; 5] = [
        MqTunable::MsgDefault,
        MqTunable::MsgMax,
        MqTunable::MsgsizeDefault,
        MqTunable::MsgsizeMax,
        MqTunable::QueuesMax,
    ];

    /// The file's name under /proc/sys/fs/mqueue.
    pub const fn name(self) -> &'static str {
        match self {
            MqTunable::MsgMax => "msg_max",
            MqTunable::MsgsizeMax => "msgsize_max",
            MqTunable::MsgDefault => "msg_default",
            MqTunable::MsgsizeDefault => "msgsize_default",
            MqTunable::QueuesMax => "queues_max",
        }
    }

    /// The tunable a file name names.
    pub fn from_name(name: &str) -> Option<MqTunable> {
        MqTunable::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Where it lives in `limits`.
    fn slot(self, limits: &mut Limits) -> &mut usize {
        let mq = &mut limits.family.mq;
        match self {
            MqTunable::MsgMax => &mut mq.msg_max,
            MqTunable::MsgsizeMax => &mut mq.msgsize_max,
            MqTunable::MsgDefault => &mut mq.msg_default,
            MqTunable::MsgsizeDefault => &mut mq.msgsize_default,
            MqTunable::QueuesMax => &mut limits.total_objects[ObjectKind::MqQueue as usize],
        }
    }

    /// Reads it from `limits`.
    pub fn get(self, limits: &Limits) -> usize {
        let mut copy = *limits;
        *self.slot(&mut copy)
    }

    /// Writes it into `limits`: EINVAL outside the range Linux's sysctl
    /// accepts (msg_max and msg_default 1..=HARD_MSGMAX, msgsize_max and
    /// msgsize_default 128..=HARD_MSGSIZEMAX, queues_max 0..=INT_MAX);
    /// a refusal changes nothing.
    pub fn set(self, limits: &mut Limits, value: usize) -> Result<(), Errno> {
        let mut next = *limits;
        *self.slot(&mut next) = value;
        if value > i32::MAX as usize || !next.family.mq.valid() {
            return err(EINVAL);
        }
        *limits = next;
        Ok(())
    }
}

/// Reads /proc/sys/fs/mqueue/`t` of `acct`'s namespace (anyone may).
pub fn read_tunable(acct: &Accounting, t: MqTunable) -> usize {
    t.get(&acct.limits())
}

/// Writes /proc/sys/fs/mqueue/`t`: EPERM unless `creds` are privileged,
/// EINVAL out of range; queues that exist keep their attributes.
pub fn write_tunable(
    acct: &Accounting,
    creds: &Credentials,
    t: MqTunable,
    value: usize,
) -> Result<(), Errno> {
    acct.update_limits(creds, |l| t.set(l, value))
}

impl MqLimits {
    /// Whether every value is in the range Linux's sysctl accepts.
    pub fn valid(&self) -> bool {
        let count = |v: usize| (1..=HARD_MSGMAX).contains(&v);
        let size = |v: usize| (MIN_MSGSIZE..=HARD_MSGSIZEMAX).contains(&v);
        count(self.msg_max)
            && count(self.msg_default)
            && size(self.msgsize_max)
            && size(self.msgsize_default)
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
    use crate::errno::EPERM;
    use crate::ipc::common::limits::Resource;

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
        let user_bytes = Limits::default().per_user_amounts[Resource::MqBytes as usize];
        let one = queue_bytes(10, 8192).unwrap();
        assert_eq!(one, 10 * 8192 + 10 * 48 + 10 * 48);
        assert!(9 * one <= user_bytes && 10 * one > user_bytes);
        let left = user_bytes - 9 * one - 8 * queue_bytes(1, 8192).unwrap();
        assert_eq!(queue_bytes(1, 6880), Some(left));
    }

    #[test]
    fn tunables_read_and_set_within_range() {
        let acct = Accounting::new(Limits::default());
        let root = Credentials::new(0, 0);
        let user = Credentials::new(1000, 1000);
        for (t, v) in MqTunable::ALL.into_iter().zip([10, 10, 8192, 8192, 256]) {
            assert_eq!(read_tunable(&acct, t), v, "{}", t.name());
            assert_eq!(MqTunable::from_name(t.name()), Some(t));
        }
        assert_eq!(MqTunable::from_name("nope"), None);
        let bad = [
            (MqTunable::MsgMax, 0),
            (MqTunable::MsgMax, HARD_MSGMAX + 1),
            (MqTunable::MsgDefault, 0),
            (MqTunable::MsgsizeMax, 127),
            (MqTunable::MsgsizeDefault, HARD_MSGSIZEMAX + 1),
            (MqTunable::QueuesMax, i32::MAX as usize + 1),
        ];
        for (t, v) in bad {
            assert_eq!(
                write_tunable(&acct, &root, t, v),
                err(EINVAL),
                "{}",
                t.name()
            );
        }
        assert_eq!(acct.limits(), Limits::default(), "refusals change nothing");
        assert_eq!(
            write_tunable(&acct, &user, MqTunable::MsgMax, 100),
            err(EPERM)
        );
        write_tunable(&acct, &root, MqTunable::MsgMax, 100).unwrap();
        write_tunable(&acct, &root, MqTunable::QueuesMax, 3).unwrap();
        let l = acct.limits();
        assert_eq!(l.family.mq.check_attr(Some((100, 8)), false), Ok((100, 8)));
        assert_eq!(l.total_objects[ObjectKind::MqQueue as usize], 3);
        assert_eq!(
            l.family.mq,
            MqLimits {
                msg_max: 100,
                ..MqLimits::default()
            }
        );
    }
}
