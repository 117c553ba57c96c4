//! Model checks of the wait machinery under shuttle: the blocking helper
//! (`ipc::common::wait::wait`: EIDRM on removal, deadlines, EINTR, completion
//! against timeout, no lost wake-up with two waiters), futex wait/wake,
//! requeue against timeouts, and semaphore post/wait against timeouts and
//! signals, over many schedules (random and PCT).
//!
//! Run with `cargo test --features model-check --test model_check` (the
//! feature swaps the subsystem's locks and atomics for shuttle's).
#![cfg(feature = "model-check")]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use redbear_ipc::errno::{err, Errno, EAGAIN, EIDRM, EINTR, ETIMEDOUT};
use redbear_ipc::ipc::common::wait::{wait, Blocking, Handoff, Step};
use redbear_ipc::ipc::common::waitq::{Visit, WaitQueue};
use redbear_ipc::ipc::fd::eventfd::EventFd;
use redbear_ipc::ipc::futex::{FutexKey, BITSET_MATCH_ANY};
use redbear_ipc::ipc::sem::named::{NamedSem, OpenFlags};
use redbear_ipc::ipc::sem::{unnamed, SemWait};
use redbear_ipc::ipc::Ipc;
use redbear_ipc::kernel::*;
use redbear_ipc::syscall::uaccess::UserPtr;
use redbear_ipc::test_kernel::{TestHost, TestKernel};
use shuttle::rand::Rng;
use shuttle::sync::atomic::{AtomicU32, Ordering};
use shuttle::sync::Mutex;
use shuttle::thread::{self, Thread, ThreadId};

/// A `Kernel` whose tasks are shuttle threads and whose timeouts and
/// signals strike at points the scheduler chooses.
type ModelKernel = TestKernel<Model>;

struct Model {
    ipc: Ipc,
    words: Vec<AtomicU32>,
    tasks: Mutex<HashMap<ThreadId, (TaskId, Thread)>>,
    /// Unparks not yet seen by a park with a deadline.
    permits: Mutex<HashSet<TaskId>>,
    /// Whether parks may end in a timeout / a signal, chosen at random.
    timeouts: bool,
    signals: bool,
}

const BASE: usize = 0x1000;

impl Model {
    fn new(words: usize, timeouts: bool, signals: bool) -> Arc<ModelKernel> {
        Arc::new(TestKernel(Model {
            ipc: Ipc::default(),
            words: (0..words).map(|_| AtomicU32::new(0)).collect(),
            tasks: Mutex::new(HashMap::new()),
            permits: Mutex::new(HashSet::new()),
            timeouts,
            signals,
        }))
    }

    fn register(&self) {
        let mut t = self.tasks.lock().unwrap();
        let id = t.len() as TaskId + 1;
        t.insert(thread::current().id(), (id, thread::current()));
    }

    fn word(&self, uaddr: usize) -> Result<&AtomicU32, UserFault> {
        if uaddr < BASE || !uaddr.is_multiple_of(4) {
            return Err(UserFault);
        }
        self.words.get((uaddr - BASE) / 4).ok_or(UserFault)
    }

    fn addr(i: usize) -> usize {
        BASE + 4 * i
    }
}

impl TestHost for Model {
    fn ipc(&self) -> &Ipc {
        &self.ipc
    }
    fn current_task(&self) -> TaskId {
        self.tasks.lock().unwrap()[&thread::current().id()].0
    }
    fn park(k: &ModelKernel, deadline: Option<Deadline>) -> ParkOutcome {
        let mut rng = shuttle::rand::thread_rng();
        if k.signals && rng.gen_bool(0.2) {
            return ParkOutcome::Interrupted;
        }
        if deadline.is_none() || !k.timeouts {
            thread::park();
            return ParkOutcome::Unparked;
        }
        // A timed park always ends: at an unpark, or at a timeout that
        // strikes at a point the scheduler picks.
        let me = k.current_task();
        loop {
            if k.permits.lock().unwrap().remove(&me) {
                return ParkOutcome::Unparked;
            }
            if rng.gen_bool(0.3) {
                return ParkOutcome::TimedOut;
            }
            thread::yield_now();
        }
    }
    fn unpark(&self, task: TaskId) {
        self.permits.lock().unwrap().insert(task);
        let t = self.tasks.lock().unwrap();
        if let Some((_, th)) = t.values().find(|(id, _)| *id == task) {
            th.unpark();
        }
    }
    fn read_user(&self, src: usize, dst: &mut [u8]) -> Result<(), UserFault> {
        for (i, chunk) in dst.chunks_mut(4).enumerate() {
            let w = self.word(src + 4 * i)?.load(Ordering::SeqCst).to_ne_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
    fn write_user(&self, dst: usize, src: &[u8]) -> Result<(), UserFault> {
        for (i, chunk) in src.chunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            self.word(dst + 4 * i)?
                .store(u32::from_ne_bytes(w), Ordering::SeqCst);
        }
        Ok(())
    }
    fn load_user_u32(&self, uaddr: usize) -> Result<u32, UserFault> {
        Ok(self.word(uaddr)?.load(Ordering::SeqCst))
    }
    fn cmpxchg_user_u32(&self, uaddr: usize, old: u32, new: u32) -> Result<u32, UserFault> {
        Ok(
            match self
                .word(uaddr)?
                .compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(v) | Err(v) => v,
            },
        )
    }
}

fn spawn<R: Send + 'static>(
    k: &Arc<ModelKernel>,
    f: impl FnOnce(&ModelKernel) -> R + Send + 'static,
) -> thread::JoinHandle<R> {
    let k = k.clone();
    thread::spawn(move || {
        k.register();
        f(&k)
    })
}

const ITER: usize = 3000;

/// Runs `f` under the random and the PCT scheduler. The futex table's
/// buckets of shuttle mutexes need more than shuttle's default stack.
fn check(f: fn()) {
    use shuttle::scheduler::{PctScheduler, RandomScheduler};
    let config = || {
        let mut c = shuttle::Config::new();
        c.stack_size = 1 << 20;
        c
    };
    shuttle::Runner::new(RandomScheduler::new(ITER), config()).run(f);
    shuttle::Runner::new(PctScheduler::new(3, ITER), config()).run(f);
}

/// A flag set then woken is never missed: the waiter always finishes.
fn futex_flag_handoff() {
    let k = Model::new(1, false, false);
    k.register();
    let flag = UserPtr::new(Model::addr(0));
    let key = FutexKey::for_caller(&*k, flag, false).unwrap();
    let waiter = spawn(&k, move |k| loop {
        if k.words[0].load(Ordering::SeqCst) == 1 {
            return;
        }
        match k.ipc.futex.wait(k, flag, key, 0, BITSET_MATCH_ANY, None) {
            Ok(()) => {}
            Err(e) => assert_eq!(e.errno, EAGAIN),
        }
    });
    k.words[0].store(1, Ordering::SeqCst);
    k.ipc.futex.wake(&*k, key, 1, BITSET_MATCH_ANY).unwrap();
    waiter.join().unwrap();
}

#[test]
fn futex_wait_wake_never_loses_a_wakeup() {
    check(futex_flag_handoff);
}

/// Requeue racing a timeout: a waiter is either woken (Ok) or times out,
/// and a timed-out waiter is never left on any queue.
fn requeue_vs_timeout() {
    let k = Model::new(2, true, false);
    k.register();
    let (a, b) = (UserPtr::new(Model::addr(0)), UserPtr::new(Model::addr(1)));
    let ka = FutexKey::for_caller(&*k, a, false).unwrap();
    let kb = FutexKey::for_caller(&*k, b, false).unwrap();
    let dl = Some(Deadline {
        clock: ClockId::Monotonic,
        at_ns: 1,
    });
    let waiter = spawn(&k, move |k| {
        k.ipc.futex.wait(k, a, ka, 0, BITSET_MATCH_ANY, dl)
    });
    let moved = k.ipc.futex.requeue(&*k, a, ka, kb, 0, 1, None).unwrap();
    let woken_b = k.ipc.futex.wake(&*k, kb, 1, BITSET_MATCH_ANY).unwrap();
    // A waiter that queues only now must not sleep forever: change the
    // word, then wake the original key too.
    k.words[0].store(1, Ordering::SeqCst);
    let woken_a = k.ipc.futex.wake(&*k, ka, 1, BITSET_MATCH_ANY).unwrap();
    let r = waiter.join().unwrap();
    assert!(moved <= 1 && woken_b <= moved);
    match r {
        Ok(()) => assert_eq!(woken_a + woken_b, 1, "woken exactly once"),
        Err(e) => {
            assert!(e.errno == ETIMEDOUT || e.errno == EAGAIN, "{e:?}");
            assert_eq!(
                woken_a + woken_b,
                0,
                "a wake counted for a waiter that did not see it"
            );
        }
    }
    // Nothing left behind on either key.
    assert_eq!(k.ipc.futex.wake(&*k, ka, 9, BITSET_MATCH_ANY).unwrap(), 0);
    assert_eq!(k.ipc.futex.wake(&*k, kb, 9, BITSET_MATCH_ANY).unwrap(), 0);
}

#[test]
fn futex_requeue_races_timeout_safely() {
    check(requeue_vs_timeout);
}

/// Two waiters and two posters on an unnamed semaphore: everyone finishes
/// and the value ends at zero.
fn unnamed_sem_two_by_two() {
    let k = Model::new(4, false, false);
    k.register();
    let s = UserPtr::new(Model::addr(0));
    unnamed::init(&*k, s, false, 0).unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| spawn(&k, move |k| unnamed::wait(k, s, SemWait::Forever)))
        .collect();
    let posters: Vec<_> = (0..2)
        .map(|_| spawn(&k, move |k| unnamed::post(k, s)))
        .collect();
    for t in waiters {
        t.join().unwrap().unwrap();
    }
    for t in posters {
        t.join().unwrap().unwrap();
    }
    assert_eq!(k.words[0].load(Ordering::SeqCst), 0);
    assert_eq!(k.words[1].load(Ordering::SeqCst), 0, "no waiter count left");
}

#[test]
fn unnamed_semaphore_post_wait_lose_nothing() {
    check(unnamed_sem_two_by_two);
}

fn open_sem(k: &ModelKernel) -> Arc<NamedSem> {
    let name = redbear_ipc::ipc::common::name::IpcName::parse(b"/m").unwrap();
    let (sem, _) = k
        .ipc
        .sems
        .open(
            k,
            name,
            OpenFlags {
                create: true,
                exclusive: false,
            },
            0o600,
            0,
        )
        .unwrap();
    sem
}

const DL: Deadline = Deadline {
    clock: ClockId::Monotonic,
    at_ns: 1,
};

/// A named semaphore whose waiter may time out or be interrupted while a
/// post races it: the post is consumed exactly when the wait succeeds.
fn named_sem_post_vs_cut_short_wait() {
    let k = Model::new(1, true, true);
    k.register();
    let sem = open_sem(&k);
    let dl = Deadline {
        clock: ClockId::Monotonic,
        at_ns: 1,
    };
    let s2 = sem.clone();
    let waiter = spawn(&k, move |k| s2.wait(k, SemWait::Until(dl)));
    sem.post(&*k).unwrap();
    let r = waiter.join().unwrap();
    match r {
        Ok(()) => assert_eq!(sem.value(), 0),
        Err(e) => {
            assert!(e.errno == ETIMEDOUT || e.errno == EINTR, "{e:?}");
            assert_eq!(sem.value(), 1, "the post is still there for someone else");
        }
    }
}

#[test]
fn named_semaphore_post_races_timeout_and_signal() {
    check(named_sem_post_vs_cut_short_wait);
}

/// Two blocking eventfd readers (semaphore mode) and two writers: every
/// unit written is read exactly once and nobody sleeps forever.
fn eventfd_readers_and_writers() {
    let k = Model::new(8, false, false);
    k.register();
    let efd = EventFd::create(&*k, 0, true, false).unwrap();
    let readers: Vec<_> = (0..2)
        .map(|i| {
            let efd = efd.clone();
            spawn(&k, move |k| {
                let buf = Model::addr(2 * i);
                efd.read(k, buf, 8)
                    .map(|_| k.words[2 * i].load(Ordering::SeqCst))
            })
        })
        .collect();
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let efd = efd.clone();
            spawn(&k, move |k| {
                let buf = Model::addr(4 + 2 * i);
                k.words[4 + 2 * i].store(1, Ordering::SeqCst);
                efd.write(k, buf, 8)
            })
        })
        .collect();
    for r in readers {
        assert_eq!(r.join().unwrap(), Ok(1));
    }
    for w in writers {
        assert_eq!(w.join().unwrap(), Ok(8));
    }
    assert_eq!(efd.downcast::<EventFd>().map(EventFd::count), Some(0));
}

#[test]
fn eventfd_blocking_readers_and_writers_lose_nothing() {
    check(eventfd_readers_and_writers);
}

/// An object that can be removed: every waiter, queued or not yet, ends
/// with EIDRM (the helper's `Removed`, or the object's dead flag).
struct Removable {
    alive: bool,
    q: WaitQueue,
}

fn helper_removal_gives_eidrm() {
    let k = Model::new(0, false, false);
    k.register();
    let obj = Arc::new(redbear_ipc::sync::Mutex::new(Removable {
        alive: true,
        q: WaitQueue::new(),
    }));
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let obj = obj.clone();
            spawn(&k, move |k| {
                wait(
                    k,
                    &*obj,
                    Blocking::Forever,
                    |o| &mut o.q,
                    |o| {
                        if o.alive {
                            err::<()>(EAGAIN)
                        } else {
                            err(EIDRM)
                        }
                    },
                )
            })
        })
        .collect();
    {
        let mut o = obj.lock();
        o.alive = false;
        o.q.remove_all(&*k);
    }
    for w in waiters {
        assert_eq!(w.join().unwrap().map_err(|e| e.errno), Err(EIDRM));
    }
    assert!(obj.lock().q.is_empty());
}

#[test]
fn blocking_helper_removal_wakes_every_waiter_with_eidrm() {
    check(helper_removal_gives_eidrm);
}

/// Units handed straight to blocked takers (completion), racing the
/// takers' deadlines and signals: every unit ends in exactly one place,
/// and a taker fails only with ETIMEDOUT or EINTR.
struct Pool {
    free: Vec<u32>,
    takers: WaitQueue<Handoff<(), u32>>,
}

fn give(k: &ModelKernel, pool: &redbear_ipc::sync::Mutex<Pool>, unit: u32) {
    let mut p = pool.lock();
    let mut unit = Some(unit);
    p.takers.visit(k, |t| match unit.take() {
        Some(u) => {
            t.result = Some(Ok(u));
            Visit::Complete
        }
        None => Visit::Stop,
    });
    if let Some(u) = unit {
        p.free.push(u);
    }
}

fn helper_completion_vs_timeout_and_signal() {
    let k = Model::new(0, true, true);
    k.register();
    let pool = Arc::new(redbear_ipc::sync::Mutex::new(Pool {
        free: Vec::new(),
        takers: WaitQueue::new(),
    }));
    let takers: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            spawn(&k, move |k| {
                wait(
                    k,
                    &*pool,
                    Blocking::Until(DL),
                    |p| &mut p.takers,
                    |p| match p.free.pop() {
                        Some(u) => Step::Done(Ok(u)),
                        None => Step::Block(Handoff::new(())),
                    },
                )
            })
        })
        .collect();
    let givers: Vec<_> = [1, 2]
        .into_iter()
        .map(|u| {
            let pool = pool.clone();
            spawn(&k, move |k| give(k, &pool, u))
        })
        .collect();
    for g in givers {
        g.join().unwrap();
    }
    let mut units: Vec<u32> = Vec::new();
    for t in takers {
        match t.join().unwrap() {
            Ok(u) => units.push(u),
            Err(e) => assert!(e.errno == ETIMEDOUT || e.errno == EINTR, "{e:?}"),
        }
    }
    let p = pool.lock();
    units.extend(&p.free);
    units.sort();
    assert_eq!(units, [1, 2], "a completed unit was lost or duplicated");
    assert!(p.takers.is_empty(), "a taker that gave up stayed queued");
}

#[test]
fn blocking_helper_completion_wins_over_timeout_and_signal() {
    check(helper_completion_vs_timeout_and_signal);
}

/// A counter with plain wakes (the waiter re-tries).
struct Counter {
    value: u32,
    q: WaitQueue,
}

fn counter_take(
    k: &ModelKernel,
    c: &redbear_ipc::sync::Mutex<Counter>,
    how: Blocking,
) -> Result<(), Errno> {
    wait(
        k,
        c,
        how,
        |c| &mut c.q,
        |c| {
            if c.value == 0 {
                return err(EAGAIN);
            }
            c.value -= 1;
            Ok(())
        },
    )
}

fn counter_post(k: &ModelKernel, c: &redbear_ipc::sync::Mutex<Counter>) {
    let mut c = c.lock();
    c.value += 1;
    c.q.wake(k, 1);
}

/// Two waiters, the first with a deadline, the second without; one post,
/// and a second only if the first waiter took the first. The second
/// waiter must always finish: a waiter chosen by a wake that then reports
/// a timeout would leave the post unseen and the second asleep forever
/// (shuttle reports the deadlock).
fn two_waiters_one_times_out<W, P>(k: &Arc<ModelKernel>, take: W, post: P)
where
    W: Fn(&ModelKernel, Blocking) -> Result<(), Errno> + Send + Sync + Clone + 'static,
    P: Fn(&ModelKernel),
{
    let t1 = take.clone();
    let first = spawn(k, move |k| t1(k, Blocking::Until(DL)));
    let second = spawn(k, move |k| take(k, Blocking::Forever));
    post(k);
    let r1 = first.join().unwrap();
    match r1 {
        Ok(()) => post(k),
        Err(e) => assert_eq!(e.errno, ETIMEDOUT),
    }
    assert_eq!(second.join().unwrap(), Ok(()));
}

fn helper_two_waiters_no_lost_wakeup() {
    let k = Model::new(0, true, false);
    k.register();
    let c = Arc::new(redbear_ipc::sync::Mutex::new(Counter {
        value: 0,
        q: WaitQueue::new(),
    }));
    let c2 = c.clone();
    two_waiters_one_times_out(
        &k,
        move |k, how| counter_take(k, &c2, how),
        |k| counter_post(k, &c),
    );
    let c = c.lock();
    assert_eq!(c.value, 0);
    assert!(c.q.is_empty());
}

#[test]
fn blocking_helper_two_waiters_never_lose_a_wakeup() {
    check(helper_two_waiters_no_lost_wakeup);
}

/// The same protocol on a named semaphore, whose post hands the unit to
/// the longest waiter (completion).
fn named_sem_two_waiters() {
    let k = Model::new(0, true, false);
    k.register();
    let sem = open_sem(&k);
    let s2 = sem.clone();
    two_waiters_one_times_out(
        &k,
        move |k, how| {
            s2.wait(
                k,
                match how {
                    Blocking::Until(d) => SemWait::Until(d),
                    _ => SemWait::Forever,
                },
            )
        },
        |k| sem.post(k).unwrap(),
    );
    assert_eq!(sem.value(), 0);
}

#[test]
fn named_semaphore_two_waiters_one_timing_out_lose_nothing() {
    check(named_sem_two_waiters);
}

/// A creator whose fd install failed undoes its creation while another
/// process opens the name: if the opener received the semaphore, the name
/// still means it afterwards (the undo never takes a name someone got).
fn named_undo_vs_concurrent_open() {
    use redbear_ipc::ipc::common::name::IpcName;
    use redbear_ipc::ipc::sem::named::Opened;
    let k = Model::new(0, false, false);
    k.register();
    let flags = |create| OpenFlags {
        create,
        exclusive: false,
    };
    let name = || IpcName::parse(b"/u").unwrap();
    let opener = spawn(&k, move |k| {
        k.ipc
            .sems
            .open(k, name(), flags(false), 0, 0)
            .map(|(s, _)| s)
    });
    let (sem, how) = k.ipc.sems.open(&*k, name(), flags(true), 0o600, 0).unwrap();
    assert_eq!(how, Opened::Created);
    k.ipc.sems.undo_create(&name(), &sem);
    let after = k.ipc.sems.open(&*k, name(), flags(false), 0, 0);
    match opener.join().unwrap() {
        Ok(got) => {
            let (now, _) = after.expect("the name the opener received stays");
            assert!(Arc::ptr_eq(&got, &now));
        }
        Err(e) => {
            assert_eq!(e.errno, redbear_ipc::errno::ENOENT);
            assert!(after.is_err(), "nobody received it: the undo removed it");
        }
    }
}

#[test]
fn named_semaphore_undo_never_takes_a_received_name() {
    check(named_undo_vs_concurrent_open);
}

/// Two waiters on a named semaphore, both with a deadline (and signals
/// on), and two posters: in every interleaving each post ends in exactly
/// one place, so the value left plus the waits that succeeded equals the
/// posts, and a wait fails only with ETIMEDOUT or EINTR. A waiter whose
/// park timed out while a post handed it the unit must return that unit
/// (success), never drop it: with both waiters timed, a dropped unit
/// shows as a short count here rather than as a deadlock.
fn named_sem_two_timed_waiters_count_posts() {
    let k = Model::new(0, true, true);
    k.register();
    let sem = open_sem(&k);
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            let s = sem.clone();
            spawn(&k, move |k| s.wait(k, SemWait::Until(DL)))
        })
        .collect();
    let posters: Vec<_> = (0..2)
        .map(|_| {
            let s = sem.clone();
            spawn(&k, move |k| s.post(k))
        })
        .collect();
    for p in posters {
        p.join().unwrap().unwrap();
    }
    let mut woken = 0;
    for w in waiters {
        match w.join().unwrap() {
            Ok(()) => woken += 1,
            Err(e) => assert!(e.errno == ETIMEDOUT || e.errno == EINTR, "{e:?}"),
        }
    }
    assert_eq!(
        sem.value() + woken,
        2,
        "a post was lost or counted twice ({woken} waits succeeded)"
    );
}

#[test]
fn named_semaphore_two_timed_waiters_never_lose_a_post() {
    check(named_sem_two_timed_waiters_count_posts);
}
