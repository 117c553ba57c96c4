//! The testbed's base system calls (numbers and conventions:
//! `testbed_abi::nr`). Every user argument is checked; failures are
//! `-errno`, never a kernel panic.

use alloc::vec;

use crate::arch::AddressSpace;
use crate::process::{self, Pid};
use crate::usermem::{self, Fault};
use crate::{clock, fileops, programs, sched};
use testbed_abi::{errno::*, nr, Timespec};

type R = Result<usize, isize>;

impl From<Fault> for isize {
    fn from(_: Fault) -> isize {
        EFAULT
    }
}

/// Runs `f` with the caller's address space.
pub fn with_aspace<T>(f: impl FnOnce(&AddressSpace) -> Result<T, Fault>) -> Result<T, isize> {
    process::with_current(|p| p.aspace.as_ref().map(f))
        .flatten()
        .ok_or(ESRCH)?
        .map_err(|_| EFAULT)
}

/// Dispatches base call `nr`; EXIT and THREAD_EXIT do not return.
pub fn dispatch(num: usize, a: [usize; 6]) -> isize {
    let r = match num {
        nr::CONSOLE_WRITE => console_write(a[0], a[1]),
        nr::EXIT => process::exit_group(a[0] as i32),
        nr::THREAD_EXIT => thread_exit(a[0] as i32),
        nr::SPAWN_THREAD => process::spawn_thread(
            sched::current_pid(),
            a[0],
            a[1],
            a[2],
            sched::current_sigmask(),
        )
        .map(|t| t as usize),
        nr::SPAWN_PROCESS => spawn_process(a[0], a[1], a[2], a[3]),
        nr::WAIT_PROCESS => {
            let pid = Pid::try_from(a[0]).map_err(|_| ECHILD);
            pid.and_then(process::wait_child).map(|s| s as u32 as usize)
        }
        nr::THREAD_JOIN => process::join_thread(a[0] as u64).map(|s| s as u32 as usize),
        nr::GETPID => Ok(sched::current_pid() as usize),
        nr::GETTID => Ok(sched::current() as usize),
        nr::GETPPID => cred(|p| p.ppid as usize),
        nr::GETUID => cred(|p| p.euid as usize),
        nr::GETGID => cred(|p| p.egid as usize),
        nr::SETUID => set_id(a[0], true),
        nr::SETGID => set_id(a[0], false),
        nr::CLOCK_GETTIME => clock_gettime(a[0], a[1]),
        nr::NANOSLEEP => nanosleep(a[0], a[1]),
        nr::YIELD => {
            sched::yield_now();
            Ok(0)
        }
        nr::KILL => Pid::try_from(a[0])
            .map_err(|_| ESRCH)
            .and_then(|pid| process::send_signal(pid, a[1]))
            .map(|_| 0),
        nr::SIGPROCMASK => sigprocmask(a[0], a[1], a[2]),
        nr::SIGPENDING => {
            let set = process::with_current(|p| p.sig.pending()).unwrap_or(0)
                | sched::current_thread_pending();
            with_aspace(|asp| usermem::write_val(asp, a[0], &set)).map(|_| 0)
        }
        nr::MMAP_ANON => process::mmap_anon(a[0]),
        nr::SHM_MAP => process::shm_map(a[0], a[1]),
        nr::MUNMAP => process::munmap(a[0], a[1]).map(|_| 0),
        nr::WRITE if a[0] == 1 || a[0] == 2 => console_write(a[1], a[2]),
        nr::READ => fileops::read(a[0], a[1], a[2]),
        nr::WRITE => fileops::write(a[0], a[1], a[2]),
        nr::POLL => fileops::poll(a[0], a[1], a[2] as isize),
        nr::CLOSE => close(a[0]),
        nr::DUP => process::with_current(|p| p.fds.dup(a[0])).unwrap_or(Err(ESRCH)),
        nr::FCNTL => fcntl(a[0], a[1], a[2]),
        nr::SYSCALL_COUNT => cred(|p| (p.syscalls + sched::uncounted_syscalls()) as usize),
        nr::CLOCK_SETTIME => clock_settime(a[0], a[1]),
        nr::SIGCATCH => process::set_caught(a[0], a[1] != 0).map(|_| 0),
        nr::SETGROUPS => setgroups(a[0], a[1]),
        nr::GETGROUPS => getgroups(a[0], a[1]),
        nr::IPC_PROBE => crate::ipc::probe(a[0], a[1], a[2]),
        nr::UMASK => process::with_current(|p| {
            core::mem::replace(&mut p.umask, a[0] as u32 & 0o777) as usize
        })
        .ok_or(ESRCH),
        nr::SIGQUEUE => Pid::try_from(a[0])
            .map_err(|_| ESRCH)
            .and_then(|pid| process::queue_signal(pid, a[1], -1, a[2] as u64))
            .map(|_| 0),
        nr::SIGACTION => crate::sigcalls::sigaction(a[0], a[1], a[2]),
        nr::SIGSUSPEND => crate::sigcalls::sigsuspend(a[0]),
        nr::SIGTIMEDWAIT => crate::sigcalls::sigtimedwait(a[0], a[1], a[2]),
        nr::THREAD_KILL => crate::sigcalls::thread_kill(a[0], a[1]),
        nr::SETITIMER => crate::sigcalls::setitimer(a[0], a[1]),
        nr::WAITPID => waitpid(a[0] as isize, a[1], a[2]),
        nr::PIPE2 => pipe2(a[0], a[1]),
        nr::CPU_INFO => sched::cpu_info(a[0]),
        nr::CLOCK_GETRES => clock_getres(a[0], a[1]),
        nr::STAT => crate::fstat::stat(a[0], a[1], a[2]),
        nr::FSTAT => crate::fstat::fstat(a[0], a[1]),
        nr::SHM_OPEN => crate::shm::open(a[0], a[1], a[2], a[3]),
        nr::SHM_UNLINK => crate::shm::unlink(a[0], a[1]),
        nr::FTRUNCATE => crate::shm::ftruncate(a[0], a[1]),
        nr::MMAP_FD => crate::shm::mmap(a[0], a[1], a[2] != 0, a[3]),
        _ => Err(ENOSYS),
    };
    match r {
        Ok(v) => v as isize,
        Err(e) => -e.abs(),
    }
}

fn cred(f: impl FnOnce(&process::Process) -> usize) -> R {
    process::with_current(|p| f(p)).ok_or(ESRCH)
}

fn console_write(ptr: usize, len: usize) -> R {
    let len = len.min(4096);
    let mut buf = vec![0u8; len];
    with_aspace(|asp| usermem::read(asp, ptr, &mut buf))?;
    crate::console::user::write(sched::current_pid(), &buf);
    Ok(len)
}

fn thread_exit(status: i32) -> ! {
    sched::exit_current(status)
}

fn spawn_process(name_ptr: usize, name_len: usize, uid: usize, arg: usize) -> R {
    if name_len > 64 {
        return Err(EINVAL);
    }
    let mut name = [0u8; 64];
    with_aspace(|asp| usermem::read(asp, name_ptr, &mut name[..name_len]))?;
    let name = core::str::from_utf8(&name[..name_len]).map_err(|_| EINVAL)?;
    let prog = programs::find(name).ok_or(ENOENT)?;
    let uid = u32::try_from(uid).map_err(|_| EINVAL)?;
    let (me, euid, group) = process::with_current(|p| (p.pid, p.euid, p.group)).ok_or(ESRCH)?;
    if euid != 0 && euid != uid {
        return Err(EPERM);
    }
    process::spawn(prog.name, prog.image, uid, me, group, arg).map(|p| p as usize)
}

fn set_id(id: usize, user: bool) -> R {
    let id = u32::try_from(id).map_err(|_| EINVAL)?;
    process::with_current(|p| {
        let cur = if user { p.euid } else { p.egid };
        if p.euid != 0 && id != cur && id != if user { p.uid } else { p.gid } {
            return Err(EPERM);
        }
        if user {
            if p.euid == 0 {
                p.uid = id;
            }
            p.euid = id;
        } else {
            if p.euid == 0 {
                p.gid = id;
            }
            p.egid = id;
        }
        Ok(0)
    })
    .unwrap_or(Err(ESRCH))
}

/// SETGROUPS, in Linux's order: EPERM unless euid 0, EINVAL past
/// NGROUPS_MAX, EFAULT for the list.
fn setgroups(count: usize, list: usize) -> R {
    use redbear_ipc::kernel::{Groups, NGROUPS_MAX};
    if process::with_current(|p| p.euid).ok_or(ESRCH)? != 0 {
        return Err(EPERM);
    }
    if count > NGROUPS_MAX {
        return Err(EINVAL);
    }
    let mut raw = [0u8; 4 * NGROUPS_MAX];
    with_aspace(|asp| usermem::read(asp, list, &mut raw[..4 * count]))?;
    let mut ids = [0u32; NGROUPS_MAX];
    for (id, b) in ids.iter_mut().zip(raw.chunks_exact(4)) {
        *id = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    }
    let groups = Groups::new(&ids[..count]).map_err(|e| e.errno as isize)?;
    process::with_current(|p| p.groups = groups).ok_or(ESRCH)?;
    Ok(0)
}

/// GETGROUPS as Linux: size 0 returns the count; a smaller nonzero size
/// is EINVAL; else the sorted list is written.
fn getgroups(size: usize, list: usize) -> R {
    let groups = process::with_current(|p| p.groups).ok_or(ESRCH)?;
    let ids = groups.as_slice();
    if size == 0 {
        return Ok(ids.len());
    }
    if size < ids.len() {
        return Err(EINVAL);
    }
    let mut raw = [0u8; 4 * redbear_ipc::kernel::NGROUPS_MAX];
    for (b, id) in raw.chunks_exact_mut(4).zip(ids) {
        b.copy_from_slice(&id.to_ne_bytes());
    }
    with_aspace(|asp| usermem::write(asp, list, &raw[..4 * ids.len()]))?;
    Ok(ids.len())
}

fn ns_to_ts(ns: u64) -> Timespec {
    Timespec {
        tv_sec: (ns / 1_000_000_000) as i64,
        tv_nsec: (ns % 1_000_000_000) as i64,
    }
}

fn clock_gettime(clock_id: usize, out: usize) -> R {
    let ns = match clock_id {
        0 => clock::realtime_now(),
        1 | 7 => clock::now(),
        // CLOCK_MONOTONIC_RAW: the hardware counter, also in virtual mode
        // (for benchmarks).
        4 => crate::arch::monotonic_ns(),
        // CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID: hardware time
        // on a CPU (the kernel's share of a system call included, as on
        // Linux), on both clock modes.
        2 => process::current_cpu_ns(),
        3 => sched::current_thread_cpu_ns(),
        _ => return Err(EINVAL),
    };
    with_aspace(|asp| usermem::write_val(asp, out, &ns_to_ts(ns)))?;
    Ok(0)
}

fn clock_getres(clock_id: usize, out: usize) -> R {
    let ns = match clock_id {
        0 | 1 | 7 if clock::VIRTUAL => clock::TICK_NS,
        0..=4 | 7 => 1,
        _ => return Err(EINVAL),
    };
    if out != 0 {
        with_aspace(|asp| usermem::write_val(asp, out, &ns_to_ts(ns)))?;
    }
    Ok(0)
}

fn clock_settime(clock_id: usize, ts_ptr: usize) -> R {
    if clock_id != 0 {
        return Err(EINVAL);
    }
    let ts: Timespec = with_aspace(|asp| usermem::read_val(asp, ts_ptr))?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(EINVAL);
    }
    if process::with_current(|p| p.euid).ok_or(ESRCH)? != 0 {
        return Err(EPERM);
    }
    clock::set_realtime(
        (ts.tv_sec as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(ts.tv_nsec as u64),
    );
    crate::ipc::clock_was_set();
    Ok(0)
}

fn nanosleep(req: usize, rem: usize) -> R {
    let ts: Timespec = with_aspace(|asp| usermem::read_val(asp, req))?;
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(EINVAL);
    }
    let dur = (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64);
    let deadline = clock::now().saturating_add(dur);
    loop {
        if clock::now() >= deadline {
            return Ok(0);
        }
        if sched::park(Some(deadline)) == sched::Wake::Interrupted {
            if rem != 0 {
                let left = ns_to_ts(deadline.saturating_sub(clock::now()));
                with_aspace(|asp| usermem::write_val(asp, rem, &left))?;
            }
            return Err(EINTR);
        }
    }
}

fn sigprocmask(how: usize, set_ptr: usize, old_ptr: usize) -> R {
    let set = if set_ptr != 0 {
        Some(with_aspace(|asp| usermem::read_val::<u64>(asp, set_ptr))?)
    } else {
        None
    };
    let old = process::sigprocmask(how, set)?;
    if old_ptr != 0 {
        with_aspace(|asp| usermem::write_val(asp, old_ptr, &old))?;
    }
    Ok(0)
}

/// PIPE2(fds, flags): both ends installed at the lowest free fds, then
/// their numbers written; a fault there closes them again (EFAULT).
fn pipe2(fds_ptr: usize, flags: usize) -> R {
    const O_NONBLOCK: usize = 0o4000;
    const O_CLOEXEC: usize = 0o2000000;
    if flags & !(O_NONBLOCK | O_CLOEXEC) != 0 {
        return Err(EINVAL);
    }
    let k = crate::ipc::kernel();
    let (r, w) = crate::pipe::create(k, flags & O_NONBLOCK != 0).map_err(|e| e.errno as isize)?;
    let cloexec = flags & O_CLOEXEC != 0;
    let install = |f: redbear_ipc::kernel::FileRef| {
        process::with_current(|p| {
            p.fds
                .install(f, redbear_ipc::kernel::FdPlacement::Lowest, cloexec)
        })
        .unwrap_or(Err(ESRCH))
    };
    let rfd = install(r)?;
    let wfd = match install(w) {
        Ok(fd) => fd,
        Err(e) => {
            let _ = close(rfd);
            return Err(e);
        }
    };
    let pair = [rfd as i32, wfd as i32];
    let mut raw = [0u8; 8];
    raw[..4].copy_from_slice(&pair[0].to_ne_bytes());
    raw[4..].copy_from_slice(&pair[1].to_ne_bytes());
    if let Err(e) = with_aspace(|asp| usermem::write(asp, fds_ptr, &raw)) {
        let _ = close(rfd);
        let _ = close(wfd);
        return Err(e);
    }
    Ok(0)
}

fn close(fd: usize) -> R {
    let file = process::with_current(|p| p.fds.close(fd)).unwrap_or(Err(ESRCH))?;
    // Reported and dropped with no process lock held: the close hook and
    // the last reference's drop reach the subsystem's objects.
    file.fd_closed(sched::current_pid());
    drop(file);
    Ok(0)
}

/// F_GETFD (1) / F_SETFD (2) with FD_CLOEXEC (1); F_GETFL (3) / F_SETFL (4)
/// with O_NONBLOCK.
fn fcntl(fd: usize, cmd: usize, arg: usize) -> R {
    if cmd == 3 || cmd == 4 {
        return fileops::status_flags(fd, cmd, arg);
    }
    process::with_current(|p| {
        let flag = p.fds.cloexec(fd)?;
        match cmd {
            1 => Ok(*flag as usize),
            2 => {
                *flag = arg & 1 != 0;
                Ok(0)
            }
            _ => Err(EINVAL),
        }
    })
    .unwrap_or(Err(ESRCH))
}

/// WAITPID(pid, status or 0, options): WNOHANG 1; WUNTRACED 2 and
/// WCONTINUED 8 are accepted (nothing stops). The status is written
/// before the child is reaped, so EFAULT loses nothing.
fn waitpid(pid: isize, status_ptr: usize, options: usize) -> R {
    if options & !(1 | 2 | 8) != 0 {
        return Err(EINVAL);
    }
    let Some((child, status)) = process::waitpid(pid, options & 1 != 0)? else {
        return Ok(0);
    };
    if status_ptr != 0 {
        with_aspace(|asp| usermem::write_val(asp, status_ptr, &status))?;
    }
    process::reap(child);
    Ok(child as usize)
}
