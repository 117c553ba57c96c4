//! Loom model of the futex word's protocol with user memory, under the
//! C11 memory model (shuttle, in tests/model_check.rs, explores the same
//! code on a sequentially consistent machine only).
//!
//! What is modelled, as `FutexTable::wait` / `wake` and the wait queue
//! (`src/ipc/futex/mod.rs`, `src/ipc/common/waitq.rs`) do it:
//! - the waiter takes the bucket lock, reads the user word (a plain copy
//!   from user memory, `read_nofault`: a Relaxed load), queues its node if
//!   the word holds the expected value, drops the lock and parks until its
//!   node's status is final (loaded with `waitq::STATUS_OBSERVE`);
//! - the waker stores the word in user space (with whatever ordering the
//!   user's code picked, down to Relaxed), then takes the bucket lock,
//!   unlinks waiters, places a result in each one's payload, publishes the
//!   final status (`waitq::STATUS_PUBLISH`) and unparks it;
//! - a woken waiter reads its payload without the lock (the hand-off every
//!   family uses: a message, a semop result).
//!
//! Loom treats SeqCst loads and stores as acquire/release; no check here
//! relies on SeqCst. What the model shows: the bucket lock alone orders
//! the waiter's check against the waker's store, whatever the ordering of
//! that store (there is no lock-free "no waiters" shortcut in
//! `FutexTable::wake`, and `lockless_shortcut_needs_fences` shows what one
//! would need); and the status orderings publish the payload.
//!
//! Each check can fail, and the failing variants run here too (in a child
//! process, since loom aborts after its report): a check of the word
//! before the bucket lock loses the wake-up (`check_before_the_lock_*`), a
//! waiters count read without fences loses it
//! (`lockless_shortcut_without_fences_*`), and with the status orderings
//! Relaxed the payload read races its write
//! (`relaxed_status_races_the_payload`). With `waitq::STATUS_PUBLISH` set
//! to `Ordering::Relaxed` in the crate (a local mutation, reverted),
//! `woken_waiter_reads_the_payload_its_waker_placed` failed with loom's
//! causality-violation report.
#![cfg(feature = "loom")]

use std::sync::atomic::Ordering;

use loom::cell::UnsafeCell;
use loom::sync::atomic::{fence, AtomicU32};
use loom::sync::{Arc, Mutex};
use loom::thread::{self, Thread};

use redbear_ipc::ipc::common::waitq::{STATUS_OBSERVE, STATUS_PUBLISH};

const WAITING: u32 = 0;
const COMPLETED: u32 = 1;

/// A sleeper's node: final status and payload, as `waitq::WaitNode`.
struct Node {
    status: AtomicU32,
    payload: UnsafeCell<u32>,
    task: Thread,
}

/// Where the waiter reads the word.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Under the bucket lock, as `FutexTable::wait_gated`.
    UnderLock,
    /// Before taking it (a broken futex).
    BeforeLock,
}

/// A waiters count the waker reads without the lock, to skip an empty
/// bucket (Linux's `futex_hb_waiters_pending`); ours has none.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shortcut {
    None,
    /// Counted and read with SeqCst fences on both sides (Linux's smp_mb).
    Fenced,
    /// Counted and read Relaxed, no fences.
    Unfenced,
}

/// How the waiter's park ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Park {
    /// At the waker's unpark (a lost wake-up is a deadlock loom reports).
    Block,
    /// At any time: the park loop re-checks its status after every
    /// return, as `park_until_final` does after a spurious one. Modelled
    /// as a yield with no unpark, because loom's unpark orders memory by
    /// itself (it joins the unparker's clock) and would hide a missing
    /// Release; the kernel's ordering must come from the status alone.
    Spurious,
}

#[derive(Clone, Copy)]
struct Variant {
    check: Check,
    shortcut: Shortcut,
    park: Park,
    publish: Ordering,
    observe: Ordering,
}

const OURS: Variant = Variant {
    check: Check::UnderLock,
    shortcut: Shortcut::None,
    park: Park::Block,
    publish: STATUS_PUBLISH,
    observe: STATUS_OBSERVE,
};

/// One futex word in user memory and its bucket.
struct Futex {
    word: AtomicU32,
    bucket: Mutex<Vec<Arc<Node>>>,
    waiters: AtomicU32,
    v: Variant,
}

impl Futex {
    fn new(v: Variant) -> Arc<Self> {
        Arc::new(Futex {
            word: AtomicU32::new(0),
            bucket: Mutex::new(Vec::new()),
            waiters: AtomicU32::new(0),
            v,
        })
    }

    /// FUTEX_WAIT: `None` (EAGAIN) if the word is not `expected`, else
    /// sleeps until a waker completes it: the payload it placed.
    fn wait(&self, expected: u32) -> Option<u32> {
        let node = Arc::new(Node {
            status: AtomicU32::new(WAITING),
            payload: UnsafeCell::new(0),
            task: thread::current(),
        });
        if self.v.shortcut != Shortcut::None {
            self.waiters.fetch_add(1, Ordering::Relaxed);
            if self.v.shortcut == Shortcut::Fenced {
                fence(Ordering::SeqCst);
            }
        }
        let early = (self.v.check == Check::BeforeLock).then(|| self.word.load(Ordering::Relaxed));
        {
            let mut bucket = self.bucket.lock().unwrap();
            // The value check: a plain copy from user memory.
            let now = early.unwrap_or_else(|| self.word.load(Ordering::Relaxed));
            if now != expected {
                if self.v.shortcut != Shortcut::None {
                    self.waiters.fetch_sub(1, Ordering::Relaxed);
                }
                return None;
            }
            bucket.push(node.clone());
        }
        while node.status.load(self.v.observe) != COMPLETED {
            match self.v.park {
                Park::Block => thread::park(),
                Park::Spurious => thread::yield_now(),
            }
        }
        // SAFETY (model): the waker's last access to the payload was
        // before its status store; loom checks that claim.
        Some(node.payload.with(|p| unsafe { *p }))
    }

    /// FUTEX_WAKE of one waiter, completing it with `payload`: how many.
    fn wake(&self, payload: u32) -> usize {
        if self.v.shortcut != Shortcut::None {
            if self.v.shortcut == Shortcut::Fenced {
                fence(Ordering::SeqCst);
            }
            if self.waiters.load(Ordering::Relaxed) == 0 {
                return 0;
            }
        }
        let mut bucket = self.bucket.lock().unwrap();
        if bucket.is_empty() {
            return 0;
        }
        let node = bucket.remove(0);
        if self.v.shortcut != Shortcut::None {
            self.waiters.fetch_sub(1, Ordering::Relaxed);
        }
        // SAFETY (model): the node is off the queue and not yet final, so
        // only this waker touches its payload.
        node.payload.with_mut(|p| unsafe { *p = payload });
        let task = node.task.clone();
        node.status.store(COMPLETED, self.v.publish);
        if self.v.park == Park::Block {
            task.unpark();
        }
        1
    }
}

/// A one-shot event on the futex word: the waiter loops "word set? else
/// FUTEX_WAIT(0)", the setter stores 1 with `store` then wakes one. The
/// waiter must finish (loom reports a deadlock otherwise).
fn event(v: Variant, store: Ordering) {
    let f = Futex::new(v);
    let waiter = {
        let f = f.clone();
        thread::spawn(move || {
            while f.word.load(Ordering::Relaxed) == 0 {
                let _ = f.wait(0);
            }
        })
    };
    f.word.store(1, store);
    f.wake(7);
    waiter.join().unwrap();
}

#[test]
fn wake_after_a_release_store_is_never_lost() {
    loom::model(|| event(OURS, Ordering::Release));
}

/// The user's store may even be Relaxed: the bucket lock orders it
/// before the check of a waiter that takes the lock after the waker.
#[test]
fn wake_after_a_relaxed_store_is_never_lost() {
    loom::model(|| event(OURS, Ordering::Relaxed));
}

/// With fences on both sides a lock-free waiters count would be safe.
#[test]
fn lockless_shortcut_needs_fences() {
    let v = Variant {
        shortcut: Shortcut::Fenced,
        ..OURS
    };
    loom::model(move || event(v, Ordering::Relaxed));
}

/// A waiter asleep on the word gets the payload its waker placed, read
/// without the lock once it saw the final status; its park may return at
/// any time (`Park::Spurious`).
fn payload_hand_off(v: Variant) {
    let f = Futex::new(Variant {
        park: Park::Spurious,
        ..v
    });
    let waiter = {
        let f = f.clone();
        thread::spawn(move || f.wait(0))
    };
    // The word stays 0, so the waiter sleeps: wake until it is there.
    while f.wake(42) == 0 {
        thread::yield_now();
    }
    assert_eq!(waiter.join().unwrap(), Some(42));
}

#[test]
fn woken_waiter_reads_the_payload_its_waker_placed() {
    loom::model(|| payload_hand_off(OURS));
}

// ---- the broken variants, each run in a child process ----------------

/// Runs the ignored test `name` of this binary in a child process and
/// checks that loom failed it with a report containing `report`.
fn fails_in_child(name: &str, report: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the test binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{name} passed:\n{stderr}");
    assert!(
        stderr.contains(report),
        "{name} failed, but not with {report:?}:\n{stderr}"
    );
}

#[test]
fn check_before_the_lock_loses_the_wake_up() {
    fails_in_child("model_check_before_the_lock", "deadlock");
}

#[test]
#[ignore = "run by check_before_the_lock_loses_the_wake_up in a child process"]
fn model_check_before_the_lock() {
    let v = Variant {
        check: Check::BeforeLock,
        ..OURS
    };
    loom::model(move || event(v, Ordering::Release));
}

#[test]
fn lockless_shortcut_without_fences_loses_the_wake_up() {
    fails_in_child("model_unfenced_shortcut", "deadlock");
}

#[test]
#[ignore = "run by lockless_shortcut_without_fences_loses_the_wake_up in a child process"]
fn model_unfenced_shortcut() {
    let v = Variant {
        shortcut: Shortcut::Unfenced,
        ..OURS
    };
    loom::model(move || event(v, Ordering::Release));
}

#[test]
fn relaxed_status_races_the_payload() {
    fails_in_child("model_relaxed_status", "Causality violation");
}

#[test]
#[ignore = "run by relaxed_status_races_the_payload in a child process"]
fn model_relaxed_status() {
    let v = Variant {
        publish: Ordering::Relaxed,
        observe: Ordering::Relaxed,
        ..OURS
    };
    loom::model(move || payload_hand_off(v));
}
