//! SysV semaphore sets through `dispatch` on the hosted kernel: every
//! errno of semget / semtimedop / semctl, atomic multi-operation calls,
//! blocking with threads (completion in place, wake order, EIDRM, EINTR,
//! timeout), GETNCNT / GETZCNT as Linux counts them, SEM_UNDO settled by
//! the hosted kernel's process exit (clamping, SETVAL clearing, not
//! inherited across fork, ERANGE on overflow, dropped by IPC_RMID), the
//! limits, and a 250-semaphore set under contention. Cases re-expressed
//! from LTP's semget/semop/semctl tests and gVisor's semaphore_test.cc
//! are marked with their origin.

mod common;
mod sysv_sem_calls;

use std::sync::Arc;
use std::thread::JoinHandle;

use common::Env;
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::ipc::sysv::ids::{IPC_CREAT, IPC_EXCL, IPC_PRIVATE};
use redbear_ipc::ipc::sysv::limits as sysv_limits;
use redbear_ipc::ipc::sysv::sem::ops::{IPC_NOWAIT, SEM_UNDO};
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::*;
use redbear_ipc::syscall::numbers::*;
use sysv_sem_calls::*;

const NOWAIT: i16 = IPC_NOWAIT;
const UNDO: i16 = SEM_UNDO;
const ROOT: Credentials = Credentials::new(0, 0);
const SIGUSR1: u32 = 10;

fn env() -> Env {
    Env::new(ClockMode::Real)
}

/// Nothing is held once every set is gone: no set, no semaphore, no
/// process state (the namespace's accounting, checked again by `Env`).
fn leak_free(k: &HostedKernel) {
    let sem = &k.ipc().sysv.sem;
    assert_eq!((sem.sets(), sem.used()), (0, 0), "every set removed");
    common::assert_accounting_zero(k);
}

#[test]
fn a_set_is_charged_to_its_creator_until_removed() {
    use redbear_ipc::ipc::common::limits::{ObjectKind, Resource};
    let e = env();
    let k = &e.k;
    let id = new_set(k, 7);
    let u = k.ipc().acct.usage(1000);
    assert_eq!(u.objects[ObjectKind::SemSet as usize], 1);
    assert_eq!(u.amounts[Resource::Sems as usize], 7);
    assert!(u.amounts[Resource::KernelBytes as usize] > 0);
    // A user's kernel-bytes limit bounds how much of the set memory it
    // holds: ENOMEM, and nothing is left behind.
    let mut big = Vec::new();
    let refused = loop {
        match semget(k, IPC_PRIVATE, 32000, IPC_CREAT | 0o600) {
            Ok(b) => big.push(b),
            Err(e) => break e,
        }
        assert!(big.len() < 64, "the kernel-bytes limit never bound");
    };
    assert_eq!(refused, ENOMEM);
    assert!(!big.is_empty(), "one set of semmsl semaphores fits");
    for b in big {
        rmid(k, b).unwrap();
    }
    rmid(k, id).unwrap();
    leak_free(k);
}

fn new_set(k: &HostedKernel, n: i32) -> i32 {
    semget(k, IPC_PRIVATE, n, IPC_CREAT | 0o600).expect("semget")
}

fn val(k: &HostedKernel, id: i32, num: i32) -> usize {
    ctl(k, id, num, GETVAL, 0).expect("GETVAL")
}

/// Runs `f` as a task of `p` on its own thread, and waits for it.
fn as_proc<R: Send + 'static>(
    k: &Arc<HostedKernel>,
    p: &Arc<Process>,
    f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
) -> R {
    let kk = k.clone();
    k.spawn_task(p, move || f(&kk)).join().expect("task")
}

/// Starts `ops` as a blocking semop of a task of `p`; returns once it
/// sleeps (the set has `blocked_after` blocked callers).
fn blocked_semop(
    k: &Arc<HostedKernel>,
    p: &Arc<Process>,
    id: i32,
    ops: Vec<(u16, i16, i16)>,
    blocked_after: usize,
) -> JoinHandle<Result<(), i32>> {
    let kk = k.clone();
    let h = k.spawn_task(p, move || semop(&kk, id, &ops));
    assert!(wait_blocked(k, id, blocked_after), "never slept");
    h
}

#[test]
fn abi_layouts_are_linuxs() {
    assert_eq!((SEMBUF_SIZE, SEMID_DS_SIZE, SEMINFO_SIZE), (6, 104, 40));
    assert_eq!(
        (GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL),
        (11, 12, 13, 14, 15, 16, 17)
    );
    assert_eq!((SEM_STAT, SEM_INFO, SEM_STAT_ANY), (18, 19, 20));
    assert_eq!((SEM_UNDO, IPC_NOWAIT), (0x1000, 0o4000));
    let ds = SemidDs {
        perm: IpcPermAbi {
            key: 7,
            uid: 1,
            gid: 2,
            cuid: 3,
            cgid: 4,
            mode: 0o600,
            seq: 5,
        },
        otime: 11,
        ctime: 12,
        nsems: 13,
    };
    let raw = ds.encode();
    assert_eq!(i64::from_ne_bytes(raw[48..56].try_into().unwrap()), 11);
    assert_eq!(i64::from_ne_bytes(raw[64..72].try_into().unwrap()), 12);
    assert_eq!(u64::from_ne_bytes(raw[80..88].try_into().unwrap()), 13);
    assert_eq!(SemidDs::decode(&raw), ds);
}

#[test]
fn semget_nsems_rules_and_key_errnos() {
    // LTP semget02 / semget05 / semget06.
    let e = env();
    let k = &e.k;
    assert_eq!(semget(k, 1, -1, IPC_CREAT | 0o600), Err(EINVAL));
    assert_eq!(semget(k, 1, 32001, IPC_CREAT | 0o600), Err(EINVAL));
    assert_eq!(
        semget(k, 1, 0, IPC_CREAT | 0o600),
        Err(EINVAL),
        "new set of 0"
    );
    assert_eq!(semget(k, 1, 2, 0o600), Err(ENOENT));
    let id = semget(k, 1, 3, IPC_CREAT | 0o600).unwrap();
    assert_eq!(semget(k, 1, 0, 0), Ok(id), "0 opens an existing set");
    assert_eq!(semget(k, 1, 3, 0o600), Ok(id));
    assert_eq!(semget(k, 1, 2, 0o600), Ok(id), "fewer is fine");
    assert_eq!(semget(k, 1, 4, 0o600), Err(EINVAL), "more than it has");
    assert_eq!(semget(k, 1, 3, IPC_CREAT | IPC_EXCL | 0o600), Err(EEXIST));
    let other = k.spawn_process(Credentials::new(1001, 1001));
    assert_eq!(as_proc(k, &other, |k| semget(k, 1, 3, 0o600)), Err(EACCES));
    assert_eq!(
        as_proc(k, &other, |k| semget(k, 1, 4, 0o600)),
        Err(EINVAL),
        "nsems before perms"
    );
    assert_eq!(as_proc(k, &other, |k| semget(k, 1, 3, 0)), Ok(id));
    assert_eq!(stat(k, id).unwrap().nsems, 3);
    for i in 0..3 {
        assert_eq!(val(k, id, i), 0, "values start at 0");
    }
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn semmni_and_semmns_are_enospc_and_settable_by_root() {
    let e = env();
    let k = &e.k;
    let acct = &k.ipc().acct;
    let mut lim = sysv_limits::get(acct);
    lim.semmni = 2;
    lim.semmns = 5;
    assert_eq!(
        sysv_limits::set(acct, &Credentials::new(1000, 1000), lim)
            .err()
            .map(|e| e.errno),
        Some(EPERM)
    );
    sysv_limits::set(acct, &ROOT, lim).unwrap();
    let a = new_set(k, 3);
    assert_eq!(semget(k, IPC_PRIVATE, 3, IPC_CREAT), Err(ENOSPC), "semmns");
    let b = new_set(k, 2);
    assert_eq!(semget(k, IPC_PRIVATE, 1, IPC_CREAT), Err(ENOSPC), "semmni");
    let (_, si) = info(k, SEM_INFO).unwrap();
    assert_eq!((si.semusz, si.semaem, si.semmni, si.semmns), (2, 5, 2, 5));
    rmid(k, a).unwrap();
    rmid(k, b).unwrap();
    leak_free(k);
}

#[test]
fn semop_argument_errnos_in_linux_order() {
    // LTP semop02: E2BIG, EACCES, EFAULT, EINVAL, EFBIG, ERANGE.
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let one = sembufs(k, &[(0, 1, 0)]);
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), one, 0, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(-1), one, 1, 0]),
        Err(EINVAL)
    );
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id + 1), one, 1, 0]),
        Err(EINVAL)
    );
    let many: Vec<_> = (0..501).map(|_| (0u16, 0i16, 0i16)).collect();
    let at = sembufs(k, &many);
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), at, 501, 0]),
        Err(E2BIG)
    );
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), 8, 501, 0]),
        Err(E2BIG),
        "before the copy"
    );
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), at, 500, 0]),
        Ok(0),
        "SEMOPM itself"
    );
    assert_eq!(call(k, SYS_RB_SEMTIMEDOP, &[int(id), 8, 1, 0]), Err(EFAULT));
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), usize::MAX - 2, 1, 0]),
        Err(EFAULT)
    );
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), one, 1, 8]),
        Err(EFAULT),
        "timeout"
    );
    let bad_ts = common::timespec(k, 0, 1_000_000_000);
    assert_eq!(
        call(k, SYS_RB_SEMTIMEDOP, &[int(id), one, 1, bad_ts]),
        Err(EINVAL)
    );
    assert_eq!(semop(k, id, &[(2, 1, 0)]), Err(EFBIG));
    assert_eq!(semop(k, id, &[(0, 1, 0), (65535, 1, 0)]), Err(EFBIG));
    assert_eq!(semop(k, id, &[(0, 32767, 0)]), Ok(()));
    assert_eq!(semop(k, id, &[(0, 1, 0)]), Err(ERANGE), "above SEMVMX");
    assert_eq!(semop(k, id, &[(1, -1, NOWAIT)]), Err(EAGAIN));
    assert_eq!(
        semop(k, id, &[(0, 0, NOWAIT)]),
        Err(EAGAIN),
        "wait-for-zero"
    );
    let other = k.spawn_process(Credentials::new(1001, 1001));
    assert_eq!(
        as_proc(k, &other, move |k| semop(k, id, &[(0, 0, NOWAIT)])),
        Err(EACCES)
    );
    assert_eq!(
        as_proc(k, &other, move |k| semop(k, id, &[(5, 0, NOWAIT)])),
        Err(EFBIG),
        "EFBIG before EACCES"
    );
    rmid(k, id).unwrap();
    assert_eq!(semop(k, id, &[(0, 1, 0)]), Err(EINVAL), "removed");
    leak_free(k);
}

#[test]
fn read_permission_suffices_for_wait_for_zero_only() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    let mut ds = stat(k, id).unwrap();
    ds.perm.mode = 0o644;
    set(k, id, &ds).unwrap();
    let other = k.spawn_process(Credentials::new(1001, 1001));
    assert_eq!(
        as_proc(k, &other, move |k| semop(k, id, &[(0, 0, 0)])),
        Ok(())
    );
    assert_eq!(
        as_proc(k, &other, move |k| semop(k, id, &[(0, 1, 0)])),
        Err(EACCES)
    );
    assert_eq!(as_proc(k, &other, move |k| ctl(k, id, 0, GETVAL, 0)), Ok(0));
    assert_eq!(
        as_proc(k, &other, move |k| setval(k, id, 0, 1)),
        Err(EACCES)
    );
    assert_eq!(as_proc(k, &other, move |k| rmid(k, id)), Err(EPERM));
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn a_call_applies_all_or_nothing_in_array_order() {
    // gVisor SemaphoreTest.SemOpMultiple / LTP semop01.
    let e = env();
    let k = &e.k;
    let id = new_set(k, 3);
    semop(k, id, &[(0, 2, 0), (1, 1, 0), (0, -1, 0)]).unwrap();
    assert_eq!(getall(k, id, 3).unwrap(), [1, 1, 0]);
    assert_eq!(
        semop(k, id, &[(0, -1, 0), (1, -1, 0), (2, -1, NOWAIT)]),
        Err(EAGAIN)
    );
    assert_eq!(getall(k, id, 3).unwrap(), [1, 1, 0], "nothing applied");
    assert_eq!(semop(k, id, &[(2, 5, 0), (2, 32767, 0)]), Err(ERANGE));
    assert_eq!(getall(k, id, 3).unwrap(), [1, 1, 0], "rolled back");
    assert_eq!(ctl(k, id, 0, GETPID, 0), Ok(k.current_pid() as usize));
    assert_eq!(
        ctl(k, id, 2, GETPID, 0),
        Ok(0),
        "a failed call records no pid"
    );
    assert!(stat(k, id).unwrap().otime > 0, "sem_otime moved");
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn a_waiter_is_completed_in_place_and_counted() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let h = blocked_semop(k, &p, id, vec![(0, -2, 0)], 1);
    assert_eq!(ctl(k, id, 0, GETNCNT, 0), Ok(1));
    assert_eq!(ctl(k, id, 0, GETZCNT, 0), Ok(0));
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(k.ipc().sysv.sem.blocked(id), Ok(1), "1 is not enough");
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(h.join().unwrap(), Ok(()));
    assert_eq!(val(k, id, 0), 0, "the waker ran the waiter's operation");
    assert_eq!(
        ctl(k, id, 0, GETPID, 0),
        Ok(p.pid() as usize),
        "sempid is the waiter's"
    );
    assert_eq!(ctl(k, id, 0, GETNCNT, 0), Ok(0));
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn waiters_complete_in_arrival_order_without_a_herd() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    let procs: Vec<_> = (0..3)
        .map(|_| k.spawn_process(Credentials::new(1000, 1000)))
        .collect();
    let hs: Vec<_> = procs
        .iter()
        .enumerate()
        .map(|(i, p)| blocked_semop(k, p, id, vec![(0, -1, 0)], i + 1))
        .collect();
    assert_eq!(ctl(k, id, 0, GETNCNT, 0), Ok(3));
    for (i, h) in hs.into_iter().enumerate() {
        semop(k, id, &[(0, 1, 0)]).unwrap();
        assert_eq!(h.join().unwrap(), Ok(()), "waiter {i} first");
        assert_eq!(ctl(k, id, 0, GETPID, 0), Ok(procs[i].pid() as usize));
        assert_eq!(k.ipc().sysv.sem.blocked(id), Ok(2 - i), "only one woke");
    }
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn zero_waiters_and_complex_waiters() {
    // GETZCNT / GETNCNT count a complex waiter on the semaphore its
    // blocking operation waits on (Linux's count_semcnt).
    let e = env();
    let k = &e.k;
    let id = new_set(k, 3);
    setval(k, id, 0, 1).unwrap();
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let zero = blocked_semop(k, &p, id, vec![(0, 0, 0)], 1);
    let complex = blocked_semop(k, &p, id, vec![(1, 1, 0), (2, -1, 0), (0, 0, 0)], 2);
    assert_eq!(
        ctl(k, id, 0, GETZCNT, 0),
        Ok(1),
        "the complex one blocks on 2"
    );
    assert_eq!(ctl(k, id, 2, GETNCNT, 0), Ok(1));
    assert_eq!(ctl(k, id, 1, GETNCNT, 0), Ok(0));
    semop(k, id, &[(2, 1, 0)]).unwrap();
    // Now the complex waiter blocks on its third operation.
    assert_eq!(k.ipc().sysv.sem.blocked(id), Ok(2));
    assert_eq!(ctl(k, id, 0, GETZCNT, 0), Ok(2));
    assert_eq!(ctl(k, id, 2, GETNCNT, 0), Ok(0));
    semop(k, id, &[(0, -1, 0)]).unwrap();
    assert_eq!(zero.join().unwrap(), Ok(()));
    assert_eq!(complex.join().unwrap(), Ok(()));
    assert_eq!(getall(k, id, 3).unwrap(), [0, 1, 0]);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn a_completed_decrement_to_zero_releases_zero_waiters() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let dec = blocked_semop(k, &p, id, vec![(0, -1, 0)], 1);
    setval(k, id, 0, 0).unwrap();
    // The wait-for-zero runs at once (value 0), and its +1 frees the
    // decrement.
    assert_eq!(semop(k, id, &[(0, 0, 0), (0, 1, 0)]), Ok(()));
    assert_eq!(dec.join().unwrap(), Ok(()), "the +1 freed the decrement");
    assert_eq!(val(k, id, 0), 0);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn removal_fails_waiters_eidrm_and_signals_eintr_timeouts_eagain() {
    // LTP semop03/05, gVisor SemaphoreTest.SemopRemoved / SemTimedOp.
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let a = blocked_semop(k, &p, id, vec![(0, -1, 0)], 1);
    let b = blocked_semop(k, &p, id, vec![(1, 0, 0), (0, -1, 0)], 2);
    rmid(k, id).unwrap();
    assert_eq!(a.join().unwrap(), Err(EIDRM));
    assert_eq!(b.join().unwrap(), Err(EIDRM));
    let id = new_set(k, 1);
    let q = k.spawn_process(Credentials::new(1000, 1000));
    let c = blocked_semop(k, &q, id, vec![(0, -1, 0)], 1);
    k.send_signal(&q, SIGUSR1);
    assert_eq!(c.join().unwrap(), Err(EINTR), "never restarted");
    assert_eq!(k.ipc().sysv.sem.blocked(id), Ok(0));
    assert_eq!(semtimedop(k, id, &[(0, -1, 0)], 5_000_000), Err(EAGAIN));
    assert_eq!(
        semtimedop(k, id, &[(0, 1, 0)], 5_000_000),
        Ok(()),
        "no wait, no timeout"
    );
    assert_eq!(val(k, id, 0), 1);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn undo_is_applied_at_exit_with_clamping() {
    // LTP semop (SEM_UNDO), gVisor SemaphoreTest.SemopUndo*.
    let e = env();
    let k = &e.k;
    let id = new_set(k, 3);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| {
        semop(k, id, &[(0, 2, UNDO), (1, 3, UNDO), (2, 1, 0)]).unwrap();
    });
    semop(k, id, &[(1, -2, 0)]).unwrap();
    assert_eq!(getall(k, id, 3).unwrap(), [2, 1, 1]);
    k.exit_process(&p);
    assert_eq!(getall(k, id, 3).unwrap(), [0, 0, 1], "1 - 3 clamps at 0");
    assert_eq!(ctl(k, id, 0, GETPID, 0), Ok(p.pid() as usize));
    // An adjustment upward: decrement with SEM_UNDO gives it back.
    setval(k, id, 0, 5).unwrap();
    let q = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &q, move |k| semop(k, id, &[(0, -4, UNDO)]).unwrap());
    assert_eq!(val(k, id, 0), 1);
    k.exit_process(&q);
    assert_eq!(val(k, id, 0), 5);
    rmid(k, id).unwrap();
    leak_free(k);
    assert!(k.ipc().processes.is_empty(), "no process state left");
}

#[test]
fn undo_exit_clamps_at_semvmx() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    setval(k, id, 0, 10).unwrap();
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| semop(k, id, &[(0, -10, UNDO)]).unwrap());
    setval(k, id, 0, 32767).unwrap();
    // SETVAL cleared the +10: nothing to apply.
    k.exit_process(&p);
    assert_eq!(val(k, id, 0), 32767);
    let q = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &q, move |k| semop(k, id, &[(0, -10, UNDO)]).unwrap());
    semop(k, id, &[(0, 10, 0)]).unwrap();
    k.exit_process(&q);
    assert_eq!(val(k, id, 0), 32767, "32767 + 10 clamps at SEMVMX");
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn setval_and_setall_clear_adjustments() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| {
        semop(k, id, &[(0, 3, UNDO), (1, 4, UNDO)]).unwrap()
    });
    setval(k, id, 0, 3).unwrap();
    k.exit_process(&p);
    assert_eq!(getall(k, id, 2).unwrap(), [3, 0], "only sem 1 undone");
    let q = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &q, move |k| {
        semop(k, id, &[(0, 3, UNDO), (1, 4, UNDO)]).unwrap()
    });
    setall(k, id, &[6, 4]).unwrap();
    k.exit_process(&q);
    assert_eq!(getall(k, id, 2).unwrap(), [6, 4], "SETALL cleared both");
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn undo_is_shared_by_threads_and_not_inherited_across_fork() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| semop(k, id, &[(0, 1, UNDO)]).unwrap());
    as_proc(k, &p, move |k| semop(k, id, &[(0, 1, UNDO)]).unwrap());
    let child = k.fork_process(&p);
    as_proc(k, &child, move |k| semop(k, id, &[(0, 5, 0)]).unwrap());
    k.exit_process(&child);
    assert_eq!(val(k, id, 0), 7, "the child had no adjustment");
    k.exit_process(&p);
    assert_eq!(val(k, id, 0), 5, "both threads' adjustments undone");
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn an_adjustment_out_of_range_is_erange_at_semop_time() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    semop(k, id, &[(0, 32767, UNDO)]).unwrap();
    semop(k, id, &[(0, -32767, 0)]).unwrap();
    semop(k, id, &[(0, 1, UNDO)]).unwrap();
    assert_eq!(semop(k, id, &[(0, 1, UNDO)]), Err(ERANGE), "-32769");
    assert_eq!(val(k, id, 0), 1, "nothing applied");
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn exit_while_blocked_applies_earlier_adjustments_and_wakes() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| semop(k, id, &[(0, 2, UNDO)]).unwrap());
    let waiter = k.spawn_process(Credentials::new(1000, 1000));
    let w = blocked_semop(k, &waiter, id, vec![(0, 0, 0)], 1);
    let stuck = blocked_semop(k, &p, id, vec![(1, -1, UNDO)], 2);
    k.kill_process(&p);
    assert_eq!(stuck.join().unwrap(), Err(EINTR));
    assert_eq!(
        w.join().unwrap(),
        Ok(()),
        "the exit's -2 released the zero waiter"
    );
    assert_eq!(getall(k, id, 2).unwrap(), [0, 0]);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn rmid_drops_undo_entries() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    as_proc(k, &p, move |k| semop(k, id, &[(0, 1, UNDO)]).unwrap());
    rmid(k, id).unwrap();
    let again = new_set(k, 1);
    setval(k, again, 0, 4).unwrap();
    k.exit_process(&p);
    assert_eq!(val(k, again, 0), 4, "a new set is not touched");
    rmid(k, again).unwrap();
    leak_free(k);
}

#[test]
fn semctl_errnos_and_fields() {
    // LTP semctl01..09, gVisor SemaphoreTest.SemCtl*.
    let e = env();
    let k = &e.k;
    let id = semget(k, 42, 4, IPC_CREAT | 0o640).unwrap();
    assert_eq!(ctl(k, -1, 0, IPC_STAT, 0), Err(EINVAL));
    assert_eq!(ctl(k, id, 0, 99, 0), Err(EINVAL));
    assert_eq!(ctl(k, id, 0, IPC_STAT, 8), Err(EFAULT));
    assert_eq!(ctl(k, id, 0, GETALL, 8), Err(EFAULT));
    assert_eq!(ctl(k, id, 0, SETALL, 8), Err(EFAULT));
    assert_eq!(ctl(k, id, 0, IPC_SET, 8), Err(EFAULT));
    assert_eq!(ctl(k, id, 0, IPC_INFO, 8), Err(EFAULT));
    assert_eq!(ctl(k, id, 4, GETVAL, 0), Err(EINVAL));
    assert_eq!(ctl(k, id, -1, GETNCNT, 0), Err(EINVAL));
    assert_eq!(setval(k, id, 0, 32768), Err(ERANGE));
    assert_eq!(setval(k, id, 0, -1), Err(ERANGE));
    assert_eq!(
        setval(k, id + 1, 0, -1),
        Err(ERANGE),
        "ERANGE before the lookup"
    );
    assert_eq!(setval(k, id, 9, 1), Err(EINVAL));
    assert_eq!(setall(k, id, &[1, 2, 32768, 4]), Err(ERANGE));
    assert_eq!(getall(k, id, 4).unwrap(), [0, 0, 0, 0], "nothing set");
    setall(k, id, &[1, 2, 3, 4]).unwrap();
    assert_eq!(getall(k, id, 4).unwrap(), [1, 2, 3, 4]);
    assert_eq!(ctl(k, id, 3, GETPID, 0), Ok(k.current_pid() as usize));
    let ds = stat(k, id).unwrap();
    assert_eq!((ds.perm.key, ds.perm.mode, ds.nsems), (42, 0o640, 4));
    assert_eq!((ds.perm.uid, ds.perm.cuid), (1000, 1000));
    assert_eq!(ds.otime, 0, "no semop yet");
    assert!(ds.ctime > 0);
    let mut bad = ds;
    bad.perm.uid = u32::MAX;
    assert_eq!(set(k, id, &bad), Err(EINVAL));
    let reader = k.spawn_process(Credentials::new(1001, 1000));
    let stranger = k.spawn_process(Credentials::new(1002, 1002));
    assert_eq!(as_proc(k, &reader, move |k| val(k, id, 1)), 2);
    assert_eq!(
        as_proc(k, &stranger, move |k| ctl(k, id, 1, GETVAL, 0)),
        Err(EACCES)
    );
    assert_eq!(
        as_proc(k, &stranger, move |k| ctl(k, id, 9, GETVAL, 0)),
        Err(EACCES),
        "EACCES before EINVAL"
    );
    assert_eq!(
        as_proc(k, &stranger, move |k| stat(k, id).map(drop)),
        Err(EACCES)
    );
    assert_eq!(
        as_proc(k, &reader, move |k| setall(k, id, &[0; 4])),
        Err(EACCES)
    );
    assert_eq!(as_proc(k, &stranger, move |k| set(k, id, &ds)), Err(EPERM));
    // SEM_STAT checks read permission, SEM_STAT_ANY does not.
    let index = (id as u32 % 32768) as i32;
    assert_eq!(
        as_proc(k, &stranger, move |k| stat_cmd(k, index, SEM_STAT)
            .map(drop)),
        Err(EACCES)
    );
    let (full, any) = as_proc(k, &stranger, move |k| stat_cmd(k, index, SEM_STAT_ANY)).unwrap();
    assert_eq!((full as i32, any.nsems), (id, 4));
    assert_eq!(stat_cmd(k, index + 1, SEM_STAT).map(drop), Err(EINVAL));
    // IPC_SET gives the set away; the creator keeps control.
    let mut give = ds;
    give.perm.uid = 1002;
    give.perm.mode = 0o600;
    set(k, id, &give).unwrap();
    assert_eq!(as_proc(k, &stranger, move |k| val(k, id, 3)), 4);
    let (max, ii) = info(k, IPC_INFO).unwrap();
    assert_eq!(max, index as usize);
    assert_eq!(
        (ii.semmap, ii.semmni, ii.semmns, ii.semmnu, ii.semmsl),
        (1_024_000_000, 32000, 1_024_000_000, 1_024_000_000, 32000)
    );
    assert_eq!(
        (ii.semopm, ii.semume, ii.semusz, ii.semvmx, ii.semaem),
        (500, 500, 20, 32767, 32767)
    );
    let (_, si) = info(k, SEM_INFO).unwrap();
    assert_eq!((si.semusz, si.semaem), (1, 4));
    rmid(k, id).unwrap();
    assert_eq!(rmid(k, id), Err(EINVAL));
    leak_free(k);
}

#[test]
fn setval_and_setall_wake_who_can_go_on() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let a = blocked_semop(k, &p, id, vec![(0, -3, 0)], 1);
    let b = blocked_semop(k, &p, id, vec![(1, -1, 0), (0, -1, 0)], 2);
    setval(k, id, 0, 3).unwrap();
    assert_eq!(a.join().unwrap(), Ok(()));
    setall(k, id, &[1, 1]).unwrap();
    assert_eq!(b.join().unwrap(), Ok(()));
    assert_eq!(getall(k, id, 2).unwrap(), [0, 0]);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn a_set_of_250_under_contention_keeps_its_totals() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 250);
    let workers: Vec<_> = (0..4u16)
        .map(|w| {
            let p = k.spawn_process(Credentials::new(1000, 1000));
            let kk = k.clone();
            k.spawn_task(&p, move || {
                for round in 0..200u16 {
                    let a = (w * 61 + round * 7) % 250;
                    let b = (a + 1 + round % 249) % 250;
                    semop(&kk, id, &[(a, 1, 0)]).unwrap();
                    semop(&kk, id, &[(a, -1, 0), (b, 2, 0)]).unwrap();
                    semop(&kk, id, &[(b, -1, 0)]).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let total: u32 = getall(k, id, 250)
        .unwrap()
        .iter()
        .map(|&v| u32::from(v))
        .sum();
    assert_eq!(total, 4 * 200);
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn stale_ids_after_rmid_are_einval() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 1);
    rmid(k, id).unwrap();
    let again = new_set(k, 1);
    assert_ne!(again, id);
    assert_eq!(ctl(k, id, 0, GETVAL, 0), Err(EINVAL));
    rmid(k, again).unwrap();
    leak_free(k);
}

#[test]
fn large_batches_work_past_the_inline_size() {
    let e = env();
    let k = &e.k;
    let id = new_set(k, 100);
    let ups: Vec<_> = (0..100u16).map(|i| (i, 1i16, 0i16)).collect();
    semop(k, id, &ups).unwrap();
    let mut downs: Vec<_> = (0..100u16).map(|i| (i, -1i16, 0i16)).collect();
    downs.push((99, -1, NOWAIT));
    assert_eq!(semop(k, id, &downs), Err(EAGAIN));
    downs.pop();
    semop(k, id, &downs).unwrap();
    assert!(getall(k, id, 100).unwrap().iter().all(|&v| v == 0));
    rmid(k, id).unwrap();
    leak_free(k);
}

#[test]
fn complex_and_single_waiters_compete_in_linuxs_merged_order() {
    // While a complex caller waits, Linux serves decrement waiters in one
    // list: those already waiting first, then arrivals in order.
    let e = env();
    let k = &e.k;
    let id = new_set(k, 2);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let q = k.spawn_process(Credentials::new(1000, 1000));
    let complex = blocked_semop(k, &p, id, vec![(0, -1, 0), (1, 0, 0)], 1);
    let single = blocked_semop(k, &q, id, vec![(0, -1, 0)], 2);
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(complex.join().unwrap(), Ok(()), "it came first");
    assert_eq!(k.ipc().sysv.sem.blocked(id), Ok(1));
    assert_eq!(ctl(k, id, 0, GETNCNT, 0), Ok(1), "the straggler is counted");
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(single.join().unwrap(), Ok(()));
    let single = blocked_semop(k, &q, id, vec![(0, -1, 0)], 1);
    let complex = blocked_semop(k, &p, id, vec![(0, -1, 0), (1, 0, 0)], 2);
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(single.join().unwrap(), Ok(()), "it came first");
    semop(k, id, &[(0, 1, 0)]).unwrap();
    assert_eq!(complex.join().unwrap(), Ok(()));
    rmid(k, id).unwrap();
    leak_free(k);
}
