//! The open-file model: descriptions (access mode, status flags, opener)
//! over shared objects, `dup` sharing a description and two opens not,
//! the close hook with the closer's identity, and the shared poll loop.

mod common;

use std::any::Any;
use std::sync::{Arc, Mutex};

use common::{sys, user_bytes, Env};
use redbear_ipc::errno::{EBADF, EINVAL};
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::ipc::common::file::{FileKind, FileObject};
use redbear_ipc::ipc::common::limits::ObjectKind;
use redbear_ipc::ipc::common::open_file::{AccessMode, Closer, OpenFile};
use redbear_ipc::ipc::common::poll::{self, PollEntry, PollFile};
use redbear_ipc::ipc::common::pollee::{Observer, Readiness};
use redbear_ipc::ipc::fd::eventfd::EventFd;
use redbear_ipc::kernel::{ClockId, Credentials, FdPlacement, Kernel, ParkOutcome};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;
use redbear_ipc::syscall::uaccess::UserSlice;

/// The 8 bytes at `addr`.
fn slice8(addr: usize) -> UserSlice {
    UserSlice::new(addr, 8).expect("no wrap")
}

/// An object that records every close its hook hears of.
#[derive(Default)]
struct Recorder(Mutex<Vec<Closer>>);

impl FileObject for Recorder {
    fn kind(&self) -> FileKind {
        FileKind::EventFd
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn closed(&self, _file: &OpenFile, closer: Closer) {
        self.0.lock().unwrap().push(closer);
    }
}

fn recorded(r: &Recorder) -> Vec<Closer> {
    r.0.lock().unwrap().clone()
}

fn sem_open(e: &Env, name: &str) -> usize {
    let (ptr, len) = user_bytes(&e.k, name.as_bytes());
    let oflag = (OpenFlags::CREATE).bits();
    sys(
        &e.k,
        SYS_RB_SEM_OPEN,
        &[ptr, len, oflag, 0o600, 0, FD_SLOT_ANY],
    )
    .unwrap()
}

#[test]
fn dup_shares_the_description_and_two_sem_opens_do_not() {
    let e = Env::new(ClockMode::Virtual);
    let a = sem_open(&e, "/one");
    let b = sem_open(&e, "/one");
    let dup = e.k.dup(a).unwrap();
    let (fa, fb, fd) = (
        e.k.get_fd(a).unwrap(),
        e.k.get_fd(b).unwrap(),
        e.k.get_fd(dup).unwrap(),
    );
    assert!(Arc::ptr_eq(&fa, &fd), "dup shares the description");
    assert!(!Arc::ptr_eq(&fa, &fb), "a second open is a new description");
    assert!(
        Arc::ptr_eq(fa.object(), fb.object()),
        "over the one semaphore"
    );
    e.k.set_nonblocking(a, true).unwrap();
    assert!(fd.nonblocking(), "flags are the description's, seen by dup");
    assert!(!fb.nonblocking(), "the other open keeps its own flags");
    // The semaphore is reached through either description.
    let post = |fd| sys(&e.k, SYS_RB_SEM_POST, &[fd, SemFlags::REF_FD.bits()]);
    post(a).unwrap();
    let value = sys(&e.k, SYS_RB_SEM_GETVALUE, &[b, SemFlags::REF_FD.bits()]);
    assert_eq!(value, Ok(1));
    assert_eq!(fa.access(), AccessMode::ReadWrite);
    assert_eq!(fa.opener().pid, e.proc.pid());
    assert_eq!(fa.opener().creds, Credentials::new(1000, 1000));
    let (ptr, len) = user_bytes(&e.k, b"/one");
    sys(&e.k, SYS_RB_SEM_UNLINK, &[ptr, len]).unwrap();
}

#[test]
fn the_access_mode_gates_read_and_write_with_ebadf() {
    let e = Env::new(ClockMode::Virtual);
    let efd = EventFd::create(&*e.k, 3, false, true).unwrap();
    let object = efd.object().clone();
    let read_only = OpenFile::new(&*e.k, object.clone(), AccessMode::ReadOnly, true);
    let write_only = OpenFile::new(&*e.k, object, AccessMode::WriteOnly, true);
    let (buf, _) = user_bytes(&e.k, &1u64.to_ne_bytes());
    assert_eq!(
        read_only.write(&*e.k, slice8(buf)).map_err(|e| e.errno),
        Err(EBADF)
    );
    assert_eq!(
        write_only.read(&*e.k, slice8(buf)).map_err(|e| e.errno),
        Err(EBADF)
    );
    assert_eq!(
        efd.downcast::<EventFd>().map(EventFd::count),
        Some(3),
        "a refused call changes nothing"
    );
    assert_eq!(
        write_only.write(&*e.k, slice8(buf)).map_err(|e| e.errno),
        Ok(8)
    );
    assert_eq!(
        read_only.read(&*e.k, slice8(buf)).map_err(|e| e.errno),
        Ok(8)
    );
    assert_eq!(efd.downcast::<EventFd>().map(EventFd::count), Some(0));
}

#[test]
fn access_modes_decode_as_linux_numbers_them() {
    assert_eq!(AccessMode::from_oflag(0), Ok(AccessMode::ReadOnly));
    assert_eq!(AccessMode::from_oflag(0o4001), Ok(AccessMode::WriteOnly));
    assert_eq!(AccessMode::from_oflag(2), Ok(AccessMode::ReadWrite));
    assert_eq!(AccessMode::from_oflag(3).map_err(|e| e.errno), Err(EINVAL));
    for m in [
        AccessMode::ReadOnly,
        AccessMode::WriteOnly,
        AccessMode::ReadWrite,
    ] {
        assert_eq!(AccessMode::from_oflag(m.bits()), Ok(m));
    }
}

#[test]
fn the_close_hook_hears_every_close_with_the_closer_and_the_last_one() {
    let e = Env::new(ClockMode::Virtual);
    let rec = Arc::new(Recorder::default());
    let file = OpenFile::new(&*e.k, rec.clone(), AccessMode::ReadWrite, false);
    let fd = e.k.install_fd(file, FdPlacement::Lowest, false).unwrap();
    let dup = e.k.dup(fd).unwrap();
    let pid = e.proc.pid();
    e.k.close(dup).unwrap();
    assert_eq!(recorded(&rec), [Closer { pid, last: false }]);
    e.k.close(fd).unwrap();
    assert_eq!(
        recorded(&rec),
        [Closer { pid, last: false }, Closer { pid, last: true }]
    );
    assert_eq!(e.k.close(fd).map_err(|e| e.errno), Err(EBADF));
    assert_eq!(recorded(&rec).len(), 2, "a failed close runs no hook");
}

#[test]
fn exec_and_exit_run_the_close_hook_too() {
    let e = Env::new(ClockMode::Virtual);
    let rec = Arc::new(Recorder::default());
    let file = OpenFile::new(&*e.k, rec.clone(), AccessMode::ReadWrite, false);
    e.k.install_fd(file.clone(), FdPlacement::Lowest, true)
        .unwrap();
    let kept = e.k.install_fd(file, FdPlacement::Lowest, false).unwrap();
    e.k.exec();
    let pid = e.proc.pid();
    assert_eq!(recorded(&rec), [Closer { pid, last: false }], "cloexec fd");
    assert!(e.k.get_fd(kept).is_ok());

    // Another process holding the same description exits.
    let other = e.k.spawn_process(Credentials::new(1001, 1001));
    other
        .fds()
        .install(e.k.get_fd(kept).unwrap(), FdPlacement::Lowest, false)
        .unwrap();
    let other_pid = other.pid();
    drop(other);
    assert_eq!(
        recorded(&rec)[1],
        Closer {
            pid: other_pid,
            last: false
        },
        "exit closes with the exiting pid"
    );
    e.k.close(kept).unwrap();
    assert_eq!(recorded(&rec)[2], Closer { pid, last: true });
}

struct Nobody;
impl Observer for Nobody {
    fn on_events(&self, _: Readiness) {}
}

#[test]
fn the_shared_poll_loop_counts_invalid_entries_and_skips_ignored_ones() {
    let e = Env::new(ClockMode::Virtual);
    let waker: Arc<dyn Observer> = Arc::new(Nobody);
    let efd = EventFd::create(&*e.k, 0, false, true).unwrap();
    let mut entries = vec![
        PollEntry::new(PollFile::Ignored, Readiness::all()),
        PollEntry::new(PollFile::Invalid, Readiness::IN),
        PollEntry::new(PollFile::Open(efd.clone()), Readiness::IN),
    ];
    let never_park = |_| -> ParkOutcome { panic!("an invalid entry is ready: no wait") };
    // A poll that does not wait registers nothing, so makes no observer.
    let no_waker = || -> Arc<dyn Observer> { panic!("a poll that does not wait made a waker") };
    assert_eq!(
        poll::poll(&*e.k, &mut entries, None, no_waker, never_park),
        Ok(1)
    );
    assert!(entries.iter().all(|x| x.ready.is_empty()));

    // Nothing ready and a deadline already passed: 0 without parking.
    let now = e.k.now(ClockId::Monotonic);
    let mut entries = vec![
        PollEntry::new(PollFile::Ignored, Readiness::all()),
        PollEntry::new(PollFile::Open(efd.clone()), Readiness::IN),
    ];
    assert_eq!(
        poll::poll(&*e.k, &mut entries, Some(now), no_waker, never_park),
        Ok(0)
    );
    // Ready entries report only what was asked for (plus ERR/HUP).
    let mut entries = vec![PollEntry::new(PollFile::Open(efd), Readiness::OUT)];
    assert_eq!(
        poll::poll(&*e.k, &mut entries, None, no_waker, never_park),
        Ok(1)
    );
    assert_eq!(entries[0].ready, Readiness::OUT);
    // A signal while parked is EINTR, and the waker is unregistered.
    let efd = EventFd::create(&*e.k, 0, false, true).unwrap();
    let mut entries = vec![PollEntry::new(PollFile::Open(efd.clone()), Readiness::IN)];
    // One that waits has its waker registered while it parks.
    let pollee = efd.clone();
    let interrupted = |_| {
        assert_eq!(pollee.pollee().map(|p| p.observers()), Some(1));
        ParkOutcome::Interrupted
    };
    assert_eq!(
        poll::poll(&*e.k, &mut entries, None, || waker.clone(), interrupted).map_err(|e| e.errno),
        Err(redbear_ipc::errno::EINTR)
    );
    assert_eq!(efd.pollee().map(|p| p.observers()), Some(0));
}

#[test]
#[should_panic(expected = "accounting did not return to zero")]
fn the_leak_check_catches_a_charge_left_behind() {
    let e = Env::new(ClockMode::Virtual);
    let charge = e.k.ipc().acct.charge(1000, false, ObjectKind::EventFd, 8);
    // Never refunded: the check `Env` makes when it drops must see it.
    std::mem::forget(charge);
}

#[test]
fn an_fd_object_refunds_to_zero_when_its_last_fd_closes() {
    let e = Env::new(ClockMode::Virtual);
    let efd = EventFd::create(&*e.k, 0, false, false).unwrap();
    let fd = e.k.install_fd(efd, FdPlacement::Lowest, false).unwrap();
    let dup = e.k.dup(fd).unwrap();
    e.k.close(fd).unwrap();
    assert!(
        !e.k.ipc().acct.outstanding().is_zero(),
        "dup still holds it"
    );
    e.k.close(dup).unwrap();
    common::assert_accounting_zero(&e.k);
}
