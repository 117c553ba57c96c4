//! Named POSIX semaphores: kernel objects in a namespace.
//!
//! `sem_open` finds or creates the object and hands the caller an fd whose
//! open description (`OpenFile`) refers to it. `sem_unlink` removes the
//! name only: the object lives while any handle does, and its charge is
//! refunded when the last one goes.
//!
//! Where the host can map pages into user space (`Kernel::
//! shared_page_alloc`), the semaphore's state is an unnamed process-shared
//! semaphore's 16 words (`ipc::sem::unnamed`'s layout, flags
//! `SEM_FLAG_SHARED`) at the start of one kernel-allocated page, which
//! `SYS_RB_SEM_MAP` maps into every process that asks: user space then runs
//! `ipc::sem::protocol` on the words and makes no system call unless it
//! must sleep or wake a sleeper. The fd calls (post, wait, getvalue with
//! `REF_FD`) run the same protocol over the kernel's view of the page, with
//! the futex keyed by the page's key (`SharedPage::key`), so the mapped and
//! the fd paths agree. One page per semaphore: every opener can write all
//! of it, so two semaphores never share one. On a host without pages the
//! state is kernel memory (`SemState`) and every operation is a syscall.

use alloc::sync::Arc;
use core::any::Any;
use core::ops::Deref;

use crate::errno::{err, Errno, EAGAIN, EFAULT, EINVAL, ENOSYS, EOPNOTSUPP, EOVERFLOW};
use crate::ipc::common::file::{FileKind, FileObject};
use crate::ipc::common::limits::{Accounting, Charge, ObjectKind};
use crate::ipc::common::name::{IpcName, NameRules};
pub use crate::ipc::common::names::Opened;
use crate::ipc::common::names::{NameTable, Named, OpenRequest};
use crate::ipc::common::perm::{Access, ObjPerm};
use crate::ipc::common::wait::{wait, Blocking, Handoff, Step};
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::ipc::futex::{FutexKey, BITSET_MATCH_ANY};
use crate::ipc::sem::protocol::{self, SemAccess, SemError, WaitMode, Word};
use crate::ipc::sem::unnamed::{
    FLAGS_OFFSET, NWAITERS_OFFSET, SEM_FLAG_SHARED, SEM_WORDS_SIZE, VALUE_OFFSET,
};
use crate::ipc::sem::{SemWait, SEM_VALUE_MAX};
use crate::kernel::{Deadline, Kernel, SharedPageRef, SHARED_PAGE_SIZE};
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

/// Where a named semaphore's state lives.
enum Backing {
    /// In the kernel: the host cannot map pages.
    Kernel(Mutex<SemState>),
    /// The protocol's words at the start of a shared page.
    Page(SharedPageRef),
}

/// A named semaphore.
pub struct NamedSem {
    perm: ObjPerm,
    backing: Backing,
    _charge: Charge,
}

/// Kernel bytes one named semaphore costs, for accounting (a page-backed
/// one costs its page too).
const SEM_COST: usize = core::mem::size_of::<NamedSem>() + 64;

/// The page's word of each protocol word.
fn page_index(word: Word) -> usize {
    match word {
        Word::Value => VALUE_OFFSET / 4,
        Word::Waiters => NWAITERS_OFFSET / 4,
    }
}

/// A page-backed semaphore as the protocol reaches it from the kernel:
/// the page's words through the kernel's view, the futex by the page's
/// key (the key every process's `shared_key` gives for the mapped word).
struct PageSem<'a, K: ?Sized> {
    k: &'a K,
    page: &'a SharedPageRef,
    key: FutexKey,
    deadline: Option<Deadline>,
}

impl<K: Kernel + ?Sized> SemAccess for PageSem<'_, K> {
    type Error = Errno;

    fn load(&self, word: Word, _order: core::sync::atomic::Ordering) -> Result<u32, Errno> {
        // SeqCst whatever was asked (SharedPage::load): never weaker.
        self.page.load(page_index(word)).ok_or(Errno::new(EFAULT))
    }

    fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, Errno> {
        self.page
            .compare_exchange(page_index(word), current, new)
            .ok_or(Errno::new(EFAULT))
    }

    fn fetch_add(&self, word: Word, delta: u32) -> Result<(), Errno> {
        let mut cur = self.load(word, core::sync::atomic::Ordering::SeqCst)?;
        loop {
            let seen = self.compare_exchange(word, cur, cur.wrapping_add(delta))?;
            if seen == cur {
                return Ok(());
            }
            cur = seen;
        }
    }

    fn sleep(&self) -> Result<(), Errno> {
        let page = self.page;
        let slept = self.k.ipc().futex.wait_kernel_word(
            self.k,
            self.key,
            0,
            self.deadline,
            // Index 0 is in range: the load cannot be None.
            || page.load(VALUE_OFFSET / 4).unwrap_or(1),
        );
        match slept {
            Err(e) if e.errno == EAGAIN => Ok(()),
            r => r,
        }
    }

    fn wake_one(&self) -> Result<(), Errno> {
        let futex = &self.k.ipc().futex;
        futex.wake(self.k, self.key, 1, BITSET_MATCH_ANY).map(drop)
    }
}

fn protocol_errno(e: SemError<Errno>) -> Errno {
    Errno::new(e.errno(|e| e.errno))
}

impl NamedSem {
    fn page_sem<'a, K: Kernel + ?Sized>(
        k: &'a K,
        page: &'a SharedPageRef,
        deadline: Option<Deadline>,
    ) -> PageSem<'a, K> {
        PageSem {
            k,
            page,
            key: FutexKey::shared(page.key()),
            deadline,
        }
    }

    /// Whether the state is a shared page (`map` can succeed).
    pub fn is_mapped_kind(&self) -> bool {
        matches!(self.backing, Backing::Page(_))
    }

    /// `SYS_RB_SEM_MAP`: maps the semaphore's page into the caller and
    /// returns the address of its words. EOPNOTSUPP when the host keeps the
    /// state in the kernel; the host's ENOMEM.
    pub fn map<K: Kernel + ?Sized>(&self, k: &K) -> Result<usize, Errno> {
        match &self.backing {
            Backing::Page(page) => k.shared_page_map(page),
            Backing::Kernel(_) => err(EOPNOTSUPP),
        }
    }

    /// `SYS_RB_SEM_UNMAP`: removes the caller's mapping at `uaddr` (EINVAL
    /// if it is not one of this semaphore's page; EOPNOTSUPP as `map`).
    pub fn unmap<K: Kernel + ?Sized>(&self, k: &K, uaddr: usize) -> Result<(), Errno> {
        match &self.backing {
            Backing::Page(page) => k.shared_page_unmap(page, uaddr),
            Backing::Kernel(_) => err(EOPNOTSUPP),
        }
    }

    /// `sem_post`: hands the unit straight to the longest waiter (which
    /// then returns without re-trying, so nobody can take it in between),
    /// or adds it to the value: EOVERFLOW at SEM_VALUE_MAX. On a page, the
    /// unnamed protocol's post (value + 1, then wake one if a waiter
    /// registered).
    pub fn post<K: Kernel + ?Sized>(&self, k: &K) -> Result<(), Errno> {
        let state = match &self.backing {
            Backing::Kernel(state) => state,
            Backing::Page(page) => {
                return protocol::post(&Self::page_sem(k, page, None)).map_err(protocol_errno)
            }
        };
        let mut st = state.lock();
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
        let state = match &self.backing {
            Backing::Kernel(state) => state,
            Backing::Page(page) => {
                let mode = match how {
                    SemWait::Try => WaitMode::Try,
                    SemWait::Forever | SemWait::Until(_) => WaitMode::Block,
                };
                let sem = Self::page_sem(k, page, how.deadline());
                return protocol::wait(&sem, mode).map_err(protocol_errno);
            }
        };
        let how = match how {
            SemWait::Try => Blocking::NonBlocking,
            SemWait::Forever => Blocking::Forever,
            SemWait::Until(d) => Blocking::Until(d),
        };
        wait(
            k,
            state,
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
        match &self.backing {
            Backing::Kernel(state) => state.lock().value,
            // Index 0 is in range.
            Backing::Page(page) => page.load(VALUE_OFFSET / 4).unwrap_or(0),
        }
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

/// A fresh page semaphore's words: `value`, no waiters, process-shared.
fn page_words(value: u32) -> [u8; SEM_WORDS_SIZE] {
    let mut words = [0u8; SEM_WORDS_SIZE];
    words[VALUE_OFFSET..VALUE_OFFSET + 4].copy_from_slice(&value.to_ne_bytes());
    words[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&SEM_FLAG_SHARED.to_ne_bytes());
    words
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
            let backing = match k.shared_page_alloc(&page_words(value)) {
                Ok(page) => Backing::Page(page),
                Err(e) if e.errno == ENOSYS || e.errno == EOPNOTSUPP => {
                    Backing::Kernel(Mutex::new(SemState {
                        value,
                        waiters: WaitQueue::new(),
                    }))
                }
                Err(e) => return Err(e),
            };
            let cost = match backing {
                Backing::Page(_) => SEM_COST + SHARED_PAGE_SIZE,
                Backing::Kernel(_) => SEM_COST,
            };
            // A refused charge drops the page (the host frees it).
            let charge =
                self.acct
                    .charge(creds.euid, creds.privileged(), ObjectKind::NamedSem, cost)?;
            Ok(Arc::new(NamedSem {
                perm: ObjPerm::new(&creds, mode & !umask),
                backing,
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
