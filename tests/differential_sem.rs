//! POSIX semaphores, differential: the same proptest-generated sequences
//! against glibc + Linux and against our subsystem.

mod common;
mod diff;

use std::ffi::CString;

use common::{sys, user_bytes, Env};
use diff::{libc_outcome, Backend, Outcome};
use proptest::prelude::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::ipc::sem::SEM_VALUE_MAX;
use redbear_ipc::kernel::{ClockId, Kernel};
use redbear_ipc::syscall::abi::{OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const SLOTS: usize = 2;
const NAMES: u8 = 3;

#[derive(Clone, Debug)]
enum Op {
    Init {
        slot: usize,
        value: u32,
    },
    Post {
        slot: usize,
    },
    TryWait {
        slot: usize,
    },
    /// sem_timedwait with an absolute time in the past.
    TimedWaitPast {
        slot: usize,
    },
    /// sem_timedwait with tv_nsec = 1e9.
    TimedWaitBadNsec {
        slot: usize,
    },
    GetValue {
        slot: usize,
    },
    Open {
        name: NameSpec,
        create: bool,
        excl: bool,
        value: u32,
    },
    Close {
        handle: usize,
    },
    Unlink {
        name: NameSpec,
    },
    NamedPost {
        handle: usize,
    },
    NamedTryWait {
        handle: usize,
    },
    NamedGetValue {
        handle: usize,
    },
}

fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        0..4u32,
        Just(SEM_VALUE_MAX - 1),
        Just(SEM_VALUE_MAX),
        Just(SEM_VALUE_MAX + 1)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let slot = 0..SLOTS;
    let handle = 0..4usize;
    prop_oneof![
        1 => (slot.clone(), value()).prop_map(|(slot, value)| Op::Init { slot, value }),
        3 => slot.clone().prop_map(|slot| Op::Post { slot }),
        3 => slot.clone().prop_map(|slot| Op::TryWait { slot }),
        1 => slot.clone().prop_map(|slot| Op::TimedWaitPast { slot }),
        1 => slot.clone().prop_map(|slot| Op::TimedWaitBadNsec { slot }),
        1 => slot.prop_map(|slot| Op::GetValue { slot }),
        2 => (name_spec(), any::<bool>(), any::<bool>(), value())
            .prop_map(|(name, create, excl, value)| Op::Open { name, create, excl, value }),
        1 => handle.clone().prop_map(|handle| Op::Close { handle }),
        1 => name_spec().prop_map(|name| Op::Unlink { name }),
        2 => handle.clone().prop_map(|handle| Op::NamedPost { handle }),
        2 => handle.clone().prop_map(|handle| Op::NamedTryWait { handle }),
        1 => handle.prop_map(|handle| Op::NamedGetValue { handle }),
    ]
}

/// How a generated name is spelled around one of `NAMES` base names.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The base name.
    Plain,
    /// The base name padded to this many bytes after the slashes.
    Len(usize),
    /// The base name with a '/' inside.
    Interior,
    /// The base name and a trailing '/'.
    TrailingSlash,
    /// The base name, a NUL and more: C sees the base name.
    Nul,
    /// Nothing but the slashes ("" with none).
    Empty,
}

#[derive(Clone, Copy, Debug)]
struct NameSpec {
    base: u8,
    /// Leading '/'s (glibc strips them all).
    slashes: usize,
    shape: Shape,
}

fn name_spec() -> impl Strategy<Value = NameSpec> {
    let shape = prop_oneof![
        8 => Just(Shape::Plain),
        4 => (250..=257usize).prop_map(Shape::Len),
        1 => Just(Shape::Interior),
        1 => Just(Shape::TrailingSlash),
        1 => Just(Shape::Nul),
        1 => Just(Shape::Empty),
    ];
    let slashes = prop_oneof![4 => Just(1usize), 1 => Just(0usize), 1 => 2..=3usize];
    (0..NAMES, slashes, shape).prop_map(|(base, slashes, shape)| NameSpec {
        base,
        slashes,
        shape,
    })
}

/// The name's bytes as a C caller writes them (maybe with a NUL inside),
/// unique to this test process and run, so parallel runs on one host
/// never meet in /dev/shm.
fn name(run: u64, spec: NameSpec) -> Vec<u8> {
    let mut base = format!("rbipc-diff-{}-{run}-{}", std::process::id(), spec.base).into_bytes();
    match spec.shape {
        Shape::Plain => {}
        Shape::Len(len) => base.resize(len, b'p'),
        Shape::Interior => base.insert(3, b'/'),
        Shape::TrailingSlash => base.push(b'/'),
        Shape::Nul => base.extend_from_slice(b"\0tail"),
        Shape::Empty => base.clear(),
    }
    [vec![b'/'; spec.slashes], base].concat()
}

/// What a C string holding `raw` passes: the bytes before the first NUL.
fn c_bytes(raw: &[u8]) -> &[u8] {
    raw.split(|&b| b == 0).next().unwrap_or(raw)
}

fn c_name(raw: &[u8]) -> CString {
    CString::new(c_bytes(raw)).expect("no NUL before the cut")
}

/// Operations on a handle index that is not open fail the same way on both
/// sides without calling anything (both would be EINVAL/EBADF-style misuse).
const NO_HANDLE: Outcome = Err(libc::EBADF);

struct Linux {
    run: u64,
    sems: Vec<libc::sem_t>,
    handles: Vec<*mut libc::sem_t>,
    /// Every name opened, to unlink at the end.
    names: Vec<CString>,
}

impl Linux {
    fn new(run: u64) -> Self {
        // SAFETY: sem_t is plain data; sem_init below initialises it.
        // The Vec is never resized, so the sem_t's never move after init.
        let mut sems: Vec<libc::sem_t> =
            (0..SLOTS).map(|_| unsafe { std::mem::zeroed() }).collect();
        for s in &mut sems {
            // SAFETY: a valid, exclusively owned sem_t.
            assert_eq!(unsafe { libc::sem_init(s, 0, 0) }, 0);
        }
        Linux {
            run,
            sems,
            handles: Vec::new(),
            names: Vec::new(),
        }
    }

    fn handle(&self, h: usize) -> Option<*mut libc::sem_t> {
        self.handles.get(h).copied()
    }
}

impl Drop for Linux {
    fn drop(&mut self) {
        for h in self.handles.drain(..) {
            // SAFETY: h came from sem_open and was not closed.
            unsafe { libc::sem_close(h) };
        }
        for c in &self.names {
            // SAFETY: valid C string.
            unsafe { libc::sem_unlink(c.as_ptr()) };
        }
    }
}

/// The tv_nsec of a timed wait's absolute timeout (at time 0 of
/// CLOCK_REALTIME, so in the past): 0, or one out of range.
fn timeout_nsec(op: &Op) -> i64 {
    match op {
        Op::TimedWaitBadNsec { .. } => 1_000_000_000,
        _ => 0,
    }
}

impl Backend<Op> for Linux {
    fn apply(&mut self, op: &Op) -> Outcome {
        // SAFETY (all calls below): pointers are our live, initialised
        // sem_t's or handles sem_open returned and we have not closed.
        unsafe {
            match *op {
                Op::Init { slot, value } => {
                    libc_outcome(libc::sem_init(&mut self.sems[slot], 0, value).into())
                }
                Op::Post { slot } => libc_outcome(libc::sem_post(&mut self.sems[slot]).into()),
                Op::TryWait { slot } => {
                    libc_outcome(libc::sem_trywait(&mut self.sems[slot]).into())
                }
                Op::TimedWaitPast { slot } | Op::TimedWaitBadNsec { slot } => {
                    let ts = libc::timespec {
                        tv_sec: 0,
                        tv_nsec: timeout_nsec(op),
                    };
                    libc_outcome(libc::sem_timedwait(&mut self.sems[slot], &ts).into())
                }
                Op::GetValue { slot } => {
                    let mut v = -1;
                    libc_outcome(libc::sem_getvalue(&mut self.sems[slot], &mut v).into())
                        .map(|_| v.into())
                }
                Op::Open {
                    name: n,
                    create,
                    excl,
                    value,
                } => {
                    let c = c_name(&name(self.run, n));
                    let oflag = if create { libc::O_CREAT } else { 0 }
                        | if excl { libc::O_EXCL } else { 0 };
                    let s = libc::sem_open(c.as_ptr(), oflag, 0o600 as libc::c_uint, value);
                    if s == libc::SEM_FAILED {
                        Err(diff::last_errno())
                    } else {
                        self.handles.push(s);
                        self.names.push(c);
                        Ok(0)
                    }
                }
                Op::Close { handle } => match self.handle(handle) {
                    Some(h) => {
                        self.handles.remove(handle);
                        libc_outcome(libc::sem_close(h).into())
                    }
                    None => NO_HANDLE,
                },
                Op::Unlink { name: n } => {
                    let c = c_name(&name(self.run, n));
                    libc_outcome(libc::sem_unlink(c.as_ptr()).into())
                }
                Op::NamedPost { handle } => self
                    .handle(handle)
                    .map_or(NO_HANDLE, |h| libc_outcome(libc::sem_post(h).into())),
                Op::NamedTryWait { handle } => self
                    .handle(handle)
                    .map_or(NO_HANDLE, |h| libc_outcome(libc::sem_trywait(h).into())),
                Op::NamedGetValue { handle } => self.handle(handle).map_or(NO_HANDLE, |h| {
                    let mut v = -1;
                    libc_outcome(libc::sem_getvalue(h, &mut v).into()).map(|_| v.into())
                }),
            }
        }
    }
}

struct Ours {
    env: Env,
    run: u64,
    sems: Vec<usize>,
    handles: Vec<usize>,
    /// Every name opened, to unlink at the end.
    names: Vec<Vec<u8>>,
    past: usize,
    bad_nsec: usize,
}

impl Ours {
    fn new(run: u64) -> Self {
        let env = Env::new(ClockMode::Virtual);
        let sems: Vec<usize> = (0..SLOTS).map(|_| env.k.alloc_private(32)).collect();
        for &s in &sems {
            assert_eq!(sys(&env.k, SYS_RB_SEM_INIT, &[s, 0, 0]), Ok(0));
        }
        let past = common::timespec(&env.k, 0, 0);
        let bad_nsec = common::timespec(&env.k, 0, 1_000_000_000);
        Ours {
            env,
            run,
            sems,
            handles: Vec::new(),
            names: Vec::new(),
            past,
            bad_nsec,
        }
    }

    fn call(&self, nr: usize, args: &[usize]) -> Outcome {
        sys(&self.env.k, nr, args).map(|v| v as i64)
    }

    fn named(&self, handle: usize, nr: usize, flags: SemFlags) -> Outcome {
        match self.handles.get(handle) {
            Some(&fd) => self.call(nr, &[fd, (SemFlags::REF_FD | flags).bits()]),
            None => NO_HANDLE,
        }
    }
}

impl Backend<Op> for Ours {
    fn apply(&mut self, op: &Op) -> Outcome {
        let k = &self.env.k;
        match *op {
            Op::Init { slot, value } => {
                self.call(SYS_RB_SEM_INIT, &[self.sems[slot], 0, value as usize])
            }
            Op::Post { slot } => self.call(SYS_RB_SEM_POST, &[self.sems[slot], 0]),
            Op::TryWait { slot } => {
                self.call(SYS_RB_SEM_WAIT, &[self.sems[slot], SemFlags::TRY.bits()])
            }
            Op::TimedWaitPast { slot } | Op::TimedWaitBadNsec { slot } => {
                let ts = if timeout_nsec(op) == 0 {
                    self.past
                } else {
                    self.bad_nsec
                };
                let timed = SemFlags::TIMED.bits();
                let clock = ClockId::Realtime as usize;
                self.call(SYS_RB_SEM_WAIT, &[self.sems[slot], timed, ts, clock])
            }
            Op::GetValue { slot } => self.call(SYS_RB_SEM_GETVALUE, &[self.sems[slot], 0]),
            Op::Open {
                name: n,
                create,
                excl,
                value,
            } => {
                // The kernel gets what the shim passes: the C string's
                // bytes, leading slashes and all.
                let raw = name(self.run, n);
                let (p, len) = user_bytes(k, c_bytes(&raw));
                let mut oflag = OpenFlags::empty();
                oflag.set(OpenFlags::CREATE, create);
                oflag.set(OpenFlags::EXCLUSIVE, excl);
                let r = self.call(
                    SYS_RB_SEM_OPEN,
                    &[p, len, oflag.bits(), 0o600, value as usize, FD_SLOT_ANY],
                );
                r.map(|fd| {
                    self.handles.push(fd as usize);
                    self.names.push(c_bytes(&raw).to_vec());
                    0
                })
            }
            Op::Close { handle } => match self.handles.get(handle).copied() {
                Some(fd) => {
                    self.handles.remove(handle);
                    k.close(fd).map(|()| 0).map_err(|e| e.errno)
                }
                None => NO_HANDLE,
            },
            Op::Unlink { name: n } => {
                let (p, len) = user_bytes(k, c_bytes(&name(self.run, n)));
                self.call(SYS_RB_SEM_UNLINK, &[p, len])
            }
            Op::NamedPost { handle } => self.named(handle, SYS_RB_SEM_POST, SemFlags::empty()),
            Op::NamedTryWait { handle } => self.named(handle, SYS_RB_SEM_WAIT, SemFlags::TRY),
            Op::NamedGetValue { handle } => {
                self.named(handle, SYS_RB_SEM_GETVALUE, SemFlags::empty())
            }
        }
    }
}

/// No step may differ. (Where the POSIX text says a bad tv_nsec is EINVAL
/// "only when it would block", glibc checks it first; this test made us
/// follow glibc.)
fn none(_: &Op, _: &Outcome, _: &Outcome) -> bool {
    false
}

static RUN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn semaphores_match_linux(ops in proptest::collection::vec(op(), 1..40)) {
        let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut linux = Linux::new(run);
        let mut ours = Ours::new(run);
        let verdict = diff::run(&ops, &mut linux, &mut ours, none);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
        // Leave nothing behind on our side either.
        drop(ours.handles.drain(..).map(|fd| ours.env.k.close(fd)).collect::<Vec<_>>());
        for n in &ours.names {
            let (p, len) = user_bytes(&ours.env.k, n);
            let _ = sys(&ours.env.k, SYS_RB_SEM_UNLINK, &[p, len]);
        }
        prop_assert_eq!(ours.env.k.ipc().acct.users_charged(), 0);
    }
}
