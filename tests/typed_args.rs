//! Register decoding of the futex, semaphore, eventfd and signalfd calls:
//! a register holding more than its argument's type (`1 << 32 | v` for a
//! `u32` or an `int`, a negative or too wide fd) is refused with the
//! errno of a bad value of that kind and changes nothing, where an
//! `as u32` would have read `v`.
//!
//! Linux's own syscalls read `int` and `u32` arguments from the low 32
//! bits (its syscall entry casts each register to the declared type);
//! the `linux_*` tests measure that on this machine, so the difference
//! that docs/abi.md records ("Register decoding") stays a measured one.

mod common;

use std::time::Duration;

use common::{peek_u32, poke_u32, sys, timespec, user_bytes, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::ipc::fd::eventfd::EventFd;
use redbear_ipc::ipc::fd::signalfd::SignalFd;
use redbear_ipc::kernel::{sig_bit, ClockId, Kernel};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

/// The high half set: what an `as u32` drops.
const HI: usize = 1 << 32;
const ANY: usize = u32::MAX as usize;
const PARK: Duration = Duration::from_secs(10);

// ---- futex ----

#[test]
fn futex_wait_refuses_wide_expected_and_bitset_and_queues_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let w = e.k.alloc_private(4);
    poke_u32(&e.k, w, 1);
    let ts = timespec(&e.k, 0, 0);
    // `as u32` would compare with 1 (the word) and sleep until ts.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, HI | 1, ts, 0, ANY]),
        Err(EINVAL)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 1, ts, 0, HI | 1]),
        Err(EINVAL)
    );
    assert_eq!(e.k.parked_tasks(), 0);
    assert_eq!(peek_u32(&e.k, w), 1);
    // The same registers without the high half do reach the table.
    assert_eq!(
        sys(&e.k, SYS_RB_FUTEX_WAIT, &[w, 1, ts, 0, 1]),
        Err(ETIMEDOUT)
    );
}

#[test]
fn futex_wake_and_requeue_refuse_wide_counts_and_leave_the_waiter() {
    let e = Env::new(ClockMode::Real);
    let w = e.k.alloc_private(8);
    let w2 = w + 4;
    let k = e.k.clone();
    let waiter = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_FUTEX_WAIT, &[w, 0, 0, 0, ANY])
    });
    assert!(e.k.wait_parked(1, PARK));
    let refused: [(usize, &[usize]); 6] = [
        (SYS_RB_FUTEX_WAKE, &[w, HI | 1, 0, ANY]),
        (SYS_RB_FUTEX_WAKE, &[w, 1, 0, HI | 1]),
        (SYS_RB_FUTEX_REQUEUE, &[w, HI | 1, w2, 0, 0]),
        (SYS_RB_FUTEX_REQUEUE, &[w, 0, w2, HI | 1, 0]),
        (SYS_RB_FUTEX_CMP_REQUEUE, &[w, HI | 1, w2, 0, 0, 0]),
        // `as u32` would see the word's 0 and requeue.
        (SYS_RB_FUTEX_CMP_REQUEUE, &[w, 0, w2, 1, 0, HI]),
    ];
    for (nr, args) in refused {
        assert_eq!(sys(&e.k, nr, args), Err(EINVAL), "{nr} {args:x?}");
    }
    // Still queued on the first word, nothing on the second.
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w2, 1, 0, ANY]), Ok(0));
    assert_eq!(e.k.parked_tasks(), 1);
    assert_eq!(sys(&e.k, SYS_RB_FUTEX_WAKE, &[w, 1, 0, ANY]), Ok(1));
    assert_eq!(waiter.join().unwrap(), Ok(0));
}

// ---- semaphores ----

const FD: usize = SemFlags::REF_FD.bits();
const CREAT: usize = OpenFlags::CREATE.bits();

#[test]
fn sem_init_refuses_wide_values_and_pshared_and_writes_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let s = e.k.alloc_private(32);
    poke_u32(&e.k, s, 77);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, HI | 1]), Err(EINVAL));
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, HI | 1, 1]), Err(EINVAL));
    assert_eq!(peek_u32(&e.k, s), 77, "a refused init writes nothing");
    // A C int, zero- or sign-extended, is a pshared flag.
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_INIT, &[s, u32::MAX as usize, 1]),
        Ok(0)
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, usize::MAX, 1]), Ok(0));
}

#[test]
fn sem_calls_refuse_wide_flags_fds_and_clocks_and_keep_the_value() {
    let e = Env::new(ClockMode::Virtual);
    let s = e.k.alloc_private(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, 1]), Ok(0));
    let ts = timespec(&e.k, 0, 0);
    let mono = ClockId::Monotonic as usize;
    let timed = SemFlags::TIMED.bits();
    for (nr, args) in [
        (SYS_RB_SEM_POST, vec![s, HI]),
        (SYS_RB_SEM_WAIT, vec![s, HI]),
        (SYS_RB_SEM_GETVALUE, vec![s, HI]),
        (SYS_RB_SEM_WAIT, vec![s, timed, ts, HI | mono]),
    ] {
        assert_eq!(sys(&e.k, nr, &args), Err(EINVAL), "{nr} {args:x?}");
    }
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(1));
    // A named semaphore's fd with the high half set is no fd.
    let (p, n) = user_bytes(&e.k, b"/wide");
    let fd = sys(&e.k, SYS_RB_SEM_OPEN, &[p, n, CREAT, 0o600, 1, FD_SLOT_ANY]).unwrap();
    for (nr, args) in [
        (SYS_RB_SEM_POST, [HI | fd, FD]),
        (SYS_RB_SEM_WAIT, [HI | fd, FD]),
        (SYS_RB_SEM_GETVALUE, [HI | fd, FD]),
    ] {
        assert_eq!(sys(&e.k, nr, &args), Err(EBADF), "{nr}");
    }
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[fd, FD]), Ok(1));
    assert_eq!(sys(&e.k, SYS_RB_SEM_UNLINK, &[p, n]), Ok(0));
}

#[test]
fn sem_open_refuses_wide_mode_value_and_slot_and_creates_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let (p, n) = user_bytes(&e.k, b"/wide");
    for (args, errno) in [
        ([p, n, CREAT, HI | 0o600, 1, FD_SLOT_ANY], EINVAL),
        ([p, n, CREAT, 0o600, HI | 1, FD_SLOT_ANY], EINVAL),
        ([p, n, HI | CREAT, 0o600, 1, FD_SLOT_ANY], EINVAL),
        ([p, n, CREAT, 0o600, 1, HI | 3], EBADF),
    ] {
        assert_eq!(sys(&e.k, SYS_RB_SEM_OPEN, &args), Err(errno), "{args:x?}");
    }
    assert_eq!(e.k.ipc().sems.len(), 0, "no name was created");
    assert!(e.proc.fds().is_empty(), "no fd was installed");
    // A name length past every limit: ENAMETOOLONG before memory is read.
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_UNLINK, &[p, HI | n]),
        Err(ENAMETOOLONG)
    );
    assert_eq!(
        sys(
            &e.k,
            SYS_RB_SEM_OPEN,
            &[p, HI | n, CREAT, 0o600, 1, FD_SLOT_ANY]
        ),
        Err(ENAMETOOLONG)
    );
}

// ---- eventfd ----

#[test]
fn eventfd2_refuses_wide_initval_flags_and_slot_and_installs_nothing() {
    let e = Env::new(ClockMode::Virtual);
    for (args, errno) in [
        ([HI | 5, 0, FD_SLOT_ANY], EINVAL),
        ([5, HI, FD_SLOT_ANY], EINVAL),
        ([5, 0, HI | 3], EBADF),
    ] {
        assert_eq!(sys(&e.k, SYS_RB_EVENTFD2, &args), Err(errno), "{args:x?}");
    }
    assert!(e.proc.fds().is_empty(), "no fd was installed");
    let fd = sys(&e.k, SYS_RB_EVENTFD2, &[u32::MAX as usize, 0, FD_SLOT_ANY]).unwrap();
    let file = e.k.get_fd(fd).unwrap();
    let efd = file.downcast::<EventFd>().expect("an eventfd");
    assert_eq!(efd.count(), u64::from(u32::MAX), "the widest initval");
}

// ---- signalfd ----

#[test]
fn signalfd4_refuses_wide_fds_sizes_and_flags_and_keeps_the_mask() {
    let e = Env::new(ClockMode::Virtual);
    let m1 = e.k.alloc_private(8);
    e.k.write_user(m1, &sig_bit(10).to_ne_bytes()).unwrap();
    let m2 = e.k.alloc_private(8);
    e.k.write_user(m2, &sig_bit(12).to_ne_bytes()).unwrap();
    let fd = sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, m1, 8, 0, FD_SLOT_ANY]).unwrap();
    for (args, errno) in [
        // `as u32` would name `fd` and replace its mask.
        ([HI | fd, m2, 8, 0, FD_SLOT_ANY], EBADF),
        ([FD_NEW, m2, HI | 8, 0, FD_SLOT_ANY], EINVAL),
        ([FD_NEW, m2, 8, HI, FD_SLOT_ANY], EINVAL),
        ([FD_NEW, m2, 8, 0, HI | 3], EBADF),
    ] {
        assert_eq!(sys(&e.k, SYS_RB_SIGNALFD4, &args), Err(errno), "{args:x?}");
    }
    assert_eq!(e.proc.fds().len(), 1, "no fd was installed");
    let file = e.k.get_fd(fd).unwrap();
    let sfd = file.downcast::<SignalFd>().expect("a signalfd");
    assert_eq!(sfd.mask(), sig_bit(10), "the mask is unchanged");
}

// ---- what Linux does with the same registers (measured here) ----

fn linux(r: libc::c_long) -> Result<libc::c_long, i32> {
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    } else {
        Ok(r)
    }
}

#[test]
fn linux_reads_futex_values_and_counts_from_the_low_32_bits() {
    let word: u32 = 1;
    let w = &word as *const u32;
    let ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 1_000_000,
    };
    let hi = HI as libc::c_long;
    // SAFETY: raw futex calls on a live word and timespec of ours.
    unsafe {
        // expected = HI | 1 compares as 1: it sleeps until the timeout.
        let r = libc::syscall(
            libc::SYS_futex,
            w,
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            hi | 1,
            &ts,
        );
        assert_eq!(linux(r), Err(libc::ETIMEDOUT));
        // bitset = HI compares as 0: EINVAL, as for a zero bitset.
        let op = libc::FUTEX_WAIT_BITSET | libc::FUTEX_PRIVATE_FLAG;
        let r = libc::syscall(libc::SYS_futex, w, op, 1, &ts, 0, hi);
        assert_eq!(linux(r), Err(libc::EINVAL));
        // A negative requeue count is EINVAL in the low 32 bits too.
        let op = libc::FUTEX_REQUEUE | libc::FUTEX_PRIVATE_FLAG;
        let r = libc::syscall(libc::SYS_futex, w, op, -1 as libc::c_long, 1, w);
        assert_eq!(linux(r), Err(libc::EINVAL));
        // cmp_requeue's expected = HI | 1 compares as 1: it goes ahead.
        let op = libc::FUTEX_CMP_REQUEUE | libc::FUTEX_PRIVATE_FLAG;
        let r = libc::syscall(libc::SYS_futex, w, op, 1, 1, w, hi | 1);
        assert_eq!(linux(r), Ok(0));
    }
}

#[test]
fn linux_reads_eventfd2_and_signalfd4_ints_from_the_low_32_bits() {
    let hi = HI as libc::c_long;
    // SAFETY: raw calls creating fds of ours, read and closed here.
    unsafe {
        let fd = linux(libc::syscall(libc::SYS_eventfd2, hi | 5, hi)).unwrap();
        let mut v = 0u64;
        let n = libc::read(fd as i32, (&mut v as *mut u64).cast(), 8);
        assert_eq!((n, v), (8, 5), "initval HI | 5 is 5, flags HI are 0");
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut mask);
        let m = &mask as *const libc::sigset_t;
        // A size_t is read whole: HI | 8 is EINVAL.
        let r = libc::syscall(libc::SYS_signalfd4, -1, m, hi | 8, 0);
        assert_eq!(linux(r), Err(libc::EINVAL));
        // ufd = HI | eventfd names the eventfd: EINVAL (not a signalfd).
        let r = libc::syscall(libc::SYS_signalfd4, hi | fd, m, 8, 0);
        assert_eq!(linux(r), Err(libc::EINVAL));
        let sfd = linux(libc::syscall(libc::SYS_signalfd4, -1, m, 8, hi)).unwrap();
        assert_eq!(
            linux(libc::syscall(libc::SYS_signalfd4, hi | sfd, m, 8, 0)),
            Ok(sfd),
            "ufd HI | sfd is sfd"
        );
        libc::close(sfd as i32);
        libc::close(fd as i32);
    }
}
