//! `Kernel`: everything the subsystem needs from the kernel that hosts it.
//!
//! Three implementations exist: the Redox adapter (kernel-patches/), the QEMU
//! testbed (tests/qemu/testbed) and the std one for host tests
//! (`hosted`). The subsystem never touches hardware, page tables or the
//! scheduler itself; it asks through this trait. Every method documents the
//! contract an implementation must keep; the subsystem relies on nothing
//! else.

use crate::errno::Errno;
use crate::ipc::Ipc;

/// A schedulable thread of execution, unique for the host's lifetime.
pub type TaskId = u64;
/// A process id as user space sees it.
pub type Pid = u32;

/// Most supplementary groups a task can have. Linux allows NGROUPS_MAX
/// (65536); a fixed, small capacity keeps `Credentials` `Copy` and a check
/// allocation-free. `Groups::new` refuses more (EINVAL, as Linux's
/// setgroups past NGROUPS_MAX).
pub const NGROUPS_MAX: usize = 32;

/// A task's supplementary group ids, sorted (as Linux's setgroups sorts
/// them; duplicates are kept, so getgroups returns what was set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Groups {
    len: u8,
    ids: [u32; NGROUPS_MAX],
}

impl Groups {
    /// No supplementary groups (Redox has none).
    pub const EMPTY: Groups = Groups {
        len: 0,
        ids: [0; NGROUPS_MAX],
    };

    /// The groups `ids`, sorted: EINVAL for more than `NGROUPS_MAX`.
    pub fn new(ids: &[u32]) -> Result<Groups, Errno> {
        if ids.len() > NGROUPS_MAX {
            return Err(Errno::new(crate::errno::EINVAL));
        }
        let mut g = Groups::EMPTY;
        g.ids[..ids.len()].copy_from_slice(ids);
        g.len = ids.len() as u8; // <= NGROUPS_MAX, checked above
        g.ids[..ids.len()].sort_unstable();
        Ok(g)
    }

    /// The ids, sorted.
    pub fn as_slice(&self) -> &[u32] {
        &self.ids[..usize::from(self.len)]
    }

    /// Whether `gid` is one of them.
    pub fn contains(&self, gid: u32) -> bool {
        self.as_slice().binary_search(&gid).is_ok()
    }
}

impl Default for Groups {
    fn default() -> Self {
        Groups::EMPTY
    }
}

/// Credentials of the calling task. Redox has only effective ids and no
/// supplementary groups; an adapter without real ids reports the
/// effective ones in both places, and one without groups reports none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id: what permission checks use.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Supplementary groups: permission checks treat each as the caller's
    /// group too (Linux's `in_group_p`).
    pub groups: Groups,
}

impl Credentials {
    /// Credentials with all four ids set to `uid`/`gid` and no
    /// supplementary groups.
    pub const fn new(uid: u32, gid: u32) -> Self {
        Credentials {
            uid,
            gid,
            euid: uid,
            egid: gid,
            groups: Groups::EMPTY,
        }
    }

    /// These credentials with supplementary groups `ids` (EINVAL for more
    /// than `NGROUPS_MAX`).
    pub fn with_groups(self, ids: &[u32]) -> Result<Self, Errno> {
        Ok(Credentials {
            groups: Groups::new(ids)?,
            ..self
        })
    }

    /// Whether the caller is in group `gid`: its effective group or one of
    /// its supplementary groups (Linux's `in_group_p`, with the effective
    /// gid standing for the fs gid).
    pub fn in_group(&self, gid: u32) -> bool {
        self.egid == gid || self.groups.contains(gid)
    }

    /// Whether the caller bypasses IPC permission checks and limits
    /// (Linux: CAP_IPC_OWNER / CAP_SYS_RESOURCE; here: effective uid 0).
    pub const fn privileged(&self) -> bool {
        self.euid == 0
    }
}

/// The clocks the subsystem can measure and wait on. The discriminants are
/// the kernel ABI's clock ids (Linux's values; docs/abi.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(usize)]
pub enum ClockId {
    /// Wall-clock time; can be set, so deadlines on it can move.
    Realtime = 0,
    /// Time since boot, excluding suspend; never set, never goes back.
    Monotonic = 1,
    /// Time since boot including suspend.
    Boottime = 7,
}

impl ClockId {
    /// Decodes a kernel-ABI clock id.
    pub const fn from_abi(raw: usize) -> Option<ClockId> {
        match raw {
            0 => Some(ClockId::Realtime),
            1 => Some(ClockId::Monotonic),
            7 => Some(ClockId::Boottime),
            _ => None,
        }
    }
}

/// An absolute point in time on one clock, in nanoseconds since that
/// clock's epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The clock the deadline is measured on.
    pub clock: ClockId,
    /// Nanoseconds since the clock's epoch.
    pub at_ns: u64,
}

/// Why `Kernel::park` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParkOutcome {
    /// `unpark` was called for this task (possibly before `park`), or the
    /// host woke it for no reason: callers re-check their condition.
    Unparked,
    /// The deadline has passed.
    TimedOut,
    /// A signal that the task does not block is pending.
    Interrupted,
}

/// The end of user space on every host (x86_64 and aarch64 Redox, the
/// testbed, and Linux x86_64's TASK_SIZE rounded up): an address range
/// reaching past it is EFAULT before any access (Linux's `access_ok`),
/// which matters where no access is made at all (a private futex wake).
pub const USER_SPACE_END: usize = 1 << 47;

/// A user-memory access failed (unmapped, not user-accessible, not writable,
/// or misaligned for an atomic). The syscall layer turns it into EFAULT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserFault;

impl From<UserFault> for Errno {
    fn from(_: UserFault) -> Errno {
        Errno::new(crate::errno::EFAULT)
    }
}

/// Where a new fd goes. Redox lets user space choose the number
/// (`openat_into`/`dup_into`); other kernels allocate the lowest free one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdPlacement {
    /// The lowest free number (POSIX).
    Lowest,
    /// Exactly this number; EEXIST if taken, EBADF if out of range.
    Exact(usize),
}

/// An fd's open file description, shared by every fd that `dup` made
/// from it (`ipc::common::open_file`).
pub use crate::ipc::common::open_file::FileRef;

/// A key that names the same memory in every address space that maps it
/// (a physical address, or a shared-object id and offset).
pub type SharedMemKey = u64;

/// Size of the shared page of a named semaphore
/// (`Kernel::shared_page_alloc`).
pub const SHARED_PAGE_SIZE: usize = 4096;

/// One kernel-allocated page that the host can map shared into any
/// process (a named semaphore's words: `ipc::sem::named`). The handle is
/// the object's reference: the host frees the frame when the last handle
/// is dropped and the last mapping is gone (a mapping keeps the frame, not
/// the handle, alive), so dropping a handle needs no `Kernel` at hand.
pub trait SharedPage: Send + Sync + core::any::Any {
    /// The host's own type, for its `shared_page_map`/`unmap`.
    fn as_any(&self) -> &dyn core::any::Any;
    /// The key `Kernel::shared_key` gives for the page's first byte in
    /// every process that maps it (a physical address, or the host's
    /// object key), so futexes on the page meet across processes.
    fn key(&self) -> SharedMemKey;
    /// Sequentially consistent load of the page's u32 number `index`
    /// (0..4, the first 16 bytes), through the kernel's own view of the
    /// frame: one total order with the accesses of every process that
    /// maps it. `None` for an index out of range.
    fn load(&self, index: usize) -> Option<u32>;
    /// Sequentially consistent compare-and-exchange of u32 number
    /// `index`; returns the value found (`None`: index out of range).
    fn compare_exchange(&self, index: usize, old: u32, new: u32) -> Option<u32>;
}

/// A shared page, as the subsystem holds it.
pub type SharedPageRef = alloc::sync::Arc<dyn SharedPage>;

/// A set of signals 1..=64, bit `sig - 1`.
pub type SigSet = u64;

/// The bit of signal `sig` in a `SigSet` (0 for a number outside 1..=64).
pub const fn sig_bit(sig: u32) -> SigSet {
    if sig >= 1 && sig <= 64 {
        1 << (sig - 1)
    } else {
        0
    }
}

/// si_code of a signal sent by kill(2).
pub const SI_USER: i32 = 0;
/// si_code of a signal sent by sigqueue(3).
pub const SI_QUEUE: i32 = -1;
/// si_code of a message-queue notification (mq_notify SIGEV_SIGNAL).
pub const SI_MESGQ: i32 = -3;

/// What a dequeued signal carries (the fields signalfd reports).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigInfo {
    /// Signal number.
    pub signo: u32,
    /// si_errno.
    pub errno: i32,
    /// si_code (SI_USER 0, SI_QUEUE -1, SI_TKILL -6, SI_MESGQ -3, ...).
    pub code: i32,
    /// Sender's pid.
    pub pid: u32,
    /// Sender's real uid.
    pub uid: u32,
    /// Target thread id, where the host has one.
    pub tid: u32,
    /// Timer overrun count.
    pub overrun: u32,
    /// Exit status or signal (SIGCHLD).
    pub status: i32,
    /// sigval as an int.
    pub int: i32,
    /// sigval as a pointer.
    pub ptr: u64,
    /// Faulting address (SIGSEGV and friends).
    pub addr: u64,
}

impl SigInfo {
    /// The signal an mq_notify(SIGEV_SIGNAL) registration sends when a
    /// message arrives on an empty queue (Linux's `__do_notify`): si_code
    /// SI_MESGQ, the registration's sigev_value (as int and pointer), and
    /// the pid and real uid of the task whose send caused it.
    pub fn mesgq(signo: u32, value: u64, sender: Pid, sender_uid: u32) -> SigInfo {
        SigInfo {
            signo,
            code: SI_MESGQ,
            pid: sender,
            uid: sender_uid,
            // sigval is a union: the int member is the low half of the
            // pointer member on the 64-bit targets we serve.
            int: value as u32 as i32,
            ptr: value,
            ..SigInfo::default()
        }
    }
}

/// The host kernel, as the subsystem sees it.
///
/// All methods act on the *calling* task unless they name another one.
/// None of them may call back into the subsystem (except `send_signal`,
/// which reaches `Ipc::signal_queued`). `unpark` may be called
/// with subsystem spin locks held, so it must not block.
pub trait Kernel: Sync {
    /// The subsystem state this kernel hosts (one IPC namespace).
    fn ipc(&self) -> &Ipc;

    /// The calling task.
    fn current_task(&self) -> TaskId;
    /// The calling task's process id.
    fn current_pid(&self) -> Pid;
    /// The calling task's credentials.
    fn credentials(&self) -> Credentials;
    /// The calling process's file-mode creation mask, which `sem_open`
    /// clears from a new semaphore's mode as open(2) would. The default,
    /// 0, is for a host whose umask is user-space state (Redox: relibc),
    /// where the C library applies it before the call.
    fn umask(&self) -> u32 {
        0
    }
    /// Identity of the calling task's address space: process-private
    /// futexes are keyed by (address space, user address).
    fn address_space(&self) -> u64;
    /// The key of the memory behind `uaddr`, equal in every address space
    /// that maps the same memory (process-shared futexes). EFAULT if
    /// `uaddr` is not mapped for the caller.
    fn shared_key(&self, uaddr: usize) -> Result<SharedMemKey, Errno>;

    /// Current time on `clock`, in nanoseconds since its epoch.
    fn now(&self, clock: ClockId) -> u64;

    /// Blocks the calling task until `unpark` is called for it, the
    /// deadline passes, or a signal it does not block is pending. Permit
    /// semantics: an `unpark` that comes before `park` makes the next
    /// `park` return `Unparked` at once. Spurious `Unparked` returns are
    /// allowed; callers loop.
    fn park(&self, deadline: Option<Deadline>) -> ParkOutcome;
    /// Wakes `task` from `park`, or makes its next `park` return at once.
    /// Never blocks, never allocates. The subsystem calls it only for a
    /// task that is inside a wait protocol (queued on a wait queue or just
    /// leaving one), so a stale permit can only make the task's *next* park
    /// in this subsystem return early, which its loops tolerate; a host
    /// whose park shares a wake mechanism with other waits must keep the
    /// permit separate from them.
    fn unpark(&self, task: TaskId);

    /// Copies `dst.len()` bytes from user address `src`. On failure nothing
    /// useful is in `dst` and no state changed.
    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault>;
    /// Copies `src` to user address `dst`. On failure some prefix may have
    /// been written (as with any kernel copy-out).
    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault>;
    /// Atomic, sequentially consistent load of the aligned u32 at `uaddr`:
    /// one total order with `cmpxchg_user_u32`, `read_user_u32_nofault`
    /// and user space's SeqCst atomics on that word, so a load that follows
    /// a compare-exchange in program order is never satisfied before the
    /// exchange is visible (the unnamed semaphore's post, `ipc::sem::
    /// protocol`). A misaligned or unreadable `uaddr` is a fault. May
    /// sleep to fault the page in: never called under a subsystem lock.
    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault>;
    /// Reads the aligned u32 at `uaddr` without sleeping, for reads made
    /// under a spin lock (the futex value check), with the ordering of
    /// `load_user_u32`. `Ok(None)` means the page is mapped but not
    /// resident now: the caller drops its locks, calls `fault_in_user`,
    /// and tries again. The default suits hosts whose user memory never
    /// needs a sleeping fault (the testbed, the hosted kernel).
    fn read_user_u32_nofault(&self, uaddr: usize) -> Result<Option<u32>, UserFault> {
        self.load_user_u32(uaddr).map(Some)
    }
    /// Makes the page behind `uaddr` resident; may sleep. Called with no
    /// subsystem lock held.
    fn fault_in_user(&self, uaddr: usize) -> Result<(), UserFault> {
        let _ = uaddr;
        Ok(())
    }
    /// Atomic, sequentially consistent compare-and-exchange of the aligned
    /// u32 at `uaddr`; returns the value found (the swap happened iff it
    /// equals `old`). A misaligned or unwritable `uaddr` is a fault.
    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault>;

    /// Installs `file` in the caller's fd table. The host reports every fd
    /// it adds for a description and every one it removes (close, exec,
    /// exit) to it: `OpenFile::fd_added` / `fd_closed` (`ipc::common::open_file`).
    fn install_fd(
        &self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, Errno>;
    /// The file object behind the caller's `fd`; EBADF if none.
    fn get_fd(&self, fd: usize) -> Result<FileRef, Errno>;

    /// Dequeues one signal pending for the calling task (its own first,
    /// then its process's) whose number is in `mask`: standard signals
    /// coalesce (one pending instance each), realtime signals queue in
    /// order with their values. The default is a host without signal
    /// queues: nothing is ever pending (signalfd then never becomes
    /// readable; docs/support-matrix.md says which hosts implement it).
    ///
    /// Contract: after the host queues a signal for a process it calls
    /// `Ipc::signal_queued` without holding its signal-state lock.
    fn take_signal(&self, mask: SigSet) -> Option<SigInfo> {
        let _ = mask;
        None
    }

    /// Makes a signal that `take_signal` returned pending again, because
    /// the subsystem could not deliver it (its copy to user memory
    /// faulted): ahead of later instances of the same realtime signal, or
    /// merged with a standard one raised meanwhile. Must not fail or
    /// allocate beyond what the take freed. The subsystem wakes the
    /// signalfds itself; the host wakes what it wakes for a queued signal
    /// (without calling back into the subsystem). The default suits a host
    /// whose `take_signal` never returns one; a host that implements
    /// `take_signal` implements this too.
    fn restore_signal(&self, info: SigInfo) {
        let _ = info;
    }

    /// The signals pending for the calling task (its own and its
    /// process's).
    fn pending_signals(&self) -> SigSet {
        0
    }

    /// Queues `info` (its `signo` in 1..=64) for process `pid`, as the
    /// kernel itself sends it: `info.code`, `pid` and `uid` are what the
    /// receiver sees (signalfd, a handler's siginfo), kept as given.
    ///
    /// Permission: none is checked here. Linux's mq notification bypasses
    /// `check_kill_permission` (the signal comes from the kernel, to a
    /// process that asked for it), and so does this: the subsystem sends
    /// only to a process that registered for the signal itself, and
    /// checks at registration what it needs to.
    ///
    /// `info.signo == 0` sends nothing and reports whether a signal could
    /// be sent (as kill(pid, 0)), so a registration can fail early.
    /// Errors: ESRCH if `pid` is not a live process, EINVAL for a signal
    /// number above 64, EAGAIN if its realtime queue is full, ENOSYS if
    /// the host cannot send signals from the kernel (the default; the
    /// Redox adapter, whose signals live in user space, says so in
    /// kernel-patches/README.md).
    ///
    /// Call it with no subsystem lock held. It is the one method that may
    /// call back into the subsystem: the host calls `Ipc::signal_queued`
    /// after queueing, as for any other signal.
    fn send_signal(&self, pid: Pid, info: SigInfo) -> Result<(), Errno> {
        let _ = (pid, info);
        Err(Errno::new(crate::errno::ENOSYS))
    }

    /// Allocates one zeroed page of `SHARED_PAGE_SIZE` bytes with `init`
    /// at offset 0 (a named semaphore's words). ENOMEM when no frame is
    /// free; ENOSYS (the default) when the host cannot map pages into user
    /// space, and the subsystem then keeps the object's state itself.
    /// It is called under the name table's lock (a creation is atomic with
    /// its name), so it must not sleep or call back into the subsystem; a
    /// handle may likewise be dropped with subsystem locks held.
    fn shared_page_alloc(&self, init: &[u8; 16]) -> Result<SharedPageRef, Errno> {
        let _ = init;
        Err(Errno::new(crate::errno::ENOSYS))
    }

    /// Maps `page` read-write and shared into the calling process at an
    /// address of the host's choosing and returns it. The mapping is
    /// inherited across fork (shared, not copied), removed at exec and
    /// exit, and keeps the frame alive until then: the key of its first
    /// byte is `page.key()`. ENOMEM when the address space or the
    /// page-table memory is exhausted, ENOSYS when the host cannot map.
    /// Call it with no subsystem lock held.
    fn shared_page_map(&self, page: &SharedPageRef) -> Result<usize, Errno> {
        let _ = page;
        Err(Errno::new(crate::errno::ENOSYS))
    }

    /// Removes the caller's mapping of `page` at `uaddr` (one made by
    /// `shared_page_map`): EINVAL when `uaddr` is not such a mapping of
    /// this page in the calling process.
    fn shared_page_unmap(&self, page: &SharedPageRef, uaddr: usize) -> Result<(), Errno> {
        let _ = (page, uaddr);
        Err(Errno::new(crate::errno::ENOSYS))
    }
}

/// Reads an aligned u32 from user memory.
pub fn read_user_u32<K: Kernel + ?Sized>(k: &K, uaddr: usize) -> Result<u32, UserFault> {
    let mut raw = [0u8; 4];
    k.read_user(uaddr, &mut raw)?;
    Ok(u32::from_ne_bytes(raw))
}
