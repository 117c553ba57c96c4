//! signalfd: pending signals of the reader, read as 128-byte records.
//!
//! The object holds only a mask; the signals are the host's (`Kernel::
//! take_signal`). A read takes as many masked signals as whole records fit
//! and blocks while none is pending. Readers sleep on the fd's own queue,
//! each node naming its task and process; the host calls
//! `Ipc::signal_queued` with the signal's target after queueing it, which
//! visits only the signalfds the target process waits on (`SignalWaits`:
//! those its readers block on and those it polled while observed) and,
//! on each whose mask holds the signal, wakes only the readers that can
//! take it: those of the target process (for a signal directed at one
//! thread, that thread), as Linux wakes only the target's signalfd
//! waiters. The observers of a visited signalfd are told: they re-check
//! readiness for their own caller. A signalfd reports its reader's
//! signals, whoever created it (after fork, the child reads the child's,
//! as Linux's signalfd(2) says), so what counts is who waits, never who
//! holds the fd. A reader registers with `SignalWaits` before it checks
//! for a signal, and checks and queues itself under the same lock that
//! wake takes, so no signal's wake-up is lost.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use crate::errno::{err, Errno, EAGAIN, EINVAL};
use crate::ipc::common::file::{FdCore, FileKind, FileObject, IoResult};
use crate::ipc::common::limits::ObjectKind;
use crate::ipc::common::open_file::{AccessMode, FileRef, OpenFile};
use crate::ipc::common::pollee::{Pollee, Readiness};
use crate::ipc::common::wait::{wait, Blocking, Payload, Step};
use crate::ipc::common::waitq::{Visit, WaitQueue};
use crate::kernel::{sig_bit, Kernel, Pid, SigInfo, SigSet, TaskId};
use crate::sync::{AtomicU64, Mutex, Ordering};
use crate::syscall::uaccess::UserSlice;

/// Size of `struct signalfd_siginfo`.
pub const SIGINFO_SIZE: usize = 128;
/// SIGKILL and SIGSTOP cannot be caught, so a mask never holds them.
pub const UNCATCHABLE: SigSet = sig_bit(9) | sig_bit(19);

/// Who a queued signal is for (`Ipc::signal_queued`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalTarget {
    /// The target process.
    pub pid: Pid,
    /// The target thread, for a thread-directed signal (tkill); None for
    /// one sent to the process.
    pub task: Option<TaskId>,
}

impl SignalTarget {
    /// A signal for process `pid` (any of its threads may take it).
    pub const fn process(pid: Pid) -> Self {
        SignalTarget { pid, task: None }
    }

    /// A signal for thread `task` of process `pid`.
    pub const fn thread(pid: Pid, task: TaskId) -> Self {
        SignalTarget {
            pid,
            task: Some(task),
        }
    }

    fn reaches(&self, reader: &Reader) -> bool {
        reader.pid == self.pid && self.task.is_none_or(|t| t == reader.task)
    }
}

/// A blocked reader: whose pending signals it would take.
struct Reader {
    pid: Pid,
    task: TaskId,
}

impl<R> Payload<R> for Reader {
    fn take_result(&mut self) -> Option<Result<R, Errno>> {
        None
    }
}

struct State {
    readers: WaitQueue<Reader>,
}

/// A signalfd object.
pub struct SignalFd {
    /// Itself, as `SignalWaits` holds it.
    me: Weak<SignalFd>,
    mask: AtomicU64,
    state: Mutex<State>,
    core: FdCore,
}

const COST: usize = core::mem::size_of::<SignalFd>();

impl SignalFd {
    /// signalfd4 with fd -1: a new object, registered with the namespace,
    /// and its first open description (read-write).
    pub fn create<K: Kernel + ?Sized>(
        k: &K,
        mask: SigSet,
        nonblocking: bool,
    ) -> Result<FileRef, Errno> {
        let core = FdCore::new(k, ObjectKind::SignalFd, COST)?;
        let fd = Arc::new_cyclic(|me| SignalFd {
            me: me.clone(),
            mask: AtomicU64::new(mask & !UNCATCHABLE),
            state: Mutex::new(State {
                readers: WaitQueue::new(),
            }),
            core,
        });
        k.ipc().signal_waits.prepare(k.current_pid());
        Ok(OpenFile::new(k, fd, AccessMode::ReadWrite, nonblocking))
    }

    /// signalfd4 on an existing signalfd: replaces the mask.
    pub fn set_mask<K: Kernel + ?Sized>(&self, k: &K, mask: SigSet) {
        self.mask.store(mask & !UNCATCHABLE, Ordering::SeqCst);
        // Signals already pending may now be in the mask.
        self.wake(k);
    }

    /// The mask (without SIGKILL/SIGSTOP).
    pub fn mask(&self) -> SigSet {
        self.mask.load(Ordering::SeqCst)
    }

    /// Puts back a signal whose record could not be copied, and wakes
    /// the signalfds that may report it, as for a newly queued one (for
    /// the caller's process: it was pending for the caller).
    fn restore(&self, k: &dyn Kernel, info: SigInfo) {
        k.restore_signal(info);
        k.ipc()
            .signal_queued(k, SignalTarget::process(k.current_pid()), info.signo);
    }

    /// Wakes every reader and the observers (the mask changed).
    fn wake<K: Kernel + ?Sized>(&self, k: &K) {
        self.state.lock().readers.wake_all(k);
        self.core.pollee.notify(Readiness::IN);
    }

    /// A signal this fd may report was queued for `target`: wakes the
    /// readers that can take it, and the observers. Returns how many
    /// readers woke.
    pub(crate) fn signal_for<K: Kernel + ?Sized>(&self, k: &K, target: SignalTarget) -> usize {
        let woken = self.state.lock().readers.visit(k, |r| {
            if target.reaches(r) {
                Visit::Wake
            } else {
                Visit::Keep
            }
        });
        self.core.pollee.notify(Readiness::IN);
        woken
    }
}

/// Which signalfds a signal queued for each process must visit: those a
/// reader of that process is blocked on, and those it polled while they
/// had observers (a poll sleeping on them, an event queue). Linux keeps
/// the same set as a wait queue per process (`sighand->signalfd_wqh`,
/// which readers and pollers join), so a signal costs what the target's
/// own waiters cost, whatever the other signalfds of the namespace.
///
/// A process enters at its first signalfd (create, or its first blocked
/// read or sleeping poll of one it inherited or was passed) and leaves at
/// `Ipc::process_exit`. Its list holds weak references: an entry ends
/// when its fd dies, when its last reader of that process left and it
/// was not polled, or when a signal walk finds it polled but no longer
/// observed. Walks (`signal_queued`) take the lock once per entry and
/// call nothing with it held; while one is in progress entries keep
/// their index (ended ones stay in place, new ones are appended), as in
/// `Pollee::notify`. Lock order: this table, then a signalfd's pollee
/// (its observer list, to see whether it is still observed).
#[derive(Default)]
pub struct SignalWaits {
    procs: Mutex<Lists>,
}

/// Each process's list, and the number the next new list gets.
#[derive(Default)]
struct Lists {
    by_pid: BTreeMap<Pid, Waits>,
    made: u64,
}

impl Lists {
    /// `pid`'s list, made if missing.
    fn of(&mut self, pid: Pid) -> &mut Waits {
        let made = &mut self.made;
        self.by_pid.entry(pid).or_insert_with(|| {
            *made += 1;
            Waits {
                fds: Vec::new(),
                walkers: 0,
                id: *made,
            }
        })
    }
}

impl core::ops::Deref for Lists {
    type Target = BTreeMap<Pid, Waits>;
    fn deref(&self) -> &Self::Target {
        &self.by_pid
    }
}

impl core::ops::DerefMut for Lists {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.by_pid
    }
}

struct Waits {
    fds: Vec<Interest>,
    /// Walks of `fds` in progress; while nonzero, entries keep their
    /// index.
    walkers: usize,
    /// Which list this is: a pid's list dropped at its exit and made
    /// again for a new process under the same pid is another one, whose
    /// walks a walk of the old one must not end.
    id: u64,
}

struct Interest {
    fd: Weak<SignalFd>,
    /// This process's readers registered on it (blocked or about to).
    readers: usize,
    /// This process polled it while it had observers.
    polled: bool,
}

impl Interest {
    fn ended(&self) -> bool {
        (self.readers == 0 && !self.polled) || self.fd.strong_count() == 0
    }
}

impl Waits {
    /// Drops ended entries, unless a walk relies on the indices. Never
    /// shrinks the list, so a process's next registration allocates
    /// nothing.
    fn prune(&mut self) {
        if self.walkers == 0 {
            self.fds.retain(|i| !i.ended());
        }
    }

    fn find(&mut self, fd: &Weak<SignalFd>) -> Option<&mut Interest> {
        self.fds.iter_mut().find(|i| Weak::ptr_eq(&i.fd, fd))
    }

    /// The entry of `fd`, added if missing.
    fn entry(&mut self, fd: &Weak<SignalFd>) -> &mut Interest {
        self.prune();
        let at = match self.fds.iter().position(|i| Weak::ptr_eq(&i.fd, fd)) {
            Some(at) => at,
            None => {
                self.fds.push(Interest {
                    fd: fd.clone(),
                    readers: 0,
                    polled: false,
                });
                self.fds.len() - 1
            }
        };
        &mut self.fds[at]
    }
}

/// Ends a walk of one process's list even if a waker panics (host
/// tests), so pruning resumes.
struct Walk<'a> {
    waits: &'a SignalWaits,
    pid: Pid,
    /// The list walked (`Waits::id`).
    id: u64,
}

impl Drop for Walk<'_> {
    fn drop(&mut self) {
        let mut procs = self.waits.procs.lock();
        // Not a list made since for a new process under the same pid.
        if let Some(w) = procs.get_mut(&self.pid).filter(|w| w.id == self.id) {
            w.walkers = w.walkers.saturating_sub(1);
            w.prune();
        }
    }
}

/// A reader's registration, for as long as its read may block.
struct ReaderInterest<'a> {
    waits: &'a SignalWaits,
    pid: Pid,
    fd: &'a Weak<SignalFd>,
}

impl Drop for ReaderInterest<'_> {
    fn drop(&mut self) {
        let mut procs = self.waits.procs.lock();
        if let Some(w) = procs.get_mut(&self.pid) {
            if let Some(i) = w.find(self.fd) {
                i.readers = i.readers.saturating_sub(1);
            }
            w.prune();
        }
    }
}

impl SignalWaits {
    /// Makes room for one entry of process `pid`, so that its first
    /// blocked read allocates nothing (signalfd creation calls it for
    /// the creator).
    fn prepare(&self, pid: Pid) {
        let mut procs = self.procs.lock();
        let w = procs.of(pid);
        w.prune();
        w.fds.reserve(1);
    }

    /// Registers a reader of process `pid` on `fd` until the guard drops.
    fn reader<'a>(&'a self, pid: Pid, fd: &'a Weak<SignalFd>) -> ReaderInterest<'a> {
        self.procs.lock().of(pid).entry(fd).readers += 1;
        ReaderInterest {
            waits: self,
            pid,
            fd,
        }
    }

    /// Process `pid` polled `fd`, which has observers: its signals must
    /// reach them.
    fn polled(&self, pid: Pid, fd: &Weak<SignalFd>) {
        let mut procs = self.procs.lock();
        let w = procs.of(pid);
        if let Some(i) = w.find(fd) {
            i.polled = true;
            return;
        }
        w.entry(fd).polled = true;
    }

    /// Entry `at` of `pid`'s list, if it still refers to a live
    /// signalfd, and whether it was polled.
    fn fetch(&self, pid: Pid, id: u64, at: usize) -> Option<(Arc<SignalFd>, bool)> {
        let procs = self.procs.lock();
        let i = procs.get(&pid).filter(|w| w.id == id)?.fds.get(at)?;
        Some((i.fd.upgrade()?, i.polled))
    }

    /// A walk found `fd` (entry `at` of `pid`) polled: if nothing
    /// observes it any more, the poll is over and the entry ends unless a
    /// reader holds it. Checked under the table's lock, so a poller that
    /// registers its observer and then polls (`SignalFd::poll`) is either
    /// seen here or re-marks the entry after.
    fn end_poll_if_unobserved(&self, pid: Pid, at: usize, fd: &SignalFd) {
        let mut procs = self.procs.lock();
        let Some(i) = procs.get_mut(&pid).and_then(|w| w.fds.get_mut(at)) else {
            return;
        };
        if i.polled && Weak::ptr_eq(&i.fd, &fd.me) && !fd.core.pollee.is_observed() {
            i.polled = false;
        }
    }

    /// The walk of `Ipc::signal_queued`: every signalfd of `target`'s
    /// process whose mask holds `bit`. Allocates nothing.
    pub(crate) fn signal_queued<K: Kernel + ?Sized>(
        &self,
        k: &K,
        target: SignalTarget,
        bit: SigSet,
    ) -> usize {
        let pid = target.pid;
        let (len, id) = {
            let mut procs = self.procs.lock();
            let Some(w) = procs.get_mut(&pid) else {
                return 0;
            };
            if w.fds.is_empty() {
                return 0;
            }
            w.walkers += 1;
            (w.fds.len(), w.id)
        };
        let _walk = Walk {
            waits: self,
            pid,
            id,
        };
        let mut woken = 0;
        for at in 0..len {
            let Some((fd, polled)) = self.fetch(pid, id, at) else {
                continue;
            };
            if fd.mask() & bit != 0 {
                woken += fd.signal_for(k, target);
            }
            if polled {
                self.end_poll_if_unobserved(pid, at, &fd);
            }
        }
        woken
    }

    /// Process `pid` has exited (or its pid is given to a new process):
    /// its list goes.
    pub(crate) fn exit(&self, pid: Pid) {
        let gone = self.procs.lock().remove(&pid);
        drop(gone);
    }

    /// Processes with a list (tests: it returns to zero at exit).
    pub fn processes(&self) -> usize {
        self.procs.lock().len()
    }

    /// Readers registered, over every process (none when no read is in
    /// flight).
    pub fn readers(&self) -> usize {
        self.procs
            .lock()
            .values()
            .flat_map(|w| w.fds.iter())
            .filter(|i| !i.ended())
            .map(|i| i.readers)
            .sum()
    }

    /// Entries that a signal walk would visit, over every process.
    pub fn live(&self) -> usize {
        self.procs
            .lock()
            .values()
            .flat_map(|w| w.fds.iter())
            .filter(|i| !i.ended())
            .count()
    }
}

/// Encodes one `struct signalfd_siginfo` (Linux's layout, docs/abi.md).
pub fn encode(info: &SigInfo) -> [u8; SIGINFO_SIZE] {
    let mut out = [0u8; SIGINFO_SIZE];
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &info.signo.to_ne_bytes());
    put(4, &info.errno.to_ne_bytes());
    put(8, &info.code.to_ne_bytes());
    put(12, &info.pid.to_ne_bytes());
    put(16, &info.uid.to_ne_bytes());
    put(24, &info.tid.to_ne_bytes());
    put(32, &info.overrun.to_ne_bytes());
    put(40, &info.status.to_ne_bytes());
    put(44, &info.int.to_ne_bytes());
    put(48, &info.ptr.to_ne_bytes());
    put(72, &info.addr.to_ne_bytes());
    out
}

impl FileObject for SignalFd {
    fn kind(&self) -> FileKind {
        FileKind::SignalFd
    }
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn read(&self, k: &dyn Kernel, file: &OpenFile, buf: UserSlice) -> IoResult {
        let room = buf.len() / SIGINFO_SIZE;
        if room == 0 {
            return err(EINVAL);
        }
        // A buffer bad from the start is EFAULT before the read blocks.
        buf.prefix(SIGINFO_SIZE).probe_writable(k)?;
        let first = match k.take_signal(self.mask()) {
            Some(info) => info,
            None if file.nonblocking() => return err(EAGAIN),
            None => {
                // Registered before the check under the lock: a signal
                // queued after it visits this fd (`SignalWaits`).
                let pid = k.current_pid();
                let _interest = k.ipc().signal_waits.reader(pid, &self.me);
                wait(
                    k,
                    &self.state,
                    Blocking::Forever,
                    |s| &mut s.readers,
                    |_| match k.take_signal(self.mask()) {
                        Some(info) => Step::Done(Ok(info)),
                        None => Step::Block(Reader {
                            pid,
                            task: k.current_task(),
                        }),
                    },
                )?
            }
        };
        // No lock is held from here on: each record is copied after its
        // take, and a record whose copy faults is made pending again, so
        // nothing is lost. Records already copied are returned (Linux
        // returns the partial count too, but drops the failed record).
        if let Err(fault) = buf.prefix(SIGINFO_SIZE).write_from(k, &encode(&first)) {
            self.restore(k, first);
            return Err(fault);
        }
        let mut written = 1;
        while written < room {
            let Some(next) = k.take_signal(self.mask()) else {
                break;
            };
            if buf
                .sub(written * SIGINFO_SIZE, SIGINFO_SIZE)
                .write_from(k, &encode(&next))
                .is_err()
            {
                self.restore(k, next);
                break;
            }
            written += 1;
        }
        Ok(written * SIGINFO_SIZE)
    }

    fn poll(&self, k: &dyn Kernel) -> Readiness {
        // Someone observes it (a poll about to sleep, an event queue):
        // the caller's signals must reach them from now on. Before the
        // check, so a signal queued after it is not missed.
        if self.core.pollee.is_observed() {
            k.ipc().signal_waits.polled(k.current_pid(), &self.me);
        }
        if k.pending_signals() & self.mask() != 0 {
            Readiness::IN
        } else {
            Readiness::empty()
        }
    }

    fn pollee(&self) -> Option<&Pollee> {
        Some(&self.core.pollee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_matches_linux_offsets() {
        let info = SigInfo {
            signo: 10,
            errno: 1,
            code: -1,
            pid: 42,
            uid: 1000,
            tid: 7,
            overrun: 3,
            status: 9,
            int: -5,
            ptr: 0xdead_beef,
            addr: 0x1234,
        };
        let r = encode(&info);
        let u32_at = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
        let u64_at = |o: usize| u64::from_ne_bytes(r[o..o + 8].try_into().unwrap());
        assert_eq!(u32_at(0), 10);
        assert_eq!(u32_at(4), 1);
        assert_eq!(u32_at(8) as i32, -1);
        assert_eq!(u32_at(12), 42);
        assert_eq!(u32_at(16), 1000);
        assert_eq!(u32_at(24), 7);
        assert_eq!(u32_at(32), 3);
        assert_eq!(u32_at(40), 9);
        assert_eq!(u32_at(44) as i32, -5);
        assert_eq!(u64_at(48), 0xdead_beef);
        assert_eq!(u64_at(72), 0x1234);
        assert!(r[100..].iter().all(|&b| b == 0), "padding is zero");
    }

    /// A walk of a list dropped at its process's exit ends late, after a
    /// new process under the same pid made a list and began a walk of
    /// it: the late end must leave the new walk's count and entries
    /// alone (an early prune would shift the indices under it).
    #[test]
    fn a_late_walk_of_an_exited_list_leaves_the_new_walk_alone() {
        let waits = SignalWaits::default();
        let pid: Pid = 5;
        let begin_walk = |waits: &SignalWaits| {
            let mut procs = waits.procs.lock();
            let w = procs.of(pid);
            // An ended entry (its signalfd is gone): a prune drops it.
            w.fds.push(Interest {
                fd: Weak::new(),
                readers: 0,
                polled: false,
            });
            w.walkers += 1;
            w.id
        };
        let old_id = begin_walk(&waits);
        let old_walk = Walk {
            waits: &waits,
            pid,
            id: old_id,
        };
        waits.exit(pid);
        let new_id = begin_walk(&waits);
        assert_ne!(old_id, new_id, "a list made again is another list");

        drop(old_walk);
        {
            let procs = waits.procs.lock();
            let w = procs.get(&pid).expect("the new process's list");
            assert_eq!(w.walkers, 1, "the new walk is still in progress");
            assert_eq!(w.fds.len(), 1, "nothing pruned under the new walk");
        }

        drop(Walk {
            waits: &waits,
            pid,
            id: new_id,
        });
        let procs = waits.procs.lock();
        let w = procs.get(&pid).expect("the new process's list");
        assert_eq!(w.walkers, 0);
        assert!(w.fds.is_empty(), "the end of the last walk prunes");
    }
}
