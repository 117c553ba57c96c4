//! Resource limits hold without hurting anyone else, each reached at its
//! own documented bound rather than at whichever runs out first:
//! - the task limit (the testbed's `MAX_TASKS`, 1100 tasks in all): hog
//!   processes of uid 1000 start threads, at most `HOG_THREADS` each (so no
//!   process comes near its frame limit), until a spawn is refused with
//!   EAGAIN, exactly when the tasks alive (their threads, this program,
//!   the witness and each hog's main task) are 1100; or, on a machine
//!   whose kernel heap cannot hold 1100 kernel stacks (ci/qemu-main's run
//!   at 256 MiB), earlier, when a new task would leave less than the
//!   heap's reserve free (the testbed's `heap::RESERVE`, 8 MiB), and the
//!   reserve is then still free for everyone's IPC objects; either way
//!   the heap is given back when the hogs exit;
//! - the per-process frame limit (`MAX_FRAMES`, 16384 frames = 64 MiB): a
//!   process of uid 1000 maps 16 MiB at a time until ENOMEM, which comes
//!   after exactly three (the fourth would pass 64 MiB with what the
//!   program already owns);
//! - meanwhile a witness process of another user (uid 1001), started
//!   before either, keeps working: eventfd, a SysV queue of its own, 4 MiB
//!   of fresh memory, and a thread (refused with EAGAIN only while the
//!   task table is full: that limit is global, as a machine's is);
//! - once the hogs exit, everything is given back: the witness starts a
//!   thread again.
//!
//! The processes talk over one SysV message queue (mtypes below).
#![no_std]
#![no_main]

#[path = "../sysv.rs"]
mod sysv;

use core::sync::atomic::{AtomicU32, Ordering};

use redbear_ipc::syscall::abi::IPC_NOWAIT;
use redbear_ipc::syscall::numbers::{SYS_RB_EVENTFD2, SYS_RB_FUTEX_WAIT, SYS_RB_FUTEX_WAKE};
use sysv::*;
use user_rt::{check, println, sys, thread};

const ENOMEM: isize = 12;
const HOG_UID: u32 = 1000;
const WITNESS_UID: u32 = 1001;
/// The testbed's task limit (tests/qemu/testbed/src/sched.rs MAX_TASKS).
const MAX_TASKS: usize = 1100;
/// Threads one hog starts at most: 500 x 16 frames of stack stays far
/// below the 16384-frame process limit.
const HOG_THREADS: usize = 500;
/// Hogs started at most (three are enough to fill the table).
const MAX_HOGS: usize = 4;
/// The testbed's kernel stack per task (sched.rs `KSTACK_SIZE`).
const KSTACK: usize = 64 << 10;
/// The heap the testbed keeps free of kernel stacks (heap.rs `RESERVE`).
const RESERVE: usize = 8 << 20;
/// Kernel heap a task takes besides its stack, at most (its record and
/// its entries in the tables; far less in fact).
const TASK_EXTRA: usize = 8 << 10;
/// Room for the small allocations and frees between a refusal and the
/// reading of the heap (the hog's report, the witness's round).
const HEAP_SLACK: usize = 256 << 10;
/// Heap that may stay held in the allocator's size-class lists after
/// every hog is gone (small blocks are kept for their class); a leak of
/// 32 kernel stacks is more.
const HEAP_KEPT: usize = 2 << 20;
/// The per-process mapping size of the memory phase.
const CHUNK: usize = 16 << 20;

/// Child roles (the argument's low byte; the queue id above it).
const HOG: usize = 1;
const WITNESS: usize = 2;
const MEMHOG: usize = 3;

/// Message types on the shared queue.
const T_HOG_REPORT: i64 = 1;
const T_HOG_GO: i64 = 2;
const T_WITNESS_DO: i64 = 3;
const T_WITNESS_DONE: i64 = 4;
const T_MEM_REPORT: i64 = 5;
const T_MEM_GO: i64 = 6;
/// The witness's last command: work once more, then exit.
const LAST: u8 = 1;

static GATE: AtomicU32 = AtomicU32::new(0);

fn parked(_: usize) -> i32 {
    while GATE.load(Ordering::SeqCst) == 0 {
        sys::syscall(
            SYS_RB_FUTEX_WAIT,
            [GATE.as_ptr() as usize, 0, 0, 0, u32::MAX as usize, 0],
        );
    }
    0
}

fn open_gate() {
    GATE.store(1, Ordering::SeqCst);
    sys::syscall(
        SYS_RB_FUTEX_WAKE,
        [
            GATE.as_ptr() as usize,
            i32::MAX as usize,
            0,
            u32::MAX as usize,
            0,
            0,
        ],
    );
}

/// Two numbers as a message text.
fn pair(a: usize, b: isize) -> [u8; 16] {
    let mut t = [0u8; 16];
    t[..8].copy_from_slice(&(a as u64).to_ne_bytes());
    t[8..].copy_from_slice(&(b as i64).to_ne_bytes());
    t
}

fn unpair(text: &[u8]) -> (usize, isize) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&text[..8]);
    b.copy_from_slice(&text[8..16]);
    (
        u64::from_ne_bytes(a) as usize,
        i64::from_ne_bytes(b) as isize,
    )
}

/// Receives the pair of a message of type `t` (blocking).
fn recv_pair(q: i32, t: i64) -> Result<(usize, isize), i32> {
    let g = msgrcv(q, 16, t, 0)?;
    if g.len != 16 {
        return Err(-1);
    }
    Ok(unpair(g.text()))
}

/// Starts threads until HOG_THREADS or a refusal, reports (started,
/// errno or 0), waits for the go, then ends them all.
fn hog(q: i32) -> i32 {
    let mut tids = [0usize; HOG_THREADS];
    let mut n = 0;
    let mut refused = 0;
    while n < HOG_THREADS {
        match thread::spawn(parked, 0) {
            Ok(t) => {
                tids[n] = t;
                n += 1;
            }
            Err(e) => {
                refused = e;
                break;
            }
        }
    }
    if msgsnd(q, T_HOG_REPORT, &pair(n, refused), 0).is_err() {
        return 1;
    }
    if msgrcv(q, 0, T_HOG_GO, 0).is_err() {
        return 2;
    }
    open_gate();
    for &t in &tids[..n] {
        if thread::join(t) != Ok(0) {
            return 3;
        }
    }
    0
}

/// Maps CHUNK after CHUNK (every page written) until a refusal; reports
/// (chunks, errno), waits for the go, exits (the frames go back then).
fn memhog(q: i32) -> i32 {
    let mut chunks = 0;
    let refused = loop {
        if chunks == 8 {
            break 0;
        }
        match sys::mmap_anon(CHUNK) {
            Ok(a) => {
                let mut p = a;
                while p < a + CHUNK {
                    // SAFETY: the kernel just mapped [a, a + CHUNK)
                    // read-write for this process.
                    unsafe { core::ptr::write_volatile(p as *mut u8, 1) };
                    p += 4096;
                }
                chunks += 1;
            }
            Err(e) => break e,
        }
    };
    if msgsnd(q, T_MEM_REPORT, &pair(chunks, refused), 0).is_err() {
        return 1;
    }
    if msgrcv(q, 0, T_MEM_GO, 0).is_err() {
        return 2;
    }
    0
}

/// One round of ordinary work: eventfd, a private SysV queue, fresh
/// memory, then a thread. `Ok(errno of the thread, 0 if it ran)`, or
/// `Err(step)` for the first step that failed.
fn work() -> Result<isize, usize> {
    let fd = sys::check(sys::syscall(SYS_RB_EVENTFD2, [0, 0, 0, 0, 0, 0])).map_err(|_| 1usize)?;
    if sys::write(fd, &5u64.to_ne_bytes()) != Ok(8) || sys::read_u64(fd) != Ok(5) {
        return Err(2);
    }
    if sys::close(fd).is_err() {
        return Err(3);
    }
    let own = msgget(IPC_PRIVATE, 0o600).map_err(|_| 4usize)?;
    if msgsnd(own, 7, b"still here", IPC_NOWAIT).is_err()
        || recv_first(own, 7, IPC_NOWAIT) != Ok((7, b's'))
        || rmid(own).is_err()
    {
        return Err(5);
    }
    let mem = sys::mmap_anon(4 << 20).map_err(|_| 6usize)?;
    // SAFETY: the kernel just mapped [mem, mem + 4 MiB) read-write.
    unsafe {
        core::ptr::write_volatile(mem as *mut u8, 1);
        core::ptr::write_volatile((mem + (4 << 20) - 1) as *mut u8, 1);
    }
    Ok(match thread::spawn(|_| 7, 0) {
        Ok(t) if thread::join(t) == Ok(7) => 0,
        Ok(_) => return Err(7),
        Err(e) => e,
    })
}

/// Works once per command, replying (ok, thread errno), until LAST.
fn witness(q: i32) -> i32 {
    loop {
        let Ok(cmd) = msgrcv(q, 1, T_WITNESS_DO, 0) else {
            return 1;
        };
        let reply = match work() {
            Ok(e) => pair(1, e),
            Err(step) => pair(0, step as isize),
        };
        if msgsnd(q, T_WITNESS_DONE, &reply, 0).is_err() {
            return 2;
        }
        if cmd.len == 1 && cmd.text[0] == LAST {
            return 0;
        }
    }
}

/// Asks the witness for a round: (worked, errno of its thread).
fn witness_round(q: i32, last: bool) -> Result<(usize, isize), i32> {
    msgsnd(q, T_WITNESS_DO, &[u8::from(last)], 0)?;
    recv_pair(q, T_WITNESS_DONE)
}

/// `cond`, saying `what` and the figure it is about when it fails.
fn holds(what: &str, cond: bool, figure: usize) -> bool {
    if !cond {
        println!("{}: does not hold ({})", what, figure);
    }
    cond
}

/// The kernel heap's bytes not handed out (the testbed's CPU_INFO 3).
fn heap_free() -> usize {
    sys::syscall(user_rt::abi::nr::CPU_INFO, [3, 0, 0, 0, 0, 0]) as usize
}

fn spawn(role: usize, uid: u32, q: i32) -> Result<usize, isize> {
    sys::spawn_process("limits", uid, role | (q as usize) << 8)
}

fn main(a: usize) -> i32 {
    if a != 0 {
        let q = (a >> 8) as i32;
        return match a & 0xff {
            HOG => hog(q),
            WITNESS => witness(q),
            MEMHOG => memhog(q),
            _ => 100,
        };
    }
    let Ok(q) = msgget(IPC_PRIVATE, 0o666) else {
        return 2;
    };
    let mut ok = true;
    let Ok(w) = spawn(WITNESS, WITNESS_UID, q) else {
        return 3;
    };
    ok &= check(
        "witness before the limits",
        witness_round(q, false),
        Ok((1, 0)),
    );

    // 1. The task limit: hogs until one is refused. Which bound comes
    // first follows from the heap: the reserve, if the tasks still to
    // come (this program and the witness are alive) cannot all have a
    // stack without going into it.
    let heap_before = heap_free();
    let to_come = MAX_TASKS - 2;
    let by_reserve = heap_before < RESERVE + to_come * KSTACK;
    let by_task_limit = heap_before >= RESERVE + to_come * (KSTACK + TASK_EXTRA);
    if !by_reserve && !by_task_limit {
        println!(
            "limits: {} heap bytes free, too near the reserve's bound to tell which limit comes first",
            heap_before
        );
        return 8;
    }
    let mut hogs = [0usize; MAX_HOGS];
    let mut nhogs = 0;
    let mut threads = 0;
    let mut refusal = 0;
    while nhogs < MAX_HOGS && refusal == 0 {
        let Ok(h) = spawn(HOG, HOG_UID, q) else {
            println!("hog {} did not start", nhogs);
            return 4;
        };
        hogs[nhogs] = h;
        nhogs += 1;
        let Ok((n, e)) = recv_pair(q, T_HOG_REPORT) else {
            return 5;
        };
        threads += n;
        refusal = e;
    }
    ok &= check(
        "the task limit refuses with EAGAIN",
        refusal,
        EAGAIN as isize,
    );
    let heap_at_refusal = heap_free();
    if by_task_limit {
        // Refused exactly at the limit: the hogs' threads plus this
        // program, the witness and each hog's main task are all the tasks
        // there are.
        ok &= check("tasks alive at the refusal", threads + 2 + nhogs, MAX_TASKS);
    } else {
        // Refused before the task limit, with the reserve left free: one
        // more stack would have gone into it.
        let tasks = threads + 2 + nhogs;
        ok &= holds(
            "refused by the heap reserve before the task limit (tasks alive)",
            tasks < MAX_TASKS,
            tasks,
        );
        ok &= holds(
            "the reserve is free at the refusal (heap bytes free)",
            heap_at_refusal + HEAP_SLACK >= RESERVE,
            heap_at_refusal,
        );
        ok &= holds(
            "no room for one more stack outside the reserve (heap bytes free)",
            heap_at_refusal < RESERVE + KSTACK + HEAP_SLACK,
            heap_at_refusal,
        );
    }
    // Another user keeps working; only its new thread waits for room.
    ok &= check(
        "witness while the task table is full",
        witness_round(q, false),
        Ok((1, EAGAIN as isize)),
    );
    for &h in &hogs[..nhogs] {
        ok &= check("release a hog", msgsnd(q, T_HOG_GO, b"", 0), Ok(0));
        let _ = h;
    }
    for &h in &hogs[..nhogs] {
        ok &= check("hog ends its threads", sys::wait_process(h), Ok(0));
    }
    ok &= check(
        "witness after the hogs",
        witness_round(q, false),
        Ok((1, 0)),
    );
    let heap_after = heap_free();
    ok &= holds(
        "the hogs' kernel stacks are back in the heap (heap bytes free)",
        heap_after + HEAP_KEPT >= heap_before,
        heap_after,
    );

    // 2. The per-process frame limit.
    let Ok(m) = spawn(MEMHOG, HOG_UID, q) else {
        return 6;
    };
    let Ok((chunks, e)) = recv_pair(q, T_MEM_REPORT) else {
        return 7;
    };
    ok &= check("the frame limit refuses with ENOMEM", e, ENOMEM);
    ok &= check("16 MiB chunks within 64 MiB", chunks, 3);
    ok &= check(
        "witness while another process is at its frame limit",
        witness_round(q, false),
        Ok((1, 0)),
    );
    ok &= check("release the memory hog", msgsnd(q, T_MEM_GO, b"", 0), Ok(0));
    ok &= check("memory hog exits", sys::wait_process(m), Ok(0));
    ok &= check("witness at the end", witness_round(q, true), Ok((1, 0)));
    ok &= check("witness exits", sys::wait_process(w), Ok(0));
    ok &= check("queue empty", stat(q).map(|d| d.qnum), Ok(0));
    ok &= check("rmid", rmid(q), Ok(0));
    if ok {
        println!(
            "limits: ok ({} hog threads in {} processes before EAGAIN from the {}; heap free {} KiB before, {} KiB at the refusal, {} KiB after; {} x 16 MiB before ENOMEM; the other user kept working)",
            threads,
            nhogs,
            if by_task_limit { "task limit" } else { "heap reserve" },
            heap_before >> 10,
            heap_at_refusal >> 10,
            heap_after >> 10,
            chunks
        );
        0
    } else {
        println!("limits: {} hog threads, refusal {}", threads, refusal);
        1
    }
}

user_rt::entry!(main);
