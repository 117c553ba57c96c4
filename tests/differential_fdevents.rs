//! eventfd, timerfd and signalfd, differential: the same proptest-generated
//! sequences against the host's Linux (through libc) and against our
//! subsystem on the hosted kernel; every result and errno compared.
//!
//! All descriptors are nonblocking so no step can hang. Timer values are
//! either far in the future (1000 s, never reached during a case) or in the
//! past, so real time on the Linux side cannot make the two disagree; the
//! remaining time gettime reports is compared as "armed or not".

mod common;
mod diff;

use std::time::Duration;

use common::{sys, Env};
use diff::{libc_outcome, Backend, Outcome};
use proptest::prelude::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::ipc::common::pollee::Readiness;
use redbear_ipc::kernel::{sig_bit, Kernel, SigInfo};
use redbear_ipc::syscall::abi::{FdFlags, TimerSetFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

const HANDLES: usize = 3;
const NO_HANDLE: Outcome = Err(libc::EBADF);

/// Linux poll of one fd with a zero timeout, as an outcome of its revents.
fn linux_poll(fd: i32) -> Outcome {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN | libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    libc_outcome(unsafe { libc::poll(&mut p, 1, 0) }.into()).map(|_| i64::from(p.revents))
}

fn our_poll(env: &Env, fd: usize) -> Outcome {
    env.k
        .poll(
            &[(fd, Readiness::IN | Readiness::OUT)],
            Some(Duration::ZERO),
        )
        .map(|r| i64::from(r[0].bits()))
        .map_err(|e| e.errno)
}

fn linux_read(fd: i32, len: usize) -> (Outcome, Vec<u8>) {
    let mut buf = vec![0u8; len.max(1)];
    // SAFETY: buf has at least len bytes.
    let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), len) };
    (libc_outcome(r as i64), buf)
}

fn our_read(env: &Env, fd: usize, len: usize) -> (Outcome, Vec<u8>) {
    let at = env.k.alloc_private(len.max(1));
    let r = env
        .k
        .read(fd, at, len)
        .map(|n| n as i64)
        .map_err(|e| e.errno);
    let mut buf = vec![0u8; len.max(1)];
    env.k.read_user(at, &mut buf).unwrap();
    (r, buf)
}

fn u64_of(buf: &[u8]) -> i64 {
    u64::from_ne_bytes(buf[..8].try_into().unwrap()) as i64
}

fn linux_close(fds: &mut Vec<i32>, h: usize) -> Outcome {
    if h >= fds.len() {
        return NO_HANDLE;
    }
    let fd = fds.remove(h);
    // SAFETY: fd is ours and open.
    libc_outcome(unsafe { libc::close(fd) }.into())
}

fn our_close(env: &Env, fds: &mut Vec<usize>, h: usize) -> Outcome {
    if h >= fds.len() {
        return NO_HANDLE;
    }
    let fd = fds.remove(h);
    env.k.close(fd).map(|()| 0).map_err(|e| e.errno)
}

fn no_divergence<Op>(_: &Op, _: &Outcome, _: &Outcome) -> bool {
    false
}

// ---------------------------------------------------------------- eventfd

#[derive(Clone, Debug)]
enum EvOp {
    Create { init: u32, semaphore: bool },
    Read { h: usize, len: usize },
    Write { h: usize, value: u64, len: usize },
    WriteBadPointer { h: usize },
    Poll { h: usize },
    Close { h: usize },
}

fn ev_value() -> impl Strategy<Value = u64> {
    prop_oneof![
        0..4u64,
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(u64::MAX - 2),
        Just(1 << 63)
    ]
}

fn ev_op() -> impl Strategy<Value = EvOp> {
    let h = 0..HANDLES;
    let len = prop_oneof![Just(8usize), Just(7), Just(16), Just(0)];
    prop_oneof![
        1 => (prop_oneof![0..3u32, Just(u32::MAX)], any::<bool>()).prop_map(|(init, semaphore)| EvOp::Create { init, semaphore }),
        3 => (h.clone(), len.clone()).prop_map(|(h, len)| EvOp::Read { h, len }),
        3 => (h.clone(), ev_value(), len).prop_map(|(h, value, len)| EvOp::Write { h, value, len }),
        1 => h.clone().prop_map(|h| EvOp::WriteBadPointer { h }),
        1 => h.clone().prop_map(|h| EvOp::Poll { h }),
        1 => h.prop_map(|h| EvOp::Close { h }),
    ]
}

#[derive(Default)]
struct LinuxEv {
    fds: Vec<i32>,
}

impl Drop for LinuxEv {
    fn drop(&mut self) {
        for &fd in &self.fds {
            // SAFETY: open fds we own.
            unsafe { libc::close(fd) };
        }
    }
}

impl Backend<EvOp> for LinuxEv {
    fn apply(&mut self, op: &EvOp) -> Outcome {
        let fd = |h: usize| self.fds.get(h).copied();
        match *op {
            EvOp::Create { init, semaphore } => {
                let flags = libc::EFD_NONBLOCK | if semaphore { libc::EFD_SEMAPHORE } else { 0 };
                // SAFETY: plain syscall.
                let r = unsafe { libc::eventfd(init, flags) };
                libc_outcome(r.into()).map(|fd| {
                    self.fds.push(fd as i32);
                    0
                })
            }
            EvOp::Read { h, len } => match fd(h) {
                Some(fd) => {
                    let (r, buf) = linux_read(fd, len);
                    r.map(|n| if n == 8 { u64_of(&buf) } else { -n })
                }
                None => NO_HANDLE,
            },
            EvOp::Write { h, value, len } => match fd(h) {
                Some(fd) => {
                    let buf = [value.to_ne_bytes(), [0; 8]].concat();
                    // SAFETY: buf has 16 bytes, len <= 16.
                    libc_outcome(unsafe { libc::write(fd, buf.as_ptr().cast(), len) } as i64)
                }
                None => NO_HANDLE,
            },
            EvOp::WriteBadPointer { h } => match fd(h) {
                // SAFETY: the kernel checks the pointer; nothing is read here.
                Some(fd) => {
                    libc_outcome(unsafe { libc::write(fd, 8 as *const libc::c_void, 8) } as i64)
                }
                None => NO_HANDLE,
            },
            EvOp::Poll { h } => fd(h).map_or(NO_HANDLE, linux_poll),
            EvOp::Close { h } => linux_close(&mut self.fds, h),
        }
    }
}

struct OursEv {
    env: Env,
    fds: Vec<usize>,
}

impl Backend<EvOp> for OursEv {
    fn apply(&mut self, op: &EvOp) -> Outcome {
        let env = &self.env;
        let fd = |h: usize| self.fds.get(h).copied();
        match *op {
            EvOp::Create { init, semaphore } => {
                let mut f = FdFlags::NONBLOCK;
                f.set(FdFlags::SEMAPHORE, semaphore);
                sys(
                    &env.k,
                    SYS_RB_EVENTFD2,
                    &[init as usize, f.bits(), FD_SLOT_ANY],
                )
                .map(|fd| {
                    self.fds.push(fd);
                    0
                })
            }
            EvOp::Read { h, len } => match fd(h) {
                Some(fd) => {
                    let (r, buf) = our_read(env, fd, len);
                    r.map(|n| if n == 8 { u64_of(&buf) } else { -n })
                }
                None => NO_HANDLE,
            },
            EvOp::Write { h, value, len } => match fd(h) {
                Some(fd) => {
                    let at = env.k.alloc_private(16);
                    env.k.write_user(at, &value.to_ne_bytes()).unwrap();
                    env.k
                        .write(fd, at, len)
                        .map(|n| n as i64)
                        .map_err(|e| e.errno)
                }
                None => NO_HANDLE,
            },
            EvOp::WriteBadPointer { h } => match fd(h) {
                Some(fd) => env.k.write(fd, 8, 8).map(|n| n as i64).map_err(|e| e.errno),
                None => NO_HANDLE,
            },
            EvOp::Poll { h } => fd(h).map_or(NO_HANDLE, |fd| our_poll(env, fd)),
            EvOp::Close { h } => our_close(env, &mut self.fds, h),
        }
    }
}

// ---------------------------------------------------------------- timerfd

const FAR: u64 = 1000;

#[derive(Clone, Debug)]
enum When {
    /// Disarm.
    Zero,
    /// FAR seconds from now (relative, or the caller's now + FAR absolute).
    Far,
    /// 1 ns after the clock's epoch: long past (absolute) or 1 ns (relative).
    Past,
    /// tv_nsec out of range.
    BadNsec,
}

#[derive(Clone, Debug)]
enum TfOp {
    Create {
        clock: i32,
        bad_flag: bool,
    },
    Set {
        h: usize,
        absolute: bool,
        cancel_on_set: bool,
        bad_flag: bool,
        periodic: bool,
        when: When,
    },
    Get {
        h: usize,
    },
    Read {
        h: usize,
        len: usize,
    },
    Poll {
        h: usize,
    },
    Close {
        h: usize,
    },
}

fn tf_op() -> impl Strategy<Value = TfOp> {
    let h = 0..HANDLES;
    let when = prop_oneof![
        Just(When::Zero),
        Just(When::Far),
        Just(When::Past),
        Just(When::BadNsec)
    ];
    prop_oneof![
        1 => (prop_oneof![Just(0), Just(1), Just(7), Just(2), Just(5), Just(-1)], proptest::bool::weighted(0.1))
            .prop_map(|(clock, bad_flag)| TfOp::Create { clock, bad_flag }),
        3 => (h.clone(), any::<bool>(), proptest::bool::weighted(0.2), proptest::bool::weighted(0.1), any::<bool>(), when)
            .prop_map(|(h, absolute, cancel_on_set, bad_flag, periodic, when)| TfOp::Set { h, absolute, cancel_on_set, bad_flag, periodic, when }),
        2 => h.clone().prop_map(|h| TfOp::Get { h }),
        2 => (h.clone(), prop_oneof![Just(8usize), Just(4)]).prop_map(|(h, len)| TfOp::Read { h, len }),
        1 => h.clone().prop_map(|h| TfOp::Poll { h }),
        1 => h.prop_map(|h| TfOp::Close { h }),
    ]
}

/// (interval s, value s, value ns) of a Set op, given the clock's now.
fn setting(periodic: bool, absolute: bool, when: &When, now_ns: u64) -> (i64, i64, i64) {
    let interval = if periodic { FAR as i64 } else { 0 };
    match when {
        When::Zero => (interval, 0, 0),
        When::Far if absolute => (interval, (now_ns / 1_000_000_000 + FAR) as i64, 0),
        When::Far => (interval, FAR as i64, 0),
        When::Past => (if absolute { 0 } else { interval }, 0, 1),
        When::BadNsec => (interval, 1, 1_000_000_000),
    }
}

/// gettime as "interval seconds, and 1 if armed": the remaining time moves
/// with real time, so only whether it is armed is compared.
fn gettime_outcome(interval_s: i64, value_s: i64, value_ns: i64) -> i64 {
    interval_s * 10 + i64::from(value_s != 0 || value_ns != 0)
}

#[derive(Default)]
struct LinuxTf {
    fds: Vec<(i32, i32)>,
}

impl Drop for LinuxTf {
    fn drop(&mut self) {
        for &(fd, _) in &self.fds {
            // SAFETY: open fds we own.
            unsafe { libc::close(fd) };
        }
    }
}

fn linux_now(clock: i32) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Backend<TfOp> for LinuxTf {
    fn apply(&mut self, op: &TfOp) -> Outcome {
        let fd = |h: usize| self.fds.get(h).copied();
        match op {
            &TfOp::Create { clock, bad_flag } => {
                let flags = libc::TFD_NONBLOCK | if bad_flag { 0x40 } else { 0 };
                // SAFETY: plain syscall.
                let r = unsafe { libc::timerfd_create(clock, flags) };
                libc_outcome(r.into()).map(|fd| {
                    self.fds.push((fd as i32, clock));
                    0
                })
            }
            TfOp::Set {
                h,
                absolute,
                cancel_on_set,
                bad_flag,
                periodic,
                when,
            } => match fd(*h) {
                Some((fd, clock)) => {
                    let (is, vs, vns) = setting(*periodic, *absolute, when, linux_now(clock));
                    let new = libc::itimerspec {
                        it_interval: libc::timespec {
                            tv_sec: is,
                            tv_nsec: 0,
                        },
                        it_value: libc::timespec {
                            tv_sec: vs,
                            tv_nsec: vns,
                        },
                    };
                    let mut old = libc::itimerspec {
                        it_interval: libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        },
                        it_value: libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        },
                    };
                    let flags = if *absolute {
                        libc::TFD_TIMER_ABSTIME
                    } else {
                        0
                    } | if *cancel_on_set {
                        libc::TFD_TIMER_CANCEL_ON_SET
                    } else {
                        0
                    } | if *bad_flag { 0x10 } else { 0 };
                    // SAFETY: valid in and out pointers.
                    let r = unsafe { libc::timerfd_settime(fd, flags, &new, &mut old) };
                    libc_outcome(r.into()).map(|_| {
                        gettime_outcome(
                            old.it_interval.tv_sec,
                            old.it_value.tv_sec,
                            old.it_value.tv_nsec,
                        )
                    })
                }
                None => NO_HANDLE,
            },
            TfOp::Get { h } => match fd(*h) {
                Some((fd, _)) => {
                    let mut cur = libc::itimerspec {
                        it_interval: libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        },
                        it_value: libc::timespec {
                            tv_sec: 0,
                            tv_nsec: 0,
                        },
                    };
                    // SAFETY: valid out pointer.
                    let r = unsafe { libc::timerfd_gettime(fd, &mut cur) };
                    libc_outcome(r.into()).map(|_| {
                        gettime_outcome(
                            cur.it_interval.tv_sec,
                            cur.it_value.tv_sec,
                            cur.it_value.tv_nsec,
                        )
                    })
                }
                None => NO_HANDLE,
            },
            TfOp::Read { h, len } => match fd(*h) {
                Some((fd, _)) => {
                    let (r, buf) = linux_read(fd, *len);
                    r.map(|n| if n == 8 { u64_of(&buf) } else { -n })
                }
                None => NO_HANDLE,
            },
            TfOp::Poll { h } => fd(*h).map_or(NO_HANDLE, |(fd, _)| linux_poll(fd)),
            TfOp::Close { h } => {
                if *h >= self.fds.len() {
                    return NO_HANDLE;
                }
                let (fd, _) = self.fds.remove(*h);
                // SAFETY: fd is ours and open.
                libc_outcome(unsafe { libc::close(fd) }.into())
            }
        }
    }
}

struct OursTf {
    env: Env,
    fds: Vec<(usize, i32)>,
}

fn abi_clock(linux_clock: i32) -> usize {
    if linux_clock < 0 {
        usize::MAX
    } else {
        linux_clock as usize
    }
}

impl Backend<TfOp> for OursTf {
    fn apply(&mut self, op: &TfOp) -> Outcome {
        let env = &self.env;
        let fd = |h: usize| self.fds.get(h).copied();
        let itimer = |is: i64, vs: i64, vns: i64| {
            let at = env.k.alloc_private(32);
            let mut raw = [0u8; 32];
            for (i, v) in [is, 0, vs, vns].into_iter().enumerate() {
                raw[i * 8..i * 8 + 8].copy_from_slice(&v.to_ne_bytes());
            }
            env.k.write_user(at, &raw).unwrap();
            at
        };
        let decode = |at: usize| {
            let mut raw = [0u8; 32];
            env.k.read_user(at, &mut raw).unwrap();
            let w = |i: usize| i64::from_ne_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap());
            gettime_outcome(w(0), w(2), w(3))
        };
        match op {
            &TfOp::Create { clock, bad_flag } => {
                let flags = FdFlags::NONBLOCK.bits() | if bad_flag { 1 << 6 } else { 0 };
                sys(
                    &env.k,
                    SYS_RB_TIMERFD_CREATE,
                    &[abi_clock(clock), flags, FD_SLOT_ANY],
                )
                .map(|fd| {
                    self.fds.push((fd, clock));
                    0
                })
            }
            TfOp::Set {
                h,
                absolute,
                cancel_on_set,
                bad_flag,
                periodic,
                when,
            } => match fd(*h) {
                Some((fd, clock)) => {
                    let now = env
                        .k
                        .now(redbear_ipc::kernel::ClockId::from_abi(abi_clock(clock)).unwrap());
                    let (is, vs, vns) = setting(*periodic, *absolute, when, now);
                    let new = itimer(is, vs, vns);
                    let old = env.k.alloc_private(32);
                    let mut f = TimerSetFlags::empty();
                    f.set(TimerSetFlags::ABSTIME, *absolute);
                    f.set(TimerSetFlags::CANCEL_ON_SET, *cancel_on_set);
                    let flags = f.bits() | if *bad_flag { 1 << 4 } else { 0 };
                    sys(&env.k, SYS_RB_TIMERFD_SETTIME, &[fd, flags, new, old]).map(|_| decode(old))
                }
                None => NO_HANDLE,
            },
            TfOp::Get { h } => match fd(*h) {
                Some((fd, _)) => {
                    let cur = env.k.alloc_private(32);
                    sys(&env.k, SYS_RB_TIMERFD_GETTIME, &[fd, cur]).map(|_| decode(cur))
                }
                None => NO_HANDLE,
            },
            TfOp::Read { h, len } => match fd(*h) {
                Some((fd, _)) => {
                    let (r, buf) = our_read(env, fd, *len);
                    r.map(|n| if n == 8 { u64_of(&buf) } else { -n })
                }
                None => NO_HANDLE,
            },
            TfOp::Poll { h } => fd(*h).map_or(NO_HANDLE, |(fd, _)| our_poll(env, fd)),
            TfOp::Close { h } => {
                if *h >= self.fds.len() {
                    return NO_HANDLE;
                }
                let (fd, _) = self.fds.remove(*h);
                env.k.close(fd).map(|()| 0).map_err(|e| e.errno)
            }
        }
    }
}

// --------------------------------------------------------------- signalfd

/// The signals the test sends, by index: SIGUSR1, SIGUSR2, and two
/// realtime signals (glibc's SIGRTMIN is 34; ours starts at 32 either way).
fn sig(i: usize) -> i32 {
    [
        libc::SIGUSR1,
        libc::SIGUSR2,
        libc::SIGRTMIN() + 1,
        libc::SIGRTMIN() + 2,
    ][i]
}

fn sigmask(bits: u8) -> u64 {
    (0..4)
        .filter(|i| bits & (1 << i) != 0)
        .fold(0, |m, i| m | sig_bit(sig(i) as u32))
}

#[derive(Clone, Debug)]
enum SfOp {
    Create {
        mask: u8,
    },
    SetMask {
        h: usize,
        mask: u8,
    },
    /// tgkill to the test thread.
    Send {
        sig: usize,
    },
    /// Read with a buffer of `records` records plus `extra` bytes.
    Read {
        h: usize,
        records: usize,
        extra: usize,
    },
    Poll {
        h: usize,
    },
    Close {
        h: usize,
    },
}

fn sf_op() -> impl Strategy<Value = SfOp> {
    let h = 0..2usize;
    prop_oneof![
        1 => (0..16u8).prop_map(|mask| SfOp::Create { mask }),
        1 => (h.clone(), 0..16u8).prop_map(|(h, mask)| SfOp::SetMask { h, mask }),
        3 => (0..4usize).prop_map(|sig| SfOp::Send { sig }),
        3 => (h.clone(), 0..4usize, prop_oneof![Just(0usize), Just(127)]).prop_map(|(h, records, extra)| SfOp::Read { h, records, extra }),
        1 => h.clone().prop_map(|h| SfOp::Poll { h }),
        1 => h.prop_map(|h| SfOp::Close { h }),
    ]
}

/// A read's records reduced to what both sides share: signo and si_code
/// per record, as one number.
fn records_outcome(n: i64, buf: &[u8]) -> i64 {
    buf[..n as usize].chunks(128).fold(0i64, |acc, r| {
        let signo = i64::from(u32::from_ne_bytes(r[0..4].try_into().unwrap()));
        let code = i64::from(i32::from_ne_bytes(r[8..12].try_into().unwrap()));
        acc * 1000 + signo * 10 + code.abs()
    })
}

struct LinuxSf {
    fds: Vec<i32>,
    old_mask: libc::sigset_t,
}

fn libc_sigset(mask: u64) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set; sigaddset on valid numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in 1..=64 {
            if mask & sig_bit(s) != 0 {
                libc::sigaddset(&mut set, s as i32);
            }
        }
        set
    }
}

impl LinuxSf {
    fn new() -> Self {
        let all = libc_sigset(sigmask(0xF));
        // SAFETY: valid sets; blocks the test's signals in this thread only.
        let mut old_mask: libc::sigset_t = unsafe { std::mem::zeroed() };
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old_mask) };
        LinuxSf {
            fds: Vec::new(),
            old_mask,
        }
    }
}

impl Drop for LinuxSf {
    fn drop(&mut self) {
        for &fd in &self.fds {
            // SAFETY: open fds we own.
            unsafe { libc::close(fd) };
        }
        // Discard whatever is still pending, then restore the mask.
        let all = libc_sigset(sigmask(0xF));
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: valid set and timeout.
        while unsafe { libc::sigtimedwait(&all, std::ptr::null_mut(), &zero) } > 0 {}
        // SAFETY: restores the mask saved in `new`.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.old_mask, std::ptr::null_mut()) };
    }
}

impl Backend<SfOp> for LinuxSf {
    fn apply(&mut self, op: &SfOp) -> Outcome {
        let fd = |h: usize| self.fds.get(h).copied();
        match *op {
            SfOp::Create { mask } => {
                let set = libc_sigset(sigmask(mask));
                // SAFETY: valid set.
                let r = unsafe { libc::signalfd(-1, &set, libc::SFD_NONBLOCK) };
                libc_outcome(r.into()).map(|fd| {
                    self.fds.push(fd as i32);
                    0
                })
            }
            SfOp::SetMask { h, mask } => match fd(h) {
                Some(fd) => {
                    let set = libc_sigset(sigmask(mask));
                    // SAFETY: valid set.
                    libc_outcome(unsafe { libc::signalfd(fd, &set, 0) }.into()).map(|_| 0)
                }
                None => NO_HANDLE,
            },
            SfOp::Send { sig: i } => {
                // SAFETY: a signal this thread blocks, to this thread.
                let r = unsafe {
                    libc::syscall(libc::SYS_tgkill, libc::getpid(), libc::gettid(), sig(i))
                };
                libc_outcome(r)
            }
            SfOp::Read { h, records, extra } => match fd(h) {
                Some(fd) => {
                    let (r, buf) = linux_read(fd, records * 128 + extra);
                    r.map(|n| records_outcome(n, &buf))
                }
                None => NO_HANDLE,
            },
            SfOp::Poll { h } => fd(h).map_or(NO_HANDLE, linux_poll),
            SfOp::Close { h } => linux_close(&mut self.fds, h),
        }
    }
}

struct OursSf {
    env: Env,
    fds: Vec<usize>,
}

impl Backend<SfOp> for OursSf {
    fn apply(&mut self, op: &SfOp) -> Outcome {
        let env = &self.env;
        let fd = |h: usize| self.fds.get(h).copied();
        let mask_at = |mask: u8| {
            let at = env.k.alloc_private(8);
            env.k.write_user(at, &sigmask(mask).to_ne_bytes()).unwrap();
            at
        };
        match *op {
            SfOp::Create { mask } => {
                let args = [
                    FD_NEW,
                    mask_at(mask),
                    8,
                    FdFlags::NONBLOCK.bits(),
                    FD_SLOT_ANY,
                ];
                sys(&env.k, SYS_RB_SIGNALFD4, &args).map(|fd| {
                    self.fds.push(fd);
                    0
                })
            }
            SfOp::SetMask { h, mask } => match fd(h) {
                Some(fd) => sys(
                    &env.k,
                    SYS_RB_SIGNALFD4,
                    &[fd, mask_at(mask), 8, 0, FD_SLOT_ANY],
                )
                .map(|_| 0),
                None => NO_HANDLE,
            },
            SfOp::Send { sig: i } => {
                let info = SigInfo {
                    signo: sig(i) as u32,
                    code: -6,
                    ..SigInfo::default()
                }; // SI_TKILL
                env.k.queue_signal(&env.proc, info);
                Ok(0)
            }
            SfOp::Read { h, records, extra } => match fd(h) {
                Some(fd) => {
                    let (r, buf) = our_read(env, fd, records * 128 + extra);
                    r.map(|n| records_outcome(n, &buf))
                }
                None => NO_HANDLE,
            },
            SfOp::Poll { h } => fd(h).map_or(NO_HANDLE, |fd| our_poll(env, fd)),
            SfOp::Close { h } => our_close(env, &mut self.fds, h),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn eventfd_matches_linux(ops in proptest::collection::vec(ev_op(), 1..40)) {
        let mut linux = LinuxEv::default();
        let mut ours = OursEv { env: Env::new(ClockMode::Virtual), fds: Vec::new() };
        let verdict = diff::run(&ops, &mut linux, &mut ours, no_divergence);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
    }

    #[test]
    fn timerfd_matches_linux(ops in proptest::collection::vec(tf_op(), 1..30)) {
        let mut linux = LinuxTf::default();
        let mut ours = OursTf { env: Env::new(ClockMode::Real), fds: Vec::new() };
        let verdict = diff::run(&ops, &mut linux, &mut ours, no_divergence);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
    }

    #[test]
    fn signalfd_matches_linux(ops in proptest::collection::vec(sf_op(), 1..30)) {
        let mut linux = LinuxSf::new();
        let mut ours = OursSf { env: Env::new(ClockMode::Virtual), fds: Vec::new() };
        ours.env.guard.task().set_mask(sigmask(0xF));
        let verdict = diff::run(&ops, &mut linux, &mut ours, no_divergence);
        prop_assert!(verdict.is_ok(), "{}", verdict.unwrap_err());
    }
}
