//! Instructions per kernel-side operation: each operation runs `N` times
//! inside its own `op_*` function, on the hosted kernel, through
//! `dispatch` (or the hosted kernel's fd read/write, as a trap would reach
//! them), with no trap. Counted, not timed: `ci/bench` runs this binary
//! under `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect=...op_*`, reads each `op_*` function's inclusive
//! instruction count and divides it by `N`, so a change that makes a path
//! slower shows up as a different number, whatever the machine's load.
//! Run alone, it only checks that every operation succeeds.
//!
//! The hosted kernel's user-memory accesses (a map lookup per copy) and
//! locks (std's) are in the counts; they stand in for a real kernel's.
//!
//! Run: `cargo bench --features hosted --bench dispatch_instructions`.

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::sys;
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::ipc::common::limits::{ObjectKind, Resource, UNLIMITED};
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::ipc::fd::signalfd::SIGINFO_SIZE;
use redbear_ipc::kernel::{sig_bit, Credentials, Kernel};
use redbear_ipc::syscall::abi::{SemFlags, FD_NEW, FD_SLOT_ANY, IPC_NOWAIT, MQ_ATTR_SIZE};
use redbear_ipc::syscall::dispatch;
use redbear_ipc::syscall::numbers::*;

/// Operations per measured function.
const N: usize = 1000;
/// IPC_CREAT.
const IPC_CREAT: usize = 0o1000;
/// SIGUSR1.
const SIGUSR1: u32 = 10;
/// A full futex bitset.
const ANY: usize = u32::MAX as usize;

fn failing(k: &HostedKernel, nr: usize, args: &[usize]) -> i32 {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    match dispatch(k, nr, a) {
        Ok(v) => panic!("syscall {nr} succeeded ({v}), expected an error"),
        Err(e) => e.errno,
    }
}

#[inline(never)]
fn op_null_enosys(k: &HostedKernel) {
    for _ in 0..N {
        black_box(failing(k, END - 1, &[]));
    }
}

#[inline(never)]
fn op_futex_wake_nowaiter(k: &HostedKernel, w: usize) {
    for _ in 0..N {
        black_box(sys(k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]));
    }
}

#[inline(never)]
fn op_futex_wait_eagain(k: &HostedKernel, w: usize) {
    for _ in 0..N {
        black_box(failing(k, SYS_RB_FUTEX_WAIT, &[w, 1, 0, 0, ANY]));
    }
}

#[inline(never)]
fn op_sem_post_trywait_kernel(k: &HostedKernel, s: usize) {
    for _ in 0..N {
        black_box(sys(k, SYS_RB_SEM_POST, &[s, 0]));
        black_box(sys(k, SYS_RB_SEM_WAIT, &[s, SemFlags::TRY.bits()]));
    }
}

#[inline(never)]
fn op_eventfd_write_read(k: &HostedKernel, fd: usize, one: usize, out: usize) {
    for _ in 0..N {
        black_box(k.write(fd, one, 8).ok());
        black_box(k.read(fd, out, 8).ok());
    }
}

#[inline(never)]
fn op_timerfd_gettime(k: &HostedKernel, fd: usize, cur: usize) {
    for _ in 0..N {
        black_box(sys(k, SYS_RB_TIMERFD_GETTIME, &[fd, cur]));
    }
}

fn msg_pair(k: &HostedKernel, id: usize, m: usize) {
    let flags = IPC_NOWAIT as usize;
    black_box(sys(k, SYS_RB_MSGSND, &[id, m, 64, flags]));
    black_box(sys(k, SYS_RB_MSGRCV, &[id, m, 64, 1, flags]));
}

#[inline(never)]
fn op_msgsnd_msgrcv_64(k: &HostedKernel, id: usize, m: usize) {
    for _ in 0..N {
        msg_pair(k, id, m);
    }
}

#[inline(never)]
fn op_msgrcv_typed_10000_others(k: &HostedKernel, id: usize, m: usize) {
    // Not the same machine code as op_msgsnd_msgrcv_64, which the
    // compiler would otherwise fold into one function.
    black_box("typed");
    for _ in 0..N {
        msg_pair(k, id, m);
    }
}

/// poll over `fds`, the last one readable, timeout 0 (the hosted
/// kernel's poll: its fd lookups and the shared loop).
fn poll_once(k: &HostedKernel, fds: &[(usize, Readiness)]) {
    let ready = k.poll(fds, Some(Duration::ZERO)).expect("poll");
    black_box(ready);
}

#[inline(never)]
fn op_poll_1_fds(k: &HostedKernel, fds: &[(usize, Readiness)]) {
    for _ in 0..N {
        poll_once(k, fds);
    }
}

#[inline(never)]
fn op_poll_64_fds(k: &HostedKernel, fds: &[(usize, Readiness)]) {
    black_box("64");
    for _ in 0..N {
        poll_once(k, fds);
    }
}

#[inline(never)]
fn op_poll_250_fds(k: &HostedKernel, fds: &[(usize, Readiness)]) {
    black_box("250");
    for _ in 0..N {
        poll_once(k, fds);
    }
}

/// kill(self, SIGUSR1) as the hosted kernel queues it (the pending set,
/// `Ipc::signal_queued`, the wake-up of the process' tasks) + a read of
/// the signalfd, with other signalfds for SIGUSR1 open. One function
/// per point, so callgrind counts each.
macro_rules! signalfd_op {
    ($name:ident) => {
        #[inline(never)]
        fn $name(k: &HostedKernel, p: &Process, fd: usize, out: usize) {
            black_box(stringify!($name));
            for _ in 0..N {
                k.send_signal(p, SIGUSR1);
                black_box(k.read(fd, out, SIGINFO_SIZE).ok());
            }
        }
    };
}
signalfd_op!(op_kill_signalfd_read_others_open_1);
signalfd_op!(op_kill_signalfd_read_others_open_1000);

/// The signalfd curve at 1 and 1000 other signalfds open in the same
/// process (the hosted kernel holds 1024 fds per process).
fn signalfd_rows(k: &HostedKernel, p: &Process) {
    let mask = k.alloc_private(8);
    k.write_user(mask, &sig_bit(SIGUSR1).to_ne_bytes())
        .expect("write the mask");
    let out = k.alloc_private(SIGINFO_SIZE);
    let open = || sys(k, SYS_RB_SIGNALFD4, &[FD_NEW, mask, 8, 0, FD_SLOT_ANY]);
    type Op = fn(&HostedKernel, &Process, usize, usize);
    let points: [(usize, Op); 2] = [
        (1, op_kill_signalfd_read_others_open_1),
        (1000, op_kill_signalfd_read_others_open_1000),
    ];
    let mut others = Vec::new();
    for (n, op) in points {
        while others.len() < n {
            others.push(open());
        }
        let fd = open();
        op(k, p, fd, out);
        k.close(fd).expect("close");
    }
    for fd in others {
        k.close(fd).expect("close");
    }
}

/// mq_send + mq_receive of 64 bytes on a queue of 1 x 64 while K other
/// such queues exist (the testbed curve's operation; here the others'
/// fds are closed once they are made, their names kept, as the hosted
/// kernel holds 1024 fds per process).
macro_rules! mq_queues_op {
    ($name:ident) => {
        #[inline(never)]
        fn $name(k: &HostedKernel, fd: usize, m: usize) {
            black_box(stringify!($name));
            for _ in 0..N {
                black_box(sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, m, 64, 1, 0]));
                black_box(sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, m, 64, 0, 0]));
            }
        }
    };
}
mq_queues_op!(op_mq_send_receive_64_other_queues_1);
mq_queues_op!(op_mq_send_receive_64_other_queues_1000);
mq_queues_op!(op_mq_send_receive_64_other_queues_5000);

/// The mq curve with other queues named. The user's 819 200 bytes hold
/// 5001 queues of 1 x 64, as on the testbed; queues_max (256) is lifted,
/// as root passes it.
fn mq_queue_rows(k: &HostedKernel) {
    let root = Credentials::new(0, 0);
    let mut l = k.ipc().acct.limits();
    l.total_objects[ObjectKind::MqQueue as usize] = UNLIMITED;
    k.ipc().acct.set_limits(&root, l).expect("lift queues_max");
    let attr = k.alloc_private(MQ_ATTR_SIZE);
    let mut raw = [0u8; MQ_ATTR_SIZE];
    raw[8..16].copy_from_slice(&1i64.to_ne_bytes());
    raw[16..24].copy_from_slice(&64i64.to_ne_bytes());
    k.write_user(attr, &raw).expect("write the mq_attr");
    let m = k.alloc_private(64);
    // One name buffer for every queue: the hosted kernel's user-memory
    // map (a search per copy) stays the same size whatever K.
    let at = k.alloc_private(32);
    let name = |i: usize| {
        let name = format!("/rb-other-{i}");
        k.write_user(at, name.as_bytes()).expect("write the name");
        name.len()
    };
    let open = |len: usize| {
        let oflag = 2 | 1 << 2 | 1 << 3; // O_RDWR | O_CREAT | O_EXCL
        sys(
            k,
            SYS_RB_MQ_OPEN,
            &[at, len, oflag, 0o600, attr, FD_SLOT_ANY],
        )
    };
    type Op = fn(&HostedKernel, usize, usize);
    let points: [(usize, Op); 3] = [
        (1, op_mq_send_receive_64_other_queues_1),
        (1000, op_mq_send_receive_64_other_queues_1000),
        (5000, op_mq_send_receive_64_other_queues_5000),
    ];
    let mut made = 0;
    for (n, op) in points {
        while made < n {
            k.close(open(name(made))).expect("close");
            made += 1;
        }
        let measured = name(usize::MAX);
        let fd = open(measured);
        op(k, fd, m);
        k.close(fd).expect("close");
        name(usize::MAX);
        sys(k, SYS_RB_MQ_UNLINK, &[at, measured]);
    }
    for i in 0..made {
        let len = name(i);
        sys(k, SYS_RB_MQ_UNLINK, &[at, len]);
    }
}

fn poll_rows(k: &HostedKernel, one: usize) {
    for n in [1usize, 64, 250] {
        let fds: Vec<(usize, Readiness)> = (0..n)
            .map(|_| (sys(k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]), Readiness::IN))
            .collect();
        let last = fds[n - 1].0;
        k.write(last, one, 8).expect("make the last one readable");
        match n {
            1 => op_poll_1_fds(k, &fds),
            64 => op_poll_64_fds(k, &fds),
            _ => op_poll_250_fds(k, &fds),
        }
        for (fd, _) in fds {
            k.close(fd).expect("close");
        }
    }
}

/// POSIX mq: send 64 bytes at priority `prio` + receive it back, with
/// other messages queued at lower priorities (the receive takes the
/// highest). One function per curve point, so callgrind counts each.
macro_rules! mq_op {
    ($name:ident) => {
        #[inline(never)]
        fn $name(k: &HostedKernel, fd: usize, m: usize, prio: usize) {
            black_box(stringify!($name));
            for _ in 0..N {
                black_box(sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, m, 64, prio, 0]));
                black_box(sys(k, SYS_RB_MQ_TIMEDRECEIVE, &[fd, m, 64, 0, 0]));
            }
        }
    };
}
mq_op!(op_mq_send_receive_64_depth_0);
mq_op!(op_mq_send_receive_64_depth_10);
mq_op!(op_mq_send_receive_64_depth_1000);
mq_op!(op_mq_send_receive_64_depth_65000);
mq_op!(op_mq_send_receive_64_prios_1);
mq_op!(op_mq_send_receive_64_prios_100);
mq_op!(op_mq_send_receive_64_prios_10000);
mq_op!(op_mq_send_receive_64_prios_32000);

/// The mq curves: by queue depth (messages at priority 0 queued) and by
/// priorities in use (one message at each of 1..=K queued). msg_max and
/// the user's mq bytes are raised first (as root would).
fn mq_rows(k: &HostedKernel) {
    let root = Credentials::new(0, 0);
    let mut l = k.ipc().acct.limits();
    l.family.mq.msg_max = 65536;
    l.per_user_amounts[Resource::MqBytes as usize] = UNLIMITED;
    k.ipc()
        .acct
        .set_limits(&root, l)
        .expect("raise the mq limits");
    let attr = k.alloc_private(MQ_ATTR_SIZE);
    let mut raw = [0u8; MQ_ATTR_SIZE];
    raw[8..16].copy_from_slice(&65536i64.to_ne_bytes());
    raw[16..24].copy_from_slice(&64i64.to_ne_bytes());
    k.write_user(attr, &raw).expect("write the mq_attr");
    let m = k.alloc_private(64);
    type Op = fn(&HostedKernel, usize, usize, usize);
    let depth: [(usize, Op); 4] = [
        (0, op_mq_send_receive_64_depth_0),
        (10, op_mq_send_receive_64_depth_10),
        (1000, op_mq_send_receive_64_depth_1000),
        (65000, op_mq_send_receive_64_depth_65000),
    ];
    let prios: [(usize, Op); 4] = [
        (1, op_mq_send_receive_64_prios_1),
        (100, op_mq_send_receive_64_prios_100),
        (10000, op_mq_send_receive_64_prios_10000),
        (32000, op_mq_send_receive_64_prios_32000),
    ];
    for (curve, points) in [("/rb-depth", depth), ("/rb-prios", prios)] {
        let name = k.alloc_private(curve.len());
        k.write_user(name, curve.as_bytes())
            .expect("write the name");
        let oflag = 2 | 1 << 2; // O_RDWR | O_CREAT
        let fd = sys(
            k,
            SYS_RB_MQ_OPEN,
            &[name, curve.len(), oflag, 0o600, attr, FD_SLOT_ANY],
        );
        let mut queued = 0;
        for (n, op) in points {
            while queued < n {
                let prio = if curve == "/rb-depth" { 0 } else { queued + 1 };
                sys(k, SYS_RB_MQ_TIMEDSEND, &[fd, m, 64, prio, 0]);
                queued += 1;
            }
            op(k, fd, m, 32767);
        }
        k.close(fd).expect("close");
        sys(k, SYS_RB_MQ_UNLINK, &[name, curve.len()]);
    }
}

/// SysV semaphores: sembufs in user memory.
fn sembufs(k: &HostedKernel, ops: &[(u16, i16, i16)]) -> usize {
    let raw: Vec<u8> = ops
        .iter()
        .flat_map(|&(n, o, f)| [n.to_ne_bytes(), o.to_ne_bytes(), f.to_ne_bytes()].concat())
        .collect();
    let at = k.alloc_private(raw.len());
    k.write_user(at, &raw).expect("write the sembufs");
    at
}

/// Waiter threads, each a task of its own process, blocked in a -1 on
/// semaphore `num(i)` of set `id`; returned once all sleep. Each ends
/// when completed or when the set is removed.
fn park_waiters(
    k: &std::sync::Arc<HostedKernel>,
    id: usize,
    n: usize,
    num: impl Fn(usize) -> u16,
) -> Vec<std::thread::JoinHandle<()>> {
    let before = k.ipc().sysv.sem.blocked(id as i32).unwrap_or(0);
    let hs = (0..n)
        .map(|i| {
            let p = k.spawn_process(Credentials::new(1000, 1000));
            let (k2, p2) = (k.clone(), p.clone());
            let down = (num(i), -1i16, 0i16);
            k.spawn_task(&p, move || {
                let at = sembufs(&k2, &[down]);
                black_box(dispatch(&*k2, SYS_RB_SEMTIMEDOP, [id, at, 1, 0, 0, 0]).ok());
                k2.exit_process(&p2);
            })
        })
        .collect();
    while k.ipc().sysv.sem.blocked(id as i32).unwrap_or(0) < before + n {
        std::thread::yield_now();
    }
    hs
}

fn end_set(k: &HostedKernel, id: usize, waiters: Vec<std::thread::JoinHandle<()>>) {
    sys(k, SYS_RB_SEMCTL, &[id, 0, 0, 0]);
    for h in waiters {
        h.join().expect("waiter");
    }
}

/// +1 on semaphore 0, completing the first of its sleeping decrements in
/// place (N of them, from a queue of 2N).
#[inline(never)]
fn op_semop_wake_1_of_2000_waiters_set_of_1(k: &HostedKernel, id: usize, up: usize) {
    for _ in 0..N {
        black_box(sys(k, SYS_RB_SEMTIMEDOP, &[id, up, 1, 0]));
    }
}

#[inline(never)]
fn op_semop_wake_1_of_2000_waiters_set_of_250(k: &HostedKernel, id: usize, up: usize) {
    black_box("250");
    for _ in 0..N {
        black_box(sys(k, SYS_RB_SEMTIMEDOP, &[id, up, 1, 0]));
    }
}

/// +1 then -1 on semaphore 0 in one call, no waiter on it.
#[inline(never)]
fn op_semop_up_down_set_of_250(k: &HostedKernel, id: usize, both: usize) {
    for _ in 0..N {
        black_box(sys(k, SYS_RB_SEMTIMEDOP, &[id, both, 2, 0]));
    }
}

/// The same with 1000 decrements sleeping on semaphores 1..249.
#[inline(never)]
fn op_semop_up_down_set_of_250_1000_parked_elsewhere(k: &HostedKernel, id: usize, both: usize) {
    black_box("parked");
    for _ in 0..N {
        black_box(sys(k, SYS_RB_SEMTIMEDOP, &[id, both, 2, 0]));
    }
}

fn sem_rows(k: &std::sync::Arc<HostedKernel>) {
    let up = sembufs(k, &[(0, 1, 0)]);
    let both = sembufs(k, &[(0, 1, 0), (0, -1, 0)]);
    for nsems in [1, 250] {
        let id = sys(k, SYS_RB_SEMGET, &[0, nsems, IPC_CREAT | 0o600]);
        let ws = park_waiters(k, id, 2 * N, |_| 0);
        if nsems == 1 {
            op_semop_wake_1_of_2000_waiters_set_of_1(k, id, up);
        } else {
            op_semop_wake_1_of_2000_waiters_set_of_250(k, id, up);
        }
        end_set(k, id, ws);
    }
    let id = sys(k, SYS_RB_SEMGET, &[0, 250, IPC_CREAT | 0o600]);
    op_semop_up_down_set_of_250(k, id, both);
    let ws = park_waiters(k, id, 1000, |i| 1 + (i % 249) as u16);
    op_semop_up_down_set_of_250_1000_parked_elsewhere(k, id, both);
    end_set(k, id, ws);
}

fn main() {
    let k = HostedKernel::new(ClockMode::Real);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let task = k.enter(&p);

    op_null_enosys(&k);

    let w = k.alloc_private(4);
    op_futex_wake_nowaiter(&k, w);
    op_futex_wait_eagain(&k, w);

    let s = k.alloc_private(32);
    sys(&k, SYS_RB_SEM_INIT, &[s, 0, 0]);
    op_sem_post_trywait_kernel(&k, s);

    let efd = sys(&k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]);
    let one = k.alloc_private(8);
    k.write_user(one, &1u64.to_ne_bytes())
        .expect("write the eventfd value");
    let out = k.alloc_private(8);
    op_eventfd_write_read(&k, efd, one, out);
    poll_rows(&k, one);
    // Blocked, as the testbed benchmark blocks it: it stays pending.
    task.task().set_mask(sig_bit(SIGUSR1));
    signalfd_rows(&k, &p);
    mq_queue_rows(&k);

    let tfd = sys(&k, SYS_RB_TIMERFD_CREATE, &[1, 0, FD_SLOT_ANY]);
    let cur = k.alloc_private(32);
    op_timerfd_gettime(&k, tfd, cur);

    let id = sys(&k, SYS_RB_MSGGET, &[0, IPC_CREAT | 0o600]);
    let m = k.alloc_private(8 + 64);
    k.write_user(m, &1i64.to_ne_bytes())
        .expect("write the message type");
    op_msgsnd_msgrcv_64(&k, id, m);
    let other = k.alloc_private(8);
    k.write_user(other, &2i64.to_ne_bytes())
        .expect("write the other type");
    for _ in 0..10_000 {
        sys(&k, SYS_RB_MSGSND, &[id, other, 0, IPC_NOWAIT as usize]);
    }
    // The type-1 message is written back by each receive: restore it.
    k.write_user(m, &1i64.to_ne_bytes())
        .expect("write the message type");
    op_msgrcv_typed_10000_others(&k, id, m);
    sys(&k, SYS_RB_MSGCTL, &[id, 0, 0]);
    sem_rows(&k);
    mq_rows(&k);
    println!("dispatch_instructions: every operation ran {N} times");
}
