//! Named POSIX semaphores: kernel objects in a namespace.
//!
//! `sem_open` finds or creates the object and hands the caller an fd whose
//! open description (`OpenFile`) refers to it; every operation is then a
//! syscall on the object (a shared-page fast path is not built yet).
//! `sem_unlink` removes the name only: the object lives while any handle
//! does, and its charge is refunded when the last one goes.

use alloc::sync::Arc;
use core::any::Any;
use core::ops::Deref;

use crate::errno::{err, Errno, EINVAL, EOVERFLOW};
use crate::ipc::common::file::{FileKind, FileObject};
use crate::ipc::common::limits::{Accounting, Charge, ObjectKind};
use crate::ipc::common::name::{IpcName, NameRules};
pub use crate::ipc::common::names::Opened;
use crate::ipc::common::names::{NameTable, Named, OpenRequest};
use crate::ipc::common::perm::{Access, ObjPerm};
use crate::ipc::common::wait::{wait, Blocking, Handoff, Step};
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::ipc::sem::{SemWait, SEM_VALUE_MAX};
use crate::kernel::Kernel;
use crate::sync::Mutex;

/// How `sem_open` treats a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFlags {
    /// O_CREAT: create the semaphore if the name is free.
    pub create: bool,
    /// O_EXCL (with create): EEXIST if the name is taken.
    pub exclusive: bool,
}

/// A waiter's node: no request data; a post completes it with `Ok(())`.
type SemWaiter = Handoff<(), ()>;

struct SemState {
    value: u32,
    waiters: WaitQueue<SemWaiter>,
}

/// A named semaphore.
pub struct NamedSem {
    perm: ObjPerm,
    state: Mutex<SemState>,
    _charge: Charge,
}

/// Kernel bytes one named semaphore costs, for accounting.
const SEM_COST: usize = core::mem::size_of::<NamedSem>() + 64;

impl NamedSem {
    /// `sem_post`: hands the unit straight to the longest waiter (which
    /// then returns without re-trying, so nobody can take it in between),
    /// or adds it to the value: EOVERFLOW at SEM_VALUE_MAX.
    pub fn post<K: Kernel + ?Sized>(&self, k: &K) -> Result<(), Errno> {
        let mut st = self.state.lock();
        let mut handed = false;
        st.waiters.visit(k, |w| {
            if handed {
                return Visit::Stop;
            }
            w.result = Some(Ok(()));
            handed = true;
            Visit::Complete
        });
        if handed {
            return Ok(());
        }
        if st.value >= SEM_VALUE_MAX {
            return err(EOVERFLOW);
        }
        st.value += 1;
        Ok(())
    }

    /// The wait family; see `SemWait`. ETIMEDOUT, EINTR; a post that
    /// completed this waiter wins over both.
    pub fn wait<K: Kernel + ?Sized>(&self, k: &K, how: SemWait) -> Result<(), Errno> {
        let how = match how {
            SemWait::Try => Blocking::NonBlocking,
            SemWait::Forever => Blocking::Forever,
            SemWait::Until(d) => Blocking::Until(d),
        };
        wait(
            k,
            &self.state,
            how,
            |s| &mut s.waiters,
            |s| {
                if s.value > 0 {
                    s.value -= 1;
                    Step::Done(Ok(()))
                } else {
                    Step::Block(SemWaiter::new(()))
                }
            },
        )
    }

    /// `sem_getvalue`.
    pub fn value(&self) -> u32 {
        self.state.lock().value
    }
}

/// A named semaphore behind an fd: each `sem_open` makes its own open
/// description over the one object.
impl FileObject for NamedSem {
    fn kind(&self) -> FileKind {
        FileKind::NamedSem
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The named-semaphore namespace of one IPC namespace: a `NameTable`
/// under glibc's name rules, plus the semaphore's own checks.
pub struct SemNamespace {
    names: NameTable<NamedSem>,
    acct: Arc<Accounting>,
}

impl Named for NamedSem {
    fn perm(&self) -> &ObjPerm {
        &self.perm
    }
}

impl SemNamespace {
    /// An empty namespace charging to `acct`.
    pub fn new(acct: Arc<Accounting>) -> Self {
        SemNamespace {
            names: NameTable::new(NameRules::Semaphore),
            acct,
        }
    }

    /// `sem_open`: finds or creates `name` (parsed with `rules`). EINVAL
    /// (value too large: first with O_EXCL, else only on creation),
    /// ENAMETOOLONG (252..=255 bytes), EEXIST (create+exclusive, present),
    /// EACCES (mode denies read+write), ENOENT (absent, no create),
    /// ENOSPC/ENOMEM (limits). A new semaphore's mode is `mode` less the
    /// caller's umask (`Kernel::umask`), as open(2) would make it.
    pub fn open<K: Kernel + ?Sized>(
        &self,
        k: &K,
        name: IpcName,
        flags: OpenFlags,
        mode: u32,
        value: u32,
    ) -> Result<(Arc<NamedSem>, Opened), Errno> {
        // glibc's order: with O_EXCL the value is checked before the name
        // is looked up; without it an existing name opens whatever the value.
        let bad_value = value > SEM_VALUE_MAX;
        if flags.create && flags.exclusive && bad_value {
            return err(EINVAL);
        }
        // Read before the table lock: the host's process lock is never
        // taken under it.
        let creds = k.credentials();
        let umask = k.umask();
        let req = OpenRequest {
            create: flags.create,
            exclusive: flags.exclusive,
            // glibc opens the semaphore's file O_RDWR.
            access: Access::READ_WRITE,
        };
        self.names.open(&creds, &name, req, || {
            if bad_value {
                return err(EINVAL);
            }
            let charge = self.acct.charge(
                creds.euid,
                creds.privileged(),
                ObjectKind::NamedSem,
                SEM_COST,
            )?;
            Ok(Arc::new(NamedSem {
                perm: ObjPerm::new(&creds, mode & !umask),
                state: Mutex::new(SemState {
                    value,
                    waiters: WaitQueue::new(),
                }),
                _charge: charge,
            }))
        })
    }
}

/// The table's own calls (rules, undo_create, unlink, len, clear) are
/// the namespace's: a failed `sem_open` undoes its creation, `sem_unlink`
/// needs the caller's ownership only.
impl Deref for SemNamespace {
    type Target = NameTable<NamedSem>;
    fn deref(&self) -> &NameTable<NamedSem> {
        &self.names
    }
}
