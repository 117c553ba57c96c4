//! Blocking steps in a differential run: blockers (threads, or tasks on
//! our side) that sleep in the kernel, woken, timed out or interrupted by
//! what the main thread does, with every result compared and the order of
//! observable events (who ended at which step, with what) recorded, never
//! how long anything took.
//!
//! A family supplies a `Scene` per side and a `Model`: the model says, from
//! the Linux semantics, whether a new blocker sleeps and how many sleeping
//! blockers an action ends, so the driver knows what to wait for (with a
//! generous cap, so a wrong kernel shows as a different story rather than
//! a hang). Which blockers ended, and their results, are observed.
#![allow(dead_code)]

use std::fmt::Debug;
use std::sync::{mpsc, Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use redbear_ipc::hosted::{HostedKernel, Process, Task};
use redbear_ipc::kernel::sig_bit;

use super::Outcome;

/// How long the driver waits for what the model expects before it
/// records what it sees (only a wrong kernel gets near it).
const CAP: Duration = Duration::from_secs(10);

/// How a new blocker starts, by the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// It sleeps until some action or signal ends it.
    Sleeps,
    /// It returns without sleeping (and ends `ends` sleeping blockers).
    AtOnce { ends: usize },
    /// It sleeps until its own short deadline, then returns.
    TimesOut,
}

/// The Linux semantics a script is played under.
pub trait Model<B, A> {
    /// A new blocker doing `op`.
    fn block(&mut self, op: &B) -> Start;
    /// The main thread's `act`; returns how many sleeping blockers it ends.
    fn act(&mut self, act: &A) -> usize;
    /// The sleeping blocker at position `ordinal` (start order) was
    /// interrupted by a signal.
    fn interrupted(&mut self, ordinal: usize);
}

/// Blockers of one side: threads on Linux, tasks on ours.
pub trait Blockers {
    /// Whether blocker `i` sleeps in the kernel now.
    fn asleep(&self, i: usize) -> bool;
    /// Whether blocker `i` has returned.
    fn finished(&self, i: usize) -> bool;
    /// Blocker `i`'s result (it has returned).
    fn join(&mut self, i: usize) -> Outcome;
    /// Sends blocker `i` a signal whose handler returns (no SA_RESTART).
    fn interrupt(&mut self, i: usize);
}

/// One side of a blocking differential run.
pub trait Scene<B, A> {
    /// Starts blocker `i` doing `op` on a thread of its own.
    fn spawn(&mut self, i: usize, op: &B);
    /// The main thread's nonblocking action.
    fn act(&mut self, act: &A) -> Outcome;
    /// The side's blockers.
    fn blockers(&mut self) -> &mut dyn Blockers;
}

/// One step of a script.
#[derive(Clone, Debug)]
pub enum Step<B, A> {
    /// Start a new blocker.
    Block(B),
    /// An action of the main thread.
    Act(A),
    /// Interrupt the sleeping blocker at this position (modulo how many
    /// sleep; nothing when none does).
    Interrupt(usize),
}

/// What a step showed: outcomes in a fixed order.
pub type Record = Vec<Outcome>;

/// Marks in a record.
const SLEPT: Outcome = Ok(-100);
const DID_NOT_SLEEP: Outcome = Ok(-101);
const STILL_BLOCKED: Outcome = Ok(-102);
const NOBODY: Outcome = Ok(-103);

fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > CAP {
            return false;
        }
        std::thread::sleep(Duration::from_micros(300));
    }
    true
}

/// Plays `steps` on `scene` under `model`, then interrupts whoever still
/// sleeps; returns one record per step and one for the clean-up. With
/// `who_matters` false, no record names a blocker: a step's finishers are
/// a sorted list of results (for wake-ups where Linux lets the woken race,
/// as eventfd and timerfd readers do).
pub fn play<B: Debug, A: Debug>(
    steps: &[Step<B, A>],
    scene: &mut dyn Scene<B, A>,
    model: &mut dyn Model<B, A>,
    who_matters: bool,
) -> Vec<Record> {
    let mut alive: Vec<usize> = Vec::new();
    let mut started = 0;
    let mut records = Vec::new();
    // Waits for `n` of `alive` to end, then records every one that has.
    let reap = |b: &mut dyn Blockers, alive: &mut Vec<usize>, n: usize, rec: &mut Record| {
        wait_until(|| alive.iter().filter(|&&i| b.finished(i)).count() >= n);
        let (done, left): (Vec<usize>, Vec<usize>) = alive.iter().partition(|&&i| b.finished(i));
        *alive = left;
        let mut ended: Vec<(usize, Outcome)> = done.into_iter().map(|i| (i, b.join(i))).collect();
        if who_matters {
            for (i, o) in ended {
                rec.push(Ok(i as i64));
                rec.push(o);
            }
        } else {
            ended.sort_by_key(|e| format!("{:?}", e.1));
            rec.extend(ended.into_iter().map(|e| e.1));
        }
    };
    for step in steps {
        let mut rec = Record::new();
        match step {
            Step::Block(op) => {
                let i = started;
                started += 1;
                let start = model.block(op);
                scene.spawn(i, op);
                let b = scene.blockers();
                match start {
                    Start::Sleeps => {
                        wait_until(|| b.asleep(i) || b.finished(i));
                        if b.finished(i) {
                            rec.extend([DID_NOT_SLEEP, b.join(i)]);
                        } else {
                            rec.push(SLEPT);
                            alive.push(i);
                        }
                    }
                    Start::AtOnce { .. } | Start::TimesOut => {
                        if wait_until(|| b.finished(i)) {
                            rec.push(b.join(i));
                        } else {
                            rec.push(STILL_BLOCKED);
                            alive.push(i);
                        }
                        if let Start::AtOnce { ends } = start {
                            reap(b, &mut alive, ends, &mut rec);
                        }
                    }
                }
            }
            Step::Act(act) => {
                let ends = model.act(act);
                rec.push(scene.act(act));
                reap(scene.blockers(), &mut alive, ends, &mut rec);
            }
            Step::Interrupt(at) => {
                if alive.is_empty() {
                    rec.push(NOBODY);
                } else {
                    let ordinal = at % alive.len();
                    model.interrupted(ordinal);
                    let i = alive.remove(ordinal);
                    let b = scene.blockers();
                    b.interrupt(i);
                    if who_matters {
                        rec.push(Ok(i as i64));
                    }
                    rec.push(if wait_until(|| b.finished(i)) {
                        b.join(i)
                    } else {
                        STILL_BLOCKED
                    });
                }
            }
        }
        records.push(rec);
    }
    // Clean-up: every blocker still asleep is interrupted, oldest first.
    let mut rec = Record::new();
    let b = scene.blockers();
    for i in alive {
        b.interrupt(i);
        assert!(
            wait_until(|| b.finished(i)),
            "blocker {i} ignores signals: cannot end the case"
        );
        if who_matters {
            rec.push(Ok(i as i64));
        }
        rec.push(b.join(i));
    }
    records.push(rec);
    records
}

/// Plays `steps` on both sides under fresh models; Err names the first
/// step whose records differ.
pub fn compare<B: Debug, A: Debug, M: Model<B, A>>(
    steps: &[Step<B, A>],
    linux: &mut dyn Scene<B, A>,
    ours: &mut dyn Scene<B, A>,
    model: impl Fn() -> M,
    who_matters: bool,
) -> Result<(), String> {
    let want = play(steps, linux, &mut model(), who_matters);
    let got = play(steps, ours, &mut model(), who_matters);
    for (i, (w, g)) in want.iter().zip(&got).enumerate() {
        if w != g {
            let show = |r: &Record| r.iter().map(super::show).collect::<Vec<_>>().join(", ");
            let what = steps
                .get(i)
                .map_or("clean-up".to_string(), |s| format!("{s:?}"));
            return Err(format!(
                "step {i}: {what}\n  linux: [{}]\n  ours:  [{}]\n  script: {steps:?}",
                show(w),
                show(g)
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- Linux

/// The signal that interrupts Linux blockers (a handler without
/// SA_RESTART, so blocked calls fail EINTR).
pub const LINUX_SIGNAL: i32 = libc::SIGUSR1;

extern "C" fn on_signal(_: libc::c_int) {}

pub fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain sigaction whose handler does nothing.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = 0;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(LINUX_SIGNAL, &sa, std::ptr::null_mut()), 0);
        }
    });
}

/// Whether Linux thread `tid` of this process sleeps in syscall `nr`.
pub fn sleeping_in(tid: i32, nr: libc::c_long) -> bool {
    sleeping_at(&format!("/proc/self/task/{tid}"), nr)
}

/// Whether the Linux task whose /proc directory is `dir` sleeps in
/// syscall `nr`.
pub fn sleeping_at(dir: &str, nr: libc::c_long) -> bool {
    let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    let call = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
    state == Some("S") && call.split_whitespace().next() == Some(&nr.to_string())
}

/// Started blockers: each thread's handle until joined, and what the side
/// needs to watch or signal it (`T`).
struct Started<T> {
    handles: Vec<(Option<JoinHandle<Outcome>>, T)>,
}

impl<T> Default for Started<T> {
    fn default() -> Self {
        Started {
            handles: Vec::new(),
        }
    }
}

impl<T> Started<T> {
    fn push(&mut self, i: usize, handle: JoinHandle<Outcome>, watch: T) {
        assert_eq!(i, self.handles.len(), "blockers start in order");
        self.handles.push((Some(handle), watch));
    }

    fn watch(&self, i: usize) -> &T {
        &self.handles[i].1
    }

    fn handle(&self, i: usize) -> Option<&JoinHandle<Outcome>> {
        self.handles[i].0.as_ref()
    }

    fn finished(&self, i: usize) -> bool {
        self.handle(i).is_none_or(|h| h.is_finished())
    }

    fn join(&mut self, i: usize) -> Outcome {
        match self.handles[i].0.take() {
            Some(h) => h.join().expect("blocker thread"),
            None => panic!("blocker {i} joined twice"),
        }
    }
}

/// Linux blockers: threads of the test process, watched by thread id and
/// the syscall they sleep in.
#[derive(Default)]
pub struct LinuxBlockers {
    started: Started<(i32, libc::c_long)>,
}

impl LinuxBlockers {
    /// Starts blocker `i` running `call`, which sleeps in syscall `nr`.
    pub fn spawn(
        &mut self,
        i: usize,
        nr: libc::c_long,
        call: impl FnOnce() -> Outcome + Send + 'static,
    ) {
        install_handler();
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            let _ = tx.send(unsafe { libc::gettid() });
            call()
        });
        let tid = rx.recv().expect("blocker tid");
        self.started.push(i, handle, (tid, nr));
    }

    /// The thread id of the oldest blocker still running, if any.
    pub fn oldest_running(&self) -> Option<i32> {
        (0..self.started.handles.len())
            .find(|&i| !self.started.finished(i))
            .map(|i| self.started.watch(i).0)
    }
}

impl Blockers for LinuxBlockers {
    fn asleep(&self, i: usize) -> bool {
        let &(tid, nr) = self.started.watch(i);
        sleeping_in(tid, nr)
    }

    fn finished(&self, i: usize) -> bool {
        self.started.finished(i)
    }

    fn join(&mut self, i: usize) -> Outcome {
        self.started.join(i)
    }

    fn interrupt(&mut self, i: usize) {
        use std::os::unix::thread::JoinHandleExt;
        if let Some(h) = self.started.handle(i) {
            // SAFETY: the thread is not joined yet, so its id is valid.
            unsafe { libc::pthread_kill(h.as_pthread_t(), LINUX_SIGNAL) };
        }
    }
}

// ----------------------------------------------------------------- ours

/// Signals of our blockers: blocker `i` blocks every signal but its own,
/// so a signal sent to the (shared) process interrupts it alone.
fn our_signal(i: usize) -> u32 {
    40 + (i as u32 % 20)
}

/// The signals of every blocker, for the main task to block.
pub fn our_signals() -> u64 {
    (0..20).fold(0, |m, i| m | sig_bit(our_signal(i)))
}

/// Our blockers: tasks of one hosted process, watched by their task.
pub struct OurBlockers {
    k: Arc<HostedKernel>,
    proc: Arc<Process>,
    started: Started<Arc<Task>>,
}

impl OurBlockers {
    pub fn new(k: &Arc<HostedKernel>, proc: &Arc<Process>) -> Self {
        OurBlockers {
            k: k.clone(),
            proc: proc.clone(),
            started: Started::default(),
        }
    }

    pub fn spawn(
        &mut self,
        i: usize,
        call: impl FnOnce(&HostedKernel) -> Outcome + Send + 'static,
    ) {
        let (tx, rx) = mpsc::channel();
        let k = self.k.clone();
        let handle = self.k.spawn_task(&self.proc, move || {
            let me = k.current();
            me.set_mask(!sig_bit(our_signal(i)));
            let _ = tx.send(me);
            call(&k)
        });
        let task = rx.recv().expect("blocker task");
        self.started.push(i, handle, task);
    }

    /// Whether some blocker is still running.
    pub fn any_running(&self) -> bool {
        (0..self.started.handles.len()).any(|i| !self.started.finished(i))
    }
}

impl Blockers for OurBlockers {
    fn asleep(&self, i: usize) -> bool {
        self.started.watch(i).is_parked()
    }

    fn finished(&self, i: usize) -> bool {
        self.started.finished(i)
    }

    fn join(&mut self, i: usize) -> Outcome {
        let r = self.started.join(i);
        // The signal was delivered to the blocker (its handler ran).
        self.proc.take_signal_all(our_signal(i));
        r
    }

    fn interrupt(&mut self, i: usize) {
        self.k.send_signal(&self.proc, our_signal(i));
    }
}
