//! SysV semaphore sets, differential: proptest-generated sequences of
//! semget / semop batches (random sizes, operations, flags) / semctl,
//! with four actors (root; uid 1000 and 1001 sharing group 1000; uid 1002
//! in its own group), with blocked callers (one or two, released by a
//! second thread, a forked child, SETVAL, SETALL, IPC_RMID or a signal,
//! counted by GETNCNT / GETZCNT meanwhile) and with SEM_UNDO settled at
//! the exit of a forked child (on ours: a hosted process and its
//! `process_exit`), run against the host Linux and against our
//! subsystem; every result, errno, id, value and semid_ds / seminfo field
//! must agree.
//!
//! Each case runs in a fresh IPC namespace on Linux (tests/diff's
//! `sysv_linux`). SEM_UNDO is used only by forked children on Linux: the
//! test process itself must hold no undo list (unshare(CLONE_NEWIPC)
//! would settle it). Pids and times are compared as zero / non-zero.
//! Expected divergences: none (up to three waiters of any kind compete in
//! one blocked step, so Linux's wake order is compared as it is).

mod common;
mod diff;
mod sysv_sem_calls;

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diff::sysv_linux::{self, SIGNAL};
use proptest::prelude::*;
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::kernel::{Credentials, Kernel};
use redbear_ipc::syscall::abi::{
    SemInfo, SemidDs, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_INFO, IPC_RMID, IPC_STAT,
    SEMINFO_SIZE, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SETALL, SETVAL,
};
use redbear_ipc::syscall::numbers::SYS_RB_SEMTIMEDOP;

const ACTORS: [(u32, u32); 4] = [(0, 0), (1000, 1000), (1001, 1000), (1002, 1002)];
/// A plausible id that no set has (index 1 with sequence 3).
const ABSENT: i32 = 3 * 32768 + 1;
const NOWAIT: i16 = 0o4000;
const UNDO: i16 = 0x1000;

type Out = Result<Vec<i64>, i32>;
type Sops = Vec<(u16, i16, i16)>;

#[derive(Clone, Debug)]
enum Then {
    Op { who: u8, sops: Sops },
    SetVal { who: u8, num: i32, val: i32 },
    SetAll { who: u8, vals: [u16; 4] },
    Rmid { who: u8 },
    Count { num: i32 },
    Child { who: u8, sops: Sops },
    Signal,
}

#[derive(Clone, Debug)]
enum Op {
    Get {
        who: u8,
        key: i32,
        nsems: i32,
        creat: bool,
        excl: bool,
        mode: u32,
    },
    Semop {
        who: u8,
        s: u8,
        sops: Sops,
    },
    Nsops {
        s: u8,
        n: usize,
    },
    Field {
        who: u8,
        s: u8,
        num: i32,
        cmd: i32,
    },
    SetVal {
        who: u8,
        s: u8,
        num: i32,
        val: i32,
    },
    SetAll {
        who: u8,
        s: u8,
        vals: [u16; 4],
    },
    GetAll {
        who: u8,
        s: u8,
    },
    Stat {
        who: u8,
        s: u8,
    },
    StatIdx {
        who: u8,
        index: i32,
        any: bool,
    },
    Set {
        who: u8,
        s: u8,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    Rmid {
        who: u8,
        s: u8,
    },
    Info {
        usage: bool,
    },
    Child {
        who: u8,
        s: u8,
        sops: Sops,
    },
    Block {
        s: u8,
        waiters: Vec<(u8, Sops)>,
        then: Then,
    },
}

fn who() -> impl Strategy<Value = u8> {
    prop_oneof![2 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)]
}
fn set_no() -> impl Strategy<Value = u8> {
    prop_oneof![6 => 0..3u8, 1 => Just(7u8), 1 => Just(8u8)]
}
fn num() -> impl Strategy<Value = i32> {
    prop_oneof![8 => 0..4i32, 1 => Just(-1i32), 1 => Just(5i32)]
}
fn mode() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0o600u32),
        Just(0o640),
        Just(0o660),
        Just(0o666),
        Just(0o604),
        Just(0o400),
        Just(0o200),
        Just(0)
    ]
}
fn owner_id() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1000),
        Just(1001),
        Just(1002),
        Just(u32::MAX)
    ]
}
fn value() -> impl Strategy<Value = i32> {
    prop_oneof![6 => 0..4i32, 1 => Just(-1i32), 1 => Just(32767i32), 1 => Just(32768i32)]
}
fn vals() -> impl Strategy<Value = [u16; 4]> {
    prop_oneof![
        6 => [0..4u16, 0..4u16, 0..4u16, 0..4u16],
        1 => Just([1u16, 32768, 0, 0]),
        1 => Just([32767u16, 32767, 32767, 32767]),
    ]
}
/// One to three operations; `flg` is added to each (plus SEM_UNDO at
/// random when `undo`).
fn sops(flg: i16, undo: bool) -> impl Strategy<Value = Sops> {
    let one = (
        prop_oneof![12 => 0..4u16, 1 => Just(4u16), 1 => Just(65535u16)],
        prop_oneof![10 => -2..=2i16, 1 => Just(32767i16), 1 => Just(-32768i16)],
        any::<bool>(),
    )
        .prop_map(move |(n, o, u)| (n, o, flg | if undo && u { UNDO } else { 0 }));
    proptest::collection::vec(one, 1..4)
}
/// Operations of a blocked caller: 0..4 only, no IPC_NOWAIT.
fn waiter_sops() -> impl Strategy<Value = Sops> {
    proptest::collection::vec((0..4u16, -2..=1i16).prop_map(|(n, o)| (n, o, 0i16)), 1..3)
}

fn then() -> impl Strategy<Value = Then> {
    prop_oneof![
        4 => (who(), sops(NOWAIT, false)).prop_map(|(who, sops)| Then::Op { who, sops }),
        4 => (prop_oneof![Just(0u8), Just(1u8)], proptest::collection::vec((0..3u16, 1..=2i16), 1..3))
            .prop_map(|(who, ups)| Then::Op { who, sops: ups.into_iter().map(|(n, o)| (n, o, NOWAIT)).collect() }),
        1 => (who(), num(), value()).prop_map(|(who, num, val)| Then::SetVal { who, num, val }),
        1 => (who(), vals()).prop_map(|(who, vals)| Then::SetAll { who, vals }),
        1 => who().prop_map(|who| Then::Rmid { who }),
        2 => num().prop_map(|num| Then::Count { num }),
        2 => (who(), sops(NOWAIT, true)).prop_map(|(who, sops)| Then::Child { who, sops }),
        1 => Just(Then::Signal),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let field = prop_oneof![Just(GETVAL), Just(GETPID), Just(GETNCNT), Just(GETZCNT)];
    prop_oneof![
        3 => (who(), 0..4i32, prop_oneof![6 => 0..5i32, 1 => Just(-1), 1 => Just(32001)], any::<bool>(), any::<bool>(), mode())
            .prop_map(|(who, key, nsems, creat, excl, mode)| Op::Get { who, key, nsems, creat, excl, mode }),
        6 => (who(), set_no(), sops(NOWAIT, false)).prop_map(|(who, s, sops)| Op::Semop { who, s, sops }),
        1 => (set_no(), prop_oneof![Just(0usize), Just(500), Just(501)]).prop_map(|(s, n)| Op::Nsops { s, n }),
        3 => (who(), set_no(), num(), field).prop_map(|(who, s, num, cmd)| Op::Field { who, s, num, cmd }),
        2 => (who(), set_no(), num(), value()).prop_map(|(who, s, num, val)| Op::SetVal { who, s, num, val }),
        1 => (who(), set_no(), vals()).prop_map(|(who, s, vals)| Op::SetAll { who, s, vals }),
        2 => (who(), set_no()).prop_map(|(who, s)| Op::GetAll { who, s }),
        1 => (who(), set_no()).prop_map(|(who, s)| Op::Stat { who, s }),
        1 => (who(), prop_oneof![0..4i32, Just(32769i32)], any::<bool>())
            .prop_map(|(who, index, any)| Op::StatIdx { who, index, any }),
        1 => (who(), set_no(), owner_id(), owner_id(), mode())
            .prop_map(|(who, s, uid, gid, mode)| Op::Set { who, s, uid, gid, mode }),
        1 => (who(), set_no()).prop_map(|(who, s)| Op::Rmid { who, s }),
        1 => any::<bool>().prop_map(|usage| Op::Info { usage }),
        2 => (who(), set_no(), sops(NOWAIT, true)).prop_map(|(who, s, sops)| Op::Child { who, s, sops }),
        3 => (set_no(), proptest::collection::vec((who(), waiter_sops()), 1..4), then())
            .prop_map(|(s, waiters, then)| Op::Block { s, waiters, then }),
    ]
}

fn id_of(ids: &[i32], s: u8) -> i32 {
    match ids.get(s as usize) {
        Some(&id) => id,
        None if s == 7 => -1,
        None => ABSENT,
    }
}

fn stat_words(ret: i64, ds: &SemidDs) -> Vec<i64> {
    let p = &ds.perm;
    vec![
        ret,
        p.key.into(),
        p.uid.into(),
        p.gid.into(),
        p.cuid.into(),
        p.cgid.into(),
        p.mode.into(),
        p.seq.into(),
        (ds.otime != 0).into(),
        (ds.ctime != 0).into(),
        ds.nsems as i64,
    ]
}

fn info_words(r: i64, i: &SemInfo) -> Vec<i64> {
    [
        i.semmap, i.semmni, i.semmns, i.semmnu, i.semmsl, i.semopm, i.semume, i.semusz, i.semvmx,
        i.semaem,
    ]
    .iter()
    .map(|&v| i64::from(v))
    .fold(vec![r], |mut v, x| {
        v.push(x);
        v
    })
}

/// GETPID is compared as zero / non-zero.
fn field_word(cmd: i32, r: usize) -> i64 {
    if cmd == GETPID {
        (r != 0).into()
    } else {
        r as i64
    }
}

/// A blocked step's whole story: whether each waiter slept, the action
/// that followed, and how each ended.
fn story(slept: Vec<bool>, then: Out, ended: Vec<Out>) -> Out {
    let mut v: Vec<i64> = slept.into_iter().map(i64::from).collect();
    for o in std::iter::once(then).chain(ended) {
        match o {
            Ok(words) => {
                v.push(0);
                v.push(words.len() as i64);
                v.extend(words);
            }
            Err(e) => v.extend([1, e.into()]),
        }
    }
    Ok(v)
}

fn zero_result(r: Result<(), i32>) -> Out {
    r.map(|()| vec![0])
}

// ------------------------------------------------------- one step runner

/// The calls one kernel gives; `apply` is written once over them. `who`
/// is the acting actor; pids and times come back as the kernel has them.
trait Side {
    /// A blocked caller (a thread or a process).
    type Waiter;
    fn ids(&mut self) -> &mut Vec<i32>;
    fn semget(&mut self, who: u8, key: i32, nsems: i32, flags: u32) -> Result<i32, i32>;
    fn semop(&mut self, who: u8, id: i32, sops: Sops) -> Result<(), i32>;
    /// semtimedop of `n` no-op operations with the raw count `n`.
    fn nsops(&mut self, id: i32, n: usize) -> Result<i64, i32>;
    /// semctl with an integer argument (GET*, SETVAL, IPC_RMID).
    fn ctl(&mut self, who: u8, id: i32, num: i32, cmd: i32, arg: i32) -> Result<i64, i32>;
    fn setall(&mut self, who: u8, id: i32, vals: [u16; 4]) -> Result<i64, i32>;
    /// GETALL into an 8-entry buffer: the return value, then the buffer.
    fn getall(&mut self, who: u8, id: i32) -> Out;
    fn stat(&mut self, who: u8, id: i32, cmd: i32) -> Result<(i64, SemidDs), i32>;
    fn set(&mut self, who: u8, id: i32, ds: SemidDs) -> Result<i64, i32>;
    fn info(&mut self, cmd: i32) -> Result<(i64, SemInfo), i32>;
    /// A new process acting as `who` runs `sops` and exits.
    fn child(&mut self, who: u8, id: i32, sops: Sops) -> Out;
    /// Starts `sops` as a blocking call of `who`; whether it slept.
    fn start(&mut self, who: u8, id: i32, sops: Sops) -> (Self::Waiter, bool);
    /// Signals the waiters still blocked, and collects how each ended.
    fn finish(&mut self, waiters: Vec<Self::Waiter>) -> Vec<Out>;
}

fn follow_up<S: Side>(side: &mut S, then: &Then, id: i32) -> Out {
    match then.clone() {
        Then::Op { who, sops } => zero_result(side.semop(who, id, sops)),
        Then::SetVal { who, num, val } => side.ctl(who, id, num, SETVAL, val).map(|r| vec![r]),
        Then::SetAll { who, vals } => side.setall(who, id, vals).map(|r| vec![r]),
        Then::Rmid { who } => side.ctl(who, id, 0, IPC_RMID, 0).map(|r| vec![r]),
        Then::Count { num } => {
            let n = side.ctl(0, id, num, GETNCNT, 0).unwrap_or(-1);
            let z = side.ctl(0, id, num, GETZCNT, 0).unwrap_or(-1);
            Ok(vec![n, z])
        }
        Then::Child { who, sops } => side.child(who, id, sops),
        Then::Signal => Ok(vec![]),
    }
}

fn apply<S: Side>(side: &mut S, op: &Op) -> Out {
    let ids = side.ids().clone();
    match op.clone() {
        Op::Get {
            who,
            key,
            nsems,
            creat,
            excl,
            mode,
        } => {
            let flags = mode
                | if creat { libc::IPC_CREAT as u32 } else { 0 }
                | if excl { libc::IPC_EXCL as u32 } else { 0 };
            let r = side.semget(who, key, nsems, flags)?;
            if !side.ids().contains(&r) {
                side.ids().push(r);
            }
            Ok(vec![r.into()])
        }
        Op::Semop { who, s, sops } => zero_result(side.semop(who, id_of(&ids, s), sops)),
        Op::Nsops { s, n } => side.nsops(id_of(&ids, s), n).map(|v| vec![v]),
        Op::Field { who, s, num, cmd } => side
            .ctl(who, id_of(&ids, s), num, cmd, 0)
            .map(|r| vec![field_word(cmd, r as usize)]),
        Op::SetVal { who, s, num, val } => side
            .ctl(who, id_of(&ids, s), num, SETVAL, val)
            .map(|r| vec![r]),
        Op::SetAll { who, s, vals } => side.setall(who, id_of(&ids, s), vals).map(|r| vec![r]),
        Op::GetAll { who, s } => side.getall(who, id_of(&ids, s)),
        Op::Stat { who, s } => side
            .stat(who, id_of(&ids, s), IPC_STAT)
            .map(|(r, ds)| stat_words(r, &ds)),
        Op::StatIdx { who, index, any } => {
            let cmd = if any { SEM_STAT_ANY } else { SEM_STAT };
            side.stat(who, index, cmd).map(|(r, ds)| stat_words(r, &ds))
        }
        Op::Set {
            who,
            s,
            uid,
            gid,
            mode,
        } => {
            let mut ds = SemidDs::default();
            ds.perm.uid = uid;
            ds.perm.gid = gid;
            ds.perm.mode = mode & 0xffff;
            side.set(who, id_of(&ids, s), ds).map(|r| vec![r])
        }
        Op::Rmid { who, s } => side
            .ctl(who, id_of(&ids, s), 0, IPC_RMID, 0)
            .map(|r| vec![r]),
        Op::Info { usage } => {
            let cmd = if usage { SEM_INFO } else { IPC_INFO };
            side.info(cmd).map(|(r, i)| info_words(r, &i))
        }
        Op::Child { who, s, sops } => side.child(who, id_of(&ids, s), sops),
        Op::Block {
            s,
            waiters,
            then: t,
        } => {
            let id = id_of(&ids, s);
            let mut started = Vec::new();
            let mut slept = Vec::new();
            for (who, sops) in waiters {
                let (w, asleep) = side.start(who, id, sops);
                started.push(w);
                slept.push(asleep);
            }
            let after = follow_up(side, &t, id);
            let ended = side.finish(started);
            story(slept, after, ended)
        }
    }
}

// ---------------------------------------------------------------- Linux

mod linux {
    use super::*;

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    fn ret(r: i64) -> Result<i64, i32> {
        if r == -1 {
            Err(errno())
        } else {
            Ok(r)
        }
    }

    fn as_actor<R: Send>(who: u8, f: impl FnOnce() -> R + Send) -> R {
        let (uid, gid) = ACTORS[who as usize];
        sysv_linux::as_actor(uid, gid, f)
    }

    fn bufs(sops: &[(u16, i16, i16)]) -> Vec<libc::sembuf> {
        sops.iter()
            .map(|&(n, o, f)| libc::sembuf {
                sem_num: n,
                sem_op: o,
                sem_flg: f,
            })
            .collect()
    }

    /// semtimedop with no timeout and the raw count `n`.
    fn semtimedop(id: i32, b: &mut [libc::sembuf], n: usize) -> Result<i64, i32> {
        // SAFETY: b holds at least n sembufs (the callers); no timeout.
        ret(unsafe {
            libc::syscall(
                libc::SYS_semtimedop,
                id,
                b.as_mut_ptr(),
                n,
                std::ptr::null::<libc::timespec>(),
            )
        })
    }

    fn semctl(id: i32, num: i32, cmd: i32, arg: usize) -> Result<i64, i32> {
        // SAFETY: `arg` is a value or points to a buffer big enough for
        // `cmd` (the callers below).
        ret(unsafe { libc::semctl(id, num, cmd, arg) }.into())
    }

    fn to_ours(c: &libc::semid_ds) -> SemidDs {
        SemidDs {
            perm: redbear_ipc::syscall::abi::IpcPermAbi {
                key: c.sem_perm.__key,
                uid: c.sem_perm.uid,
                gid: c.sem_perm.gid,
                cuid: c.sem_perm.cuid,
                cgid: c.sem_perm.cgid,
                mode: c.sem_perm.mode.into(),
                seq: c.sem_perm.__seq,
            },
            otime: c.sem_otime,
            ctime: c.sem_ctime,
            nsems: c.sem_nsems,
        }
    }

    pub struct Linux {
        pub ids: Vec<i32>,
    }

    impl Side for Linux {
        type Waiter = JoinHandle<Out>;

        fn ids(&mut self) -> &mut Vec<i32> {
            &mut self.ids
        }

        fn semget(&mut self, who: u8, key: i32, nsems: i32, flags: u32) -> Result<i32, i32> {
            // SAFETY: semget takes plain values.
            as_actor(who, || {
                ret(unsafe { libc::semget(key, nsems, flags as i32) }.into())
            })
            .map(|id| id as i32)
        }

        fn semop(&mut self, who: u8, id: i32, sops: Sops) -> Result<(), i32> {
            as_actor(who, || {
                let mut b = bufs(&sops);
                let n = b.len();
                semtimedop(id, &mut b, n).map(drop)
            })
        }

        fn nsops(&mut self, id: i32, n: usize) -> Result<i64, i32> {
            let mut b = bufs(&vec![(0u16, 0i16, NOWAIT); n.max(1)]);
            semtimedop(id, &mut b, n)
        }

        fn ctl(&mut self, who: u8, id: i32, num: i32, cmd: i32, arg: i32) -> Result<i64, i32> {
            as_actor(who, || semctl(id, num, cmd, arg as isize as usize))
        }

        fn setall(&mut self, who: u8, id: i32, vals: [u16; 4]) -> Result<i64, i32> {
            let mut v = vals;
            let at = v.as_mut_ptr() as usize;
            as_actor(who, || semctl(id, 0, libc::SETALL, at))
        }

        fn getall(&mut self, who: u8, id: i32) -> Out {
            let mut v = [0u16; 8];
            let at = v.as_mut_ptr() as usize;
            let r = as_actor(who, || semctl(id, 0, libc::GETALL, at))?;
            Ok(std::iter::once(r)
                .chain(v.iter().map(|&x| i64::from(x)))
                .collect())
        }

        fn stat(&mut self, who: u8, id: i32, cmd: i32) -> Result<(i64, SemidDs), i32> {
            // SAFETY: plain data, filled by semctl.
            let mut ds: libc::semid_ds = unsafe { std::mem::zeroed() };
            let at = &mut ds as *mut libc::semid_ds as usize;
            let r = as_actor(who, || semctl(id, 0, cmd, at))?;
            Ok((r, to_ours(&ds)))
        }

        fn set(&mut self, who: u8, id: i32, ds: SemidDs) -> Result<i64, i32> {
            // SAFETY: plain data.
            let mut c: libc::semid_ds = unsafe { std::mem::zeroed() };
            c.sem_perm.uid = ds.perm.uid;
            c.sem_perm.gid = ds.perm.gid;
            c.sem_perm.mode = ds.perm.mode as u16;
            let at = &mut c as *mut libc::semid_ds as usize;
            as_actor(who, || semctl(id, 0, libc::IPC_SET, at))
        }

        fn info(&mut self, cmd: i32) -> Result<(i64, SemInfo), i32> {
            let mut raw = [0u8; SEMINFO_SIZE];
            let r = semctl(0, 0, cmd, raw.as_mut_ptr() as usize)?;
            Ok((r, SemInfo::decode(&raw)))
        }

        /// A forked child acting as `who` runs `sops` and exits (its
        /// SEM_UNDO adjustments settle then); the outcome comes back as
        /// its exit status.
        fn child(&mut self, who: u8, id: i32, sops: Sops) -> Out {
            let (uid, gid) = ACTORS[who as usize];
            let mut b = bufs(&sops);
            // SAFETY: the child runs raw syscalls only, then _exit.
            let pid = unsafe { libc::fork() };
            if pid == 0 {
                sysv_linux::become_ids(uid, gid);
                // SAFETY: b holds b.len() sembufs.
                let r = unsafe { libc::semop(id, b.as_mut_ptr(), b.len()) };
                let code = if r == 0 { 0 } else { errno() };
                // SAFETY: leaving the child without running any destructor.
                unsafe { libc::_exit(code) };
            }
            assert!(pid > 0, "fork");
            let mut status = 0;
            // SAFETY: waiting for our own child.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            match libc::WEXITSTATUS(status) {
                0 => Ok(vec![0]),
                e => Err(e),
            }
        }

        fn start(&mut self, who: u8, id: i32, sops: Sops) -> (JoinHandle<Out>, bool) {
            let (tx, rx) = mpsc::channel();
            let (uid, gid) = ACTORS[who as usize];
            let h = std::thread::spawn(move || {
                sysv_linux::become_ids(uid, gid);
                // SAFETY: gettid has no preconditions.
                let _ = tx.send(unsafe { libc::gettid() });
                let mut b = bufs(&sops);
                let n = b.len();
                zero_result(semtimedop(id, &mut b, n).map(drop))
            });
            let tid = rx.recv().expect("tid");
            let slept = sysv_linux::wait_asleep(tid, libc::SYS_semtimedop, || h.is_finished());
            (h, slept)
        }

        fn finish(&mut self, waiters: Vec<JoinHandle<Out>>) -> Vec<Out> {
            for h in &waiters {
                if !h.is_finished() {
                    use std::os::unix::thread::JoinHandleExt;
                    // SAFETY: the thread is not joined yet, so its id is valid.
                    unsafe { libc::pthread_kill(h.as_pthread_t(), SIGNAL) };
                }
            }
            waiters
                .into_iter()
                .map(|h| h.join().expect("blocked thread"))
                .collect()
        }
    }
}

// ----------------------------------------------------------------- ours

mod ours {
    use super::sysv_sem_calls as calls;
    use super::*;

    pub struct Ours {
        pub k: Arc<HostedKernel>,
        actors: Vec<Arc<Process>>,
        pub ids: Vec<i32>,
    }

    fn creds(who: u8) -> Credentials {
        let (uid, gid) = ACTORS[who as usize];
        Credentials::new(uid, gid)
    }

    fn word(r: Result<usize, i32>) -> Result<i64, i32> {
        r.map(|v| v as i64)
    }

    impl Ours {
        pub fn new() -> Self {
            let k = HostedKernel::new(ClockMode::Real);
            let actors = (0..ACTORS.len() as u8)
                .map(|w| k.spawn_process(creds(w)))
                .collect();
            Ours {
                k,
                actors,
                ids: Vec::new(),
            }
        }

        fn run_in<R: Send + 'static>(
            &self,
            p: &Arc<Process>,
            f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
        ) -> R {
            let k = self.k.clone();
            self.k.spawn_task(p, move || f(&k)).join().expect("task")
        }

        fn as_actor<R: Send + 'static>(
            &self,
            who: u8,
            f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
        ) -> R {
            self.run_in(&self.actors[who as usize], f)
        }

        fn blocked_now(&self, id: i32) -> usize {
            self.k.ipc().sysv.sem.blocked(id).unwrap_or(0)
        }

        /// Exits the actors, removes every set and checks nothing is held.
        pub fn finish_case(&self) -> Result<(), String> {
            for p in &self.actors {
                self.k.exit_process(p);
            }
            let sem = &self.k.ipc().sysv.sem;
            sem.remove_all(&*self.k);
            let procs = self.k.ipc().processes.len();
            let charged = self.k.ipc().acct.outstanding();
            if sem.sets() != 0 || sem.used() != 0 || procs != 0 || !charged.is_zero() {
                return Err(format!(
                    "leak: {} sets, {} semaphores, {procs} processes with state, {charged:?}",
                    sem.sets(),
                    sem.used()
                ));
            }
            Ok(())
        }
    }

    impl Side for Ours {
        type Waiter = (Arc<Process>, JoinHandle<Out>);

        fn ids(&mut self) -> &mut Vec<i32> {
            &mut self.ids
        }

        fn semget(&mut self, who: u8, key: i32, nsems: i32, flags: u32) -> Result<i32, i32> {
            self.as_actor(who, move |k| calls::semget(k, key, nsems, flags))
        }

        fn semop(&mut self, who: u8, id: i32, sops: Sops) -> Result<(), i32> {
            self.as_actor(who, move |k| calls::semop(k, id, &sops))
        }

        fn nsops(&mut self, id: i32, n: usize) -> Result<i64, i32> {
            self.as_actor(0, move |k| {
                let at = calls::sembufs(k, &vec![(0u16, 0i16, NOWAIT); n.max(1)]);
                word(calls::call(
                    k,
                    SYS_RB_SEMTIMEDOP,
                    &[calls::int(id), at, n, 0],
                ))
            })
        }

        fn ctl(&mut self, who: u8, id: i32, num: i32, cmd: i32, arg: i32) -> Result<i64, i32> {
            self.as_actor(who, move |k| {
                word(calls::ctl(k, id, num, cmd, calls::int(arg)))
            })
        }

        fn setall(&mut self, who: u8, id: i32, vals: [u16; 4]) -> Result<i64, i32> {
            self.as_actor(who, move |k| {
                let at = k.alloc_private(8);
                let raw: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
                k.write_user(at, &raw).expect("writable");
                word(calls::ctl(k, id, 0, SETALL, at))
            })
        }

        fn getall(&mut self, who: u8, id: i32) -> Out {
            self.as_actor(who, move |k| {
                let at = k.alloc_private(16);
                let r = calls::ctl(k, id, 0, GETALL, at)?;
                let mut raw = [0u8; 16];
                k.read_user(at, &mut raw).expect("readable");
                Ok(std::iter::once(r as i64)
                    .chain(
                        raw.chunks_exact(2)
                            .map(|b| i64::from(u16::from_ne_bytes([b[0], b[1]]))),
                    )
                    .collect())
            })
        }

        fn stat(&mut self, who: u8, id: i32, cmd: i32) -> Result<(i64, SemidDs), i32> {
            self.as_actor(who, move |k| {
                calls::stat_cmd(k, id, cmd).map(|(r, ds)| (r as i64, ds))
            })
        }

        fn set(&mut self, who: u8, id: i32, ds: SemidDs) -> Result<i64, i32> {
            self.as_actor(who, move |k| calls::set(k, id, &ds).map(|()| 0))
        }

        fn info(&mut self, cmd: i32) -> Result<(i64, SemInfo), i32> {
            self.as_actor(0, move |k| calls::info(k, cmd).map(|(r, i)| (r as i64, i)))
        }

        fn child(&mut self, who: u8, id: i32, sops: Sops) -> Out {
            let p = self.k.spawn_process(creds(who));
            let r = self.run_in(&p, move |k| calls::semop(k, id, &sops));
            self.k.exit_process(&p);
            zero_result(r)
        }

        fn start(&mut self, who: u8, id: i32, sops: Sops) -> (Self::Waiter, bool) {
            let before = self.blocked_now(id);
            let p = self.k.spawn_process(creds(who));
            let k = self.k.clone();
            let h = self
                .k
                .spawn_task(&p, move || zero_result(calls::semop(&k, id, &sops)));
            let start = Instant::now();
            let slept = loop {
                if self.blocked_now(id) > before {
                    break true;
                }
                if h.is_finished() {
                    break false;
                }
                assert!(start.elapsed() < Duration::from_secs(30), "never slept");
                std::thread::sleep(Duration::from_micros(200));
            };
            ((p, h), slept)
        }

        fn finish(&mut self, waiters: Vec<Self::Waiter>) -> Vec<Out> {
            for (p, h) in &waiters {
                if !h.is_finished() {
                    self.k.send_signal(p, SIGNAL as u32);
                }
            }
            waiters
                .into_iter()
                .map(|(p, h)| {
                    let r = h.join().expect("blocked task");
                    self.k.exit_process(&p);
                    r
                })
                .collect()
        }
    }
}

fn run_case(ops: Vec<Op>) -> Result<(), String> {
    sysv_linux::in_fresh_namespace(move || {
        let mut theirs = linux::Linux { ids: Vec::new() };
        let mut mine = ours::Ours::new();
        for (i, op) in ops.iter().enumerate() {
            let want = apply(&mut theirs, op);
            let got = apply(&mut mine, op);
            if want != got {
                return Err(format!(
                    "step {i}: {op:?}\n  linux: {want:?}\n  ours:  {got:?}\n  sequence: {:?}",
                    &ops[..=i]
                ));
            }
        }
        mine.finish_case()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn sem_sequences_agree_with_linux(
        prelude_modes in (mode(), mode()),
        ops in proptest::collection::vec(op(), 1..20),
    ) {
        // Two sets to work on from the start (uid 1000's and root's).
        let mut all = vec![
            Op::Get { who: 1, key: 1, nsems: 3, creat: true, excl: false, mode: 0o660 | prelude_modes.0 },
            Op::Get { who: 0, key: 0, nsems: 4, creat: true, excl: false, mode: prelude_modes.1 },
        ];
        all.extend(ops);
        let r = run_case(all);
        prop_assert!(r.is_ok(), "{}", r.err().unwrap_or_default());
    }
}

#[test]
fn fixed_cases_agree_with_linux() {
    // Hand-picked sequences random ones reach rarely: a waiter released
    // by a second thread, two waiters in arrival order, a complex waiter
    // counted on its blocking semaphore, removal and a signal under
    // blocked callers, SEM_UNDO of an exiting child releasing a waiter
    // and clamping at 0, SETVAL clearing it.
    let get = Op::Get {
        who: 1,
        key: 1,
        nsems: 3,
        creat: true,
        excl: false,
        mode: 0o660,
    };
    let plus_one = Then::Op {
        who: 1,
        sops: vec![(0, 1, NOWAIT)],
    };
    let cases = vec![
        // Linux's merged order: a complex waiter that came first wins over
        // a later single decrement, and a single decrement that came first
        // wins over a later complex waiter.
        vec![
            get.clone(),
            Op::Block {
                s: 0,
                waiters: vec![(1, vec![(0, -1, 0), (1, 0, 0)]), (2, vec![(0, -1, 0)])],
                then: plus_one.clone(),
            },
            Op::Block {
                s: 0,
                waiters: vec![(2, vec![(0, -1, 0)]), (1, vec![(0, -1, 0), (1, 0, 0)])],
                then: plus_one.clone(),
            },
            Op::Block {
                s: 0,
                waiters: vec![
                    (2, vec![(0, -1, 0)]),
                    (1, vec![(1, -1, 0), (0, 0, 0)]),
                    (1, vec![(0, -1, 0)]),
                ],
                then: Then::SetAll {
                    who: 1,
                    vals: [2, 1, 0, 0],
                },
            },
        ],
        vec![
            get.clone(),
            Op::Block {
                s: 0,
                waiters: vec![(2, vec![(0, -1, 0)]), (1, vec![(0, -1, 0)])],
                then: Then::Op {
                    who: 1,
                    sops: vec![(0, 1, NOWAIT)],
                },
            },
            Op::Field {
                who: 0,
                s: 0,
                num: 0,
                cmd: GETVAL,
            },
        ],
        vec![
            get.clone(),
            Op::Block {
                s: 0,
                waiters: vec![(1, vec![(1, 1, 0), (2, -1, 0), (0, 0, 0)])],
                then: Then::Count { num: 2 },
            },
            Op::SetVal {
                who: 1,
                s: 0,
                num: 0,
                val: 1,
            },
            Op::Block {
                s: 0,
                waiters: vec![(1, vec![(2, 1, 0), (0, 0, 0)])],
                then: Then::Count { num: 0 },
            },
            Op::Block {
                s: 0,
                waiters: vec![(1, vec![(0, 0, 0)]), (2, vec![(0, 0, 0)])],
                then: Then::Rmid { who: 1 },
            },
        ],
        vec![
            get.clone(),
            Op::Child {
                who: 1,
                s: 0,
                sops: vec![(0, 2, UNDO | NOWAIT), (1, 1, UNDO | NOWAIT)],
            },
            Op::GetAll { who: 1, s: 0 },
            Op::Block {
                s: 0,
                waiters: vec![(2, vec![(0, -1, 0)])],
                then: Then::Child {
                    who: 1,
                    sops: vec![(0, 1, UNDO | NOWAIT)],
                },
            },
            Op::GetAll { who: 1, s: 0 },
            Op::Semop {
                who: 1,
                s: 0,
                sops: vec![(1, 3, NOWAIT)],
            },
            Op::Block {
                s: 0,
                waiters: vec![(2, vec![(1, 0, 0)])],
                then: Then::Signal,
            },
            Op::Child {
                who: 1,
                s: 0,
                sops: vec![(1, -3, UNDO | NOWAIT)],
            },
            Op::GetAll { who: 1, s: 0 },
            Op::Stat { who: 0, s: 0 },
            Op::Info { usage: true },
            Op::StatIdx {
                who: 3,
                index: 0,
                any: true,
            },
            Op::StatIdx {
                who: 3,
                index: 0,
                any: false,
            },
        ],
    ];
    for ops in cases {
        if let Err(e) = run_case(ops) {
            panic!("{e}");
        }
    }
}
