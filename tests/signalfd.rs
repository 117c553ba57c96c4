//! signalfd through `dispatch` and the hosted kernel's signals. Cases
//! re-expressed from LTP's signalfd01/signalfd4_01/02 and gVisor's signalfd
//! tests.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{sys, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::ipc::fd::signalfd::{SignalFd, SignalTarget, SIGINFO_SIZE};
use redbear_ipc::kernel::{sig_bit, Credentials, Kernel, SigInfo};
use redbear_ipc::syscall::abi::{FdFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const NB: usize = FdFlags::NONBLOCK.bits();
const SIGUSR1: u32 = 10;
const SIGUSR2: u32 = 12;
const SIGRT1: u32 = 35;
const PARK: Duration = Duration::from_secs(10);

fn mask_at(k: &HostedKernel, mask: u64) -> usize {
    let at = k.alloc_private(8);
    k.write_user(at, &mask.to_ne_bytes()).unwrap();
    at
}

fn signalfd(e: &Env, fd: usize, mask: u64, flags: usize) -> Result<usize, i32> {
    let m = mask_at(&e.k, mask);
    sys(&e.k, SYS_RB_SIGNALFD4, &[fd, m, 8, flags, FD_SLOT_ANY])
}

/// The fields of one record the tests compare: (signo, code, pid, uid, int).
type Record = (u32, i32, u32, u32, i32);

/// Reads into a buffer of `records` records; returns each record read.
fn read_records(k: &HostedKernel, fd: usize, records: usize) -> Result<Vec<Record>, i32> {
    let len = records * SIGINFO_SIZE;
    let b = k.alloc_private(len.max(1));
    let n = k.read(fd, b, len).map_err(|e| e.errno)?;
    assert_eq!(n % SIGINFO_SIZE, 0);
    let mut raw = vec![0u8; n];
    k.read_user(b, &mut raw).unwrap();
    Ok(raw
        .chunks(SIGINFO_SIZE)
        .map(|r| {
            let w = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
            (w(0), w(8) as i32, w(12), w(16), w(44) as i32)
        })
        .collect())
}

#[test]
fn reads_a_pending_masked_signal_with_its_sender() {
    let e = Env::new(ClockMode::Virtual);
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    assert_eq!(read_records(&e.k, fd, 1), Err(EAGAIN));
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(
        read_records(&e.k, fd, 1),
        Ok(vec![(SIGUSR1, 0, e.proc.pid(), 1000, 0)])
    );
    assert_eq!(e.k.pending_signals(), 0, "the read consumed it");
}

#[test]
fn buffer_smaller_than_a_record_is_einval() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    let b = e.k.alloc_private(128);
    assert_eq!(e.k.read(fd, b, 127).map_err(|e| e.errno), Err(EINVAL));
    assert_eq!(e.k.read(fd, 0, 128).map_err(|e| e.errno), Err(EFAULT));
    assert_eq!(
        e.k.pending_signals(),
        sig_bit(SIGUSR1),
        "nothing consumed by failed reads"
    );
}

#[test]
fn standard_signals_coalesce_realtime_ones_queue_with_values() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1) | sig_bit(SIGRT1), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    e.k.send_signal(&e.proc, SIGUSR1);
    queue_rt(&e, 7);
    queue_rt(&e, 8);
    let got = read_records(&e.k, fd, 8).unwrap();
    assert_eq!(
        got,
        vec![
            (SIGUSR1, 0, e.proc.pid(), 1000, 0),
            (SIGRT1, -1, 1, 2, 7),
            (SIGRT1, -1, 1, 2, 8)
        ]
    );
}

#[test]
fn only_whole_records_that_fit_are_read() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1) | sig_bit(SIGUSR2), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    e.k.send_signal(&e.proc, SIGUSR2);
    let b = e.k.alloc_private(300);
    assert_eq!(e.k.read(fd, b, 200).map_err(|e| e.errno), Ok(128));
    assert_eq!(e.k.pending_signals(), sig_bit(SIGUSR2));
}

#[test]
fn mask_is_replaced_on_an_existing_fd_and_other_fds_are_rejected() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR2);
    assert_eq!(read_records(&e.k, fd, 1), Err(EAGAIN));
    assert_eq!(
        signalfd(&e, fd, sig_bit(SIGUSR2) | sig_bit(9) | sig_bit(19), 0),
        Ok(fd)
    );
    let obj = e.k.get_fd(fd).unwrap();
    let sfd = obj.as_any().downcast_ref::<SignalFd>().unwrap();
    assert_eq!(
        sfd.mask(),
        sig_bit(SIGUSR2),
        "SIGKILL and SIGSTOP silently dropped"
    );
    assert_eq!(read_records(&e.k, fd, 1).unwrap()[0].0, SIGUSR2);
    let efd = sys(&e.k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]).unwrap();
    assert_eq!(signalfd(&e, efd, sig_bit(SIGUSR1), 0), Err(EINVAL));
    assert_eq!(signalfd(&e, 777, sig_bit(SIGUSR1), 0), Err(EBADF));
}

#[test]
fn bad_sizes_flags_and_pointers() {
    let e = Env::new(ClockMode::Virtual);
    let m = mask_at(&e.k, sig_bit(SIGUSR1));
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, m, 4, 0, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, m, 16, 0, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, m, 8, 1 << 4, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(
            &e.k,
            SYS_RB_SIGNALFD4,
            &[FD_NEW, m, 8, FdFlags::SEMAPHORE.bits(), FD_SLOT_ANY]
        ),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, 0, 8, 0, FD_SLOT_ANY]),
        Err(EFAULT)
    );
    assert_eq!(e.k.ipc().acct.users_charged(), 0);
    assert_eq!(e.k.ipc().signal_waits.live(), 0);
}

#[test]
fn blocking_read_is_woken_by_a_signal_sent_later() {
    let e = Env::new(ClockMode::Real);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), 0).unwrap();
    let k = e.k.clone();
    let reader = e.k.spawn_task(&e.proc, move || {
        k.current().set_mask(sig_bit(SIGUSR1));
        read_records(&k, fd, 4)
    });
    assert!(e.k.wait_parked(1, PARK));
    // The main task does not block SIGUSR1, but it is not waiting: the
    // signal stays pending for the process and the signalfd takes it.
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(reader.join().unwrap().unwrap()[0].0, SIGUSR1);
}

#[test]
fn blocked_read_is_interrupted_by_an_unmasked_signal() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), 0).unwrap();
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let k = e.k.clone();
    let reader = e.k.spawn_task(&e.proc, move || {
        k.current().set_mask(sig_bit(SIGUSR1));
        read_records(&k, fd, 1)
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, SIGUSR2);
    assert_eq!(reader.join().unwrap(), Err(EINTR));
}

#[test]
fn poll_is_readable_while_a_masked_signal_is_pending() {
    let e = Env::new(ClockMode::Real);
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    assert_eq!(
        e.k.poll(&[(fd, Readiness::IN)], Some(Duration::ZERO))
            .unwrap(),
        vec![Readiness::empty()]
    );
    let k = e.k.clone();
    let poller = e.k.spawn_task(&e.proc, move || {
        k.current().set_mask(sig_bit(SIGUSR1));
        k.poll(&[(fd, Readiness::IN)], None)
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
    assert_eq!(read_records(&e.k, fd, 1).unwrap().len(), 1);
    assert_eq!(
        e.k.poll(&[(fd, Readiness::IN)], Some(Duration::ZERO))
            .unwrap(),
        vec![Readiness::empty()]
    );
    e.k.close(fd).unwrap();
    assert_eq!(e.k.ipc().signal_waits.live(), 0);
}

/// Makes every write of a record (non-zero bytes) at `at` fault, as if the
/// page had been unmapped by another thread after any probe of it.
fn fault_records_at(k: &HostedKernel, at: usize) {
    k.memory().fail_writes(Some(Arc::new(move |dst, bytes| {
        dst == at && bytes.iter().any(|&b| b != 0)
    })));
}

fn queue_rt(e: &Env, v: i32) {
    let info = SigInfo {
        signo: SIGRT1,
        code: -1,
        pid: 1,
        uid: 2,
        int: v,
        ..SigInfo::default()
    };
    assert!(e.k.queue_signal(&e.proc, info));
}

#[test]
fn a_later_record_that_faults_gives_the_partial_count_and_stays_pending() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1) | sig_bit(SIGUSR2), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    e.k.send_signal(&e.proc, SIGUSR2);
    let b = e.k.alloc_private(2 * SIGINFO_SIZE);
    fault_records_at(&e.k, b + SIGINFO_SIZE);
    assert_eq!(
        e.k.read(fd, b, 2 * SIGINFO_SIZE).map_err(|e| e.errno),
        Ok(128)
    );
    let mut signo = [0u8; 4];
    e.k.read_user(b, &mut signo).unwrap();
    assert_eq!(u32::from_ne_bytes(signo), SIGUSR1);
    assert_eq!(e.k.pending_signals(), sig_bit(SIGUSR2), "not lost");
    e.k.memory().fail_writes(None);
    let got = read_records(&e.k, fd, 2).unwrap();
    assert_eq!(got, vec![(SIGUSR2, 0, e.proc.pid(), 1000, 0)]);
}

#[test]
fn a_first_record_that_faults_is_efault_and_stays_pending() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    let b = e.k.alloc_private(SIGINFO_SIZE);
    fault_records_at(&e.k, b);
    assert_eq!(
        e.k.read(fd, b, SIGINFO_SIZE).map_err(|e| e.errno),
        Err(EFAULT)
    );
    assert_eq!(e.k.pending_signals(), sig_bit(SIGUSR1), "not lost");
    e.k.memory().fail_writes(None);
    assert_eq!(e.k.read(fd, b, SIGINFO_SIZE).map_err(|e| e.errno), Ok(128));
    assert_eq!(e.k.pending_signals(), 0);
}

#[test]
fn a_realtime_record_that_faults_goes_back_ahead_of_its_queue() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGRT1), NB).unwrap();
    for v in [1, 2, 3] {
        queue_rt(&e, v);
    }
    let b = e.k.alloc_private(2 * SIGINFO_SIZE);
    fault_records_at(&e.k, b + SIGINFO_SIZE);
    assert_eq!(
        e.k.read(fd, b, 2 * SIGINFO_SIZE).map_err(|e| e.errno),
        Ok(128)
    );
    e.k.memory().fail_writes(None);
    let values: Vec<i32> = read_records(&e.k, fd, 8)
        .unwrap()
        .iter()
        .map(|r| r.4)
        .collect();
    assert_eq!(values, vec![2, 3], "the failed record first, in order");
}

#[test]
fn a_second_record_straddling_into_unmapped_memory_is_not_read() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1) | sig_bit(SIGUSR2), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    e.k.send_signal(&e.proc, SIGUSR2);
    // One whole record and half of the next are mapped.
    let b = e.k.alloc_private(SIGINFO_SIZE + SIGINFO_SIZE / 2);
    assert_eq!(
        e.k.read(fd, b, 2 * SIGINFO_SIZE).map_err(|e| e.errno),
        Ok(128)
    );
    assert_eq!(e.k.pending_signals(), sig_bit(SIGUSR2), "not lost");
}

#[test]
fn a_poller_of_another_signalfd_is_woken_by_a_restored_signal() {
    let e = Env::new(ClockMode::Real);
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    let other = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    e.k.send_signal(&e.proc, SIGUSR1);
    let b = e.k.alloc_private(SIGINFO_SIZE);
    // The copy of the taken record faults, but only once a poller of the
    // other fd sleeps: the signal is taken then, so only its restore can
    // wake that poller.
    let poller = Arc::new(Mutex::new(None));
    let (k, proc, slot) = (Arc::downgrade(&e.k), e.proc.clone(), poller.clone());
    e.k.memory().fail_writes(Some(Arc::new(move |dst, bytes| {
        if dst != b || bytes.iter().all(|&x| x == 0) {
            return false;
        }
        let Some(k) = k.upgrade() else { return true };
        let k2 = k.clone();
        *slot.lock().unwrap() = Some(k.spawn_task(&proc, move || {
            k2.current().set_mask(sig_bit(SIGUSR1));
            k2.poll(&[(other, Readiness::IN)], Some(PARK))
        }));
        assert!(k.wait_parked(1, PARK));
        true
    })));
    assert_eq!(
        e.k.read(fd, b, SIGINFO_SIZE).map_err(|e| e.errno),
        Err(EFAULT)
    );
    e.k.memory().fail_writes(None);
    let poller = poller.lock().unwrap().take().expect("the poller ran");
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
    assert_eq!(e.k.pending_signals(), sig_bit(SIGUSR1), "not lost");
}

/// A reader that blocks on `fd` (or on a signalfd of its own for `bit`)
/// in process `p`, blocking `bit`: its task, and the read at the join.
fn spawn_reader(
    k: &Arc<HostedKernel>,
    p: &Arc<redbear_ipc::hosted::Process>,
    bit: u64,
    fd: Option<usize>,
) -> (
    Arc<redbear_ipc::hosted::Task>,
    std::thread::JoinHandle<Result<Vec<Record>, i32>>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let kk = k.clone();
    let reader = k.spawn_task(p, move || {
        kk.current().set_mask(bit);
        let fd = fd.unwrap_or_else(|| {
            let m = mask_at(&kk, bit);
            sys(&kk, SYS_RB_SIGNALFD4, &[FD_NEW, m, 8, 0, FD_SLOT_ANY]).unwrap()
        });
        tx.send(kk.current()).unwrap();
        read_records(&kk, fd, 1)
    });
    (rx.recv().unwrap(), reader)
}

#[test]
fn a_signal_wakes_only_the_readers_of_its_target_process() {
    let e = Env::new(ClockMode::Virtual);
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let mine = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap();
    let other = e.k.spawn_process(Credentials::new(1001, 1001));
    let (task, reader) = spawn_reader(&e.k, &other, sig_bit(SIGUSR1), None);
    assert!(e.k.wait_parked(1, PARK));
    let before = task.unparks();
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(
        task.unparks(),
        before,
        "a reader in another process cannot take the signal: not woken"
    );
    assert_eq!(read_records(&e.k, mine, 1).unwrap()[0].0, SIGUSR1);
    e.k.send_signal(&other, SIGUSR1);
    assert_eq!(reader.join().unwrap().unwrap()[0].0, SIGUSR1);
    other.fds().clear();
}

#[test]
fn a_thread_directed_signal_wakes_only_that_threads_reader() {
    let e = Env::new(ClockMode::Virtual);
    e.guard.task().set_mask(sig_bit(SIGRT1));
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGRT1), 0).unwrap();
    let (a, ra) = spawn_reader(&e.k, &e.proc, sig_bit(SIGRT1), Some(fd));
    let (b, rb) = spawn_reader(&e.k, &e.proc, sig_bit(SIGRT1), Some(fd));
    assert!(e.k.wait_parked(2, PARK));
    let (a0, b0) = (a.unparks(), b.unparks());
    let pid = e.proc.pid();
    let woken =
        e.k.ipc()
            .signal_queued(&*e.k, SignalTarget::thread(pid, a.id()), SIGRT1);
    assert_eq!(woken, 1);
    assert!(a.unparks() > a0, "the target thread's reader woke");
    assert_eq!(b.unparks(), b0, "its sibling's reader did not");
    assert!(e.k.wait_parked(2, PARK), "nothing pending: back to sleep");
    // Process-directed signals reach both.
    e.k.send_signal(&e.proc, SIGRT1);
    e.k.send_signal(&e.proc, SIGRT1);
    assert_eq!(ra.join().unwrap().unwrap()[0].0, SIGRT1);
    assert_eq!(rb.join().unwrap().unwrap()[0].0, SIGRT1);
}

/// SYS_RB_SIGNAL_QUEUED (the hook of a host whose signals are queued in
/// user space, Redox): it wakes the readers of the named process whose
/// signalfd wants the signal and nothing else; a reader woken with nothing
/// pending goes back to sleep, so the call changes no state.
#[test]
fn signal_queued_wakes_only_readers_of_that_process_and_queues_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let other = e.k.spawn_process(Credentials::new(1001, 1001));
    let (task, reader) = spawn_reader(&e.k, &other, sig_bit(SIGUSR1), None);
    assert!(e.k.wait_parked(1, PARK));
    let pid = other.pid() as usize;
    let before = task.unparks();
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNAL_QUEUED, &[pid, SIGUSR2 as usize]),
        Ok(0)
    );
    assert_eq!(
        sys(
            &e.k,
            SYS_RB_SIGNAL_QUEUED,
            &[e.proc.pid() as usize, SIGUSR1 as usize]
        ),
        Ok(0)
    );
    assert_eq!(
        task.unparks(),
        before,
        "another signal or process: not woken"
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SIGNAL_QUEUED, &[pid, SIGUSR1 as usize]),
        Ok(1)
    );
    // Nothing was pending: the reader checks, finds none and sleeps again.
    assert!(e.k.wait_parked(1, PARK));
    assert!(task.unparks() > before);
    for bad in [[pid, 0], [pid, 65], [0, SIGUSR1 as usize], [1 << 32, 10]] {
        assert_eq!(
            sys(&e.k, SYS_RB_SIGNAL_QUEUED, &bad),
            Err(EINVAL),
            "{bad:?}"
        );
    }
    e.k.send_signal(&other, SIGUSR1);
    assert_eq!(reader.join().unwrap().unwrap()[0].0, SIGUSR1);
    other.fds().clear();
}

/// A signalfd reports its reader's signals, whoever created it: after
/// fork the child's read of the inherited fd takes the child's signals,
/// and the parent's signals neither wake it nor are taken by it (Linux's
/// signalfd(2), "fork(2) semantics"). The same for a poll in the child.
#[test]
fn an_inherited_signalfd_reports_the_readers_signals() {
    let e = Env::new(ClockMode::Real);
    e.guard.task().set_mask(sig_bit(SIGUSR1));
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), 0).unwrap();
    let child = e.k.fork_process(&e.proc);
    let (task, reader) = spawn_reader(&e.k, &child, sig_bit(SIGUSR1), Some(fd));
    assert!(e.k.wait_parked(1, PARK));
    let before = task.unparks();
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(
        task.unparks(),
        before,
        "the parent's signal: the child's reader is not woken"
    );
    assert_eq!(read_records(&e.k, fd, 1).unwrap()[0].0, SIGUSR1);
    e.k.send_signal(&child, SIGUSR1);
    assert_eq!(reader.join().unwrap().unwrap()[0].0, SIGUSR1);
    assert_eq!(child.pending(), 0, "the child's own signal was taken");

    // A poll in the child sleeps through the parent's signal and wakes
    // on its own.
    let k = e.k.clone();
    let poller = e.k.spawn_task(&child, move || {
        k.current().set_mask(sig_bit(SIGUSR1));
        k.poll(&[(fd, Readiness::IN)], None)
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, SIGUSR1);
    assert!(e.k.wait_parked(1, PARK), "still asleep");
    assert_eq!(read_records(&e.k, fd, 1).unwrap()[0].0, SIGUSR1);
    e.k.send_signal(&child, SIGUSR1);
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
    e.k.exit_process(&child);
    assert_eq!(
        e.k.ipc().signal_waits.processes(),
        1,
        "the child's list went with it"
    );
}

/// What a queued signal visits is what its process waits on: signalfds
/// merely open are not in it (so the cost of kill does not grow with
/// them), a blocked reader's fd is, for as long as it waits, and a poll's
/// fd until a signal finds it no longer observed.
#[test]
fn a_signal_visits_only_the_signalfds_its_process_waits_on() {
    let e = Env::new(ClockMode::Real);
    e.guard.task().set_mask(sig_bit(SIGUSR1) | sig_bit(SIGUSR2));
    let idle: Vec<usize> = (0..100)
        .map(|_| signalfd(&e, FD_NEW, sig_bit(SIGUSR1), NB).unwrap())
        .collect();
    let waits = || e.k.ipc().signal_waits.live();
    assert_eq!(waits(), 0, "open, not waited on");
    let fd = signalfd(&e, FD_NEW, sig_bit(SIGUSR1), 0).unwrap();
    let (_, reader) = spawn_reader(&e.k, &e.proc, sig_bit(SIGUSR1), Some(fd));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(waits(), 1, "the blocked reader's fd");
    assert_eq!(e.k.ipc().signal_waits.readers(), 1);
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(reader.join().unwrap().unwrap()[0].0, SIGUSR1);
    assert_eq!(waits(), 0, "the reader left");
    assert_eq!(e.k.ipc().signal_waits.readers(), 0);

    let k = e.k.clone();
    let poller = e.k.spawn_task(&e.proc, move || {
        k.current().set_mask(sig_bit(SIGUSR1) | sig_bit(SIGUSR2));
        k.poll(&[(fd, Readiness::IN)], None)
    });
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(waits(), 1, "the sleeping poll's fd");
    e.k.send_signal(&e.proc, SIGUSR1);
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
    assert_eq!(read_records(&e.k, fd, 1).unwrap()[0].0, SIGUSR1);
    assert_eq!(waits(), 1, "ended at the next signal, not at once");
    // A signal outside the mask still visits (and ends) the entry.
    e.k.send_signal(&e.proc, SIGUSR2);
    assert_eq!(waits(), 0, "no longer observed: ended");
    for f in idle {
        e.k.close(f).unwrap();
    }
    e.k.close(fd).unwrap();
}
