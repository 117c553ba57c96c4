//! Bad user pointers, differential: every user pointer of every system
//! call that Linux has too is tried with null, a low address, a
//! kernel-range address, a misaligned address, a range straddling into
//! unmapped memory, and read-only memory, against the host Linux kernel
//! (raw system calls through libc) and against our `dispatch`. Both the
//! call's result (EFAULT, EINVAL, or success) and the object's state
//! afterwards must agree: a failed copy changes nothing (no count
//! consumed, no message lost), or changes exactly what Linux changes.
//!
//! The calls: eventfd read (count 5 and 0) and write, the signalfd read
//! (a signal pending or not), the timerfd read (expired or not),
//! timerfd_settime/gettime, signalfd4, futex wait/wake, requeue and
//! cmp_requeue (both words), msgsnd, msgrcv (also MSG_COPY), msgctl
//! IPC_STAT/IPC_SET/IPC_INFO/MSG_INFO/MSG_STAT/MSG_STAT_ANY, semop's sops,
//! semtimedop's timeout, semctl IPC_STAT/IPC_SET/GETALL/SETALL/IPC_INFO/
//! SEM_INFO/SEM_STAT/SEM_STAT_ANY, mq_open's attr, mq_timedsend's message
//! and timeout, mq_timedreceive's buffer, priority and timeout,
//! mq_getsetattr's new and old, mq_notify's sigevent. Where ours differs
//! from Linux on purpose, the case says so (`kept_on_efault`,
//! `Deliberate`). The comparison can fail: with `read_ops` in
//! src/syscall/sem_sysv.rs ignoring a failed copy of the sembufs (a local
//! mutation, reverted), semop(sops) with Null, Low, Kernel and Straddle
//! differed; with msgctl's IPC_INFO / MSG_INFO copy-out in
//! src/syscall/msg.rs ignoring its fault, both differed at Null, Low,
//! Kernel, Straddle and ReadOnly.
//!
//! The calls with no Linux system call to compare with (the names of
//! mq_open, mq_unlink, sem_open, sem_unlink, passed as pointer and length;
//! the unnamed-semaphore calls, which glibc does in user space) are tried
//! at the same places against what they must do
//! (`every_pointer_of_our_own_calls_fails_efault_and_changes_nothing`).
//! That can fail too: with `read_name` in src/syscall/names.rs taking an
//! unreadable name as empty (a local mutation, reverted), mq_open and
//! sem_open gave EINVAL for Null, Low, Kernel and Straddle.

mod common;
mod diff;

use common::{sys, Env};
use diff::{last_errno, show, Outcome};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{
    FdFlags, FD_SLOT_ANY, GETALL, GETVAL, IPC_INFO, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT,
    MQ_ATTR_SIZE, MSG_COPY, MSG_INFO, MSG_STAT, MSG_STAT_ANY, SEMID_DS_SIZE, SEM_INFO, SEM_STAT,
    SEM_STAT_ANY, SETALL, SIGEVENT_SIZE, SIGEV_NONE,
};
use redbear_ipc::syscall::numbers::*;

/// Where a pointer argument points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    /// A good buffer holding the case's input.
    Good,
    Null,
    /// Inside the first page, never mapped.
    Low,
    /// The kernel half of the address space.
    Kernel,
    /// One byte past an aligned good buffer (same input).
    Misaligned,
    /// The last two bytes of a mapping, the rest unmapped.
    Straddle,
    /// A read-only mapping holding the input.
    ReadOnly,
}

const PLACES: [Place; 7] = [
    Place::Good,
    Place::Null,
    Place::Low,
    Place::Kernel,
    Place::Misaligned,
    Place::Straddle,
    Place::ReadOnly,
];

const LOW: usize = 0x10;
const KERNEL: usize = 0xffff_8000_0000_0000;
const PAGE: usize = 4096;

/// A call's outcome and the object's state after it (already normalised:
/// an fd becomes 0, a count stays a count).
type Observed = (Outcome, Outcome);

// ---- the Linux side -------------------------------------------------------

/// Three pages: read-write, unmapped, read-only.
struct LinuxMem {
    base: *mut u8,
    /// The next 512-byte slot of the first page for a good buffer, so
    /// that two buffers of one call never overlap.
    slot: std::cell::Cell<usize>,
}

impl LinuxMem {
    fn new() -> Self {
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                3 * PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base as *mut u8;
        // SAFETY: the middle page of our own mapping.
        assert_eq!(unsafe { libc::munmap(base.add(PAGE) as *mut _, PAGE) }, 0);
        LinuxMem {
            base,
            slot: std::cell::Cell::new(0),
        }
    }

    /// The address of `place`, with `input` written where it can be.
    fn at(&self, place: Place, input: &[u8]) -> usize {
        let b = self.base as usize;
        let fill = |at: usize| {
            // SAFETY: `at` lies in the first page of our mapping, with room
            // for `input` (every input is far smaller than a page).
            unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), at as *mut u8, input.len()) }
        };
        // Slots 0..7 of 512 bytes; the last two bytes of the page belong to
        // `Straddle`, which the last slot's buffers never reach.
        let slot = self.slot.get();
        self.slot.set((slot + 1) % 7);
        let good = b + slot * 512;
        match place {
            Place::Good => {
                fill(good);
                good
            }
            Place::Misaligned => {
                fill(good + 1);
                good + 1
            }
            Place::Straddle => {
                let at = b + PAGE - 2;
                // SAFETY: the last two bytes of the first page.
                unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), at as *mut u8, 2) };
                at
            }
            Place::ReadOnly => {
                let ro = b + 2 * PAGE;
                // SAFETY: our own third page, made writable to fill it, then
                // read-only again.
                unsafe {
                    libc::mprotect(ro as *mut _, PAGE, libc::PROT_READ | libc::PROT_WRITE);
                    std::ptr::copy_nonoverlapping(input.as_ptr(), ro as *mut u8, input.len());
                    libc::mprotect(ro as *mut _, PAGE, libc::PROT_READ);
                }
                ro
            }
            Place::Null => 0,
            Place::Low => LOW,
            Place::Kernel => KERNEL,
        }
    }
}

impl Drop for LinuxMem {
    fn drop(&mut self) {
        // SAFETY: the pages we mapped (the middle one is already gone).
        unsafe {
            libc::munmap(self.base as *mut _, PAGE);
            libc::munmap(self.base.add(2 * PAGE) as *mut _, PAGE);
        }
    }
}

fn lx(r: i64) -> Outcome {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

fn lsys(nr: libc::c_long, a: [usize; 6]) -> Outcome {
    // SAFETY: a raw system call; bad pointers are the point, and the kernel
    // checks them (the worst outcome is an errno).
    lx(unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) })
}

fn lclose(fd: i64) {
    // SAFETY: an fd this test opened.
    unsafe { libc::close(fd as i32) };
}

// ---- our side ---------------------------------------------------------------

/// Our memory: a good region, a short one to straddle its end, a
/// read-only one.
struct OurMem<'e> {
    e: &'e Env,
}

impl OurMem<'_> {
    fn at(&self, place: Place, input: &[u8]) -> usize {
        let k = &self.e.k;
        let fill = |len: usize, at_off: usize, bytes: &[u8]| {
            let base = k.alloc_private(len);
            k.write_user(base + at_off, bytes).expect("fresh region");
            (base, base + at_off)
        };
        match place {
            Place::Good => fill(256, 0, input).1,
            Place::Misaligned => fill(256, 1, input).1,
            Place::Straddle => fill(16, 14, &input[..2]).1,
            Place::ReadOnly => {
                let (base, at) = fill(256, 0, input);
                k.memory().protect(base, false);
                at
            }
            Place::Null => 0,
            Place::Low => LOW,
            Place::Kernel => KERNEL,
        }
    }
}

fn ours(e: &Env, nr: usize, a: [usize; 6]) -> Outcome {
    sys(&e.k, nr, &a).map(|v| v as i64)
}

// ---- the cases ------------------------------------------------------------

fn u64_bytes(v: u64) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn itimerspec(interval: (i64, i64), value: (i64, i64)) -> Vec<u8> {
    [interval.0, interval.1, value.0, value.1]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect()
}

/// A 100 s one-shot timer.
fn armed() -> Vec<u8> {
    itimerspec((0, 0), (100, 0))
}

/// Whether the timerfd `fd` is armed, read through a good buffer.
fn l_armed(m: &LinuxMem, fd: i64) -> Outcome {
    let cur = m.at(Place::Good, &[0; 32]);
    lsys(libc::SYS_timerfd_gettime, [fd as usize, cur, 0, 0, 0, 0])?;
    // SAFETY: `cur` is our good buffer, just written by the kernel.
    let sec = unsafe { *((cur + 16) as *const i64) };
    Ok((sec > 0) as i64)
}

fn o_armed(e: &Env, m: &OurMem, fd: usize) -> Outcome {
    let cur = m.at(Place::Good, &[0; 32]);
    ours(e, SYS_RB_TIMERFD_GETTIME, [fd, cur, 0, 0, 0, 0])?;
    let mut sec = [0u8; 8];
    e.k.read_user(cur + 16, &mut sec).expect("good buffer");
    Ok((i64::from_ne_bytes(sec) > 0) as i64)
}

/// Reads an eventfd's count through a good buffer (EAGAIN when zero).
fn l_count(m: &LinuxMem, fd: i64) -> Outcome {
    let b = m.at(Place::Good, &[0; 8]);
    // SAFETY: a read into our good buffer.
    lx(unsafe { libc::read(fd as i32, b as *mut _, 8) } as i64)?;
    // SAFETY: as above, now filled.
    Ok(unsafe { *(b as *const u64) } as i64)
}

fn o_count(e: &Env, m: &OurMem, fd: usize) -> Outcome {
    let b = m.at(Place::Good, &[0; 8]);
    e.k.read(fd, b, 8).map_err(|x| x.errno)?;
    let mut v = [0u8; 8];
    e.k.read_user(b, &mut v).expect("good buffer");
    Ok(u64::from_ne_bytes(v) as i64)
}

const MSQID_DS: usize = 120;

/// A message of type 1 with 8 bytes of text.
fn message() -> Vec<u8> {
    let mut m = 1i64.to_ne_bytes().to_vec();
    m.extend_from_slice(b"payload!");
    m
}

/// A queue's message count and mode (from IPC_STAT into a good buffer).
fn l_queue(m: &LinuxMem, id: i64) -> Outcome {
    let b = m.at(Place::Good, &[0; MSQID_DS]);
    lsys(
        libc::SYS_msgctl,
        [id as usize, IPC_STAT as usize, b, 0, 0, 0],
    )?;
    // SAFETY: our good buffer, filled by IPC_STAT (msg_qnum at 80, mode at 20).
    let (qnum, mode) = unsafe { (*((b + 80) as *const u64), *((b + 20) as *const u16)) };
    Ok(qnum as i64 * 0o10000 + (mode & 0o777) as i64)
}

fn o_queue(e: &Env, m: &OurMem, id: usize) -> Outcome {
    let b = m.at(Place::Good, &[0; MSQID_DS]);
    ours(e, SYS_RB_MSGCTL, [id, IPC_STAT as usize, b, 0, 0, 0])?;
    let mut raw = [0u8; MSQID_DS];
    e.k.read_user(b, &mut raw).expect("good buffer");
    let qnum = u64::from_ne_bytes(raw[80..88].try_into().expect("8 bytes"));
    let mode = u16::from_ne_bytes(raw[20..22].try_into().expect("2 bytes"));
    Ok(qnum as i64 * 0o10000 + (mode & 0o777) as i64)
}

/// A `msqid_ds` for IPC_SET: the queue's own, with mode 0640.
fn l_set_input(m: &LinuxMem, id: i64) -> Vec<u8> {
    let b = m.at(Place::Good, &[0; MSQID_DS]);
    lsys(
        libc::SYS_msgctl,
        [id as usize, IPC_STAT as usize, b, 0, 0, 0],
    )
    .expect("IPC_STAT");
    // SAFETY: our good buffer, filled by IPC_STAT.
    let mut raw = unsafe { std::slice::from_raw_parts(b as *const u8, MSQID_DS) }.to_vec();
    raw[20..22].copy_from_slice(&0o640u16.to_ne_bytes());
    raw
}

fn o_set_input(e: &Env, m: &OurMem, id: usize) -> Vec<u8> {
    let b = m.at(Place::Good, &[0; MSQID_DS]);
    ours(e, SYS_RB_MSGCTL, [id, IPC_STAT as usize, b, 0, 0, 0]).expect("IPC_STAT");
    let mut raw = vec![0u8; MSQID_DS];
    e.k.read_user(b, &mut raw).expect("good buffer");
    raw[20..22].copy_from_slice(&0o640u16.to_ne_bytes());
    raw
}

/// Runs `call` on a fresh private queue, then reads the queue's state and
/// removes it.
fn l_on_queue(m: &LinuxMem, call: impl FnOnce(usize) -> Outcome) -> Observed {
    let id = lsys(
        libc::SYS_msgget,
        [libc::IPC_PRIVATE as usize, 0o600, 0, 0, 0, 0],
    )
    .expect("msgget");
    let r = call(id as usize);
    let after = l_queue(m, id);
    lsys(
        libc::SYS_msgctl,
        [id as usize, IPC_RMID as usize, 0, 0, 0, 0],
    )
    .expect("rmid");
    (r, after)
}

fn o_on_queue(e: &Env, m: &OurMem, call: impl FnOnce(usize) -> Outcome) -> Observed {
    let id = ours(e, SYS_RB_MSGGET, [0, 0o600, 0, 0, 0, 0]).expect("msgget") as usize;
    let r = call(id);
    let after = o_queue(e, m, id);
    ours(e, SYS_RB_MSGCTL, [id, IPC_RMID as usize, 0, 0, 0, 0]).expect("rmid");
    (r, after)
}

// ---- SysV semaphore sets ----------------------------------------------------

/// A set's semaphore 0 value and mode, as one number (IPC_STAT and GETVAL
/// through good buffers).
fn l_set_state(m: &LinuxMem, id: i64) -> Outcome {
    let b = m.at(Place::Good, &[0; SEMID_DS_SIZE]);
    lsys(
        libc::SYS_semctl,
        [id as usize, 0, IPC_STAT as usize, b, 0, 0],
    )?;
    // SAFETY: our good buffer, filled by IPC_STAT (mode at 20).
    let mode = unsafe { *((b + 20) as *const u16) };
    let v = lsys(libc::SYS_semctl, [id as usize, 0, GETVAL as usize, 0, 0, 0])?;
    Ok(v * 0o10000 + (mode & 0o777) as i64)
}

fn o_set_state(e: &Env, m: &OurMem, id: usize) -> Outcome {
    let b = m.at(Place::Good, &[0; SEMID_DS_SIZE]);
    ours(e, SYS_RB_SEMCTL, [id, 0, IPC_STAT as usize, b, 0, 0])?;
    let mut raw = [0u8; SEMID_DS_SIZE];
    e.k.read_user(b, &mut raw).expect("good buffer");
    let mode = u16::from_ne_bytes(raw[20..22].try_into().expect("2 bytes"));
    let v = ours(e, SYS_RB_SEMCTL, [id, 0, GETVAL as usize, 0, 0, 0])?;
    Ok(v * 0o10000 + (mode & 0o777) as i64)
}

/// Runs `call` on a fresh private set of `n` semaphores, then reads its
/// state and removes it.
fn l_on_set(m: &LinuxMem, n: usize, call: impl FnOnce(usize) -> Outcome) -> Observed {
    let id = lsys(
        libc::SYS_semget,
        [libc::IPC_PRIVATE as usize, n, 0o1600, 0, 0, 0],
    )
    .expect("semget");
    let r = call(id as usize);
    let after = l_set_state(m, id);
    lsys(
        libc::SYS_semctl,
        [id as usize, 0, IPC_RMID as usize, 0, 0, 0],
    )
    .expect("rmid");
    (r, after)
}

fn o_on_set(e: &Env, m: &OurMem, n: usize, call: impl FnOnce(usize) -> Outcome) -> Observed {
    let id = ours(e, SYS_RB_SEMGET, [0, n, 0o1600, 0, 0, 0]).expect("semget") as usize;
    let r = call(id);
    let after = o_set_state(e, m, id);
    ours(e, SYS_RB_SEMCTL, [id, 0, IPC_RMID as usize, 0, 0, 0]).expect("rmid");
    (r, after)
}

/// (num, op, flg) triples as sembuf bytes.
fn sembufs(ops: &[(u16, i16, i16)]) -> Vec<u8> {
    ops.iter()
        .flat_map(|&(n, o, f)| {
            let mut b = n.to_ne_bytes().to_vec();
            b.extend_from_slice(&o.to_ne_bytes());
            b.extend_from_slice(&f.to_ne_bytes());
            b
        })
        .collect()
}

/// A `semid_ds` for IPC_SET: the set's own, with mode 0640.
fn l_sem_set_input(m: &LinuxMem, id: usize) -> Vec<u8> {
    let b = m.at(Place::Good, &[0; SEMID_DS_SIZE]);
    lsys(libc::SYS_semctl, [id, 0, IPC_STAT as usize, b, 0, 0]).expect("IPC_STAT");
    // SAFETY: our good buffer, filled by IPC_STAT.
    let mut raw = unsafe { std::slice::from_raw_parts(b as *const u8, SEMID_DS_SIZE) }.to_vec();
    raw[20..22].copy_from_slice(&0o640u16.to_ne_bytes());
    raw
}

fn o_sem_set_input(e: &Env, m: &OurMem, id: usize) -> Vec<u8> {
    let b = m.at(Place::Good, &[0; SEMID_DS_SIZE]);
    ours(e, SYS_RB_SEMCTL, [id, 0, IPC_STAT as usize, b, 0, 0]).expect("IPC_STAT");
    let mut raw = vec![0u8; SEMID_DS_SIZE];
    e.k.read_user(b, &mut raw).expect("good buffer");
    raw[20..22].copy_from_slice(&0o640u16.to_ne_bytes());
    raw
}

// ---- POSIX message queues ---------------------------------------------------

/// mq_attr of the test queues: 2 messages of at most 16 bytes.
fn mq_attr(flags: i64) -> Vec<u8> {
    let mut raw = vec![0u8; MQ_ATTR_SIZE];
    for (i, v) in [flags, 2, 16].iter().enumerate() {
        raw[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
    }
    raw
}

/// The queue's message count (mq_getsetattr into a good buffer).
fn l_curmsgs(m: &LinuxMem, fd: i64) -> Outcome {
    let b = m.at(Place::Good, &[0; MQ_ATTR_SIZE]);
    lsys(libc::SYS_mq_getsetattr, [fd as usize, 0, b, 0, 0, 0])?;
    // SAFETY: our good buffer, filled by the kernel (mq_curmsgs at 24).
    Ok(unsafe { *((b + 24) as *const i64) })
}

fn o_curmsgs(e: &Env, m: &OurMem, fd: usize) -> Outcome {
    let b = m.at(Place::Good, &[0; MQ_ATTR_SIZE]);
    ours(e, SYS_RB_MQ_GETSETATTR, [fd, 0, b, 0, 0, 0])?;
    let mut raw = [0u8; 8];
    e.k.read_user(b + 24, &mut raw).expect("good buffer");
    Ok(i64::from_ne_bytes(raw))
}

/// Runs `call` on a fresh nonblocking queue (name unlinked at once)
/// holding `queued` 8-byte messages, then reads its message count.
fn l_on_mq(m: &LinuxMem, queued: usize, call: impl FnOnce(usize) -> Outcome) -> Observed {
    // The raw system call takes the name without glibc's leading slash.
    let name = std::ffi::CString::new(format!("rb-efault-{}", std::process::id())).expect("name");
    let attr = m.at(Place::Good, &mq_attr(0));
    let fd = lsys(
        libc::SYS_mq_open,
        [
            name.as_ptr() as usize,
            (libc::O_RDWR | libc::O_CREAT | libc::O_NONBLOCK) as usize,
            0o600,
            attr,
            0,
            0,
        ],
    )
    .expect("mq_open");
    lsys(libc::SYS_mq_unlink, [name.as_ptr() as usize, 0, 0, 0, 0, 0]).expect("mq_unlink");
    for _ in 0..queued {
        let msg = m.at(Place::Good, b"payload!");
        lsys(libc::SYS_mq_timedsend, [fd as usize, msg, 8, 0, 0, 0]).expect("mq_send");
    }
    let r = call(fd as usize);
    let after = l_curmsgs(m, fd);
    lclose(fd);
    (r, after)
}

fn o_on_mq(e: &Env, m: &OurMem, queued: usize, call: impl FnOnce(usize) -> Outcome) -> Observed {
    let name = m.at(Place::Good, b"/efault");
    let attr = m.at(Place::Good, &mq_attr(0));
    // O_RDWR | O_CREAT | O_NONBLOCK in the kernel ABI.
    let oflag = 2 | 1 << 2 | 1 << 4;
    let fd = ours(
        e,
        SYS_RB_MQ_OPEN,
        [name, 7, oflag, 0o600, attr, FD_SLOT_ANY],
    )
    .expect("mq_open") as usize;
    ours(e, SYS_RB_MQ_UNLINK, [name, 7, 0, 0, 0, 0]).expect("mq_unlink");
    for _ in 0..queued {
        let msg = m.at(Place::Good, b"payload!");
        ours(e, SYS_RB_MQ_TIMEDSEND, [fd, msg, 8, 0, 0, 0]).expect("mq_send");
    }
    let r = call(fd);
    let after = o_curmsgs(e, m, fd);
    e.k.close(fd).expect("close");
    (r, after)
}

/// A SIGEV_NONE sigevent.
fn sigev_none() -> Vec<u8> {
    let mut raw = vec![0u8; SIGEVENT_SIZE];
    raw[12..16].copy_from_slice(&SIGEV_NONE.to_ne_bytes());
    raw
}

const ANY: usize = u32::MAX as usize;
const NONBLOCK: usize = FdFlags::NONBLOCK.bits();

// ---- parameterised cases ----------------------------------------------------

/// futex REQUEUE (or CMP_REQUEUE, expecting 0) of one waker and one
/// requeue, no waiter, with word `WHICH` (0: uaddr, 1: uaddr2) at the
/// place under test and the other a good word holding 0.
fn l_requeue<const CMP: bool, const WHICH: usize>(m: &LinuxMem, p: Place) -> Observed {
    let w = [0, 1].map(|i| m.at(if i == WHICH { p } else { Place::Good }, &[0; 4]));
    let op = if CMP {
        libc::FUTEX_CMP_REQUEUE
    } else {
        libc::FUTEX_REQUEUE
    } | libc::FUTEX_PRIVATE_FLAG;
    (
        lsys(libc::SYS_futex, [w[0], op as usize, 1, 1, w[1], 0]),
        Ok(0),
    )
}

fn o_requeue<const CMP: bool, const WHICH: usize>(e: &Env, m: &OurMem, p: Place) -> Observed {
    let w = [0, 1].map(|i| m.at(if i == WHICH { p } else { Place::Good }, &[0; 4]));
    let nr = if CMP {
        SYS_RB_FUTEX_CMP_REQUEUE
    } else {
        SYS_RB_FUTEX_REQUEUE
    };
    (ours(e, nr, [w[0], 1, w[1], 1, 0, 0]), Ok(0))
}

/// msgctl `CMD` into a `LEN`-byte buffer at the place under test, on a
/// fresh queue (`*_STAT` get the queue's index). The value returned (an
/// index, or the highest index in use) is not compared, only success.
fn l_msgctl_out<const CMD: i32, const LEN: usize>(m: &LinuxMem, p: Place) -> Observed {
    l_on_queue(m, |id| {
        let first = if CMD == MSG_STAT || CMD == MSG_STAT_ANY {
            id % 32768
        } else {
            id
        };
        let buf = m.at(p, &[0; LEN]);
        lsys(libc::SYS_msgctl, [first, CMD as usize, buf, 0, 0, 0]).map(|_| 0)
    })
}

fn o_msgctl_out<const CMD: i32, const LEN: usize>(e: &Env, m: &OurMem, p: Place) -> Observed {
    o_on_queue(e, m, |id| {
        let first = if CMD == MSG_STAT || CMD == MSG_STAT_ANY {
            id % 32768
        } else {
            id
        };
        let buf = m.at(p, &[0; LEN]);
        ours(e, SYS_RB_MSGCTL, [first, CMD as usize, buf, 0, 0, 0]).map(|_| 0)
    })
}

/// semctl `CMD` into a `LEN`-byte buffer, as `l_msgctl_out`.
fn l_semctl_out<const CMD: i32, const LEN: usize>(m: &LinuxMem, p: Place) -> Observed {
    l_on_set(m, 1, |id| {
        let first = if CMD == SEM_STAT || CMD == SEM_STAT_ANY {
            id % 32768
        } else {
            id
        };
        let buf = m.at(p, &[0; LEN]);
        lsys(libc::SYS_semctl, [first, 0, CMD as usize, buf, 0, 0]).map(|_| 0)
    })
}

fn o_semctl_out<const CMD: i32, const LEN: usize>(e: &Env, m: &OurMem, p: Place) -> Observed {
    o_on_set(e, m, 1, |id| {
        let first = if CMD == SEM_STAT || CMD == SEM_STAT_ANY {
            id % 32768
        } else {
            id
        };
        let buf = m.at(p, &[0; LEN]);
        ours(e, SYS_RB_SEMCTL, [first, 0, CMD as usize, buf, 0, 0]).map(|_| 0)
    })
}

/// The signalfd and timerfd reads: `PENDING` says whether a signal /
/// an expiry waits to be read when the read with the buffer under test
/// runs; the state is what a read through a good buffer finds after it
/// (the signal number or the expiry count, or EAGAIN).
const SIGINFO: usize = 128;

/// Runs `f` with SIGUSR1 blocked in this thread (and pending if asked),
/// then discards whatever of it is left pending.
fn with_sigusr1_blocked<T>(pending: bool, f: impl FnOnce() -> T) -> T {
    // SAFETY: plain signal-mask calls on this thread; the signal is
    // blocked before it is raised and taken back before unblocking.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        if pending {
            libc::raise(libc::SIGUSR1);
        }
        let r = f();
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        while libc::sigtimedwait(&set, std::ptr::null_mut(), &zero) > 0 {}
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

fn l_signalfd_read<const PENDING: bool>(m: &LinuxMem, p: Place) -> Observed {
    with_sigusr1_blocked(PENDING, || {
        let mask = m.at(Place::Good, &u64_bytes(1 << (libc::SIGUSR1 - 1)));
        let fd = lsys(
            libc::SYS_signalfd4,
            [usize::MAX, mask, 8, libc::SFD_NONBLOCK as usize, 0, 0],
        )
        .expect("signalfd");
        let buf = m.at(p, &[0; SIGINFO]);
        // SAFETY: a read with the pointer under test.
        let r = lx(unsafe { libc::read(fd as i32, buf as *mut _, SIGINFO) } as i64);
        let good = m.at(Place::Good, &[0; SIGINFO]);
        // SAFETY: a read into our good buffer, then its first u32.
        let after = lx(unsafe { libc::read(fd as i32, good as *mut _, SIGINFO) } as i64)
            .map(|_| unsafe { *(good as *const u32) } as i64);
        lclose(fd);
        (r, after)
    })
}

fn o_signalfd_read<const PENDING: bool>(e: &Env, m: &OurMem, p: Place) -> Observed {
    let mask = m.at(Place::Good, &u64_bytes(1 << (libc::SIGUSR1 - 1)));
    let fd = ours(
        e,
        SYS_RB_SIGNALFD4,
        [usize::MAX, mask, 8, NONBLOCK, FD_SLOT_ANY, 0],
    )
    .expect("signalfd") as usize;
    if PENDING {
        e.k.send_signal(&e.proc, libc::SIGUSR1 as u32);
    }
    let buf = m.at(p, &[0; SIGINFO]);
    let r =
        e.k.read(fd, buf, SIGINFO)
            .map(|v| v as i64)
            .map_err(|x| x.errno);
    let good = m.at(Place::Good, &[0; SIGINFO]);
    let after = e.k.read(fd, good, SIGINFO).map_err(|x| x.errno).map(|_| {
        let mut signo = [0u8; 4];
        e.k.read_user(good, &mut signo).expect("good buffer");
        i64::from(u32::from_ne_bytes(signo))
    });
    let _ = e.k.close(fd);
    (r, after)
}

/// msgrcv of the one message a fresh queue holds, into the place under
/// test, with IPC_NOWAIT and `FLAGS`.
fn l_msgrcv<const FLAGS: u32>(m: &LinuxMem, p: Place) -> Observed {
    l_on_queue(m, |id| {
        let msg = m.at(Place::Good, &message());
        lsys(libc::SYS_msgsnd, [id, msg, 8, IPC_NOWAIT as usize, 0, 0]).expect("msgsnd");
        let buf = m.at(p, &[0; 16]);
        let flags = (IPC_NOWAIT | FLAGS) as usize;
        lsys(libc::SYS_msgrcv, [id, buf, 8, 0, flags, 0])
    })
}

fn o_msgrcv<const FLAGS: u32>(e: &Env, m: &OurMem, p: Place) -> Observed {
    o_on_queue(e, m, |id| {
        let msg = m.at(Place::Good, &message());
        ours(e, SYS_RB_MSGSND, [id, msg, 8, IPC_NOWAIT as usize, 0, 0]).expect("msgsnd");
        let buf = m.at(p, &[0; 16]);
        let flags = (IPC_NOWAIT | FLAGS) as usize;
        ours(e, SYS_RB_MSGRCV, [id, buf, 8, 0, flags, 0])
    })
}

/// An 8-byte read of `fd` into the place under test, then the count a
/// good read finds (an eventfd's or a timerfd's); closes `fd`.
fn l_read_8(m: &LinuxMem, fd: i64, p: Place) -> Observed {
    let buf = m.at(p, &[0; 8]);
    // SAFETY: a read with the pointer under test.
    let r = lx(unsafe { libc::read(fd as i32, buf as *mut _, 8) } as i64);
    let after = l_count(m, fd);
    lclose(fd);
    (r, after)
}

fn o_read_8(e: &Env, m: &OurMem, fd: usize, p: Place) -> Observed {
    let buf = m.at(p, &[0; 8]);
    let r = e.k.read(fd, buf, 8).map(|v| v as i64).map_err(|x| x.errno);
    let after = o_count(e, m, fd);
    let _ = e.k.close(fd);
    (r, after)
}

/// A one-shot 1 ns setting (expired by the time it is read) or 100 s.
fn timer_spec(expired: bool) -> Vec<u8> {
    if expired {
        itimerspec((0, 0), (0, 1))
    } else {
        armed()
    }
}

/// A timerfd armed for 1 ns, expired (or, without `PENDING`, armed for
/// 100 s), read with the buffer under test.
fn l_timerfd_read<const PENDING: bool>(m: &LinuxMem, p: Place) -> Observed {
    let fd = lsys(
        libc::SYS_timerfd_create,
        [
            libc::CLOCK_MONOTONIC as usize,
            libc::TFD_NONBLOCK as usize,
            0,
            0,
            0,
            0,
        ],
    )
    .expect("timerfd");
    let spec = timer_spec(PENDING);
    let new = m.at(Place::Good, &spec);
    lsys(libc::SYS_timerfd_settime, [fd as usize, 0, new, 0, 0, 0]).expect("settime");
    std::thread::sleep(std::time::Duration::from_millis(2));
    l_read_8(m, fd, p)
}

fn o_timerfd_read<const PENDING: bool>(e: &Env, m: &OurMem, p: Place) -> Observed {
    let fd = sys(
        &e.k,
        SYS_RB_TIMERFD_CREATE,
        &[libc::CLOCK_MONOTONIC as usize, NONBLOCK, FD_SLOT_ANY],
    )
    .expect("timerfd");
    let spec = timer_spec(PENDING);
    let new = m.at(Place::Good, &spec);
    ours(e, SYS_RB_TIMERFD_SETTIME, [fd, 0, new, 0, 0, 0]).expect("settime");
    e.k.advance(2_000_000);
    o_read_8(e, m, fd, p)
}

/// A nonblocking eventfd of count `COUNT` read with the buffer under
/// test; the state is the count a good read finds after it.
fn l_eventfd_read<const COUNT: u32>(m: &LinuxMem, p: Place) -> Observed {
    // SAFETY: plain eventfd creation.
    let fd = lx(unsafe { libc::eventfd(COUNT, libc::EFD_NONBLOCK) } as i64).expect("eventfd");
    l_read_8(m, fd, p)
}

fn o_eventfd_read<const COUNT: u32>(e: &Env, m: &OurMem, p: Place) -> Observed {
    let init = COUNT as usize;
    let fd = sys(&e.k, SYS_RB_EVENTFD2, &[init, NONBLOCK, FD_SLOT_ANY]).expect("eventfd");
    o_read_8(e, m, fd, p)
}

/// mq_open with O_CREAT and the attr at the place under test; the state
/// is whether the queue exists afterwards (0, or ENOENT).
fn l_mq_open_attr(m: &LinuxMem, p: Place) -> Observed {
    let name =
        std::ffi::CString::new(format!("rb-efault-attr-{}", std::process::id())).expect("name");
    let attr = m.at(p, &mq_attr(0));
    let open = |flags: i32, attr: usize| {
        lsys(
            libc::SYS_mq_open,
            [name.as_ptr() as usize, flags as usize, 0o600, attr, 0, 0],
        )
    };
    let r = open(libc::O_RDWR | libc::O_CREAT, attr);
    if let Ok(fd) = r {
        lclose(fd);
    }
    let after = open(libc::O_RDWR, 0).map(|fd| {
        lclose(fd);
        0
    });
    let _ = lsys(libc::SYS_mq_unlink, [name.as_ptr() as usize, 0, 0, 0, 0, 0]);
    (r.map(|_| 0), after)
}

fn o_mq_open_attr(e: &Env, m: &OurMem, p: Place) -> Observed {
    let name = m.at(Place::Good, b"/efault");
    let attr = m.at(p, &mq_attr(0));
    // O_RDWR | O_CREAT in the kernel ABI.
    let open = |oflag: usize, attr: usize| {
        ours(
            e,
            SYS_RB_MQ_OPEN,
            [name, 7, oflag, 0o600, attr, FD_SLOT_ANY],
        )
    };
    let r = open(2 | 1 << 2, attr);
    if let Ok(fd) = r {
        let _ = e.k.close(fd as usize);
    }
    let after = open(2, 0).map(|fd| {
        let _ = e.k.close(fd as usize);
        0
    });
    let _ = ours(e, SYS_RB_MQ_UNLINK, [name, 7, 0, 0, 0, 0]);
    (r.map(|_| 0), after)
}

/// One case per (parameterised) call: no state of Linux's is kept apart,
/// no null pointer means "none".
fn plain(
    name: &'static str,
    linux: fn(&LinuxMem, Place) -> Observed,
    ours: fn(&Env, &OurMem, Place) -> Observed,
) -> Case {
    Case {
        name,
        kept_on_efault: None,
        null_is_none: false,
        deliberate: Deliberate::None,
        linux,
        ours,
    }
}

/// A case whose two sides take the same const parameters.
macro_rules! both {
    ($name:expr, $linux:ident, $ours:ident; $($p:tt),*) => {
        plain($name, $linux::<$($p),*>, $ours::<$($p),*>)
    };
}

/// The cases made from the parameterised calls above.
fn parameterised_cases() -> Vec<Case> {
    use redbear_ipc::syscall::abi::{MSGINFO_SIZE, SEMINFO_SIZE};
    vec![
        Case {
            // Linux takes the count, then fails the copy.
            kept_on_efault: Some(Ok(5)),
            ..both!("eventfd read(buf)", l_eventfd_read, o_eventfd_read; 5)
        },
        Case {
            deliberate: Deliberate::EfaultBeforeEagain,
            ..both!("eventfd read(buf), count 0", l_eventfd_read, o_eventfd_read; 0)
        },
        Case {
            // Linux dequeues the message, then fails the copy.
            kept_on_efault: Some(Ok(0o10000 + 0o600)),
            ..both!("msgrcv(msgp)", l_msgrcv, o_msgrcv; 0)
        },
        both!("msgrcv(msgp), MSG_COPY", l_msgrcv, o_msgrcv; MSG_COPY),
        both!("futex requeue(uaddr)", l_requeue, o_requeue; false, 0),
        both!("futex requeue(uaddr2)", l_requeue, o_requeue; false, 1),
        both!("futex cmp_requeue(uaddr)", l_requeue, o_requeue; true, 0),
        both!("futex cmp_requeue(uaddr2)", l_requeue, o_requeue; true, 1),
        both!("msgctl IPC_INFO(buf)", l_msgctl_out, o_msgctl_out; IPC_INFO, MSGINFO_SIZE),
        both!("msgctl MSG_INFO(buf)", l_msgctl_out, o_msgctl_out; MSG_INFO, MSGINFO_SIZE),
        both!("msgctl MSG_STAT(buf)", l_msgctl_out, o_msgctl_out; MSG_STAT, MSQID_DS),
        both!("msgctl MSG_STAT_ANY(buf)", l_msgctl_out, o_msgctl_out; MSG_STAT_ANY, MSQID_DS),
        both!("semctl IPC_INFO(buf)", l_semctl_out, o_semctl_out; IPC_INFO, SEMINFO_SIZE),
        both!("semctl SEM_INFO(buf)", l_semctl_out, o_semctl_out; SEM_INFO, SEMINFO_SIZE),
        both!("semctl SEM_STAT(buf)", l_semctl_out, o_semctl_out; SEM_STAT, SEMID_DS_SIZE),
        both!("semctl SEM_STAT_ANY(buf)", l_semctl_out, o_semctl_out; SEM_STAT_ANY, SEMID_DS_SIZE),
        Case {
            deliberate: Deliberate::EfaultBeforeEagain,
            ..both!("signalfd read(buf), nothing pending", l_signalfd_read, o_signalfd_read; false)
        },
        Case {
            // Linux dequeues the signal, then fails the copy.
            kept_on_efault: Some(Ok(i64::from(libc::SIGUSR1))),
            ..both!("signalfd read(buf), SIGUSR1 pending", l_signalfd_read, o_signalfd_read; true)
        },
        Case {
            deliberate: Deliberate::EfaultBeforeEagain,
            ..both!("timerfd read(buf), not expired", l_timerfd_read, o_timerfd_read; false)
        },
        Case {
            // Linux takes the expiry count, then fails the copy.
            kept_on_efault: Some(Ok(1)),
            deliberate: Deliberate::LinuxShortCopy,
            ..both!("timerfd read(buf), expired", l_timerfd_read, o_timerfd_read; true)
        },
        plain("mq_open(attr)", l_mq_open_attr, o_mq_open_attr),
    ]
}

/// A deliberate difference from Linux that a case may show, beside
/// `kept_on_efault`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deliberate {
    None,
    /// A nonblocking read with nothing to read: Linux never looks at the
    /// buffer (EAGAIN, unless the address is past user space); ours
    /// checks it first, before it would block (EFAULT), so that a read
    /// that can never succeed does not sleep until data comes only to
    /// fail then. The state is the same.
    EfaultBeforeEagain,
    /// A buffer straddling into unmapped memory: Linux copies the two
    /// bytes that fit and returns 2, the value lost; ours fails EFAULT
    /// and keeps it (`kept_on_efault`).
    LinuxShortCopy,
}

/// One pointer argument of one call: how to run it with the pointer at
/// `place` on each side.
struct Case {
    name: &'static str,
    /// Where Linux commits state before a failing copy (it consumes the
    /// eventfd count, dequeues the message, arms the timer, then returns
    /// EFAULT) and we deliberately do not: the state of an untouched
    /// object, which ours must show after its EFAULT.
    kept_on_efault: Option<Outcome>,
    /// Where a null pointer means "none" (no timeout): it would block.
    null_is_none: bool,
    deliberate: Deliberate,
    linux: fn(&LinuxMem, Place) -> Observed,
    ours: fn(&Env, &OurMem, Place) -> Observed,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "eventfd write(buf)",
            linux: |m, p| {
                // SAFETY: plain eventfd creation.
                let fd =
                    lx(unsafe { libc::eventfd(0, libc::EFD_NONBLOCK) } as i64).expect("eventfd");
                let b = m.at(p, &u64_bytes(3));
                // SAFETY: a write with the pointer under test.
                let r = lx(unsafe { libc::write(fd as i32, b as *const _, 8) } as i64);
                let after = l_count(m, fd);
                lclose(fd);
                (r, after)
            },
            ours: |e, m, p| {
                let fd = sys(&e.k, SYS_RB_EVENTFD2, &[0, NONBLOCK, FD_SLOT_ANY]).expect("eventfd");
                let b = m.at(p, &u64_bytes(3));
                let r = e.k.write(fd, b, 8).map(|v| v as i64).map_err(|x| x.errno);
                let after = o_count(e, m, fd);
                let _ = e.k.close(fd);
                (r, after)
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "timerfd_settime(new)",
            linux: |m, p| {
                let fd = lsys(
                    libc::SYS_timerfd_create,
                    [libc::CLOCK_MONOTONIC as usize, 0, 0, 0, 0, 0],
                )
                .expect("timerfd");
                let new = m.at(p, &armed());
                let r = lsys(libc::SYS_timerfd_settime, [fd as usize, 0, new, 0, 0, 0]);
                let after = l_armed(m, fd);
                lclose(fd);
                (r, after)
            },
            ours: |e, m, p| {
                let fd = sys(
                    &e.k,
                    SYS_RB_TIMERFD_CREATE,
                    &[libc::CLOCK_MONOTONIC as usize, 0, FD_SLOT_ANY],
                )
                .expect("timerfd");
                let new = m.at(p, &armed());
                let r = ours(e, SYS_RB_TIMERFD_SETTIME, [fd, 0, new, 0, 0, 0]);
                let after = o_armed(e, m, fd);
                let _ = e.k.close(fd);
                (r, after)
            },
        },
        Case {
            kept_on_efault: Some(Ok(0)),
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "timerfd_settime(old)",
            linux: |m, p| {
                let fd = lsys(
                    libc::SYS_timerfd_create,
                    [libc::CLOCK_MONOTONIC as usize, 0, 0, 0, 0, 0],
                )
                .expect("timerfd");
                let new = m.at(Place::Good, &armed());
                let old = m.at(p, &[0; 32]);
                let r = lsys(libc::SYS_timerfd_settime, [fd as usize, 0, new, old, 0, 0]);
                let after = l_armed(m, fd);
                lclose(fd);
                (r, after)
            },
            ours: |e, m, p| {
                let fd = sys(
                    &e.k,
                    SYS_RB_TIMERFD_CREATE,
                    &[libc::CLOCK_MONOTONIC as usize, 0, FD_SLOT_ANY],
                )
                .expect("timerfd");
                let new = m.at(Place::Good, &armed());
                let old = m.at(p, &[0; 32]);
                let r = ours(e, SYS_RB_TIMERFD_SETTIME, [fd, 0, new, old, 0, 0]);
                let after = o_armed(e, m, fd);
                let _ = e.k.close(fd);
                (r, after)
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "timerfd_gettime(cur)",
            linux: |m, p| {
                let fd = lsys(
                    libc::SYS_timerfd_create,
                    [libc::CLOCK_MONOTONIC as usize, 0, 0, 0, 0, 0],
                )
                .expect("timerfd");
                let new = m.at(Place::Good, &armed());
                lsys(libc::SYS_timerfd_settime, [fd as usize, 0, new, 0, 0, 0]).expect("settime");
                let cur = m.at(p, &[0; 32]);
                let r = lsys(libc::SYS_timerfd_gettime, [fd as usize, cur, 0, 0, 0, 0]);
                let after = l_armed(m, fd);
                lclose(fd);
                (r, after)
            },
            ours: |e, m, p| {
                let fd = sys(
                    &e.k,
                    SYS_RB_TIMERFD_CREATE,
                    &[libc::CLOCK_MONOTONIC as usize, 0, FD_SLOT_ANY],
                )
                .expect("timerfd");
                let new = m.at(Place::Good, &armed());
                ours(e, SYS_RB_TIMERFD_SETTIME, [fd, 0, new, 0, 0, 0]).expect("settime");
                let cur = m.at(p, &[0; 32]);
                let r = ours(e, SYS_RB_TIMERFD_GETTIME, [fd, cur, 0, 0, 0, 0]);
                let after = o_armed(e, m, fd);
                let _ = e.k.close(fd);
                (r, after)
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "signalfd4(mask)",
            linux: |m, p| {
                let mask = m.at(p, &u64_bytes(1 << (libc::SIGUSR1 - 1)));
                let r = lsys(
                    libc::SYS_signalfd4,
                    [usize::MAX, mask, 8, libc::SFD_NONBLOCK as usize, 0, 0],
                );
                if let Ok(fd) = r {
                    lclose(fd);
                }
                (r.map(|_| 0), Ok(0))
            },
            ours: |e, m, p| {
                let mask = m.at(p, &u64_bytes(1 << (libc::SIGUSR1 - 1)));
                let r = ours(
                    e,
                    SYS_RB_SIGNALFD4,
                    [usize::MAX, mask, 8, NONBLOCK, FD_SLOT_ANY, 0],
                );
                if let Ok(fd) = r {
                    let _ = e.k.close(fd as usize);
                }
                (r.map(|_| 0), Ok(0))
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "futex wake(uaddr)",
            linux: |m, p| {
                let w = m.at(p, &0u32.to_ne_bytes());
                let op = (libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG) as usize;
                (lsys(libc::SYS_futex, [w, op, 1, 0, 0, 0]), Ok(0))
            },
            ours: |e, m, p| {
                let w = m.at(p, &0u32.to_ne_bytes());
                (ours(e, SYS_RB_FUTEX_WAKE, [w, 1, 0, ANY, 0, 0]), Ok(0))
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "futex wait(uaddr), word differs",
            linux: |m, p| {
                let w = m.at(p, &0u32.to_ne_bytes());
                let op = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize;
                (lsys(libc::SYS_futex, [w, op, 1, 0, 0, 0]), Ok(0))
            },
            ours: |e, m, p| {
                let w = m.at(p, &0u32.to_ne_bytes());
                (ours(e, SYS_RB_FUTEX_WAIT, [w, 1, 0, 0, ANY, 0]), Ok(0))
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: true,
            deliberate: Deliberate::None,
            name: "futex wait(timeout), zero timeout",
            linux: |m, p| {
                let w = m.at(Place::Good, &0u32.to_ne_bytes());
                let ts = m.at(p, &[0; 16]);
                let op = (libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG) as usize;
                (lsys(libc::SYS_futex, [w, op, 0, ts, 0, 0]), Ok(0))
            },
            ours: |e, m, p| {
                let w = m.at(Place::Good, &0u32.to_ne_bytes());
                let ts = m.at(p, &[0; 16]);
                (ours(e, SYS_RB_FUTEX_WAIT, [w, 0, ts, 0, ANY, 0]), Ok(0))
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "msgsnd(msgp)",
            linux: |m, p| {
                l_on_queue(m, |id| {
                    let msg = m.at(p, &message());
                    lsys(libc::SYS_msgsnd, [id, msg, 8, IPC_NOWAIT as usize, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_queue(e, m, |id| {
                    let msg = m.at(p, &message());
                    ours(e, SYS_RB_MSGSND, [id, msg, 8, IPC_NOWAIT as usize, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "msgctl IPC_STAT(buf)",
            linux: |m, p| {
                l_on_queue(m, |id| {
                    let buf = m.at(p, &[0; MSQID_DS]);
                    lsys(libc::SYS_msgctl, [id, IPC_STAT as usize, buf, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_queue(e, m, |id| {
                    let buf = m.at(p, &[0; MSQID_DS]);
                    ours(e, SYS_RB_MSGCTL, [id, IPC_STAT as usize, buf, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "msgctl IPC_SET(buf)",
            linux: |m, p| {
                l_on_queue(m, |id| {
                    let buf = m.at(p, &l_set_input(m, id as i64));
                    lsys(libc::SYS_msgctl, [id, IPC_SET as usize, buf, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_queue(e, m, |id| {
                    let buf = m.at(p, &o_set_input(e, m, id));
                    ours(e, SYS_RB_MSGCTL, [id, IPC_SET as usize, buf, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "semop(sops)",
            linux: |m, p| {
                l_on_set(m, 1, |id| {
                    let ops = m.at(p, &sembufs(&[(0, 1, IPC_NOWAIT as i16)]));
                    lsys(libc::SYS_semtimedop, [id, ops, 1, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 1, |id| {
                    let ops = m.at(p, &sembufs(&[(0, 1, IPC_NOWAIT as i16)]));
                    ours(e, SYS_RB_SEMTIMEDOP, [id, ops, 1, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: true,
            deliberate: Deliberate::None,
            name: "semtimedop(timeout), zero timeout",
            linux: |m, p| {
                l_on_set(m, 1, |id| {
                    let ops = m.at(Place::Good, &sembufs(&[(0, -1, 0)]));
                    let ts = m.at(p, &[0; 16]);
                    lsys(libc::SYS_semtimedop, [id, ops, 1, ts, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 1, |id| {
                    let ops = m.at(Place::Good, &sembufs(&[(0, -1, 0)]));
                    let ts = m.at(p, &[0; 16]);
                    ours(e, SYS_RB_SEMTIMEDOP, [id, ops, 1, ts, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "semctl IPC_STAT(buf)",
            linux: |m, p| {
                l_on_set(m, 1, |id| {
                    let buf = m.at(p, &[0; SEMID_DS_SIZE]);
                    lsys(libc::SYS_semctl, [id, 0, IPC_STAT as usize, buf, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 1, |id| {
                    let buf = m.at(p, &[0; SEMID_DS_SIZE]);
                    ours(e, SYS_RB_SEMCTL, [id, 0, IPC_STAT as usize, buf, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "semctl IPC_SET(buf)",
            linux: |m, p| {
                l_on_set(m, 1, |id| {
                    let buf = m.at(p, &l_sem_set_input(m, id));
                    lsys(libc::SYS_semctl, [id, 0, IPC_SET as usize, buf, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 1, |id| {
                    let buf = m.at(p, &o_sem_set_input(e, m, id));
                    ours(e, SYS_RB_SEMCTL, [id, 0, IPC_SET as usize, buf, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "semctl GETALL(array)",
            linux: |m, p| {
                l_on_set(m, 2, |id| {
                    let buf = m.at(p, &[0; 4]);
                    lsys(libc::SYS_semctl, [id, 0, GETALL as usize, buf, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 2, |id| {
                    let buf = m.at(p, &[0; 4]);
                    ours(e, SYS_RB_SEMCTL, [id, 0, GETALL as usize, buf, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "semctl SETALL(array)",
            linux: |m, p| {
                l_on_set(m, 2, |id| {
                    let buf = m.at(p, &[3, 0, 4, 0]);
                    lsys(libc::SYS_semctl, [id, 0, SETALL as usize, buf, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_set(e, m, 2, |id| {
                    let buf = m.at(p, &[3, 0, 4, 0]);
                    ours(e, SYS_RB_SEMCTL, [id, 0, SETALL as usize, buf, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_timedsend(msg_ptr)",
            linux: |m, p| {
                l_on_mq(m, 0, |fd| {
                    let msg = m.at(p, b"payload!");
                    lsys(libc::SYS_mq_timedsend, [fd, msg, 8, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 0, |fd| {
                    let msg = m.at(p, b"payload!");
                    ours(e, SYS_RB_MQ_TIMEDSEND, [fd, msg, 8, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_timedsend(abs_timeout), room in the queue",
            linux: |m, p| {
                l_on_mq(m, 0, |fd| {
                    let msg = m.at(Place::Good, b"payload!");
                    let ts = m.at(p, &[0; 16]);
                    lsys(libc::SYS_mq_timedsend, [fd, msg, 8, 0, ts, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 0, |fd| {
                    let msg = m.at(Place::Good, b"payload!");
                    let ts = m.at(p, &[0; 16]);
                    ours(e, SYS_RB_MQ_TIMEDSEND, [fd, msg, 8, 0, ts, 0])
                })
            },
        },
        Case {
            kept_on_efault: Some(Ok(1)),
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_timedreceive(msg_ptr)",
            linux: |m, p| {
                l_on_mq(m, 1, |fd| {
                    let buf = m.at(p, &[0; 16]);
                    lsys(libc::SYS_mq_timedreceive, [fd, buf, 16, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 1, |fd| {
                    let buf = m.at(p, &[0; 16]);
                    ours(e, SYS_RB_MQ_TIMEDRECEIVE, [fd, buf, 16, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: Some(Ok(1)),
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_timedreceive(msg_prio)",
            linux: |m, p| {
                l_on_mq(m, 1, |fd| {
                    let buf = m.at(Place::Good, &[0; 16]);
                    let prio = m.at(p, &[0; 4]);
                    lsys(libc::SYS_mq_timedreceive, [fd, buf, 16, prio, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 1, |fd| {
                    let buf = m.at(Place::Good, &[0; 16]);
                    let prio = m.at(p, &[0; 4]);
                    ours(e, SYS_RB_MQ_TIMEDRECEIVE, [fd, buf, 16, prio, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_getsetattr(new)",
            linux: |m, p| {
                l_on_mq(m, 0, |fd| {
                    let new = m.at(p, &mq_attr(0));
                    lsys(libc::SYS_mq_getsetattr, [fd, new, 0, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 0, |fd| {
                    let new = m.at(p, &mq_attr(0));
                    ours(e, SYS_RB_MQ_GETSETATTR, [fd, new, 0, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_getsetattr(old)",
            linux: |m, p| {
                l_on_mq(m, 1, |fd| {
                    let old = m.at(p, &[0; MQ_ATTR_SIZE]);
                    lsys(libc::SYS_mq_getsetattr, [fd, 0, old, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 1, |fd| {
                    let old = m.at(p, &[0; MQ_ATTR_SIZE]);
                    ours(e, SYS_RB_MQ_GETSETATTR, [fd, 0, old, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_notify(sevp)",
            linux: |m, p| {
                l_on_mq(m, 0, |fd| {
                    let sev = m.at(p, &sigev_none());
                    lsys(libc::SYS_mq_notify, [fd, sev, 0, 0, 0, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 0, |fd| {
                    let sev = m.at(p, &sigev_none());
                    ours(e, SYS_RB_MQ_NOTIFY, [fd, sev, 0, 0, 0, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
            deliberate: Deliberate::None,
            name: "mq_timedreceive(abs_timeout), a message queued",
            linux: |m, p| {
                l_on_mq(m, 1, |fd| {
                    let buf = m.at(Place::Good, &[0; 16]);
                    let ts = m.at(p, &[0; 16]);
                    lsys(libc::SYS_mq_timedreceive, [fd, buf, 16, 0, ts, 0])
                })
            },
            ours: |e, m, p| {
                o_on_mq(e, m, 1, |fd| {
                    let buf = m.at(Place::Good, &[0; 16]);
                    let ts = m.at(p, &[0; 16]);
                    ours(e, SYS_RB_MQ_TIMEDRECEIVE, [fd, buf, 16, 0, ts, 0])
                })
            },
        },
    ]
}

/// A fresh process of uid 0 per call: the accounting check when its
/// kernel is dropped proves the failed call left nothing charged.
fn root_env() -> Env {
    Env::with_creds(
        ClockMode::Virtual,
        redbear_ipc::kernel::Credentials::new(0, 0),
    )
}

/// One line of a mismatch report: the call, the place, both sides.
fn mismatch(call: &str, place: Place, a: (&str, &Observed), b: (&str, &Observed)) -> String {
    let side =
        |(label, o): (&str, &Observed)| format!("{label} {} then {}", show(&o.0), show(&o.1));
    format!("{call} with {place:?}: {}, {}", side(a), side(b))
}

/// Every mismatch is reported, not only the first.
fn assert_none(mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn every_pointer_of_every_call_fails_and_changes_state_as_linux_does() {
    let lm = LinuxMem::new();
    let mut mismatches = Vec::new();
    let mut efaults = 0;
    let (mut n_cases, mut n_calls) = (0, 0);
    for case in cases().into_iter().chain(parameterised_cases()) {
        n_cases += 1;
        for place in PLACES {
            if case.null_is_none && place == Place::Null {
                continue;
            }
            n_calls += 1;
            let want = (case.linux)(&lm, place);
            // A fresh process per call: the accounting check at its end
            // proves the failed call left nothing charged.
            let e = root_env();
            let got = (case.ours)(&e, &OurMem { e: &e }, place);
            drop(e);
            if want.0 == Err(libc::EFAULT) {
                efaults += 1;
            }
            let untouched = case
                .kept_on_efault
                .is_some_and(|untouched| got.1 == untouched);
            let kept = want.0 == Err(libc::EFAULT) && got.0 == want.0 && untouched;
            let deliberate = got.0 == Err(libc::EFAULT)
                && match case.deliberate {
                    Deliberate::None => false,
                    Deliberate::EfaultBeforeEagain => {
                        want.0 == Err(libc::EAGAIN) && want.1 == got.1
                    }
                    Deliberate::LinuxShortCopy => {
                        place == Place::Straddle && want.0 == Ok(2) && untouched
                    }
                };
            if want != got && !kept && !deliberate {
                mismatches.push(mismatch(case.name, place, ("linux", &want), ("ours", &got)));
            }
        }
    }
    assert_none(&mismatches);
    eprintln!("{n_cases} cases, {n_calls} calls a side, {efaults} EFAULT on Linux");
    // The cases really exercise faults (a harness that never faults would
    // pass the comparison vacuously).
    assert!(efaults >= 150, "only {efaults} EFAULTs on Linux");
}

// ---- calls with no Linux system call to compare with -----------------------

/// A call of ours alone (no Linux system call takes the same pointer): the
/// names of mq_open, mq_unlink, sem_open and sem_unlink, passed as
/// (pointer, length) where Linux takes a C string; the unnamed-semaphore
/// calls, which glibc does in user space. Each is tried at every place
/// and must give `good` with a good buffer, `misaligned` one byte off,
/// `read_only` in read-only memory (EFAULT for a call that writes there),
/// `straddle` straddling into unmapped memory, and `bad` elsewhere: EFAULT
/// and the state of an untouched object.
struct OursOnly {
    name: &'static str,
    good: Observed,
    misaligned: Observed,
    read_only: Observed,
    straddle: Observed,
    bad: Observed,
    run: fn(&Env, Place) -> Observed,
}

/// `place` in our memory, 4-aligned where it can be: the straddling
/// address is the last word of a short region, so that an aligned word
/// (a semaphore) straddles into unmapped memory.
fn our_at(e: &Env, place: Place, input: &[u8]) -> usize {
    if place == Place::Straddle {
        let base = e.k.alloc_private(16);
        e.k.write_user(base + 12, &input[..4])
            .expect("fresh region");
        return base + 12;
    }
    OurMem { e }.at(place, input)
}

const SEM_BYTES: usize = 32;

/// An unnamed semaphore of `value` initialised in good memory, its bytes
/// copied to `place` (where they can be).
fn unnamed_at(e: &Env, place: Place, value: usize) -> usize {
    let good = e.k.alloc_private(SEM_BYTES);
    ours(e, SYS_RB_SEM_INIT, [good, 0, value, 0, 0, 0]).expect("sem_init");
    let mut raw = [0u8; SEM_BYTES];
    e.k.read_user(good, &mut raw).expect("good memory");
    our_at(e, place, &raw)
}

/// The value sem_getvalue reads at `sem` (an errno where it cannot).
fn value_at(e: &Env, sem: usize) -> Outcome {
    ours(e, SYS_RB_SEM_GETVALUE, [sem, 0, 0, 0, 0, 0])
}

/// Whether the name `/efault` exists in the family of `open_nr` (an
/// open without O_CREAT: 0 or ENOENT).
fn exists(e: &Env, open_nr: usize) -> Outcome {
    let name = our_at(e, Place::Good, b"/efault");
    ours(e, open_nr, [name, 7, 0, 0, 0, FD_SLOT_ANY]).map(|_| 0)
}

/// O_RDWR | O_CREAT for mq_open, O_CREAT for sem_open, in the kernel ABI.
fn create_flags(open_nr: usize) -> usize {
    if open_nr == SYS_RB_MQ_OPEN {
        2 | 1 << 2
    } else {
        redbear_ipc::syscall::abi::OpenFlags::CREATE.bits()
    }
}

/// Creates `/efault` with the name at `place`; the state is whether it
/// exists afterwards.
fn create_named<const OPEN: usize>(e: &Env, p: Place) -> Observed {
    let name = our_at(e, p, b"/efault");
    let r = ours(
        e,
        OPEN,
        [name, 7, create_flags(OPEN), 0o600, 0, FD_SLOT_ANY],
    )
    .map(|_| 0);
    (r, exists(e, OPEN))
}

/// Creates `/efault` through a good name, then unlinks it with the name
/// at `place`; the state is whether it still exists.
fn unlink_named<const OPEN: usize, const UNLINK: usize>(e: &Env, p: Place) -> Observed {
    create_named::<OPEN>(e, Place::Good).0.expect("created");
    let name = our_at(e, p, b"/efault");
    let r = ours(e, UNLINK, [name, 7, 0, 0, 0, 0]);
    (r, exists(e, OPEN))
}

fn ours_only_cases() -> Vec<OursOnly> {
    const EFAULT: i32 = libc::EFAULT;
    const ENOENT: i32 = libc::ENOENT;
    const EINVAL: i32 = libc::EINVAL;
    let named = |name, run, good: Observed| {
        let gone = if good.1.is_ok() { Err(ENOENT) } else { Ok(0) };
        OursOnly {
            name,
            good,
            misaligned: good,
            read_only: good,
            straddle: (Err(EFAULT), gone),
            bad: (Err(EFAULT), gone),
            run,
        }
    };
    let sem_word = |name, good: Observed, read_only: Observed, bad_state: Outcome, run| OursOnly {
        name,
        good,
        misaligned: (Err(EINVAL), Err(EINVAL)),
        read_only,
        // Only the value word is mapped: it reads as in read-only memory.
        straddle: read_only,
        bad: (Err(EFAULT), bad_state),
        run,
    };
    vec![
        named(
            "mq_open(name)",
            create_named::<SYS_RB_MQ_OPEN>,
            (Ok(0), Ok(0)),
        ),
        named(
            "mq_unlink(name)",
            unlink_named::<SYS_RB_MQ_OPEN, SYS_RB_MQ_UNLINK>,
            (Ok(0), Err(ENOENT)),
        ),
        named(
            "sem_open(name)",
            create_named::<SYS_RB_SEM_OPEN>,
            (Ok(0), Ok(0)),
        ),
        named(
            "sem_unlink(name)",
            unlink_named::<SYS_RB_SEM_OPEN, SYS_RB_SEM_UNLINK>,
            (Ok(0), Err(ENOENT)),
        ),
        OursOnly {
            misaligned: (Err(EINVAL), Ok(0)),
            ..sem_word(
                "sem_init(sem)",
                (Ok(0), Ok(0)),
                (Err(EFAULT), Ok(0)),
                Ok(0),
                |e, p| {
                    let sem = our_at(e, p, &[0; SEM_BYTES]);
                    (ours(e, SYS_RB_SEM_INIT, [sem, 0, 1, 0, 0, 0]), Ok(0))
                },
            )
        },
        // Read-only: the post fails and the value (still readable) stays.
        sem_word(
            "sem_post(sem)",
            (Ok(0), Ok(2)),
            (Err(EFAULT), Ok(1)),
            Err(EFAULT),
            |e, p| {
                let sem = unnamed_at(e, p, 1);
                (
                    ours(e, SYS_RB_SEM_POST, [sem, 0, 0, 0, 0, 0]),
                    value_at(e, sem),
                )
            },
        ),
        sem_word(
            "sem_trywait(sem)",
            (Ok(0), Ok(0)),
            (Err(EFAULT), Ok(1)),
            Err(EFAULT),
            |e, p| {
                let sem = unnamed_at(e, p, 1);
                let r = ours(e, SYS_RB_SEM_WAIT, [sem, TRY_FLAG, 0, 0, 0, 0]);
                (r, value_at(e, sem))
            },
        ),
        sem_word(
            "sem_getvalue(sem)",
            (Ok(1), Ok(1)),
            (Ok(1), Ok(1)),
            Err(EFAULT),
            |e, p| {
                let sem = unnamed_at(e, p, 1);
                (value_at(e, sem), value_at(e, sem))
            },
        ),
        OursOnly {
            name: "sem_timedwait(abs_timeout), value 0",
            good: (Err(libc::ETIMEDOUT), Ok(0)),
            misaligned: (Err(libc::ETIMEDOUT), Ok(0)),
            read_only: (Err(libc::ETIMEDOUT), Ok(0)),
            straddle: (Err(EFAULT), Ok(0)),
            bad: (Err(EFAULT), Ok(0)),
            run: |e, p| {
                let sem = unnamed_at(e, Place::Good, 0);
                let ts = our_at(e, p, &[0; 16]);
                let realtime = libc::CLOCK_REALTIME as usize;
                let r = ours(e, SYS_RB_SEM_WAIT, [sem, TIMED_FLAG, ts, realtime, 0, 0]);
                (r, value_at(e, sem))
            },
        },
    ]
}

const TRY_FLAG: usize = redbear_ipc::syscall::abi::SemFlags::TRY.bits();
const TIMED_FLAG: usize = redbear_ipc::syscall::abi::SemFlags::TIMED.bits();

#[test]
fn every_pointer_of_our_own_calls_fails_efault_and_changes_nothing() {
    let mut mismatches = Vec::new();
    for case in ours_only_cases() {
        for place in PLACES {
            let want = match place {
                Place::Good => case.good,
                Place::Misaligned => case.misaligned,
                Place::ReadOnly => case.read_only,
                Place::Straddle => case.straddle,
                _ => case.bad,
            };
            let e = root_env();
            let got = (case.run)(&e, place);
            drop(e);
            if got != want {
                mismatches.push(mismatch(case.name, place, ("want", &want), ("got", &got)));
            }
        }
    }
    assert_none(&mismatches);
}
