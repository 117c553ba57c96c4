//! Bad user pointers, differential: every user pointer of every system
//! call that Linux has too is tried with null, a low address, a
//! kernel-range address, a misaligned address, a range straddling into
//! unmapped memory, and read-only memory, against the host Linux kernel
//! (raw system calls through libc) and against our `dispatch`. Both the
//! call's result (EFAULT, EINVAL, or success) and the object's state
//! afterwards must agree: a failed copy changes nothing (no count
//! consumed, no message lost), or changes exactly what Linux changes.
//!
//! The calls: eventfd read/write, timerfd_settime/gettime, signalfd4,
//! futex wait/wake, msgsnd, msgrcv, msgctl IPC_STAT/IPC_SET, semop's
//! sops, semtimedop's timeout, semctl IPC_STAT/IPC_SET/GETALL/SETALL,
//! mq_timedsend's message and timeout, mq_timedreceive's buffer and
//! priority, mq_getsetattr's new and old, mq_notify's sigevent. The
//! comparison can fail: with `read_ops` in src/syscall/sem_sysv.rs
//! ignoring a failed copy of the sembufs (a local mutation, reverted),
//! semop(sops) with Null, Low, Kernel and Straddle differed.
//!
//! The unnamed-semaphore calls have no Linux system call to compare with
//! (glibc does them in user space); their pointer checks are in
//! tests/sem.rs and, from C, tests/qemu/c/shim_efault.c.

mod common;
mod diff;

use common::{sys, Env};
use diff::{last_errno, show, Outcome};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::{
    FdFlags, FD_SLOT_ANY, GETALL, GETVAL, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, MQ_ATTR_SIZE,
    SEMID_DS_SIZE, SETALL, SIGEVENT_SIZE, SIGEV_NONE,
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
    linux: fn(&LinuxMem, Place) -> Observed,
    ours: fn(&Env, &OurMem, Place) -> Observed,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            kept_on_efault: Some(Ok(5)),
            null_is_none: false,
            name: "eventfd read(buf)",
            linux: |m, p| {
                // SAFETY: plain eventfd creation.
                let fd =
                    lx(unsafe { libc::eventfd(5, libc::EFD_NONBLOCK) } as i64).expect("eventfd");
                let b = m.at(p, &[0; 8]);
                // SAFETY: a read with the pointer under test.
                let r = lx(unsafe { libc::read(fd as i32, b as *mut _, 8) } as i64);
                let after = l_count(m, fd);
                lclose(fd);
                (r, after)
            },
            ours: |e, m, p| {
                let fd = sys(&e.k, SYS_RB_EVENTFD2, &[5, NONBLOCK, FD_SLOT_ANY]).expect("eventfd");
                let b = m.at(p, &[0; 8]);
                let r = e.k.read(fd, b, 8).map(|v| v as i64).map_err(|x| x.errno);
                let after = o_count(e, m, fd);
                let _ = e.k.close(fd);
                (r, after)
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
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
            kept_on_efault: Some(Ok(0o10000 + 0o600)),
            null_is_none: false,
            name: "msgrcv(msgp)",
            linux: |m, p| {
                l_on_queue(m, |id| {
                    let msg = m.at(Place::Good, &message());
                    lsys(libc::SYS_msgsnd, [id, msg, 8, IPC_NOWAIT as usize, 0, 0])
                        .expect("msgsnd");
                    let buf = m.at(p, &[0; 16]);
                    lsys(libc::SYS_msgrcv, [id, buf, 8, 0, IPC_NOWAIT as usize, 0])
                })
            },
            ours: |e, m, p| {
                o_on_queue(e, m, |id| {
                    let msg = m.at(Place::Good, &message());
                    ours(e, SYS_RB_MSGSND, [id, msg, 8, IPC_NOWAIT as usize, 0, 0])
                        .expect("msgsnd");
                    let buf = m.at(p, &[0; 16]);
                    ours(e, SYS_RB_MSGRCV, [id, buf, 8, 0, IPC_NOWAIT as usize, 0])
                })
            },
        },
        Case {
            kept_on_efault: None,
            null_is_none: false,
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
    ]
}

#[test]
fn every_pointer_of_every_call_fails_and_changes_state_as_linux_does() {
    let lm = LinuxMem::new();
    let mut mismatches = Vec::new();
    let mut efaults = 0;
    for case in cases() {
        for place in PLACES {
            if case.null_is_none && place == Place::Null {
                continue;
            }
            let want = (case.linux)(&lm, place);
            // A fresh process per call: the accounting check at its end
            // proves the failed call left nothing charged.
            let e = Env::with_creds(
                ClockMode::Virtual,
                redbear_ipc::kernel::Credentials::new(0, 0),
            );
            let got = (case.ours)(&e, &OurMem { e: &e }, place);
            drop(e);
            if want.0 == Err(libc::EFAULT) {
                efaults += 1;
            }
            let kept = want.0 == Err(libc::EFAULT)
                && got.0 == want.0
                && case
                    .kept_on_efault
                    .is_some_and(|untouched| got.1 == untouched);
            if want != got && !kept {
                mismatches.push(format!(
                    "{} with {place:?}: linux {} then {}, ours {} then {}",
                    case.name,
                    show(&want.0),
                    show(&want.1),
                    show(&got.0),
                    show(&got.1)
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    // The cases really exercise faults (a harness that never faults would
    // pass the comparison vacuously).
    assert!(efaults >= 40, "only {efaults} EFAULTs on Linux");
}
