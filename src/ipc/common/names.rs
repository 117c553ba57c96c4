//! A table of named objects, generic over the object: named semaphores now,
//! POSIX message queues next.
//!
//! It holds name -> object and does what every named family does the same
//! way: the family's name rules (`NameRules`), O_CREAT/O_EXCL, the
//! permission check of an open against the requested access (EACCES),
//! unlink while open (the table drops its reference; the object lives while
//! any opener holds one), and the undo of a creation whose caller failed
//! afterwards (no fd slot).
//!
//! Lock order: the table lock is taken first and alone. Under it the
//! table only compares names, reads an object's immutable `ObjPerm` and
//! runs the family's `create` closure, which may take the accounting lock
//! (table -> accounting). No object lock is ever taken under the table
//! lock, and no code takes the table lock while holding an object's lock.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use crate::errno::{err, Errno, EACCES, EEXIST, ENOENT};
use crate::ipc::common::name::{IpcName, NameRules};
use crate::ipc::common::perm::{Access, ObjPerm};
use crate::kernel::Credentials;
use crate::sync::Mutex;

/// An object that can live in a `NameTable`.
pub trait Named: Send + Sync {
    /// Its owner and mode; fixed for the object's life as far as the table
    /// is concerned (read under the table lock).
    fn perm(&self) -> &ObjPerm;
}

/// What an open asks of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// O_CREAT: create the object if the name is free.
    pub create: bool,
    /// O_EXCL (with create): EEXIST if the name is taken.
    pub exclusive: bool,
    /// The access an existing object must grant (sem: read and write;
    /// mq: per O_RDONLY/O_WRONLY/O_RDWR). A creator is not checked.
    pub access: Access,
}

/// Whether `open` found the name or created it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The name existed.
    Existing,
    /// This call created it.
    Created,
}

struct Entry<T> {
    obj: Arc<T>,
    /// Whether an open other than the creating one has received `obj`.
    /// From then on the creation is no longer undone.
    received: bool,
}

/// Names of one family in one IPC namespace.
pub struct NameTable<T> {
    rules: NameRules,
    entries: Mutex<BTreeMap<IpcName, Entry<T>>>,
}

impl<T: Named> NameTable<T> {
    /// An empty table applying `rules`.
    pub fn new(rules: NameRules) -> Self {
        NameTable {
            rules,
            entries: Mutex::new(BTreeMap::new()),
        }
    }

    /// The family's name rules (callers parse with them first).
    pub fn rules(&self) -> NameRules {
        self.rules
    }

    /// Finds or creates `name`. In order: the rules' lookup errors
    /// (`NameRules::resolve`); an existing name is EEXIST with create and
    /// exclusive, else EACCES unless `creds` are granted `req.access`;
    /// a free name is ENOENT without create, else `create()` makes the
    /// object (its errors are returned and nothing is inserted).
    pub fn open(
        &self,
        creds: &Credentials,
        name: &IpcName,
        req: OpenRequest,
        create: impl FnOnce() -> Result<Arc<T>, Errno>,
    ) -> Result<(Arc<T>, Opened), Errno> {
        self.rules.resolve(name)?;
        let mut entries = self.entries.lock();
        if let Some(entry) = entries.get_mut(name) {
            if req.create && req.exclusive {
                return err(EEXIST);
            }
            if !entry.obj.perm().allows(creds, req.access) {
                return err(EACCES);
            }
            entry.received = true;
            return Ok((entry.obj.clone(), Opened::Existing));
        }
        if !req.create {
            return err(ENOENT);
        }
        let obj = create()?;
        entries.insert(
            name.clone(),
            Entry {
                obj: obj.clone(),
                received: false,
            },
        );
        Ok((obj, Opened::Created))
    }

    /// Undoes the creation of `obj` under `name` by a caller that failed
    /// afterwards. The name is removed only while it still names `obj` and
    /// no other open has received `obj`: a concurrent opener that got it
    /// keeps a named object, as if the creator had succeeded and closed.
    pub fn undo_create(&self, name: &IpcName, obj: &Arc<T>) {
        let mut entries = self.entries.lock();
        if entries
            .get(name)
            .is_some_and(|e| Arc::ptr_eq(&e.obj, obj) && !e.received)
        {
            entries.remove(name);
        }
    }

    /// Unlinks the name given as `raw` bytes: the rules' syntax errors as
    /// the family's unlink reports them (`NameRules::unlink_error`), then
    /// lookup errors, ENOENT if absent, EACCES unless `creds` own the
    /// object. The object itself lives on while it is open.
    pub fn unlink(&self, creds: &Credentials, raw: &[u8]) -> Result<(), Errno> {
        let name = self
            .rules
            .parse(raw)
            .map_err(|e| self.rules.unlink_error(e))?;
        self.unlink_name(creds, &name)
    }

    /// `unlink` of a parsed name.
    pub fn unlink_name(&self, creds: &Credentials, name: &IpcName) -> Result<(), Errno> {
        self.rules.resolve(name)?;
        let mut entries = self.entries.lock();
        let Some(entry) = entries.get(name) else {
            return err(ENOENT);
        };
        if !entry.obj.perm().is_owner(creds) {
            return err(EACCES);
        }
        entries.remove(name);
        Ok(())
    }

    /// Number of names, for tests and leak checks.
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Removes every name (the namespace's teardown): each object then
    /// lives only while it is open. Objects are dropped outside the lock.
    pub fn clear(&self) {
        let entries = core::mem::take(&mut *self.entries.lock());
        drop(entries);
    }

    /// Whether no name exists.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errno::{EINVAL, ENAMETOOLONG, ENOMEM};
    use alloc::vec;

    struct Obj {
        perm: ObjPerm,
    }

    impl Named for Obj {
        fn perm(&self) -> &ObjPerm {
            &self.perm
        }
    }

    const OWNER: Credentials = Credentials::new(1000, 100);
    const OTHER: Credentials = Credentials::new(1001, 200);
    const ROOT: Credentials = Credentials::new(0, 0);

    const CREATE: OpenRequest = OpenRequest {
        create: true,
        exclusive: false,
        access: Access::READ_WRITE,
    };
    const EXCL: OpenRequest = OpenRequest {
        exclusive: true,
        ..CREATE
    };
    const OPEN: OpenRequest = OpenRequest {
        create: false,
        ..CREATE
    };

    fn make(creds: Credentials, mode: u32) -> impl FnOnce() -> Result<Arc<Obj>, Errno> {
        move || {
            Ok(Arc::new(Obj {
                perm: ObjPerm::new(&creds, mode),
            }))
        }
    }

    fn never() -> Result<Arc<Obj>, Errno> {
        panic!("create must not be called")
    }

    fn name(rules: NameRules, raw: &[u8]) -> IpcName {
        rules.parse(raw).unwrap()
    }

    #[test]
    fn create_exclusive_and_open_existing() {
        let t = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), b"/a");
        assert_eq!(t.open(&OWNER, &n, OPEN, never).map(|_| ()), err(ENOENT));
        let (a, how) = t.open(&OWNER, &n, EXCL, make(OWNER, 0o600)).unwrap();
        assert_eq!(how, Opened::Created);
        assert_eq!(t.open(&OWNER, &n, EXCL, never).map(|_| ()), err(EEXIST));
        let (b, how) = t.open(&OWNER, &n, CREATE, never).unwrap();
        assert_eq!(how, Opened::Existing);
        assert!(Arc::ptr_eq(&a, &b));
        let (c, _) = t.open(&OWNER, &n, OPEN, never).unwrap();
        assert!(Arc::ptr_eq(&a, &c));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_failed_create_inserts_nothing() {
        let t: NameTable<Obj> = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), b"a");
        let r = t.open(&OWNER, &n, CREATE, || err(ENOMEM));
        assert_eq!(r.map(|_| ()), err(ENOMEM));
        assert!(t.is_empty());
    }

    #[test]
    fn open_checks_the_requested_access_against_the_mode() {
        let t = NameTable::new(NameRules::Mqueue);
        let n = name(t.rules(), b"/q");
        t.open(&OWNER, &n, CREATE, make(OWNER, 0o604)).unwrap();
        let read = OpenRequest {
            access: Access::READ,
            ..OPEN
        };
        let write = OpenRequest {
            access: Access::WRITE,
            ..OPEN
        };
        assert!(t.open(&OTHER, &n, read, never).is_ok());
        assert_eq!(t.open(&OTHER, &n, write, never).map(|_| ()), err(EACCES));
        assert_eq!(t.open(&OTHER, &n, OPEN, never).map(|_| ()), err(EACCES));
        // O_CREAT of an existing name is an open: still checked.
        assert_eq!(t.open(&OTHER, &n, CREATE, never).map(|_| ()), err(EACCES));
        // O_EXCL reports the name's existence before any permission.
        assert_eq!(t.open(&OTHER, &n, EXCL, never).map(|_| ()), err(EEXIST));
        assert!(t.open(&ROOT, &n, OPEN, never).is_ok());
        assert!(t.open(&OWNER, &n, OPEN, never).is_ok());
    }

    #[test]
    fn unlink_while_open_keeps_the_object() {
        let t = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), b"/a");
        let (a, _) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o666)).unwrap();
        assert_eq!(t.unlink(&OTHER, b"/a"), err(EACCES));
        assert_eq!(t.unlink(&OWNER, b"///a"), Ok(()));
        assert_eq!(t.unlink(&OWNER, b"/a"), err(ENOENT));
        assert!(t.is_empty());
        assert_eq!(Arc::strong_count(&a), 1, "the opener holds it alone");
        let (b, how) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).unwrap();
        assert_eq!(how, Opened::Created, "the name is free for a new object");
        assert!(!Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn unlink_reports_name_errors_as_the_family_does() {
        let sem: NameTable<Obj> = NameTable::new(NameRules::Semaphore);
        for raw in [&b""[..], b"/", b"/a/b", b"a\0"] {
            assert_eq!(sem.unlink(&OWNER, raw), err(ENOENT), "{raw:?}");
        }
        let long = vec![b'q'; 252];
        assert_eq!(sem.unlink(&OWNER, &long), err(ENAMETOOLONG));
        let mq: NameTable<Obj> = NameTable::new(NameRules::Mqueue);
        assert_eq!(mq.unlink(&OWNER, b"noslash"), err(EINVAL));
        assert_eq!(mq.unlink(&OWNER, b"/a/b"), err(EACCES));
        assert_eq!(mq.unlink(&OWNER, b"/"), err(ENOENT));
    }

    #[test]
    fn lookup_errors_come_before_the_table() {
        let t = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), &[b'q'; 252]);
        assert_eq!(
            t.open(&OWNER, &n, CREATE, never).map(|_| ()),
            err(ENAMETOOLONG)
        );
        assert!(t.is_empty());
        let n = name(t.rules(), &[b'q'; 251]);
        assert!(t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).is_ok());
    }

    #[test]
    fn undo_removes_an_unreceived_creation_only() {
        let t = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), b"a");
        let (a, _) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).unwrap();
        t.undo_create(&n, &a);
        assert!(
            t.is_empty(),
            "nobody else saw it: the failed open leaves nothing"
        );
        // A concurrent opener received the object before the creator failed.
        let (a, _) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).unwrap();
        let (b, how) = t.open(&OWNER, &n, OPEN, never).unwrap();
        assert_eq!(how, Opened::Existing);
        t.undo_create(&n, &a);
        let (c, _) = t.open(&OWNER, &n, OPEN, never).unwrap();
        assert!(
            Arc::ptr_eq(&b, &c),
            "the name the opener got is still there"
        );
    }

    #[test]
    fn undo_never_removes_a_newer_object() {
        let t = NameTable::new(NameRules::Semaphore);
        let n = name(t.rules(), b"a");
        let (old, _) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).unwrap();
        t.unlink(&OWNER, b"a").unwrap();
        let (new, _) = t.open(&OWNER, &n, CREATE, make(OWNER, 0o600)).unwrap();
        t.undo_create(&n, &old);
        let (found, _) = t.open(&OWNER, &n, OPEN, never).unwrap();
        assert!(Arc::ptr_eq(&found, &new));
    }
}
