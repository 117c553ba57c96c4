//! POSIX semaphores (unnamed and named) through `dispatch`.

mod common;

use std::time::Duration;

use common::{peek_u32, poke_u32, sys, timespec, user_bytes, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::ipc::sem::SEM_VALUE_MAX;
use redbear_ipc::kernel::{ClockId, Credentials, Kernel};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const TRY: usize = SemFlags::TRY.bits();
const TIMED: usize = SemFlags::TIMED.bits();
const FD: usize = SemFlags::REF_FD.bits();
const CREAT: usize = OpenFlags::CREATE.bits();
const EXCL: usize = OpenFlags::EXCLUSIVE.bits();
const RT: usize = ClockId::Realtime as usize;
const MONO: usize = ClockId::Monotonic as usize;
const PARK: Duration = Duration::from_secs(10);

fn new_sem(e: &Env, value: usize) -> usize {
    let s = e.k.alloc_private(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, value]), Ok(0));
    s
}

#[test]
fn init_post_wait_getvalue() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, 2);
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(2));
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, 0]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TRY]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TRY]), Err(EAGAIN));
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(1));
}

#[test]
fn init_rejects_values_above_sem_value_max() {
    let e = Env::new(ClockMode::Virtual);
    let s = e.k.alloc_private(32);
    poke_u32(&e.k, s, 77);
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, SEM_VALUE_MAX as usize + 1]),
        Err(EINVAL)
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, usize::MAX]), Err(EINVAL));
    assert_eq!(peek_u32(&e.k, s), 77, "a failed init writes nothing");
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_INIT, &[s, 0, SEM_VALUE_MAX as usize]),
        Ok(0)
    );
}

#[test]
fn post_at_max_is_eoverflow_and_keeps_the_value() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, SEM_VALUE_MAX as usize);
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Err(EOVERFLOW));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]),
        Ok(SEM_VALUE_MAX as usize)
    );
}

#[test]
fn timedwait_checks_the_timeout_first_like_glibc() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, 1);
    let bad = timespec(&e.k, 0, 1_000_000_000);
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, bad, RT]),
        Err(EINVAL),
        "checked even if available"
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]),
        Ok(1),
        "and nothing taken"
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TRY]), Ok(0));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, bad, RT]),
        Err(EINVAL)
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, 0, RT]), Err(EFAULT));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, bad, 5]),
        Err(EINVAL),
        "bad clock"
    );
    let past = timespec(&e.k, 0, 0);
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, past, RT]),
        Err(ETIMEDOUT)
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[s, TIMED, past, MONO]),
        Err(ETIMEDOUT)
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(0));
}

#[test]
fn clockwait_times_out_on_the_virtual_monotonic_clock() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, 0);
    let at = e.k.now(ClockId::Monotonic) + 500_000_000;
    let ts = timespec(
        &e.k,
        (at / 1_000_000_000) as i64,
        (at % 1_000_000_000) as i64,
    );
    let k = e.k.clone();
    let t = e.k.spawn_task(&e.proc, move || {
        sys(&k, SYS_RB_SEM_WAIT, &[s, TIMED, ts, MONO])
    });
    assert!(e.k.wait_parked(1, PARK));
    e.k.advance(500_000_000);
    assert_eq!(t.join().unwrap(), Err(ETIMEDOUT));
    assert_eq!(peek_u32(&e.k, s + 4), 0, "waiter count back to zero");
}

#[test]
fn post_wakes_exactly_one_blocked_waiter() {
    let e = Env::new(ClockMode::Real);
    let s = new_sem(&e, 0);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let k = e.k.clone();
            e.k.spawn_task(&e.proc, move || sys(&k, SYS_RB_SEM_WAIT, &[s, 0]))
        })
        .collect();
    assert!(e.k.wait_parked(3, PARK));
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
    assert!(e.k.wait_parked(2, PARK));
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(
        waiters.iter().filter(|t| t.is_finished()).count(),
        1,
        "post wakes one, not all"
    );
    for _ in 0..2 {
        assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
    }
    for t in waiters {
        assert_eq!(t.join().unwrap(), Ok(0));
    }
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]), Ok(0));
}

#[test]
fn wait_is_interrupted_by_a_signal() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, 0);
    let k = e.k.clone();
    let t =
        e.k.spawn_task(&e.proc, move || sys(&k, SYS_RB_SEM_WAIT, &[s, 0]));
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 2);
    assert_eq!(t.join().unwrap(), Err(EINTR));
    e.proc.take_signal_all(2);
    assert_eq!(peek_u32(&e.k, s + 4), 0);
}

#[test]
fn process_shared_semaphore_across_processes() {
    let e = Env::new(ClockMode::Real);
    let s = e.k.alloc_shared(32);
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[s, 1, 0]), Ok(0));
    let other = e.k.spawn_process(Credentials::new(2000, 2000));
    let k = e.k.clone();
    let t =
        e.k.spawn_task(&other, move || sys(&k, SYS_RB_SEM_WAIT, &[s, 0]));
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, 0]), Ok(0));
    assert_eq!(t.join().unwrap(), Ok(0));
}

#[test]
fn unnamed_bad_pointers_and_flags() {
    let e = Env::new(ClockMode::Virtual);
    let s = new_sem(&e, 1);
    for nr in [SYS_RB_SEM_POST, SYS_RB_SEM_WAIT, SYS_RB_SEM_GETVALUE] {
        assert_eq!(sys(&e.k, nr, &[0, 0]), Err(EFAULT), "null, nr {nr}");
        assert_eq!(
            sys(&e.k, nr, &[0x7777_0000, 0]),
            Err(EFAULT),
            "wild, nr {nr}"
        );
        assert_eq!(
            sys(&e.k, nr, &[s + 2, 0]),
            Err(EINVAL),
            "misaligned, nr {nr}"
        );
        assert_eq!(
            sys(&e.k, nr, &[s, 1 << 7]),
            Err(EINVAL),
            "unknown flag, nr {nr}"
        );
    }
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[s, TRY | TIMED]), Err(EINVAL));
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[s, TRY]), Err(EINVAL));
    assert_eq!(sys(&e.k, SYS_RB_SEM_INIT, &[0, 0, 1]), Err(EFAULT));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_GETVALUE, &[s, 0]),
        Ok(1),
        "nothing changed"
    );
}

// ---- named ----

fn open(e: &Env, name: &[u8], oflag: usize, mode: usize, value: usize) -> Result<usize, i32> {
    let (p, n) = user_bytes(&e.k, name);
    sys(
        &e.k,
        SYS_RB_SEM_OPEN,
        &[p, n, oflag, mode, value, FD_SLOT_ANY],
    )
}

fn unlink(e: &Env, name: &[u8]) -> Result<usize, i32> {
    let (p, n) = user_bytes(&e.k, name);
    sys(&e.k, SYS_RB_SEM_UNLINK, &[p, n])
}

#[test]
fn named_open_create_exclusive_and_shared_object() {
    let e = Env::new(ClockMode::Virtual);
    assert_eq!(open(&e, b"/s", 0, 0, 0), Err(ENOENT));
    let a = open(&e, b"/s", CREAT | EXCL, 0o600, 3).unwrap();
    assert_eq!(open(&e, b"/s", CREAT | EXCL, 0o600, 3), Err(EEXIST));
    let b = open(&e, b"/s", CREAT, 0o600, 9).unwrap();
    assert_ne!(a, b);
    assert!(
        e.proc.fds().cloexec(a).unwrap(),
        "named semaphore fds are close-on-exec"
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[a, FD]), Ok(0));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_GETVALUE, &[b, FD]),
        Ok(2),
        "same object, value not reset"
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[b, FD]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[a, FD]), Ok(3));
}

#[test]
fn named_object_lives_after_unlink_while_open_and_accounting_returns_to_zero() {
    let e = Env::new(ClockMode::Virtual);
    let fd = open(&e, b"/life", CREAT, 0o600, 1).unwrap();
    assert_eq!(e.k.ipc().acct.usage(1000).objects[0], 1);
    assert_eq!(unlink(&e, b"/life"), Ok(0));
    assert_eq!(unlink(&e, b"/life"), Err(ENOENT));
    assert_eq!(open(&e, b"/life", 0, 0, 0), Err(ENOENT));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[fd, FD | TRY]),
        Ok(0),
        "still usable"
    );
    // A new object under the same name is another semaphore.
    let fresh = open(&e, b"/life", CREAT, 0o600, 5).unwrap();
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[fresh, FD]), Ok(5));
    assert_eq!(unlink(&e, b"/life"), Ok(0));
    e.k.close(fd).unwrap();
    e.k.close(fresh).unwrap();
    assert_eq!(e.k.ipc().acct.users_charged(), 0);
    assert!(e.k.ipc().sems.is_empty());
}

#[test]
fn named_permissions() {
    let e = Env::new(ClockMode::Virtual);
    e.proc.set_umask(0);
    open(&e, b"/priv", CREAT, 0o600, 0).unwrap();
    open(&e, b"/grp", CREAT, 0o660, 0).unwrap();
    let k = e.k.clone();
    let stranger = e.k.spawn_process(Credentials::new(1001, 1000));
    let (r1, r2, r3) =
        e.k.spawn_task(&stranger, move || {
            let op = |name: &[u8]| {
                let (p, n) = user_bytes(&k, name);
                sys(&k, SYS_RB_SEM_OPEN, &[p, n, 0, 0, 0, FD_SLOT_ANY])
            };
            let ul = |name: &[u8]| {
                let (p, n) = user_bytes(&k, name);
                sys(&k, SYS_RB_SEM_UNLINK, &[p, n])
            };
            (op(b"/priv"), op(b"/grp").map(|_| ()), ul(b"/grp"))
        })
        .join()
        .unwrap();
    assert_eq!(r1, Err(EACCES));
    assert_eq!(r2, Ok(()), "group may open 0660");
    assert_eq!(r3, Err(EACCES), "only the owner unlinks");
    assert_eq!(unlink(&e, b"/grp"), Ok(0));
}

#[test]
fn named_bad_names_flags_values() {
    let e = Env::new(ClockMode::Virtual);
    // glibc's rules (measured on Linux): leading slashes are stripped.
    assert_eq!(open(&e, b"", CREAT, 0o600, 0), Err(EINVAL));
    assert_eq!(open(&e, b"/", CREAT, 0o600, 0), Err(EINVAL));
    assert_eq!(open(&e, b"//", CREAT, 0o600, 0), Err(EINVAL));
    assert_eq!(open(&e, b"/a/b", CREAT, 0o600, 0), Err(EINVAL));
    assert_eq!(open(&e, b"/a\0b", CREAT, 0o600, 0), Err(EINVAL));
    let name = |len: usize| [b"//".as_slice(), &vec![b'x'; len]].concat();
    for len in 252..=255 {
        assert_eq!(open(&e, &name(len), CREAT, 0o600, 0), Err(ENAMETOOLONG));
        assert_eq!(unlink(&e, &name(len)), Err(ENAMETOOLONG));
    }
    for len in [256, 257, 4000] {
        assert_eq!(open(&e, &name(len), CREAT, 0o600, 0), Err(EINVAL));
        assert_eq!(unlink(&e, &name(len)), Err(ENOENT));
    }
    for bad in [&b""[..], b"/", b"/a/b", b"a/"] {
        assert_eq!(unlink(&e, bad), Err(ENOENT), "{bad:?}");
    }
    // With O_EXCL a bad value is reported before the name is looked up.
    let too_big = SEM_VALUE_MAX as usize + 1;
    assert_eq!(
        open(&e, &name(252), CREAT | EXCL, 0o600, too_big),
        Err(EINVAL)
    );
    assert_eq!(
        open(&e, &name(252), CREAT, 0o600, too_big),
        Err(ENAMETOOLONG)
    );
    assert_eq!(
        open(&e, b"/v", CREAT, 0o600, SEM_VALUE_MAX as usize + 1),
        Err(EINVAL)
    );
    assert_eq!(open(&e, b"/v", 1 << 5, 0o600, 0), Err(EINVAL));
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_OPEN, &[0, 2, CREAT, 0o600, 0, FD_SLOT_ANY]),
        Err(EFAULT)
    );
    assert_eq!(
        sys(
            &e.k,
            SYS_RB_SEM_OPEN,
            &[0, usize::MAX, CREAT, 0o600, 0, FD_SLOT_ANY]
        ),
        Err(ENAMETOOLONG)
    );
    assert_eq!(sys(&e.k, SYS_RB_SEM_UNLINK, &[0, 3]), Err(EFAULT));
    assert!(e.k.ipc().sems.is_empty(), "nothing was created");
    assert_eq!(e.k.ipc().acct.users_charged(), 0);
    // An fd that is not a semaphore, and one that is not open.
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[55, FD]), Err(EBADF));
}

#[test]
fn named_leading_slashes_name_one_semaphore() {
    let e = Env::new(ClockMode::Virtual);
    let a = open(&e, b"noslash", CREAT | EXCL, 0o600, 3).unwrap();
    assert_eq!(open(&e, b"/noslash", CREAT | EXCL, 0o600, 0), Err(EEXIST));
    let b = open(&e, b"///noslash", 0, 0, 0).unwrap();
    assert_eq!(sys(&e.k, SYS_RB_SEM_WAIT, &[a, FD | TRY]), Ok(0));
    assert_eq!(sys(&e.k, SYS_RB_SEM_GETVALUE, &[b, FD]), Ok(2));
    assert_eq!(unlink(&e, b"//noslash"), Ok(0));
    assert_eq!(unlink(&e, b"noslash"), Err(ENOENT));
    let c = open(&e, b"//x", CREAT, 0o600, 0).unwrap();
    assert_eq!(open(&e, b"x", 0, 0, 0).map(|_| ()), Ok(()));
    // The longest valid name, behind any number of slashes.
    let longest = [vec![b'/'; 300], vec![b'y'; 251]].concat();
    assert!(open(&e, &longest, CREAT, 0o600, 0).is_ok());
    assert_eq!(unlink(&e, &longest[299..]), Ok(0));
    assert_eq!(unlink(&e, b"x"), Ok(0));
    for fd in [a, b, c] {
        e.k.close(fd).unwrap();
    }
}

/// Whether a process with other ids may open `name` for read and write.
fn stranger_opens(e: &Env, name: &'static [u8]) -> Result<usize, i32> {
    let k = e.k.clone();
    let stranger = e.k.spawn_process(Credentials::new(2000, 2000));
    e.k.spawn_task(&stranger, move || {
        let (p, n) = user_bytes(&k, name);
        sys(&k, SYS_RB_SEM_OPEN, &[p, n, 0, 0, 0, FD_SLOT_ANY])
    })
    .join()
    .unwrap()
}

#[test]
fn named_open_applies_the_umask_on_creation_only() {
    let e = Env::new(ClockMode::Virtual);
    assert_eq!(e.proc.umask(), 0o022, "a new process's default");
    open(&e, b"/masked", CREAT, 0o666, 0).unwrap();
    assert_eq!(stranger_opens(&e, b"/masked"), Err(EACCES), "0666 & ~022");
    assert_eq!(e.proc.set_umask(0), 0o022);
    // An existing semaphore keeps the mode it was created with.
    open(&e, b"/masked", CREAT, 0o666, 0).unwrap();
    assert_eq!(stranger_opens(&e, b"/masked"), Err(EACCES));
    open(&e, b"/open", CREAT, 0o666, 0).unwrap();
    assert!(stranger_opens(&e, b"/open").is_ok(), "umask 0 keeps 0666");
    e.proc.set_umask(0o006);
    open(&e, b"/other", CREAT, 0o666, 0).unwrap();
    assert_eq!(stranger_opens(&e, b"/other"), Err(EACCES), "0666 & ~006");
}

#[test]
fn named_fd_slot_taken_fails_and_creates_nothing() {
    let e = Env::new(ClockMode::Virtual);
    let first = open(&e, b"/a", CREAT, 0o600, 0).unwrap();
    let (p, n) = user_bytes(&e.k, b"/b");
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_OPEN, &[p, n, CREAT, 0o600, 0, first]),
        Err(EEXIST)
    );
    assert_eq!(
        open(&e, b"/b", 0, 0, 0),
        Err(ENOENT),
        "failed open left no name"
    );
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_OPEN, &[p, n, CREAT, 0o600, 0, 40]),
        Ok(40)
    );
}

#[test]
fn named_limits_give_enospc() {
    let e = Env::new(ClockMode::Virtual);
    let limit = e.k.ipc().acct.limits().per_user_objects[0];
    for i in 0..limit {
        open(&e, format!("/n{i}").as_bytes(), CREAT, 0o600, 0).unwrap();
    }
    assert_eq!(open(&e, b"/over", CREAT, 0o600, 0), Err(ENOSPC));
    assert_eq!(
        open(&e, b"/n0", CREAT, 0o600, 0).map(|_| ()),
        Ok(()),
        "opening existing costs nothing"
    );
    assert_eq!(e.k.ipc().sems.len(), limit);
}

#[test]
fn named_blocking_wait_and_post_across_processes() {
    let e = Env::new(ClockMode::Real);
    e.proc.set_umask(0);
    let fd = open(&e, b"/x", CREAT, 0o666, 0).unwrap();
    let other = e.k.spawn_process(Credentials::new(3000, 3000));
    let k = e.k.clone();
    let t = e.k.spawn_task(&other, move || {
        let (p, n) = user_bytes(&k, b"/x");
        let fd = sys(&k, SYS_RB_SEM_OPEN, &[p, n, 0, 0, 0, FD_SLOT_ANY])?;
        sys(&k, SYS_RB_SEM_WAIT, &[fd, FD])
    });
    assert!(e.k.wait_parked(1, PARK));
    assert_eq!(sys(&e.k, SYS_RB_SEM_POST, &[fd, FD]), Ok(0));
    assert_eq!(t.join().unwrap(), Ok(0));
}

#[test]
fn named_timedwait_and_eintr() {
    let e = Env::new(ClockMode::Virtual);
    let fd = open(&e, b"/t", CREAT, 0o600, 0).unwrap();
    let past = timespec(&e.k, 0, 0);
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[fd, FD | TIMED, past, RT]),
        Err(ETIMEDOUT)
    );
    let bad = timespec(&e.k, 0, -5);
    assert_eq!(
        sys(&e.k, SYS_RB_SEM_WAIT, &[fd, FD | TIMED, bad, RT]),
        Err(EINVAL)
    );
    let k = e.k.clone();
    let t =
        e.k.spawn_task(&e.proc, move || sys(&k, SYS_RB_SEM_WAIT, &[fd, FD]));
    assert!(e.k.wait_parked(1, PARK));
    e.k.send_signal(&e.proc, 14);
    assert_eq!(t.join().unwrap(), Err(EINTR));
}
