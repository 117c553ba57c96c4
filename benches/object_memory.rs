//! Kernel memory per object and per queued message, measured with a
//! counting allocator: the bytes live on the heap after creating `N`
//! objects of a kind through `dispatch` on the hosted kernel, minus the
//! bytes live before, divided by `N`; then every object is destroyed and
//! what stays live is reported (it must be 0). Requested bytes, not the
//! allocator's rounded-up blocks. The hosted kernel's own share is in the
//! figures: its descriptor table entry for each fd object (a `BTreeMap`
//! slot), nothing else (user memory is allocated before the first count).
//!
//! Run: `cargo bench --features hosted --bench object_memory` (`ci/bench
//! host` runs it too). Deterministic: the same figures on every run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

mod common;

use common::sys;
use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::ipc::common::limits::Limits;
use redbear_ipc::ipc::futex::FutexTable;
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::{OpenFlags, FD_NEW, FD_SLOT_ANY, IPC_NOWAIT};
use redbear_ipc::syscall::numbers::*;
use redbear_ipc::Ipc;

/// Live heap bytes.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

// SAFETY: every call is forwarded to `System` with the same arguments;
// the counter only observes sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// Objects (or messages) per measurement.
const N: usize = 1000;
const IPC_CREAT: usize = 0o1000;
const IPC_RMID: usize = 0;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// Named semaphores per measurement (a user may hold 256), and queued
/// messages (200 of 64 B fit the default 16384-byte queue).
const N_SMALL: usize = 200;
/// POSIX queues with the default attributes per measurement.
const N_MQ: usize = 8;

/// Creates `n` objects with `make(i)`, destroys them with `destroy`, and
/// prints `RBMEM <name> <bytes per object> <bytes still live after>`.
fn row<T>(name: &str, n: usize, make: impl Fn(usize) -> T, destroy: impl Fn(T)) {
    let mut made: Vec<T> = Vec::with_capacity(n);
    let before = live();
    made.extend((0..n).map(&make));
    let per = (live() - before) / n as isize;
    made.into_iter().for_each(destroy);
    println!("RBMEM {name} {per} {}", live() - before);
}

fn main() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let _task = k.enter(&p);

    // User memory first: it is heap too.
    let mask = k.alloc_private(8);
    k.write_user(mask, &(1u64 << 9).to_ne_bytes())
        .expect("mask");
    let names: Vec<(usize, usize)> = (0..N_SMALL)
        .map(|i| {
            let s = format!("/rbmem{i}");
            let at = k.alloc_private(s.len());
            k.write_user(at, s.as_bytes()).expect("name");
            (at, s.len())
        })
        .collect();
    let text = k.alloc_private(8 + 64);
    k.write_user(text, &1i64.to_ne_bytes()).expect("type");

    let close = |fd: usize| k.close(fd).expect("close");
    row(
        "eventfd",
        N,
        |_| sys(&k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]),
        close,
    );
    row(
        "timerfd",
        N,
        |_| sys(&k, SYS_RB_TIMERFD_CREATE, &[1, 0, FD_SLOT_ANY]),
        close,
    );
    row(
        "signalfd",
        N,
        |_| sys(&k, SYS_RB_SIGNALFD4, &[FD_NEW, mask, 8, 0, FD_SLOT_ANY]),
        close,
    );
    let create = OpenFlags::CREATE.bits();
    row(
        "named_semaphore",
        N_SMALL,
        |i| {
            let (at, len) = names[i];
            (
                i,
                sys(
                    &k,
                    SYS_RB_SEM_OPEN,
                    &[at, len, create, 0o600, 0, FD_SLOT_ANY],
                ),
            )
        },
        |(i, fd)| {
            close(fd);
            let (at, len) = names[i];
            sys(&k, SYS_RB_SEM_UNLINK, &[at, len]);
        },
    );
    row(
        "sysv_msg_queue",
        N,
        |_| sys(&k, SYS_RB_MSGGET, &[0, IPC_CREAT | 0o600]),
        |id| {
            sys(&k, SYS_RB_MSGCTL, &[id, IPC_RMID, 0]);
        },
    );
    let q = sys(&k, SYS_RB_MSGGET, &[0, IPC_CREAT | 0o600]);
    let nowait = IPC_NOWAIT as usize;
    for (name, len) in [("queued_msg_0B", 0), ("queued_msg_64B", 64)] {
        row(
            name,
            N_SMALL,
            |_| sys(&k, SYS_RB_MSGSND, &[q, text, len, nowait]),
            |_| {
                sys(&k, SYS_RB_MSGRCV, &[q, text, 64, 0, nowait]);
            },
        );
    }
    sys(&k, SYS_RB_MSGCTL, &[q, IPC_RMID, 0]);

    // 200 sets of 250: 1000 would pass a user's 8 MiB of kernel memory.
    for (name, nsems, n) in [
        ("sysv_sem_set_of_1", 1, N),
        ("sysv_sem_set_of_250", 250, N_SMALL),
    ] {
        row(
            name,
            n,
            |_| sys(&k, SYS_RB_SEMGET, &[0, nsems, IPC_CREAT | 0o600]),
            |id| {
                sys(&k, SYS_RB_SEMCTL, &[id, 0, IPC_RMID, 0]);
            },
        );
    }

    // POSIX mq with the default attributes (10 x 8192), empty and full:
    // a user's RLIMIT_MSGQUEUE (819200 bytes) holds 9 such queues.
    let rdwr_create = 2 | 1 << 2; // O_RDWR | O_CREAT
    let big = k.alloc_private(8192);
    let open_mq = |i: usize| {
        let (at, len) = names[i];
        let fd = sys(
            &k,
            SYS_RB_MQ_OPEN,
            &[at, len, rdwr_create, 0o600, 0, FD_SLOT_ANY],
        );
        (i, fd)
    };
    let close_mq = |(i, fd): (usize, usize)| {
        close(fd);
        let (at, len) = names[i];
        sys(&k, SYS_RB_MQ_UNLINK, &[at, len]);
    };
    row("mq_default_attr_empty", N_MQ, open_mq, close_mq);
    row(
        "mq_default_attr_full_10x8192",
        N_MQ,
        |i| {
            let q = open_mq(i);
            for _ in 0..10 {
                sys(&k, SYS_RB_MQ_TIMEDSEND, &[q.1, big, 8192, 0, 0]);
            }
            q
        },
        close_mq,
    );
    let (_, q) = open_mq(0);
    for (name, len) in [("mq_queued_msg_0B", 0), ("mq_queued_msg_64B", 64)] {
        row(
            name,
            10,
            |_| sys(&k, SYS_RB_MQ_TIMEDSEND, &[q, big, len, 0, 0]),
            |_| {
                sys(&k, SYS_RB_MQ_TIMEDRECEIVE, &[q, big, 8192, 0, 0]);
            },
        );
    }
    close_mq((0, q));
    // A namespace's fixed tables, the futex buckets first (one heap block).
    row("futex_table", 4, |_| FutexTable::new(), drop);
    row("ipc_namespace", 4, |_| Ipc::new(Limits::default()), drop);
}
