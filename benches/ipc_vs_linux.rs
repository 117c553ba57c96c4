//! Host benchmark: the subsystem's objects on the hosted kernel, next to
//! the same operation on this machine's Linux kernel, measured in one run.
//!
//! The two columns are not the same thing and no ratio is printed: our
//! side is a function call into `dispatch` (object locks, wait queues, the
//! hosted kernel's simulated user-memory checks) with no trap; the Linux
//! side is a real system call, trap included. The like-for-like
//! comparison, the same C program through a real trap on Linux and on our
//! testbed in the same emulator, is `ci/bench`.
//!
//! Run: `cargo bench --features hosted --bench ipc_vs_linux`
//! (`-- --quick` for a short run).

use std::hint::black_box;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::{ClockMode, HostedKernel};
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::{FdFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::dispatch;
use redbear_ipc::syscall::numbers::*;

/// Median ns per iteration of `f` over `rounds` timed batches.
fn measure(iters: u64, rounds: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..iters / 10 {
        f();
    }
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[rounds / 2]
}

fn sys(k: &HostedKernel, nr: usize, args: &[usize]) -> usize {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    dispatch(k, nr, a).unwrap_or(usize::MAX)
}

struct Row {
    name: &'static str,
    linux: f64,
    ours: f64,
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (iters, rounds) = if quick { (20_000, 5) } else { (200_000, 11) };
    let k = HostedKernel::new(ClockMode::Real);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let _task = k.enter(&p);
    let mut rows = Vec::new();

    // 1. Null call: Linux getppid vs our dispatch of a reserved number.
    rows.push(Row {
        name: "null call (getppid / ENOSYS dispatch)",
        // SAFETY: getppid has no preconditions.
        linux: measure(iters, rounds, || {
            black_box(unsafe { libc::getppid() });
        }),
        ours: measure(iters, rounds, || {
            // The block's last number is reserved: dispatch answers ENOSYS.
            black_box(sys(&k, END - 1, &[]));
        }),
    });

    // 2. futex wake with nobody waiting.
    let mut word = 0u32;
    let w = k.alloc_private(4);
    rows.push(Row {
        name: "futex wake, no waiter",
        linux: measure(iters, rounds, || {
            // SAFETY: a valid private futex word.
            black_box(unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    &mut word as *mut u32,
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    1,
                    0,
                    0,
                    0,
                )
            });
        }),
        ours: measure(iters, rounds, || {
            black_box(sys(&k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, u32::MAX as usize]));
        }),
    });

    // 3. eventfd write + read.
    // SAFETY: plain syscall.
    let lfd = unsafe { libc::eventfd(0, 0) };
    let one = 1u64;
    let mut out = 0u64;
    let ofd = sys(&k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]);
    let ubuf = k.alloc_private(8);
    k.write_user(ubuf, &1u64.to_ne_bytes()).unwrap();
    let obuf = k.alloc_private(8);
    rows.push(Row {
        name: "eventfd write+read",
        linux: measure(iters, rounds, || {
            // SAFETY: 8-byte buffers on an eventfd we own.
            unsafe {
                libc::write(lfd, (&one as *const u64).cast(), 8);
                libc::read(lfd, (&mut out as *mut u64).cast(), 8);
            }
        }),
        ours: measure(iters, rounds, || {
            black_box(k.write(ofd, ubuf, 8).ok());
            black_box(k.read(ofd, obuf, 8).ok());
        }),
    });

    // 4. semaphore post + trywait: glibc's is user space only; ours here is
    //    the kernel path (the shim's user-space fast path is measured in
    //    relibc-shim's benchmark).
    // SAFETY: sem_t initialised by sem_init before use, never moved.
    let mut lsem: libc::sem_t = unsafe { std::mem::zeroed() };
    unsafe { libc::sem_init(&mut lsem, 0, 0) };
    let osem = k.alloc_private(32);
    sys(&k, SYS_RB_SEM_INIT, &[osem, 0, 0]);
    rows.push(Row {
        name: "sem post+trywait (glibc user space / our kernel path)",
        linux: measure(iters, rounds, || {
            // SAFETY: initialised semaphore.
            unsafe {
                libc::sem_post(&mut lsem);
                libc::sem_trywait(&mut lsem);
            }
        }),
        ours: measure(iters, rounds, || {
            black_box(sys(&k, SYS_RB_SEM_POST, &[osem, 0]));
            black_box(sys(&k, SYS_RB_SEM_WAIT, &[osem, SemFlags::TRY.bits()]));
        }),
    });

    // 5. eventfd ping-pong between two threads (one round trip each).
    let pp_iters = if quick { 2_000 } else { 20_000 };
    rows.push(Row {
        name: "eventfd ping-pong round trip (2 threads)",
        linux: linux_pingpong(pp_iters),
        ours: our_pingpong(&k, &p, pp_iters),
    });

    println!(
        "\n{:<56} {:>20} {:>22}",
        "operation", "linux syscall ns", "ours dispatch() ns"
    );
    for r in &rows {
        println!("{:<56} {:>20.1} {:>22.1}", r.name, r.linux, r.ours);
    }
    // SAFETY: closing our own fd.
    unsafe { libc::close(lfd) };
}

fn linux_pingpong(iters: u64) -> f64 {
    // SAFETY: plain syscalls on fds we own; 8-byte buffers.
    let (a, b) = unsafe { (libc::eventfd(0, 0), libc::eventfd(0, 0)) };
    let peer = std::thread::spawn(move || {
        let mut v = 0u64;
        let one = 1u64;
        for _ in 0..iters {
            unsafe {
                libc::read(a, (&mut v as *mut u64).cast(), 8);
                libc::write(b, (&one as *const u64).cast(), 8);
            }
        }
    });
    let start = Instant::now();
    let mut v = 0u64;
    let one = 1u64;
    for _ in 0..iters {
        unsafe {
            libc::write(a, (&one as *const u64).cast(), 8);
            libc::read(b, (&mut v as *mut u64).cast(), 8);
        }
    }
    let per = start.elapsed().as_nanos() as f64 / iters as f64;
    peer.join().unwrap();
    unsafe {
        libc::close(a);
        libc::close(b);
    }
    per
}

fn our_pingpong(
    k: &std::sync::Arc<HostedKernel>,
    p: &std::sync::Arc<redbear_ipc::hosted::Process>,
    iters: u64,
) -> f64 {
    let a = sys(
        k,
        SYS_RB_EVENTFD2,
        &[0, FdFlags::empty().bits(), FD_SLOT_ANY],
    );
    let b = sys(k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY]);
    let one = k.alloc_shared(8);
    k.write_user(one, &1u64.to_ne_bytes()).unwrap();
    let k2 = k.clone();
    let peer = k.spawn_task(p, move || {
        let buf = k2.alloc_private(8);
        for _ in 0..iters {
            k2.read(a, buf, 8).unwrap();
            k2.write(b, one, 8).unwrap();
        }
    });
    let buf = k.alloc_private(8);
    let start = Instant::now();
    for _ in 0..iters {
        k.write(a, one, 8).unwrap();
        k.read(b, buf, 8).unwrap();
    }
    let per = start.elapsed().as_nanos() as f64 / iters as f64;
    peer.join().unwrap();
    let _ = Duration::ZERO;
    per
}
