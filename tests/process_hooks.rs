//! What `Kernel` gives the families beyond the first ones, on the hosted
//! kernel: a signal sent by the kernel with its SigInfo (mq_notify
//! SIGEV_SIGNAL), per-process IPC state with its fork and exit hooks
//! (SEM_UNDO, mq_notify owners), and supplementary groups in permission
//! checks. No family uses the hooks yet, so a test-only state stands in.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{sys, user_bytes, Env};
use redbear_ipc::errno::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::ipc::common::process::ProcessState;
use redbear_ipc::ipc::fd::signalfd::SIGINFO_SIZE;
use redbear_ipc::kernel::{sig_bit, Credentials, Kernel, Pid, SigInfo, SI_MESGQ};
use redbear_ipc::syscall::abi::{FdFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const PARK: Duration = Duration::from_secs(10);
const SIGRT1: u32 = 35;
const ESRCH: i32 = 3;

/// Settlements a `Probe` saw.
type Log = Arc<Mutex<Vec<(Pid, usize, bool)>>>;

/// A state that records each settlement: (pid, tasks of it still live,
/// whether the pid was still in the table).
#[derive(Default)]
struct Probe {
    log: Log,
    process: Mutex<Option<Arc<Process>>>,
}

impl ProcessState for Probe {
    fn exit(&self, k: &dyn Kernel, pid: Pid) {
        let live = self
            .process
            .lock()
            .unwrap()
            .as_ref()
            .map_or(0, |p| p.live_tasks());
        let listed = k.ipc().processes.get(pid).is_some();
        self.log.lock().unwrap().push((pid, live, listed));
    }
}

/// A state a fork passes on: the child gets its own copy.
struct Inherited {
    exits: Arc<AtomicUsize>,
}

impl ProcessState for Inherited {
    fn exit(&self, _: &dyn Kernel, _: Pid) {
        self.exits.fetch_add(1, Ordering::SeqCst);
    }
    fn fork(&self, _: &dyn Kernel, _: Pid) -> Option<Arc<dyn ProcessState>> {
        Some(Arc::new(Inherited {
            exits: self.exits.clone(),
        }))
    }
}

/// Attaches a `Probe` to `p`, logging into `log`.
fn attach(k: &HostedKernel, p: &Arc<Process>, log: &Log) {
    let probe = k.ipc().processes.of(p.pid()).state(|| Probe {
        log: log.clone(),
        process: Mutex::new(None),
    });
    *probe.process.lock().unwrap() = Some(p.clone());
}

fn ssi(k: &HostedKernel, fd: usize) -> Result<(u32, i32, u32, u32, i32, u64), i32> {
    let b = k.alloc_private(SIGINFO_SIZE);
    k.read(fd, b, SIGINFO_SIZE).map_err(|e| e.errno)?;
    let mut r = vec![0u8; SIGINFO_SIZE];
    k.read_user(b, &mut r).unwrap();
    let w = |o: usize| u32::from_ne_bytes(r[o..o + 4].try_into().unwrap());
    let ptr = u64::from_ne_bytes(r[48..56].try_into().unwrap());
    Ok((w(0), w(8) as i32, w(12), w(16), w(44) as i32, ptr))
}

fn signalfd(e: &Env, sig: u32) -> usize {
    e.guard.task().set_mask(sig_bit(sig));
    let m = e.k.alloc_private(8);
    e.k.write_user(m, &sig_bit(sig).to_ne_bytes()).unwrap();
    let nb = FdFlags::NONBLOCK.bits();
    sys(&e.k, SYS_RB_SIGNALFD4, &[FD_NEW, m, 8, nb, FD_SLOT_ANY]).unwrap()
}

#[test]
fn a_kernel_signal_carries_si_mesgq_the_value_and_the_sender() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, SIGRT1);
    let to = e.proc.pid();
    // The sending task is of another user: the kernel's signal is not a
    // kill(2), no permission applies; the sender fields are as given.
    let other = e.k.spawn_process(Credentials::new(3000, 3000));
    let k = e.k.clone();
    let info = SigInfo::mesgq(SIGRT1, 0x1234_5678_0000_0042, 4242, 2000);
    let sent =
        e.k.spawn_task(&other, move || Kernel::send_signal(&*k, to, info))
            .join()
            .unwrap();
    assert_eq!(sent, Ok(()));
    assert_eq!(
        ssi(&e.k, fd),
        Ok((SIGRT1, SI_MESGQ, 4242, 2000, 0x42, 0x1234_5678_0000_0042))
    );
    assert_eq!(ssi(&e.k, fd), Err(EAGAIN), "exactly one was queued");
}

#[test]
fn signal_zero_probes_and_bad_targets_fail() {
    let e = Env::new(ClockMode::Virtual);
    let fd = signalfd(&e, SIGRT1);
    let me = e.proc.pid();
    let probe = SigInfo::mesgq(0, 0, me, 0);
    assert_eq!(Kernel::send_signal(&*e.k, me, probe), Ok(()));
    assert_eq!(ssi(&e.k, fd), Err(EAGAIN), "signal 0 sends nothing");
    let bad = SigInfo::mesgq(65, 0, me, 0);
    assert_eq!(
        Kernel::send_signal(&*e.k, me, bad).map_err(|e| e.errno),
        Err(EINVAL)
    );
    let info = SigInfo::mesgq(SIGRT1, 1, me, 0);
    assert_eq!(
        Kernel::send_signal(&*e.k, 9999, info).map_err(|e| e.errno),
        Err(ESRCH)
    );
    let gone = e.k.spawn_process(Credentials::new(1000, 1000));
    e.k.exit_process(&gone);
    assert_eq!(
        Kernel::send_signal(&*e.k, gone.pid(), info).map_err(|e| e.errno),
        Err(ESRCH),
        "an exited process cannot be signalled"
    );
}

#[test]
fn a_full_realtime_queue_refuses_with_eagain() {
    let e = Env::new(ClockMode::Virtual);
    let _fd = signalfd(&e, SIGRT1);
    let me = e.proc.pid();
    let info = SigInfo::mesgq(SIGRT1, 7, me, 0);
    let mut sent = 0;
    while Kernel::send_signal(&*e.k, me, info).is_ok() {
        sent += 1;
        assert!(sent <= 100_000, "the queue has a limit");
    }
    assert_eq!(
        Kernel::send_signal(&*e.k, me, info).map_err(|e| e.errno),
        Err(EAGAIN)
    );
    assert_eq!(sent, redbear_ipc::hosted::RT_QUEUE_LIMIT);
}

#[test]
fn threads_of_a_process_share_one_state() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let attach_from_task = |k: &Arc<HostedKernel>| {
        let k2 = k.clone();
        k.spawn_task(&p, move || {
            let pid = k2.current_pid();
            k2.ipc().processes.of(pid).state(Probe::default)
        })
        .join()
        .unwrap()
    };
    let a = attach_from_task(&k);
    let b = attach_from_task(&k);
    assert!(Arc::ptr_eq(&a, &b));
    let q = k.spawn_process(Credentials::new(1000, 1000));
    assert!(k.ipc().processes.get(q.pid()).is_none(), "per process");
}

#[test]
fn exit_with_no_live_task_settles_once_and_leaves_the_table() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let log = Arc::new(Mutex::new(Vec::new()));
    attach(&k, &p, &log);
    assert_eq!(k.ipc().processes.len(), 1);
    k.exit_process(&p);
    k.exit_process(&p);
    k.kill_process(&p);
    assert_eq!(*log.lock().unwrap(), vec![(p.pid(), 0, false)]);
    assert!(k.ipc().processes.is_empty());
}

/// A task of `p` attaches a probe and blocks in the subsystem with
/// `block`; the process is then ended by `end` from outside. The blocked
/// call must return EINTR, and the exit hook must run once, after the
/// task has left.
fn ends_while_blocked(
    end: fn(&HostedKernel, &Arc<Process>),
    block: fn(&HostedKernel) -> Result<usize, i32>,
) {
    let k = HostedKernel::new(ClockMode::Virtual);
    let p = k.spawn_process(Credentials::new(1000, 1000));
    let log = Arc::new(Mutex::new(Vec::new()));
    let (k2, p2, log2) = (k.clone(), p.clone(), log.clone());
    let blocked = k.spawn_task(&p, move || {
        attach(&k2, &p2, &log2);
        let r = block(&k2);
        (r, log2.lock().unwrap().len())
    });
    assert!(
        k.wait_parked(1, PARK),
        "the task is asleep in the subsystem"
    );
    assert!(log.lock().unwrap().is_empty());
    end(&k, &p);
    let (r, settled_before_return) = blocked.join().unwrap();
    assert_eq!(r, Err(EINTR));
    assert_eq!(settled_before_return, 0, "no settling while it was inside");
    assert_eq!(*log.lock().unwrap(), vec![(p.pid(), 0, false)]);
    assert!(k.ipc().processes.is_empty());
    assert!(p.has_exited() && p.fds().is_empty());
}

fn futex_wait(k: &HostedKernel) -> Result<usize, i32> {
    let word = k.alloc_private(4);
    sys(k, SYS_RB_FUTEX_WAIT, &[word, 0, 0, 0, u32::MAX as usize])
}

fn eventfd_read(k: &HostedKernel) -> Result<usize, i32> {
    let fd = sys(k, SYS_RB_EVENTFD2, &[0, 0, FD_SLOT_ANY])?;
    let b = k.alloc_private(8);
    k.read(fd, b, 8).map_err(|e| e.errno)
}

#[test]
fn exit_while_a_thread_is_blocked_settles_after_it_left() {
    ends_while_blocked(|k, p| k.exit_process(p), futex_wait);
}

#[test]
fn kill_while_a_thread_is_blocked_settles_after_it_left() {
    ends_while_blocked(|k, p| k.kill_process(p), eventfd_read);
}

#[test]
fn fork_inherits_only_what_a_state_passes_on() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let parent = k.spawn_process(Credentials::new(1000, 100).with_groups(&[7, 8]).unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    attach(&k, &parent, &log);
    let exits = Arc::new(AtomicUsize::new(0));
    k.ipc().processes.of(parent.pid()).state(|| Inherited {
        exits: exits.clone(),
    });
    let child = k.fork_process(&parent);
    assert_ne!(child.pid(), parent.pid());
    assert_eq!(child.credentials(), parent.credentials(), "groups too");
    let child_ipc = k.ipc().processes.get(child.pid()).unwrap();
    assert!(
        child_ipc.get::<Probe>().is_none(),
        "not inherited by default"
    );
    assert!(child_ipc.get::<Inherited>().is_some());
    k.exit_process(&child);
    assert_eq!(exits.load(Ordering::SeqCst), 1, "the child's copy settled");
    assert!(log.lock().unwrap().is_empty(), "the parent's probe did not");
    assert!(k.ipc().processes.get(parent.pid()).is_some());
    k.exit_process(&parent);
    assert_eq!(exits.load(Ordering::SeqCst), 2);
    assert_eq!(log.lock().unwrap().len(), 1);
    assert!(k.ipc().processes.is_empty());
}

#[test]
fn fork_without_state_makes_no_entry() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let parent = k.spawn_process(Credentials::new(1000, 100));
    let child = k.fork_process(&parent);
    assert!(k.ipc().processes.is_empty());
    k.exit_process(&child);
    k.exit_process(&parent);
}

/// sem_open on "/grp", created by uid 1000 gid 100 with group-only bits,
/// from a process with `groups`.
fn open_as_member_of(groups: &[u32]) -> Result<usize, i32> {
    let k = HostedKernel::new(ClockMode::Virtual);
    let owner = k.spawn_process(Credentials::new(1000, 100));
    // The group-only mode must survive creation: no umask.
    owner.set_umask(0);
    let k2 = k.clone();
    k.spawn_task(&owner, move || {
        let (name, len) = user_bytes(&k2, b"/grp");
        let create = redbear_ipc::syscall::abi::OpenFlags::CREATE.bits();
        sys(
            &k2,
            SYS_RB_SEM_OPEN,
            &[name, len, create, 0o060, 1, FD_SLOT_ANY],
        )
        .map(|_| ())
    })
    .join()
    .unwrap()
    .unwrap();
    let opener = k.spawn_process(Credentials::new(2000, 200));
    opener.set_groups(groups).unwrap();
    let k2 = k.clone();
    k.spawn_task(&opener, move || {
        let (name, len) = user_bytes(&k2, b"/grp");
        sys(&k2, SYS_RB_SEM_OPEN, &[name, len, 0, 0, 0, FD_SLOT_ANY])
    })
    .join()
    .unwrap()
}

#[test]
fn supplementary_groups_open_group_objects() {
    assert_eq!(open_as_member_of(&[]), Err(EACCES));
    assert_eq!(open_as_member_of(&[5, 6]), Err(EACCES));
    assert!(open_as_member_of(&[5, 100]).is_ok());
}

#[test]
fn setgroups_is_bounded() {
    let k = HostedKernel::new(ClockMode::Virtual);
    let p = k.spawn_process(Credentials::new(1000, 100));
    let many: Vec<u32> = (0..=redbear_ipc::kernel::NGROUPS_MAX as u32).collect();
    assert_eq!(p.set_groups(&many).map_err(|e| e.errno), Err(EINVAL));
    assert!(
        p.credentials().groups.as_slice().is_empty(),
        "nothing changed"
    );
    p.set_groups(&[3, 1]).unwrap();
    assert_eq!(p.credentials().groups.as_slice(), &[1, 3]);
}
