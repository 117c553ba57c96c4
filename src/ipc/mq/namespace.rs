//! The POSIX message-queue namespace of one IPC namespace: a `NameTable`
//! under the kernel's mqueue name rules, and mq_open's checks around it.
//!
//! mq_open's errors come in Linux's order (measured on Linux 6.18): the
//! name's syntax (the caller parsed it), then for an existing name EEXIST
//! (O_CREAT|O_EXCL), EINVAL (O_ACCMODE 3), EACCES (mode vs credentials);
//! for a free one ENOENT (no O_CREAT), then ENOSPC (queues_max), the
//! attributes (EINVAL, EOVERFLOW), EMFILE (RLIMIT_MSGQUEUE for the whole
//! capacity), ENOMEM. The attributes of an existing queue are ignored.

use alloc::sync::Arc;
use core::ops::Deref;

use crate::errno::{err, Errno, EINVAL, EMFILE, EOVERFLOW};
use crate::ipc::common::limits::{Accounting, ObjectKind, Resource, UNLIMITED};
use crate::ipc::common::name::{IpcName, NameRules};
pub use crate::ipc::common::names::Opened;
use crate::ipc::common::names::{NameTable, OpenRequest};
use crate::ipc::common::open_file::AccessMode;
use crate::ipc::common::perm::{Access, ObjPerm};
use crate::ipc::mq::limits::queue_bytes;
use crate::ipc::mq::queue::MessageQueue;
use crate::kernel::Kernel;

/// What mq_open asks for, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MqOpen {
    /// The access of the new description (`NoAccess` for O_ACCMODE 3).
    pub access: AccessMode,
    /// O_CREAT.
    pub create: bool,
    /// O_EXCL (with O_CREAT).
    pub exclusive: bool,
    /// The mode of a new queue, before the umask.
    pub mode: u32,
    /// (mq_maxmsg, mq_msgsize) of a new queue; None for the defaults.
    pub attr: Option<(i64, i64)>,
}

/// The message queues of one namespace.
pub struct MqNamespace {
    names: NameTable<MessageQueue>,
    acct: Arc<Accounting>,
}

impl MqNamespace {
    /// An empty namespace charging to `acct`.
    pub fn new(acct: Arc<Accounting>) -> Self {
        MqNamespace {
            names: NameTable::new(NameRules::Mqueue),
            acct,
        }
    }

    /// mq_open of `name`: the queue and whether this call created it (the
    /// caller makes the description; see the module docs for the errors).
    pub fn open<K: Kernel + ?Sized>(
        &self,
        k: &K,
        name: &IpcName,
        req: MqOpen,
    ) -> Result<(Arc<MessageQueue>, Opened), Errno> {
        // Read before the table lock: no host lock is taken under it.
        let creds = k.credentials();
        let umask = k.umask();
        let limits = self.acct.limits().family.mq;
        let access = match req.access {
            AccessMode::ReadOnly => Access::READ,
            AccessMode::WriteOnly => Access::WRITE,
            AccessMode::ReadWrite => Access::READ_WRITE,
            AccessMode::NoAccess => Access(0),
        };
        let open = OpenRequest {
            create: req.create,
            exclusive: req.exclusive,
            access,
        };
        let privileged = creds.privileged();
        let (queue, opened) = self.names.open(&creds, name, open, || {
            let mut charge =
                self.acct
                    .charge_with(creds.euid, privileged, ObjectKind::MqQueue, &[])?;
            let (maxmsg, msgsize) = limits.check_attr(req.attr, privileged)?;
            let bytes = queue_bytes(maxmsg, msgsize).ok_or(Errno::new(EOVERFLOW))?;
            charge.grow(Resource::MqBytes, bytes, UNLIMITED, EMFILE)?;
            let perm = ObjPerm::new(&creds, req.mode & !umask);
            Ok(Arc::new(MessageQueue::new(perm, maxmsg, msgsize, charge)?))
        })?;
        if opened == Opened::Existing && req.access == AccessMode::NoAccess {
            return err(EINVAL);
        }
        Ok((queue, opened))
    }
}

/// The table's own calls (rules, undo_create, unlink, len, clear) are
/// the namespace's: mq_unlink needs the caller's ownership only.
impl Deref for MqNamespace {
    type Target = NameTable<MessageQueue>;
    fn deref(&self) -> &NameTable<MessageQueue> {
        &self.names
    }
}
