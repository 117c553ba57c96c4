//! Named POSIX semaphores: kernel objects in a namespace.
//!
//! `sem_open` finds or creates the object and hands the caller an fd whose
//! open description (`OpenFile`) refers to it; every operation is then a
//! syscall on the object (the shared-page fast path of DESIGN.md is not built yet).
//! `sem_unlink` removes the name only: the object lives while any handle
//! does, and its charge is refunded when the last one goes.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::any::Any;

use crate::errno::{err, Errno, EACCES, EEXIST, EINVAL, ENOENT, EOVERFLOW};
use crate::ipc::file::{FileKind, FileObject};
use crate::ipc::limits::{Accounting, Charge, ObjectKind};
use crate::ipc::name::IpcName;
use crate::ipc::perm::{Access, ObjPerm};
use crate::ipc::sem::{SemWait, SEM_VALUE_MAX};
use crate::ipc::wait::{wait, Blocking, Handoff, Step};
use crate::ipc::waitq::{Visit, WaitQueue};
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

/// Whether `open` found the name or created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The name existed.
    Existing,
    /// This call created it.
    Created,
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

/// The named-semaphore namespace of one IPC namespace.
pub struct SemNamespace {
    names: Mutex<BTreeMap<IpcName, Arc<NamedSem>>>,
    acct: Arc<Accounting>,
}

impl SemNamespace {
    /// An empty namespace charging to `acct`.
    pub fn new(acct: Arc<Accounting>) -> Self {
        SemNamespace {
            names: Mutex::new(BTreeMap::new()),
            acct,
        }
    }

    /// `sem_open`: finds or creates `name`. ENOENT (absent, no create),
    /// EEXIST (create+exclusive, present), EINVAL (value too large),
    /// EACCES (mode denies read+write), ENOSPC/ENOMEM (limits).
    pub fn open<K: Kernel + ?Sized>(
        &self,
        k: &K,
        name: IpcName,
        flags: OpenFlags,
        mode: u32,
        value: u32,
    ) -> Result<(Arc<NamedSem>, Opened), Errno> {
        // glibc's order: with O_EXCL the value is checked before the name
        // is looked at; without it an existing name opens whatever the value.
        let bad_value = value > SEM_VALUE_MAX;
        if flags.create && flags.exclusive && bad_value {
            return err(EINVAL);
        }
        let creds = k.credentials();
        let mut names = self.names.lock();
        if let Some(sem) = names.get(&name) {
            if flags.create && flags.exclusive {
                return err(EEXIST);
            }
            if !sem.perm.allows(&creds, Access::READ_WRITE) {
                return err(EACCES);
            }
            return Ok((sem.clone(), Opened::Existing));
        }
        if !flags.create {
            return err(ENOENT);
        }
        if bad_value {
            return err(EINVAL);
        }
        let charge = self.acct.charge(
            creds.euid,
            creds.privileged(),
            ObjectKind::NamedSem,
            SEM_COST,
        )?;
        let sem = Arc::new(NamedSem {
            perm: ObjPerm::new(&creds, mode),
            state: Mutex::new(SemState {
                value,
                waiters: WaitQueue::new(),
            }),
            _charge: charge,
        });
        names.insert(name, sem.clone());
        Ok((sem, Opened::Created))
    }

    /// Undoes a creation whose fd could not be installed, so a failed
    /// `sem_open` leaves the namespace as it found it.
    pub fn undo_create(&self, name: &IpcName, sem: &Arc<NamedSem>) {
        let mut names = self.names.lock();
        if names.get(name).is_some_and(|cur| Arc::ptr_eq(cur, sem)) {
            names.remove(name);
        }
    }

    /// `sem_unlink`: ENOENT if absent, EACCES unless the caller owns it.
    pub fn unlink<K: Kernel + ?Sized>(&self, k: &K, name: &IpcName) -> Result<(), Errno> {
        let creds = k.credentials();
        let mut names = self.names.lock();
        let Some(sem) = names.get(name) else {
            return err(ENOENT);
        };
        if !sem.perm.is_owner(&creds) {
            return err(EACCES);
        }
        names.remove(name);
        Ok(())
    }

    /// Number of names, for tests and leak checks.
    pub fn len(&self) -> usize {
        self.names.lock().len()
    }

    /// Whether no name exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every name (the namespace's teardown, and tests' leak
    /// checks): each semaphore then lives only while an fd holds it.
    pub fn unlink_all(&self) {
        let names = core::mem::take(&mut *self.names.lock());
        drop(names); // refunds outside the namespace lock
    }
}
