//! The testbed's `redbear_ipc::Kernel` and the route of redbear-ipc's
//! syscall block (4000..) to `redbear_ipc::syscall::dispatch`.
//!
//! Tasks are the scheduler's tasks, processes and credentials the
//! `process` table's, user memory goes through the page tables
//! (`usermem`), park/unpark are the scheduler's (permit semantics), and the
//! clocks are the testbed clock (CLOCK_REALTIME = monotonic + an offset
//! that CLOCK_SETTIME moves). `send_signal` queues through
//! `process::deliver`, and `process.rs` calls `Ipc::process_exit` when a
//! process's last thread has ended, and FORK calls `Ipc::process_fork`
//! before the child runs (SPAWN_PROCESS starts a program afresh and calls
//! neither at its start).
//!
//! `IPC_PROBE` (a base call) attaches a test-only `ProcessState` and
//! reports its settlements, so a program can watch the exit hook work.

use alloc::collections::BTreeMap;

use redbear_ipc::errno::{Errno, EFAULT};
use redbear_ipc::ipc::common::limits::{Limits, Outstanding, Resource};
use redbear_ipc::ipc::common::process::ProcessState;
use redbear_ipc::ipc::fd::signalfd::SignalTarget;
use redbear_ipc::kernel::{
    ClockId, Credentials, Deadline, FdPlacement, FileRef, Kernel, ParkOutcome, Pid, SharedMemKey,
    SharedPage, SharedPageRef, SigInfo, SigSet, TaskId, UserFault,
};
use redbear_ipc::Ipc;
use spin::{Mutex, Once};
use testbed_abi::errno::{EBADF, EINVAL, ESRCH};

use crate::arch::AddressSpace;
use crate::{clock, process, sched, usermem};

pub struct TestbedKernel {
    ipc: Ipc,
}

/// A named semaphore's page: one frame of `process::SEM_PAGES`, reached by
/// the kernel through the identity map; its key is the physical address,
/// which is what `shared_key` gives for it in every process.
struct SemPage {
    pa: usize,
}

impl SemPage {
    fn word(&self, index: usize) -> Option<&core::sync::atomic::AtomicU32> {
        // SAFETY: the frame lives while this handle holds its reference
        // (`process::sem_page_put` in drop); the kernel reaches all RAM at
        // VA == PA, and words 0..4 are aligned and inside the frame.
        (index < 4)
            .then(|| unsafe { &*((self.pa + 4 * index) as *const core::sync::atomic::AtomicU32) })
    }
}

impl SharedPage for SemPage {
    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
    fn key(&self) -> SharedMemKey {
        self.pa as u64
    }
    fn load(&self, index: usize) -> Option<u32> {
        self.word(index)
            .map(|w| w.load(core::sync::atomic::Ordering::SeqCst))
    }
    fn compare_exchange(&self, index: usize, old: u32, new: u32) -> Option<u32> {
        use core::sync::atomic::Ordering::SeqCst;
        self.word(index)
            .map(|w| match w.compare_exchange(old, new, SeqCst, SeqCst) {
                Ok(v) | Err(v) => v,
            })
    }
}

impl Drop for SemPage {
    fn drop(&mut self) {
        process::sem_page_put(self.pa);
    }
}

fn sem_page(page: &SharedPageRef) -> Result<&SemPage, Errno> {
    page.as_any()
        .downcast_ref::<SemPage>()
        .ok_or(Errno::new(redbear_ipc::errno::EINVAL))
}

static KERNEL: Once<TestbedKernel> = Once::new();

pub fn kernel() -> &'static TestbedKernel {
    KERNEL.call_once(|| {
        let mut limits = Limits::default();
        limits.per_user_amounts[Resource::MqBytes as usize] = crate::knobs::MQ_BYTES;
        TestbedKernel {
            ipc: Ipc::new(limits),
        }
    })
}

/// Runs redbear-ipc syscall `nr`; the result is the value or `-errno`.
pub fn dispatch(nr: usize, args: [usize; 6]) -> usize {
    redbear_ipc::syscall::dispatch_raw(kernel(), nr, args)
}

/// Host hook: a signal was queued for process `pid` (called without
/// process locks held). The testbed's signals are process-directed.
pub fn signal_queued(pid: Pid, signo: u32) {
    let k = kernel();
    k.ipc.signal_queued(k, SignalTarget::process(pid), signo);
}

/// Host hook: process `pid` has ended (its last thread is gone).
pub fn process_exit(pid: Pid) {
    let k = kernel();
    k.ipc.process_exit(k, pid);
}

/// Host hook: `child` was forked from `parent` (FORK, before the child
/// runs).
pub fn process_fork(parent: Pid, child: Pid) {
    let k = kernel();
    k.ipc.process_fork(k, parent, child);
}

/// The test-only per-process state behind IPC_PROBE: counts the threads
/// that attached it; its exit records the settlement.
struct ExitProbe {
    attached: core::sync::atomic::AtomicUsize,
}

/// Settlements by pid: (times settled, threads that had attached).
static SETTLED: Mutex<BTreeMap<Pid, (usize, usize)>> = Mutex::new(BTreeMap::new());

/// A forked child's probe starts at this count, so the child can tell an
/// inherited probe (FORK ran `Ipc::process_fork`) from a fresh one.
const INHERITED: usize = 100;

impl ProcessState for ExitProbe {
    fn fork(&self, _: &dyn Kernel, _child: Pid) -> Option<alloc::sync::Arc<dyn ProcessState>> {
        Some(alloc::sync::Arc::new(ExitProbe {
            attached: core::sync::atomic::AtomicUsize::new(INHERITED),
        }))
    }

    fn exit(&self, _: &dyn Kernel, pid: Pid) {
        let attached = self.attached.load(core::sync::atomic::Ordering::SeqCst);
        let mut settled = SETTLED.lock();
        let entry = settled.entry(pid).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = attached;
    }
}

/// IPC_PROBE(op, a, b): op 0 attaches the probe to the caller's process
/// and returns how many of its threads have (one state per process; a
/// forked child inherits its parent's probe with the count at 100);
/// op 1 returns how often process `a`'s probe settled, times 1000, plus
/// the threads that had attached; op 2 sends signal `a` with sigval `b`
/// to the caller's parent through `Kernel::send_signal` (SI_MESGQ, the
/// caller's pid and uid). A settled pid's record is consumed by op 1.
pub fn probe(op: usize, a: usize, b: usize) -> Result<usize, isize> {
    let k = kernel();
    match op {
        0 => {
            let pid = k.current_pid();
            let state = k.ipc.processes.of(pid).state(|| ExitProbe {
                attached: core::sync::atomic::AtomicUsize::new(0),
            });
            Ok(state
                .attached
                .fetch_add(1, core::sync::atomic::Ordering::SeqCst)
                + 1)
        }
        1 => {
            let pid = Pid::try_from(a).map_err(|_| EINVAL)?;
            let (times, threads) = SETTLED.lock().remove(&pid).unwrap_or((0, 0));
            Ok(times * 1000 + threads)
        }
        2 => {
            let signo = u32::try_from(a).map_err(|_| EINVAL)?;
            let me = k.current_pid();
            let (parent, uid) = process::with_current(|p| (p.ppid, p.uid)).ok_or(ESRCH)?;
            let info = SigInfo::mesgq(signo, b as u64, me, uid);
            k.send_signal(parent, info)
                .map(|_| 0)
                .map_err(|e| e.errno as isize)
        }
        _ => Err(EINVAL),
    }
}

/// Host hook: CLOCK_REALTIME was set.
pub fn clock_was_set() {
    let k = kernel();
    k.ipc.clock_was_set(k);
}

/// Host hook, from the timer interrupt: fire the timerfds that are due.
/// A busy lock (the tick came from the idle loop or user mode, so none
/// should be) leaves the work for the next tick.
pub fn timer_tick() {
    let k = kernel();
    let _ = k.ipc.try_expire_timers(k);
}

/// Removes the SysV objects a program left (they outlive processes, as
/// on Linux), before the runner compares the accounting.
pub fn remove_sysv_objects() {
    let k = kernel();
    k.ipc.sysv.remove_all(k);
}

/// What the namespace's accounting holds now: the runner compares it
/// before and after each program (every program's objects are refunded
/// by its teardown).
pub fn accounting() -> Outstanding {
    kernel().ipc.acct.outstanding()
}

fn errno_of(code: isize) -> Errno {
    Errno::new(code.unsigned_abs() as i32)
}

fn with_aspace<T>(
    f: impl FnOnce(&AddressSpace) -> Result<T, usermem::Fault>,
) -> Result<T, UserFault> {
    process::with_current(|p| p.aspace.as_ref().map(f))
        .flatten()
        .ok_or(UserFault)?
        .map_err(|_| UserFault)
}

impl Kernel for TestbedKernel {
    fn ipc(&self) -> &Ipc {
        &self.ipc
    }

    fn current_task(&self) -> TaskId {
        sched::current()
    }

    fn current_pid(&self) -> Pid {
        sched::current_pid()
    }

    fn credentials(&self) -> Credentials {
        process::with_current(|p| Credentials {
            uid: p.uid,
            gid: p.gid,
            euid: p.euid,
            egid: p.egid,
            groups: p.groups,
        })
        // No process (scheduler context): the least privileged ids.
        .unwrap_or(Credentials::new(65534, 65534))
    }

    fn umask(&self) -> u32 {
        process::with_current(|p| p.umask).unwrap_or(process::DEFAULT_UMASK)
    }

    fn address_space(&self) -> u64 {
        process::with_current(|p| p.aspace.as_ref().map(|a| a.id()))
            .flatten()
            .unwrap_or(0)
    }

    fn shared_key(&self, uaddr: usize) -> Result<SharedMemKey, Errno> {
        process::with_current(|p| p.aspace.as_ref().and_then(|a| a.translate(uaddr, false)))
            .flatten()
            .map(|pa| pa as u64)
            .ok_or(Errno::new(EFAULT))
    }

    fn now(&self, clock_id: ClockId) -> u64 {
        match clock_id {
            ClockId::Realtime => clock::realtime_now(),
            ClockId::Monotonic | ClockId::Boottime => clock::now(),
        }
    }

    fn park(&self, deadline: Option<Deadline>) -> ParkOutcome {
        let until = deadline.map(|d| clock::Deadline {
            realtime: d.clock == ClockId::Realtime,
            at_ns: d.at_ns,
        });
        match sched::park_until(sched::Channel::Ipc, until) {
            sched::Wake::Unparked => ParkOutcome::Unparked,
            sched::Wake::TimedOut => ParkOutcome::TimedOut,
            sched::Wake::Interrupted => ParkOutcome::Interrupted,
        }
    }

    fn unpark(&self, task: TaskId) {
        sched::unpark(task);
    }

    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        with_aspace(|a| usermem::read(a, src, dst))
    }

    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        with_aspace(|a| usermem::write(a, dst, src))
    }

    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault> {
        with_aspace(|a| usermem::load_u32(a, uaddr))
    }

    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        with_aspace(|a| usermem::cmpxchg_u32(a, uaddr, old, new))
    }

    fn install_fd(
        &self,
        file: FileRef,
        placement: FdPlacement,
        cloexec: bool,
    ) -> Result<usize, Errno> {
        process::with_current(|p| p.fds.install(file, placement, cloexec))
            .unwrap_or(Err(ESRCH))
            .map_err(errno_of)
    }

    fn get_fd(&self, fd: usize) -> Result<FileRef, Errno> {
        process::with_current(|p| p.fds.get(fd))
            .unwrap_or(Err(EBADF))
            .map_err(errno_of)
    }

    fn take_signal(&self, mask: SigSet) -> Option<SigInfo> {
        process::take_signal(mask)
    }

    fn restore_signal(&self, info: SigInfo) {
        process::restore_signal(info);
    }

    fn pending_signals(&self) -> SigSet {
        process::with_current(|p| p.sig.pending()).unwrap_or(0)
    }

    fn send_signal(&self, pid: Pid, info: SigInfo) -> Result<(), Errno> {
        process::deliver(pid, info).map_err(errno_of)
    }

    fn shared_page_alloc(&self, init: &[u8; 16]) -> Result<SharedPageRef, Errno> {
        let pa = process::sem_page_alloc(init).ok_or(Errno::new(redbear_ipc::errno::ENOMEM))?;
        Ok(alloc::sync::Arc::new(SemPage { pa }))
    }

    fn shared_page_map(&self, page: &SharedPageRef) -> Result<usize, Errno> {
        process::sem_page_map(sem_page(page)?.pa).map_err(errno_of)
    }

    fn shared_page_unmap(&self, page: &SharedPageRef, uaddr: usize) -> Result<(), Errno> {
        process::sem_page_unmap(sem_page(page)?.pa, uaddr).map_err(errno_of)
    }
}
