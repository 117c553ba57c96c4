//! Unit tests of `waitq` and `wait`: a scripted kernel whose `park` plays
//! the other side (a waker, a remover, a timeout, a signal), so every path
//! of the protocol runs deterministically on one thread.

use alloc::boxed::Box;
use alloc::vec::Vec;
use std::sync::Mutex as StdMutex;

use super::*;
use crate::errno::{EFAULT, EINVAL};
use crate::ipc::common::waitq::{Gate, QueueFamily, Requeue, Visit};
use crate::ipc::Ipc;
use crate::kernel::{ClockId, ParkOutcome, TaskId};
use crate::test_kernel::{TestHost, TestKernel};

type Hook = Box<dyn FnMut(&Script) -> ParkOutcome + Send>;

/// A kernel whose n-th park runs the n-th hook (then `Interrupted`, so a
/// waiter nobody ends still returns).
type Script = TestKernel<Hooks>;

struct Hooks {
    ipc: Ipc,
    hooks: StdMutex<Vec<Hook>>,
    parks: StdMutex<usize>,
    unparks: StdMutex<Vec<TaskId>>,
}

fn script(hooks: Vec<Hook>) -> Script {
    let mut hooks = hooks;
    hooks.reverse();
    TestKernel(Hooks {
        ipc: Ipc::default(),
        hooks: StdMutex::new(hooks),
        parks: StdMutex::new(0),
        unparks: StdMutex::new(Vec::new()),
    })
}

impl Hooks {
    fn parks(&self) -> usize {
        *self.parks.lock().unwrap()
    }
}

impl TestHost for Hooks {
    fn ipc(&self) -> &Ipc {
        &self.ipc
    }
    fn current_task(&self) -> TaskId {
        7
    }
    fn park(k: &Script, _deadline: Option<Deadline>) -> ParkOutcome {
        *k.parks.lock().unwrap() += 1;
        let hook = k.hooks.lock().unwrap().pop();
        match hook {
            Some(mut h) => h(k),
            None => ParkOutcome::Interrupted,
        }
    }
    fn unpark(&self, task: TaskId) {
        self.unparks.lock().unwrap().push(task);
    }
}

/// A toy object: a pool of units, a liveness flag, and two queues.
struct Obj {
    units: u32,
    alive: bool,
    q: WaitQueue<Handoff<u32, u32>>,
    other: WaitQueue<Handoff<u32, u32>>,
}

fn obj(units: u32) -> alloc::sync::Arc<Mutex<Obj>> {
    alloc::sync::Arc::new(Mutex::new(Obj {
        units,
        alive: true,
        q: WaitQueue::new(),
        other: WaitQueue::new(),
    }))
}

/// Takes a unit (returning how many were left), or blocks asking for one;
/// EINVAL once the object is dead.
fn take(o: &mut Obj) -> Step<u32, Handoff<u32, u32>> {
    if !o.alive {
        return Step::Done(err(EINVAL));
    }
    take_as(1)(o)
}

fn wait_take(k: &Script, o: &Mutex<Obj>, how: Blocking) -> Result<u32, Errno> {
    wait(k, o, how, |o| &mut o.q, take)
}

const DL: Deadline = Deadline {
    clock: ClockId::Monotonic,
    at_ns: 5,
};

#[test]
fn ready_operation_never_parks_and_nonblocking_gets_eagain() {
    let k = script(Vec::new());
    let o = obj(1);
    assert_eq!(wait_take(&k, &o, Blocking::Forever), Ok(0));
    assert_eq!(
        wait_take(&k, &o, Blocking::NonBlocking).map_err(|e| e.errno),
        Err(EAGAIN)
    );
    assert_eq!(k.parks(), 0);
    assert!(o.lock().q.is_empty(), "a nonblocking try queues nothing");
}

#[test]
fn removal_reports_eidrm() {
    let o = obj(0);
    let o2 = o.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        let mut g = o2.lock();
        g.alive = false;
        assert_eq!(g.q.remove_all(k), 1);
        ParkOutcome::Unparked
    }) as Hook]);
    let r = wait_take(&k, &o, Blocking::Forever);
    assert_eq!(r.map_err(|e| e.errno), Err(EIDRM));
    assert_eq!(*k.unparks.lock().unwrap(), [7]);
}

#[test]
fn deadline_and_signal_unlink_the_waiter() {
    for (outcome, errno) in [
        (ParkOutcome::TimedOut, ETIMEDOUT),
        (ParkOutcome::Interrupted, EINTR),
    ] {
        let o = obj(0);
        let k = script(alloc::vec![Box::new(move |_: &Script| outcome) as Hook]);
        let r = wait_take(&k, &o, Blocking::Until(DL));
        assert_eq!(r.map_err(|e| e.errno), Err(errno));
        assert!(
            o.lock().q.is_empty(),
            "a waiter that gave up left the queue"
        );
    }
}

#[test]
fn completion_beats_timeout_and_skips_the_retry() {
    let o = obj(0);
    let o2 = o.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        let mut g = o2.lock();
        let n = g.q.visit(k, |p| {
            assert_eq!(p.request, 1);
            p.result = Some(Ok(42));
            Visit::Complete
        });
        assert_eq!(n, 1);
        // A unit appears too: a waiter that re-ran its operation would
        // return 0 instead of the handed-over 42.
        g.units = 1;
        ParkOutcome::TimedOut
    }) as Hook]);
    assert_eq!(wait_take(&k, &o, Blocking::Until(DL)), Ok(42));
    assert_eq!(o.lock().units, 1, "the operation did not run again");
}

#[test]
fn wake_beats_signal_and_retries() {
    let o = obj(0);
    let o2 = o.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        let mut g = o2.lock();
        g.units = 1;
        g.q.wake(k, 1);
        ParkOutcome::Interrupted
    }) as Hook]);
    assert_eq!(wait_take(&k, &o, Blocking::Forever), Ok(0));
}

#[test]
fn recheck_point_is_not_a_timeout() {
    let o = obj(0);
    let o2 = o.clone();
    let k = script(alloc::vec![Box::new(move |_: &Script| {
        o2.lock().units = 1; // "the timer expired"
        ParkOutcome::TimedOut
    }) as Hook]);
    let r = wait(
        &k,
        &*o,
        Blocking::Forever,
        |o| &mut o.q,
        |o| {
            if o.units > 0 {
                Step::Done(Ok(o.units))
            } else {
                Step::BlockUntil(Handoff::new(0), DL)
            }
        },
    );
    assert_eq!(r, Ok(1));
    // With a caller's deadline earlier than the re-check point, the
    // timeout is the caller's.
    let o = obj(0);
    let k = script(alloc::vec![
        Box::new(|_: &Script| ParkOutcome::TimedOut) as Hook
    ]);
    let early = Deadline { at_ns: 1, ..DL };
    let r = wait(
        &k,
        &*o,
        Blocking::Until(early),
        |o| &mut o.q,
        |o| {
            let _ = o;
            Step::<u32, _>::BlockUntil(Handoff::new(0), DL)
        },
    );
    assert_eq!(r.map_err(|e| e.errno), Err(ETIMEDOUT));
}

/// A script whose first park times out and whose second (a waiter
/// waiting to be ended) wakes the one node of `o.q`, checking that `q`
/// holds it and `other` does not.
fn timeout_then_wake(o: &alloc::sync::Arc<Mutex<Obj>>) -> Script {
    let o2 = o.clone();
    script(alloc::vec![
        Box::new(|_: &Script| ParkOutcome::TimedOut) as Hook,
        Box::new(move |k: &Script| {
            let mut g = o2.lock();
            assert_eq!((g.q.len(), g.other.len()), (1, 0), "lists intact");
            assert_eq!(g.q.wake(k, 1), 1);
            ParkOutcome::Unparked
        }) as Hook,
    ])
}

#[test]
fn a_selector_that_changes_its_mind_cannot_unlink_from_the_wrong_queue() {
    let o = obj(0);
    let picks = core::cell::Cell::new(0u32);
    // After the timeout the selector picks `other`, which does not hold
    // the node, so the waiter must not unlink; the re-try queues on
    // `other`, and the third park ends by default with a signal, settled
    // on `other`, which does hold it now.
    let k = timeout_then_wake(&o);
    let r = wait(
        &k,
        &*o,
        Blocking::Until(DL),
        |o| {
            picks.set(picks.get() + 1);
            if picks.get() == 1 {
                &mut o.q
            } else {
                &mut o.other
            }
        },
        take,
    );
    assert_eq!(r.map_err(|e| e.errno), Err(EINTR));
    assert_eq!(k.parks(), 3);
    let g = o.lock();
    assert!(g.q.is_empty() && g.other.is_empty());
}

/// Takes a unit, or blocks with request number `n`.
fn take_as(n: u32) -> impl FnMut(&mut Obj) -> Step<u32, Handoff<u32, u32>> {
    move |o| {
        if o.units > 0 {
            o.units -= 1;
            return Step::Done(Ok(o.units));
        }
        Step::Block(Handoff::new(n))
    }
}

type Results = alloc::sync::Arc<StdMutex<Vec<(char, Result<u32, i32>)>>>;

/// A hook that runs waiter `name` (request `n`) inside the current park.
fn nested(o: &alloc::sync::Arc<Mutex<Obj>>, name: char, n: u32, results: &Results) -> Hook {
    let (o, results) = (o.clone(), results.clone());
    Box::new(move |k: &Script| {
        let r = wait(k, &*o, Blocking::Forever, |o| &mut o.q, take_as(n));
        results.lock().unwrap().push((name, r.map_err(|e| e.errno)));
        ParkOutcome::Unparked
    })
}

#[test]
fn visit_is_fifo_and_complete_wake_keep_stop_do_what_they_say() {
    // A's park queues B, whose park queues C, whose park visits all three.
    let o = obj(0);
    let results: Results = alloc::sync::Arc::new(StdMutex::new(Vec::new()));
    let seen = alloc::sync::Arc::new(StdMutex::new(Vec::new()));
    let (o3, seen3) = (o.clone(), seen.clone());
    let k = script(alloc::vec![
        nested(&o, 'B', 2, &results),
        nested(&o, 'C', 3, &results),
        Box::new(move |k: &Script| {
            let mut g = o3.lock();
            assert_eq!(g.q.front().map(|p| p.request), Some(1));
            g.q.visit(k, |p| {
                seen3.lock().unwrap().push(p.request);
                match p.request {
                    1 => {
                        p.result = Some(Ok(10));
                        Visit::Complete
                    }
                    2 => Visit::Keep,
                    _ => Visit::Stop,
                }
            });
            assert_eq!(g.q.len(), 2);
            g.units = 1;
            assert_eq!(g.q.wake(k, 1), 1, "wakes the new front: B");
            ParkOutcome::Unparked
        }) as Hook,
    ]);
    let a = wait(&k, &*o, Blocking::Forever, |o| &mut o.q, take_as(1));
    assert_eq!(a, Ok(10), "A got the handed-over result");
    assert_eq!(
        *seen.lock().unwrap(),
        [1, 2, 3],
        "FIFO; Stop ended the walk"
    );
    assert_eq!(
        *results.lock().unwrap(),
        [('C', Err(EINTR)), ('B', Ok(0))],
        "C stayed queued until its signal; B re-tried and took the unit"
    );
    assert!(o.lock().q.is_empty());
}

#[test]
fn dropping_a_queue_with_waiters_ends_them_removed() {
    let o = obj(0);
    let o2 = o.clone();
    let k = script(alloc::vec![Box::new(move |_: &Script| {
        let mut g = o2.lock();
        drop(core::mem::take(&mut g.q));
        ParkOutcome::Unparked
    }) as Hook]);
    let r = wait_take(&k, &o, Blocking::Forever);
    assert_eq!(r.map_err(|e| e.errno), Err(EIDRM));
}

type Fam = QueueFamily<Handoff<u32, u32>, 4>;

/// Waits on queue `index` of `fam` with request `req`: blocks on the
/// first try, returns 99 if the operation is re-tried.
fn wait_fam(k: &Script, fam: &Fam, index: usize, how: Blocking, req: u32) -> Result<u32, Errno> {
    let mut tries = 0;
    wait_in(
        k,
        fam,
        index,
        how,
        |_| {
            tries += 1;
            if tries == 1 {
                Step::Block(Handoff::new(req))
            } else {
                Step::Done(Ok(99))
            }
        },
        || Ok(()),
    )
}

#[test]
fn family_requeue_moves_and_a_timed_out_waiter_leaves_its_new_home() {
    let fam: alloc::sync::Arc<Fam> = alloc::sync::Arc::new(QueueFamily::new());
    let f2 = fam.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        let n = f2
            .requeue(
                k,
                0,
                3,
                |_| Gate::Proceed,
                |_| Ok(()),
                |p| {
                    p.request = 30;
                    Requeue::Move
                },
            )
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!((f2.waiters(0), f2.waiters(3)), (0, 1));
        ParkOutcome::TimedOut
    }) as Hook]);
    let r = wait_fam(&k, &fam, 0, Blocking::Until(DL), 10);
    assert_eq!(r.map_err(|e| e.errno), Err(ETIMEDOUT));
    assert_eq!(
        (fam.waiters(0), fam.waiters(3)),
        (0, 0),
        "unlinked from the new home"
    );
    // A completion after a move hands its result over.
    let f3 = fam.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        f3.requeue(k, 1, 2, |_| Gate::Proceed, |_| Ok(()), |_| Requeue::Move)
            .unwrap();
        let done = f3.visit(k, 2, |p| {
            p.result = Some(Ok(p.request + 1));
            Visit::Complete
        });
        assert_eq!(done, Ok(1));
        ParkOutcome::Unparked
    }) as Hook]);
    assert_eq!(wait_fam(&k, &fam, 1, Blocking::Forever, 5), Ok(6));
    // A plain wake after a move, with the park cut short: the waiter
    // settles in the new home, then re-tries under its own queue's lock.
    let f4 = fam.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        f4.requeue(k, 1, 3, |_| Gate::Proceed, |_| Ok(()), |_| Requeue::Move)
            .unwrap();
        assert_eq!(f4.visit(k, 3, |_| Visit::Wake), Ok(1));
        ParkOutcome::TimedOut
    }) as Hook]);
    assert_eq!(wait_fam(&k, &fam, 1, Blocking::Until(DL), 0), Ok(99));
    // A requeue's completion ends the wait with the payload's result.
    let f5 = fam.clone();
    let k = script(alloc::vec![Box::new(move |k: &Script| {
        let n = f5.requeue(
            k,
            2,
            0,
            |_| Gate::Proceed,
            |_| Ok(()),
            |p| {
                p.result = Some(Ok(7));
                Requeue::Complete
            },
        );
        assert_eq!(n, Ok(1));
        ParkOutcome::Unparked
    }) as Hook]);
    assert_eq!(wait_fam(&k, &fam, 2, Blocking::Forever, 0), Ok(7));
    let refused = wait_in(
        &k,
        &*fam,
        1,
        Blocking::Forever,
        |_| Step::<u32, Handoff<u32, u32>>::Done(err(EAGAIN)),
        || Ok(()),
    );
    assert_eq!(refused.map_err(|e| e.errno), Err(EAGAIN));
    assert_eq!(
        wait_fam(&k, &fam, 9, Blocking::Forever, 0).map_err(|e| e.errno),
        Err(EINVAL)
    );
    assert!((0..4).all(|i| fam.waiters(i) == 0));
}

#[test]
fn unlock_runs_the_unlocked_step_and_tries_again() {
    let fam: QueueFamily<(), 2> = QueueFamily::new();
    let k = script(alloc::vec![
        Box::new(|_: &Script| ParkOutcome::Interrupted) as Hook
    ]);
    let mut tries = 0;
    let outside = core::cell::Cell::new(0);
    let r: Result<(), Errno> = wait_in(
        &k,
        &fam,
        1,
        Blocking::Forever,
        |_| {
            tries += 1;
            if tries == 1 {
                Step::Unlock
            } else {
                Step::Block(())
            }
        },
        || {
            outside.set(outside.get() + 1);
            Ok(())
        },
    );
    assert_eq!(r.map_err(|e| e.errno), Err(EINTR));
    assert_eq!((tries, outside.get()), (2, 1));
    assert_eq!(fam.waiters(1), 0);
    // The unlocked step's error ends the call.
    let r: Result<(), Errno> = wait_in(
        &k,
        &fam,
        0,
        Blocking::Forever,
        |_| Step::Unlock,
        || Err(Errno::new(EFAULT)),
    );
    assert_eq!(r.map_err(|e| e.errno), Err(EFAULT));
    // `wait` has no unlocked step: it re-locks and tries again.
    let o = obj(0);
    let mut tries = 0;
    let r = wait(
        &k,
        &*o,
        Blocking::NonBlocking,
        |o| &mut o.q,
        |_| {
            tries += 1;
            if tries == 1 {
                Step::Unlock
            } else {
                Step::Done(Ok(3))
            }
        },
    );
    assert_eq!(r, Ok(3));
}

#[test]
fn a_panicking_selector_does_not_free_a_queued_node() {
    let o = obj(0);
    let picks = core::cell::Cell::new(0u32);
    // The waker is reached only if the unwinding frame waits for its
    // node's end.
    let k = timeout_then_wake(&o);
    let r = std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
        wait(
            &k,
            &*o,
            Blocking::Until(DL),
            |o| {
                picks.set(picks.get() + 1);
                assert!(picks.get() == 1, "selector fails on its second call");
                &mut o.q
            },
            take,
        )
    }));
    assert!(r.is_err());
    assert_eq!(
        k.parks(),
        2,
        "the frame waited for a waker before unwinding"
    );
    assert!(o.lock().q.is_empty());
}
