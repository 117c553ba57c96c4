//! signalfd: pending signals of the reader, read as 128-byte records.
//!
//! The object holds only a mask; the signals are the host's (`Kernel::
//! take_signal`). A read takes as many masked signals as whole records fit
//! and blocks while none is pending. Readers sleep on the fd's own queue,
//! each node naming its task and process; the host calls
//! `Ipc::signal_queued` with the signal's target after queueing it, which
//! wakes, on every signalfd whose mask holds the signal, only the readers
//! that can take it: those of the target process (for a signal directed
//! at one thread, that thread), as Linux wakes only the target's
//! signalfd waiters. Observers (poll, event queues) are told on every
//! such signalfd: they re-check readiness for their own caller. The
//! reader checks for a signal and queues itself under the same lock that
//! wake takes, so no signal's wake-up is lost.

use alloc::sync::Arc;
use core::any::Any;

use crate::errno::{err, Errno, EINVAL};
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
        let fd = Arc::new(SignalFd {
            mask: AtomicU64::new(mask & !UNCATCHABLE),
            state: Mutex::new(State {
                readers: WaitQueue::new(),
            }),
            core,
        });
        k.ipc().signalfds.register(&fd);
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
        let first = wait(
            k,
            &self.state,
            Blocking::new(file.nonblocking(), None),
            |s| &mut s.readers,
            |_| match k.take_signal(self.mask()) {
                Some(info) => Step::Done(Ok(info)),
                None => Step::Block(Reader {
                    pid: k.current_pid(),
                    task: k.current_task(),
                }),
            },
        )?;
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
}
