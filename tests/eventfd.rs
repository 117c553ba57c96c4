//! eventfd through `dispatch` and the hosted kernel's read/write/poll.
//! Cases re-expressed from LTP's eventfd01..06 / eventfd2_01..03 and
//! gVisor's eventfd tests.

mod common;

use std::time::Duration;

use common::{sys, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::ipc::fd::eventfd::EVENTFD_MAX;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{FdFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::SYS_RB_EVENTFD2;

const NB: usize = FdFlags::NONBLOCK.bits();
const SEM: usize = FdFlags::SEMAPHORE.bits();
const PARK: Duration = Duration::from_secs(10);

fn efd(e: &Env, init: usize, flags: usize) -> usize {
    sys(&e.k, SYS_RB_EVENTFD2, &[init, flags, FD_SLOT_ANY]).expect("eventfd2")
}

/// A u64 buffer in the caller's memory.
fn buf(k: &HostedKernel) -> usize {
    k.alloc_private(8)
}

fn put(k: &HostedKernel, at: usize, v: u64) {
    k.write_user(at, &v.to_ne_bytes()).unwrap();
}

fn get(k: &HostedKernel, at: usize) -> u64 {
    let mut raw = [0u8; 8];
    k.read_user(at, &mut raw).unwrap();
    u64::from_ne_bytes(raw)
}

fn write_val(k: &HostedKernel, fd: usize, v: u64) -> Result<usize, i32> {
    let b = buf(k);
    put(k, b, v);
    k.write(fd, b, 8).map_err(|e| e.errno)
}

fn read_val(k: &HostedKernel, fd: usize) -> Result<u64, i32> {
    let b = buf(k);
    k.read(fd, b, 8).map_err(|e| e.errno)?;
    Ok(get(k, b))
}

#[test]
fn read_takes_the_count_and_resets_it() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 5, NB);
    assert_eq!(read_val(&e.k, fd), Ok(5));
    assert_eq!(read_val(&e.k, fd), Err(EAGAIN));
    assert_eq!(write_val(&e.k, fd, 3), Ok(8));
    assert_eq!(write_val(&e.k, fd, 4), Ok(8));
    assert_eq!(read_val(&e.k, fd), Ok(7));
}

#[test]
fn semaphore_mode_reads_one_at_a_time() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 2, NB | SEM);
    assert_eq!(read_val(&e.k, fd), Ok(1));
    assert_eq!(read_val(&e.k, fd), Ok(1));
    assert_eq!(read_val(&e.k, fd), Err(EAGAIN));
}

#[test]
fn limits_short_buffers_and_the_forbidden_value() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 0, NB);
    let b = buf(&e.k);
    assert_eq!(e.k.read(fd, b, 7).map_err(|e| e.errno), Err(EINVAL));
    assert_eq!(e.k.write(fd, b, 7).map_err(|e| e.errno), Err(EINVAL));
    assert_eq!(write_val(&e.k, fd, u64::MAX), Err(EINVAL));
    assert_eq!(write_val(&e.k, fd, EVENTFD_MAX), Ok(8));
    assert_eq!(write_val(&e.k, fd, 1), Err(EAGAIN), "would overflow");
    assert_eq!(write_val(&e.k, fd, 0), Ok(8), "adding zero always fits");
    assert_eq!(
        e.k.poll(
            &[(fd, Readiness::IN | Readiness::OUT)],
            Some(Duration::ZERO)
        )
        .unwrap(),
        vec![Readiness::IN]
    );
    assert_eq!(read_val(&e.k, fd), Ok(EVENTFD_MAX));
    // A larger read buffer gets exactly 8 bytes; a larger write is EINVAL.
    let big = e.k.alloc_private(16);
    put(&e.k, big, 9);
    assert_eq!(e.k.write(fd, big, 16).map_err(|e| e.errno), Err(EINVAL));
    assert_eq!(e.k.write(fd, big, 8).map_err(|e| e.errno), Ok(8));
    assert_eq!(e.k.read(fd, big, 16).map_err(|e| e.errno), Ok(8));
    assert_eq!(get(&e.k, big), 9);
}

#[test]
fn bad_flags_and_initial_values() {
    let e = Env::new(ClockMode::Virtual);
    assert_eq!(
        sys(&e.k, SYS_RB_EVENTFD2, &[0, 1 << 8, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_EVENTFD2, &[1 << 32, 0, FD_SLOT_ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        e.k.ipc().acct.users_charged(),
        0,
        "nothing charged by failed creates"
    );
}

#[test]
fn efault_read_consumes_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 3, NB);
    assert_eq!(e.k.read(fd, 0, 8).map_err(|e| e.errno), Err(EFAULT));
    assert_eq!(
        e.k.read(fd, 0x5000_0000, 8).map_err(|e| e.errno),
        Err(EFAULT)
    );
    assert_eq!(e.k.write(fd, 0, 8).map_err(|e| e.errno), Err(EFAULT));
    assert_eq!(read_val(&e.k, fd), Ok(3), "Linux would have lost the 3");
}

#[test]
fn blocked_reader_is_woken_by_a_writer_on_another_thread() {
    let e = Env::new(ClockMode::Real);
    let fd = efd(&e, 0, 0);
    let k = e.k.clone();
    let reader = e.k.spawn_task(&e.proc, move || read_val(&k, fd));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(write_val(&e.k, fd, 42), Ok(8));
    assert_eq!(reader.join().unwrap(), Ok(42));
}

#[test]
fn blocked_writer_is_woken_by_a_reader() {
    let e = Env::new(ClockMode::Real);
    let fd = efd(&e, 0, 0);
    assert_eq!(write_val(&e.k, fd, EVENTFD_MAX - 1), Ok(8));
    let k = e.k.clone();
    let writer = e.k.spawn_task(&e.proc, move || write_val(&k, fd, 5));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(read_val(&e.k, fd), Ok(EVENTFD_MAX - 1));
    assert_eq!(writer.join().unwrap(), Ok(8));
    assert_eq!(read_val(&e.k, fd), Ok(5));
}

#[test]
fn blocked_read_is_interrupted_by_a_signal() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 0, 0);
    let k = e.k.clone();
    let reader = e.k.spawn_task(&e.proc, move || read_val(&k, fd));
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 10);
    assert_eq!(reader.join().unwrap(), Err(EINTR));
}

#[test]
fn poll_reports_in_and_out_and_wakes_on_write() {
    let e = Env::new(ClockMode::Real);
    let fd = efd(&e, 0, NB);
    let both = Readiness::IN | Readiness::OUT;
    assert_eq!(
        e.k.poll(&[(fd, both)], Some(Duration::ZERO)).unwrap(),
        vec![Readiness::OUT]
    );
    assert_eq!(
        e.k.poll(&[(fd, Readiness::IN)], Some(Duration::from_millis(20)))
            .unwrap(),
        vec![Readiness::empty()]
    );
    let k = e.k.clone();
    let poller =
        e.k.spawn_task(&e.proc, move || k.poll(&[(fd, Readiness::IN)], None));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(write_val(&e.k, fd, 1), Ok(8));
    assert_eq!(poller.join().unwrap().unwrap(), vec![Readiness::IN]);
}

#[test]
fn dup_shares_the_counter_and_status_flags_cloexec_is_per_fd() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 0, FdFlags::CLOEXEC.bits());
    let dup = e.k.dup(fd).unwrap();
    assert!(e.proc.fds().cloexec(fd).unwrap());
    assert!(!e.proc.fds().cloexec(dup).unwrap());
    assert_eq!(write_val(&e.k, dup, 6), Ok(8));
    e.k.set_nonblocking(dup, true).unwrap();
    assert_eq!(read_val(&e.k, fd), Ok(6));
    assert_eq!(
        read_val(&e.k, fd),
        Err(EAGAIN),
        "O_NONBLOCK is the description's"
    );
    e.k.exec();
    assert_eq!(
        e.k.read(fd, buf(&e.k), 8).map_err(|e| e.errno),
        Err(EBADF),
        "closed on exec"
    );
    assert_eq!(read_val(&e.k, dup), Err(EAGAIN), "the dup survives");
    e.k.close(dup).unwrap();
    assert_eq!(e.k.ipc().acct.users_charged(), 0, "last close refunds");
}

#[test]
fn no_lost_wakeups_between_two_threads() {
    let e = Env::new(ClockMode::Real);
    let ping = efd(&e, 0, 0);
    let pong = efd(&e, 0, 0);
    const ROUNDS: u64 = 500;
    let k = e.k.clone();
    let peer = e.k.spawn_task(&e.proc, move || {
        for _ in 0..ROUNDS {
            assert_eq!(read_val(&k, ping), Ok(1));
            assert_eq!(write_val(&k, pong, 1), Ok(8));
        }
    });
    for _ in 0..ROUNDS {
        assert_eq!(write_val(&e.k, ping, 1), Ok(8));
        assert_eq!(read_val(&e.k, pong), Ok(1));
    }
    peer.join().unwrap();
}

/// Makes every write of a value (non-zero bytes) at `at` fault, as if the
/// page had been unmapped by another thread after the read's probe.
fn fault_values_at(k: &HostedKernel, at: usize) {
    k.memory()
        .fail_writes(Some(std::sync::Arc::new(move |dst, bytes| {
            dst == at && bytes.iter().any(|&b| b != 0)
        })));
}

#[test]
fn a_copy_that_faults_after_the_probe_consumes_nothing() {
    let e = Env::new(ClockMode::Virtual);
    for semaphore in [false, true] {
        let flags = if semaphore {
            NB | FdFlags::SEMAPHORE.bits()
        } else {
            NB
        };
        let fd = efd(&e, 3, flags);
        let b = buf(&e.k);
        fault_values_at(&e.k, b);
        assert_eq!(e.k.read(fd, b, 8).map_err(|e| e.errno), Err(EFAULT));
        e.k.memory().fail_writes(None);
        let reads: Vec<_> = (0..4).map(|_| read_val(&e.k, fd)).collect();
        let want = if semaphore {
            vec![Ok(1), Ok(1), Ok(1), Err(EAGAIN)]
        } else {
            vec![Ok(3), Err(EAGAIN), Err(EAGAIN), Err(EAGAIN)]
        };
        assert_eq!(reads, want, "the whole count is still there");
    }
}

#[test]
fn a_count_that_changes_during_the_copy_is_read_as_committed() {
    let e = Env::new(ClockMode::Virtual);
    let fd = efd(&e, 5, NB);
    let b = buf(&e.k);
    // While the first copy is in flight a write adds 2: the read must
    // report the 7 it takes, not the 5 it first saw.
    let added = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (k, flag) = (std::sync::Arc::downgrade(&e.k), added.clone());
    e.k.memory()
        .fail_writes(Some(std::sync::Arc::new(move |dst, bytes| {
            if dst == b
                && bytes.iter().any(|&x| x != 0)
                && !flag.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                if let Some(k) = k.upgrade() {
                    assert_eq!(write_val(&k, fd, 2), Ok(8));
                }
            }
            false
        })));
    assert_eq!(e.k.read(fd, b, 8).map_err(|e| e.errno), Ok(8));
    e.k.memory().fail_writes(None);
    assert_eq!(get(&e.k, b), 7);
    assert_eq!(read_val(&e.k, fd), Err(EAGAIN), "all of it was taken once");
}
