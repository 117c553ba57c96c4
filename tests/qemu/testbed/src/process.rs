//! Processes: pid, credentials, address space with the user frames it
//! owns, live threads, exit status, pending and caught signals, and the
//! test group (the runner's program index) used to tear a test down.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use spin::Mutex;

use crate::arch::{AddressSpace, UserPerm, PAGE_SIZE, USER_BASE, USER_STACK_TOP};
use crate::sched::{self, Tid};
use crate::{elf, frames, usermem};
use redbear_ipc::kernel::{Groups, SigInfo};
use testbed_abi::{errno::*, sig};

pub type Pid = u32;

/// Size of the initial user stack (below USER_STACK_TOP).
pub const STACK_SIZE: usize = 256 * 1024;
/// Where MMAP_ANON / SHM_MAP regions start.
const MMAP_BASE: usize = USER_BASE + (32 << 30);
/// Largest single MMAP_ANON / SHM_MAP request.
pub const MAX_MAP: usize = 16 << 20;
/// User frames a process may own at most (16384 unless
/// `TESTBED_MAX_FRAMES` says otherwise at build time).
const MAX_FRAMES: usize = crate::knobs::MAX_FRAMES;

pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// Supplementary groups (SETGROUPS; a spawned child inherits them).
    pub groups: Groups,
    pub group: usize,
    pub name: String,
    pub aspace: Option<AddressSpace>,
    frames: Vec<usize>,
    pub threads: Vec<Tid>,
    /// Exit status of threads that ended (for THREAD_JOIN).
    pub thread_status: BTreeMap<Tid, i32>,
    /// Decided exit status (EXIT, a kill, or the last thread's status).
    pub status: Option<i32>,
    /// Every thread has ended and the resources are gone, exit hooks
    /// included (set last, so a waiter on another CPU sees all of it).
    pub zombie: bool,
    /// The last thread has ended and the release is under way.
    ending: bool,
    /// Pending and caught signals (masks are per thread).
    pub sig: crate::signal::SigState,
    mmap_next: usize,
    pub fds: crate::fd::FdTable,
    /// System calls made by the process' threads, up to their last switch
    /// (the running thread's since then: `sched::uncounted_syscalls`).
    pub syscalls: u64,
    /// Hardware nanoseconds its threads ran, their current runs not
    /// included (CLOCK_PROCESS_CPUTIME_ID, clock()); kept across exec.
    pub cpu_ns: u64,
    /// File-mode creation mask (UMASK), inherited from the parent.
    pub umask: u32,
    /// ITIMER_REAL: (next expiry, interval) in monotonic ns.
    pub itimer: Option<(u64, u64)>,
    /// Every user page mapped: (address, permissions, shared). FORK copies
    /// the private ones and maps the shared ones (SHM_MAP) again.
    maps: Vec<(usize, UserPerm, bool)>,
    /// Semaphore pages this process unmapped (SEM_UNMAP): their
    /// references are dropped only when it ends, since another CPU may
    /// still hold a stale translation of them until then.
    unmapped_sem_pages: Vec<usize>,
    /// The signal that ended the process (for waitpid's status).
    pub term_signal: Option<u32>,
    /// Index in `threads` of the last thread a process-directed signal
    /// woke (`wake_target`'s round-robin).
    sig_target: usize,
}

impl Process {
    /// A process that has run nothing yet: `uid` (as every id), its
    /// groups and group, `umask`, its pages; no threads, no status, no
    /// signals, no timer, a fresh fd table, no recorded maps.
    fn blank(
        pid: Pid,
        ppid: Pid,
        (uid, groups, group): (u32, Groups, usize),
        umask: u32,
        aspace: AddressSpace,
        frames: Vec<usize>,
    ) -> Process {
        Process {
            pid,
            ppid,
            uid,
            gid: uid,
            euid: uid,
            egid: uid,
            groups,
            group,
            name: String::new(),
            aspace: Some(aspace),
            frames,
            threads: Vec::new(),
            thread_status: BTreeMap::new(),
            status: None,
            zombie: false,
            ending: false,
            sig: crate::signal::SigState::default(),
            mmap_next: MMAP_BASE,
            fds: crate::fd::FdTable::new(pid),
            syscalls: 0,
            cpu_ns: 0,
            umask,
            itimer: None,
            maps: Vec::new(),
            unmapped_sem_pages: Vec::new(),
            term_signal: None,
            sig_target: 0,
        }
    }

    /// The semaphore pages this process holds a reference to (mapped in
    /// its address space, and unmapped ones kept until it ends), taken
    /// from it: the caller drops them (`sem_page_put`) once the address
    /// space that maps them is gone.
    fn take_sem_refs(&mut self) -> Vec<usize> {
        let mut pages = self
            .aspace
            .as_ref()
            .map(|a| sem_pages_of(a, &self.maps))
            .unwrap_or_default();
        pages.append(&mut self.unmapped_sem_pages);
        pages
    }
}

/// The umask of a process without a parent process (the runner's).
pub const DEFAULT_UMASK: u32 = 0o022;

pub static PROCS: Mutex<BTreeMap<Pid, Process>> = Mutex::new(BTreeMap::new());
static NEXT_PID: Mutex<Pid> = Mutex::new(1);
/// Tasks waiting for some thread or process to end (WAIT_PROCESS,
/// THREAD_JOIN); all are woken on every end and re-check.
static EXIT_WAITERS: Mutex<Vec<Tid>> = Mutex::new(Vec::new());
/// Testbed-wide shared regions (SHM_MAP): key -> (test group that made
/// it, frames). A region goes away with its test group.
static SHM: Mutex<BTreeMap<usize, (usize, Vec<usize>)>> = Mutex::new(BTreeMap::new());
/// Most shared regions at once.
const MAX_SHM: usize = 64;

fn sigbit(s: usize) -> u64 {
    1u64 << (s - 1)
}

/// Maps `len` bytes of fresh zeroed pages at `va` (page aligned) and
/// records them as owned by the process.
fn map_fresh(
    aspace: &mut AddressSpace,
    owned: &mut Vec<usize>,
    maps: &mut Vec<(usize, UserPerm, bool)>,
    va: usize,
    len: usize,
    perm: UserPerm,
) -> Result<(), isize> {
    let mut off = 0;
    while off < len {
        if owned.len() >= MAX_FRAMES {
            return Err(ENOMEM);
        }
        let pa = frames::alloc_zeroed().ok_or(ENOMEM)?;
        if !aspace.map_user(va + off, pa, perm) {
            frames::free(pa);
            return Err(ENOMEM);
        }
        owned.push(pa);
        maps.push((va + off, perm, false));
        off += PAGE_SIZE;
    }
    Ok(())
}

fn next_pid() -> Pid {
    let mut n = NEXT_PID.lock();
    let pid = *n;
    *n += 1;
    pid
}

/// Most process records (live and zombie) at once.
pub const MAX_PROCS: usize = 256;

/// Starts program `name` (ELF `image`) as a new process with one thread.
pub fn spawn(
    name: &str,
    image: &[u8],
    uid: u32,
    ppid: Pid,
    group: usize,
    arg: usize,
) -> Result<Pid, isize> {
    let groups = {
        let procs = PROCS.lock();
        if procs.len() >= MAX_PROCS {
            return Err(EAGAIN);
        }
        procs.get(&ppid).map(|p| p.groups).unwrap_or_default()
    };
    let img = load_image(image, &[name.as_bytes()])?;
    let umask = PROCS
        .lock()
        .get(&ppid)
        .map_or(DEFAULT_UMASK, |parent| parent.umask);
    let pid = next_pid();
    PROCS.lock().insert(
        pid,
        Process {
            name: String::from(name),
            maps: img.maps,
            ..Process::blank(
                pid,
                ppid,
                (uid, groups, group),
                umask,
                img.aspace,
                img.frames,
            )
        },
    );
    match spawn_thread(pid, img.entry, img.sp, arg, 0) {
        Ok(_) => Ok(pid),
        Err(e) => {
            let p = PROCS.lock().remove(&pid);
            if let Some(p) = p {
                release(p);
            }
            crate::ipc::process_exit(pid);
            Err(e)
        }
    }
}

/// A loaded program image not yet given to a process: its address
/// space, the frames it owns, its page list, entry point and initial
/// stack pointer.
pub struct Image {
    aspace: AddressSpace,
    frames: Vec<usize>,
    maps: Vec<(usize, UserPerm, bool)>,
    pub entry: usize,
    pub sp: usize,
}

impl Image {
    /// Frees an image that no process took.
    pub fn discard(self) {
        drop(self.aspace);
        self.frames.into_iter().for_each(frames::free);
    }
}

/// Loads ELF `image` into a fresh address space with a stack whose top
/// holds the arguments as Linux's execve lays them out at the stack
/// pointer: argc, the argv pointers and a null, an empty envp (a null),
/// an empty auxv (AT_NULL, 0); the strings above. Everything is freed on
/// failure.
pub fn load_image(image: &[u8], args: &[&[u8]]) -> Result<Image, isize> {
    let mut aspace = AddressSpace::new().ok_or(ENOMEM)?;
    let mut owned = Vec::new();
    let mut image_pages = Vec::new();
    let mut maps = Vec::new();
    let loaded = elf::load(image, &mut aspace, &mut owned, &mut image_pages).and_then(|entry| {
        maps.extend(image_pages.iter().map(|&(va, perm)| (va, perm, false)));
        let rw = UserPerm {
            write: true,
            exec: false,
        };
        map_fresh(
            &mut aspace,
            &mut owned,
            &mut maps,
            USER_STACK_TOP - STACK_SIZE,
            STACK_SIZE,
            rw,
        )?;
        let sp = write_args(&aspace, args)?;
        Ok((entry, sp))
    });
    match loaded {
        Ok((entry, sp)) => Ok(Image {
            aspace,
            frames: owned,
            maps,
            entry,
            sp,
        }),
        Err(e) => {
            drop(aspace);
            owned.into_iter().for_each(frames::free);
            Err(e)
        }
    }
}

/// Most bytes of arguments (strings with their NULs) a new image gets.
pub const MAX_ARG_BYTES: usize = 32 * 1024;
/// Most arguments.
pub const MAX_ARGS: usize = 256;

fn write_args(aspace: &AddressSpace, args: &[&[u8]]) -> Result<usize, isize> {
    let bytes: usize = args.iter().map(|a| a.len() + 1).sum();
    if args.len() > MAX_ARGS || bytes > MAX_ARG_BYTES {
        return Err(E2BIG);
    }
    let top = USER_STACK_TOP - 64;
    let strings = (top - bytes) & !15;
    // argc, argv[..], NULL, envp NULL, AT_NULL 0.
    let words = 1 + args.len() + 1 + 1 + 2;
    let sp = (strings - words * 8) & !15;
    let mut at = strings;
    let mut vec: Vec<u64> = Vec::with_capacity(words);
    vec.push(args.len() as u64);
    for a in args {
        usermem::write(aspace, at, a).map_err(|_| ENOMEM)?;
        usermem::write(aspace, at + a.len(), &[0]).map_err(|_| ENOMEM)?;
        vec.push(at as u64);
        at += a.len() + 1;
    }
    vec.extend_from_slice(&[0, 0, 0, 0]);
    for (i, w) in vec.iter().enumerate() {
        usermem::write_val(aspace, sp + i * 8, w).map_err(|_| ENOMEM)?;
    }
    Ok(sp)
}

/// EXEC's switch, once the caller is its process's only thread: the
/// process takes `img` (made current on this CPU) and the name `name`;
/// its handlers go back to SIG_DFL and its FD_CLOEXEC fds close. The old
/// image and the closed fds are released with no lock held.
pub fn exec_swap(img: Image, name: &str) -> Result<(), isize> {
    let pid = sched::current_pid();
    let (old_aspace, old_frames, sem_pages, closed) = {
        let mut procs = PROCS.lock();
        let p = procs.get_mut(&pid).ok_or(ESRCH)?;
        // The old image's semaphore pages (mapped and unmapped) lose this
        // process's reference with it.
        let sem_pages = p.take_sem_refs();
        let old_aspace = p.aspace.replace(img.aspace);
        if let Some(a) = p.aspace.as_ref() {
            a.activate();
        }
        p.maps = img.maps;
        p.mmap_next = MMAP_BASE;
        p.name = String::from(name);
        p.sig.exec();
        p.thread_status.clear();
        p.sig_target = 0;
        let old_frames = core::mem::replace(&mut p.frames, img.frames);
        (old_aspace, old_frames, sem_pages, p.fds.take_cloexec())
    };
    drop(old_aspace);
    sem_pages.into_iter().for_each(sem_page_put);
    old_frames.into_iter().for_each(frames::free);
    for f in closed {
        f.fd_closed(pid);
        drop(f);
    }
    Ok(())
}

/// Ends every other thread of the caller's process and waits until they
/// are gone (EXEC, as Linux's de_thread). EINTR if the caller itself was
/// killed meanwhile (its process is ending).
pub fn exec_end_other_threads() -> Result<(), isize> {
    let me = sched::current();
    let others: Vec<Tid> =
        with_current(|p| p.threads.iter().copied().filter(|&t| t != me).collect()).ok_or(ESRCH)?;
    if others.is_empty() {
        return Ok(());
    }
    others.iter().for_each(|&t| sched::kill(t));
    loop {
        let alone = wait_for_exit(|| {
            with_current(|p| p.threads.iter().all(|&t| t == me))
                .unwrap_or(true)
                .then_some(())
        });
        if alone.is_ok() {
            return Ok(());
        }
        if sched::current_killed_and_mask().0 {
            return Err(EINTR);
        }
        // A pending signal ends every park at once: let the killed
        // threads run to their end instead of spinning here.
        sched::yield_now();
    }
}

/// Frees what a process owns (address space first, then its frames).
fn release(mut p: Process) {
    let sem_pages = p.take_sem_refs();
    drop(p.aspace.take());
    sem_pages.into_iter().for_each(sem_page_put);
    p.frames.drain(..).for_each(frames::free);
    drop(core::mem::take(&mut p.fds));
}

/// A new thread in `pid` with signal mask `sigmask`.
pub fn spawn_thread(
    pid: Pid,
    entry: usize,
    sp: usize,
    arg: usize,
    sigmask: u64,
) -> Result<Tid, isize> {
    let tid = sched::spawn(pid, entry, sp, arg, sigmask).ok_or(EAGAIN)?;
    let listed = PROCS
        .lock()
        .get_mut(&pid)
        .map(|p| p.threads.push(tid))
        .is_some();
    if !listed {
        // It exits at once, before user mode.
        sched::kill(tid);
    }
    sched::start(tid);
    if listed {
        Ok(tid)
    } else {
        Err(ESRCH)
    }
}

/// Makes `pid`'s address space current (before running one of its tasks).
pub fn activate(pid: Pid) {
    if let Some(a) = PROCS.lock().get(&pid).and_then(|p| p.aspace.as_ref()) {
        a.activate();
    }
}

/// Runs `f` on the calling task's process.
pub fn with_current<R>(f: impl FnOnce(&mut Process) -> R) -> Option<R> {
    let pid = sched::current_pid();
    PROCS.lock().get_mut(&pid).map(f)
}

/// Adds `syscalls` system calls and `cpu_ns` of run time of one of
/// `pid`'s threads to its counts (the scheduler, when the thread gives
/// the CPU back).
pub fn add_usage(pid: Pid, syscalls: u64, cpu_ns: u64) {
    if let Some(p) = PROCS.lock().get_mut(&pid) {
        p.syscalls += syscalls;
        p.cpu_ns = p.cpu_ns.saturating_add(cpu_ns);
    }
}

/// CLOCK_PROCESS_CPUTIME_ID of the calling process: its threads' past
/// runs and the caller's current one (another thread's current run, at
/// most a tick, is added when it switches out, so the clock never goes
/// back).
pub fn current_cpu_ns() -> u64 {
    let past = with_current(|p| p.cpu_ns).unwrap_or(0);
    past.saturating_add(sched::current_run_ns())
}

/// Called by the scheduler after a thread of `pid` ended and was reaped.
pub fn thread_ended(pid: Pid, tid: Tid, status: i32) {
    let released = {
        let mut procs = PROCS.lock();
        let Some(p) = procs.get_mut(&pid) else { return };
        p.threads.retain(|&t| t != tid);
        p.thread_status.insert(tid, status);
        if p.threads.is_empty() && !p.ending {
            p.status.get_or_insert(status);
            p.ending = true;
            // The semaphore pages it maps or unmapped: their references go
            // with the address space.
            let sem_pages = p.take_sem_refs();
            Some((
                (p.aspace.take(), sem_pages),
                core::mem::take(&mut p.frames),
                core::mem::take(&mut p.fds),
                child_signal(p),
            ))
        } else {
            None
        }
    };
    if let Some(((aspace, sem_pages), owned, fds, (ppid, chld))) = released {
        crate::console::user::flush(pid);
        drop(aspace);
        sem_pages.into_iter().for_each(sem_page_put);
        owned.into_iter().for_each(frames::free);
        drop(fds);
        // Every thread has ended (a killed one left its blocking call
        // first), so the process's IPC state can settle; no lock is held.
        crate::ipc::process_exit(pid);
        // Zombie only now, after the exit hooks: a parent that sees it
        // finds the IPC state settled.
        if let Some(p) = PROCS.lock().get_mut(&pid) {
            p.zombie = true;
        }
        // The parent learns of it as on Linux (do_notify_parent): SIGCHLD,
        // which its default disposition discards; the zombie stays for
        // waitpid either way (SA_NOCLDWAIT and SIG_IGN's auto-reaping are
        // not built). A parent that is gone (the runner) gets nothing.
        let _ = deliver(ppid, chld);
    }
    wake_exit_waiters();
}

/// si_code of SIGCHLD: the child exited / was killed by a signal.
const CLD_EXITED: i32 = 1;
const CLD_KILLED: i32 = 2;

/// The SIGCHLD that `p`'s end sends its parent: si_pid and si_uid the
/// child's, si_status its exit status or the signal that ended it.
fn child_signal(p: &Process) -> (Pid, SigInfo) {
    let (code, status) = match p.term_signal {
        Some(s) => (CLD_KILLED, s as i32),
        None => (CLD_EXITED, p.status.unwrap_or(0) & 0xff),
    };
    let info = SigInfo {
        signo: sig::SIGCHLD as u32,
        code,
        pid: p.pid,
        uid: p.uid,
        status,
        ..SigInfo::default()
    };
    (p.ppid, info)
}

fn wake_exit_waiters() {
    let waiters = core::mem::take(&mut *EXIT_WAITERS.lock());
    for t in waiters {
        sched::unpark_host(t);
    }
    sched::kick_runner();
}

/// Ends the whole process `pid` with `status` (first decision wins): every
/// thread is killed and exits at its next return to user mode.
pub fn kill_process(pid: Pid, status: i32) {
    let threads = {
        let mut procs = PROCS.lock();
        let Some(p) = procs.get_mut(&pid) else { return };
        p.status.get_or_insert(status);
        p.threads.clone()
    };
    for t in threads {
        sched::kill(t);
    }
}

/// Ends the caller's process because of signal `s` (a default action or
/// a fault): status 128 + `s`, and waitpid reports WIFSIGNALED.
pub fn exit_by_signal(s: usize) -> ! {
    let _ = with_current(|p| {
        if p.status.is_none() {
            p.term_signal = Some(s as u32);
        }
    });
    exit_group(testbed_abi::KILLED_BASE + s as i32)
}

/// EXIT: ends the caller's process.
pub fn exit_group(status: i32) -> ! {
    let pid = sched::current_pid();
    kill_process(pid, status);
    let status = PROCS
        .lock()
        .get(&pid)
        .and_then(|p| p.status)
        .unwrap_or(status);
    sched::exit_current(status)
}

/// Blocks until `done()` returns Some; EINTR if interrupted. `done` runs
/// under `EXIT_WAITERS` (lock order: EXIT_WAITERS before PROCS), so an end
/// on another CPU either comes before the look or finds this task on the
/// list (and then its unpark is kept as a permit if it comes before the
/// park).
pub fn wait_for_exit<R>(done: impl Fn() -> Option<R>) -> Result<R, isize> {
    loop {
        {
            let mut waiters = EXIT_WAITERS.lock();
            if let Some(r) = done() {
                return Ok(r);
            }
            waiters.push(sched::current());
        }
        if sched::park(None) == sched::Wake::Interrupted {
            return Err(EINTR);
        }
    }
}

/// WAIT_PROCESS: the status of child `pid` once it ended; reaps it.
pub fn wait_child(pid: Pid) -> Result<i32, isize> {
    let me = sched::current_pid();
    match PROCS.lock().get(&pid) {
        Some(p) if p.ppid == me => {}
        _ => return Err(ECHILD),
    }
    let status = wait_for_exit(|| {
        let procs = PROCS.lock();
        match procs.get(&pid) {
            Some(p) if p.zombie => Some(Ok(p.status.unwrap_or(0))),
            Some(_) => None,
            None => Some(Err(ECHILD)),
        }
    })??;
    PROCS.lock().remove(&pid);
    Ok(status)
}

/// THREAD_JOIN: the status of thread `tid` of the caller's process.
pub fn join_thread(tid: Tid) -> Result<i32, isize> {
    let me = sched::current_pid();
    if tid == sched::current() {
        return Err(EINVAL);
    }
    {
        let procs = PROCS.lock();
        let p = procs.get(&me).ok_or(ESRCH)?;
        if !p.threads.contains(&tid) && !p.thread_status.contains_key(&tid) {
            return Err(ESRCH);
        }
    }
    wait_for_exit(|| {
        PROCS
            .lock()
            .get_mut(&me)
            .and_then(|p| p.thread_status.remove(&tid))
    })
}

/// Whether a signal is pending that `pid` does not block (a park must
/// return Interrupted).
pub fn signal_interrupts(pid: Pid, mask: u64) -> bool {
    PROCS
        .lock()
        .get(&pid)
        .is_some_and(|p| p.sig.interrupting(mask) != 0)
}

/// KILL: makes `signo` pending in `pid` and interrupts its threads if it
/// does not block it.
pub fn send_signal(pid: Pid, signo: usize) -> Result<(), isize> {
    queue_signal(pid, signo, 0, 0)
}

/// KILL / SIGQUEUE: makes `signo` pending in `pid` with si_code `code` and
/// sigval `value`, and interrupts its threads if it does not block it.
/// Permission: euid 0, or the sender's euid or uid is the target's uid.
pub fn queue_signal(pid: Pid, signo: usize, code: i32, value: u64) -> Result<(), isize> {
    if signo > sig::NSIG {
        return Err(EINVAL);
    }
    let (me_pid, me_euid, me_uid) = with_current(|p| (p.pid, p.euid, p.uid)).unwrap_or((0, 0, 0));
    let target_uid = PROCS
        .lock()
        .get(&pid)
        .filter(|p| !p.zombie)
        .map(|p| p.uid)
        .ok_or(ESRCH)?;
    if me_euid != 0 && me_euid != target_uid && me_uid != target_uid {
        return Err(EPERM);
    }
    let info = SigInfo {
        signo: signo as u32,
        code,
        pid: me_pid,
        uid: me_uid,
        int: value as i32,
        ptr: value,
        ..SigInfo::default()
    };
    deliver(pid, info)
}

/// Makes `info` pending in `pid` as the kernel sends it (no permission
/// check: `Kernel::send_signal`, KILL and SIGQUEUE after theirs) and
/// interrupts the threads that do not block it. Signal 0 only checks that
/// `pid` lives.
pub fn deliver(pid: Pid, info: SigInfo) -> Result<(), isize> {
    let signo = info.signo as usize;
    if signo > sig::NSIG {
        return Err(EINVAL);
    }
    let threads = {
        let mut procs = PROCS.lock();
        let p = procs.get_mut(&pid).filter(|p| !p.zombie).ok_or(ESRCH)?;
        if signo == 0 {
            return Ok(());
        }
        let leader_mask = p
            .threads
            .first()
            .and_then(|&t| sched::sigmask_of(t))
            .unwrap_or(0);
        if p.sig.discards(signo, leader_mask) {
            return Ok(());
        }
        p.sig.queue(info)?;
        sched::signal_event();
        wake_target(p, signo)
    };
    if let Some(t) = threads {
        sched::interrupt(t);
    }
    crate::ipc::signal_queued(pid, signo as u32);
    Ok(())
}

/// The one thread a process-directed `signo` wakes, as Linux's
/// complete_signal picks it: the first thread if it does not block the
/// signal, else the next one that does not, round-robin from the last
/// one picked; none if every thread blocks it (it stays pending for
/// the first to unblock it or take it). A fatal signal needs no more:
/// the thread that takes it ends the whole process.
fn wake_target(p: &mut Process, signo: usize) -> Option<Tid> {
    let wants = |t: Tid| sched::sigmask_of(t).is_some_and(|m| m & sigbit(signo) == 0);
    if let Some(&first) = p.threads.first() {
        if wants(first) {
            return Some(first);
        }
    }
    let n = p.threads.len();
    (0..n)
        .map(|i| (p.sig_target + 1 + i) % n)
        .find(|&i| wants(p.threads[i]))
        .map(|i| {
            p.sig_target = i;
            p.threads[i]
        })
}

/// SIGCATCH: catch `signo` (or restore its default action).
pub fn set_caught(signo: usize, on: bool) -> Result<(), isize> {
    if !(1..=sig::NSIG).contains(&signo) || signo == sig::SIGKILL || signo == sig::SIGSTOP {
        return Err(EINVAL);
    }
    with_current(|p| {
        if on {
            p.sig.caught |= sigbit(signo);
        } else {
            p.sig.caught &= !sigbit(signo);
        }
    })
    .ok_or(ESRCH)
}

/// SIGPROCMASK for the calling thread; returns the old mask.
pub fn sigprocmask(how: usize, set: Option<u64>) -> Result<u64, isize> {
    let unblockable = sigbit(sig::SIGKILL) | sigbit(sig::SIGSTOP);
    let Some(set) = set else {
        return Ok(sched::current_sigmask());
    };
    if how > 2 {
        return Err(EINVAL);
    }
    Ok(sched::set_current_sigmask(|old| {
        (match how {
            0 => old | set,
            1 => old & !set,
            _ => set,
        }) & !unblockable
    }))
}

/// MMAP_ANON for the caller.
pub fn mmap_anon(len: usize) -> Result<usize, isize> {
    if len == 0 || len > MAX_MAP {
        return Err(EINVAL);
    }
    let len = (len + PAGE_SIZE - 1) & !(PAGE_SIZE - 1);
    with_current(|p| {
        let va = p.mmap_next;
        if va + len > USER_STACK_TOP - STACK_SIZE - PAGE_SIZE {
            return Err(ENOMEM);
        }
        // The range (and a guard page) is used up even if mapping fails
        // half way; the frames mapped so far stay owned by the process.
        p.mmap_next = va + len + PAGE_SIZE;
        let aspace = p.aspace.as_mut().ok_or(ESRCH)?;
        map_fresh(
            aspace,
            &mut p.frames,
            &mut p.maps,
            va,
            len,
            UserPerm {
                write: true,
                exec: false,
            },
        )?;
        Ok(va)
    })
    .unwrap_or(Err(ESRCH))
}

/// SHM_MAP for the caller: the region `key`, created zeroed on first use.
pub fn shm_map(key: usize, len: usize) -> Result<usize, isize> {
    if len == 0 || len > MAX_MAP {
        return Err(EINVAL);
    }
    let pages = len.div_ceil(PAGE_SIZE);
    let group = with_current(|p| p.group).ok_or(ESRCH)?;
    let region = {
        let mut shm = SHM.lock();
        if !shm.contains_key(&key) {
            if shm.len() >= MAX_SHM {
                return Err(28); // ENOSPC
            }
            let mut f = Vec::new();
            for _ in 0..pages {
                match frames::alloc_zeroed() {
                    Some(pa) => f.push(pa),
                    None => {
                        f.into_iter().for_each(frames::free);
                        return Err(ENOMEM);
                    }
                }
            }
            shm.insert(key, (group, f));
        }
        shm.get(&key).map(|r| r.1.clone()).unwrap_or_default()
    };
    map_shared_frames(&region, region.len() * PAGE_SIZE, true)
}

/// Maps `frames` shared (FORK maps them again in the child) at fresh
/// addresses of the caller, in a range of `len` bytes (pages past the
/// frames stay unmapped) with a guard page after it; the frames stay
/// their owner's (a region, a shm object).
pub fn map_shared_frames(frames: &[usize], len: usize, write: bool) -> Result<usize, isize> {
    let perm = UserPerm { write, exec: false };
    let len = len.div_ceil(PAGE_SIZE) * PAGE_SIZE;
    with_current(|p| {
        let va = p.mmap_next;
        if va + len > USER_STACK_TOP - STACK_SIZE - PAGE_SIZE {
            return Err(ENOMEM);
        }
        // The range is used up even if mapping fails half way.
        p.mmap_next = va + len + PAGE_SIZE;
        let aspace = p.aspace.as_mut().ok_or(ESRCH)?;
        for (i, &pa) in frames.iter().take(len / PAGE_SIZE).enumerate() {
            if !aspace.map_user(va + i * PAGE_SIZE, pa, perm) {
                return Err(ENOMEM);
            }
            p.maps.push((va + i * PAGE_SIZE, perm, true));
        }
        Ok(va)
    })
    .unwrap_or(Err(ESRCH))
}

/// Named-semaphore pages (`Kernel::shared_page_alloc`): frame -> its
/// references (the kernel's handle, and one per process mapping it). The
/// frame is freed when the count reaches 0. Lock order: taken under
/// `PROCS`, never the other way round.
static SEM_PAGES: Mutex<BTreeMap<usize, usize>> = Mutex::new(BTreeMap::new());

/// A zeroed frame with `init` at offset 0, one reference (the handle).
pub fn sem_page_alloc(init: &[u8; 16]) -> Option<usize> {
    let pa = frames::alloc_zeroed()?;
    // SAFETY: a fresh, exclusively owned, identity-mapped frame.
    unsafe { core::ptr::copy_nonoverlapping(init.as_ptr(), pa as *mut u8, init.len()) };
    SEM_PAGES.lock().insert(pa, 1);
    Some(pa)
}

fn sem_page_get(pa: usize) {
    if let Some(n) = SEM_PAGES.lock().get_mut(&pa) {
        *n += 1;
    }
}

/// Drops one reference to the semaphore page `pa`; the last frees it.
pub fn sem_page_put(pa: usize) {
    let free = {
        let mut pages = SEM_PAGES.lock();
        match pages.get_mut(&pa) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            Some(_) => pages.remove(&pa).is_some(),
            None => false,
        }
    };
    if free {
        frames::free(pa);
    }
}

/// Semaphore pages alive (leak checks, the IPC summary).
pub fn sem_pages() -> usize {
    SEM_PAGES.lock().len()
}

/// The semaphore pages among the shared pages of `maps` in `aspace`.
fn sem_pages_of(aspace: &AddressSpace, maps: &[(usize, UserPerm, bool)]) -> Vec<usize> {
    let pages = SEM_PAGES.lock();
    maps.iter()
        .filter(|m| m.2)
        .filter_map(|m| aspace.translate(m.0, false))
        .filter(|pa| pages.contains_key(pa))
        .collect()
}

/// SEM_MAP for the caller: maps the semaphore page `pa` read-write and
/// shared (FORK maps it again in the child) and takes a reference.
pub fn sem_page_map(pa: usize) -> Result<usize, isize> {
    let rw = UserPerm {
        write: true,
        exec: false,
    };
    with_current(|p| {
        let va = p.mmap_next;
        if va + PAGE_SIZE > USER_STACK_TOP - STACK_SIZE - PAGE_SIZE {
            return Err(ENOMEM);
        }
        p.mmap_next = va + 2 * PAGE_SIZE;
        let aspace = p.aspace.as_mut().ok_or(ESRCH)?;
        if !aspace.map_user(va, pa, rw) {
            return Err(ENOMEM);
        }
        p.maps.push((va, rw, true));
        sem_page_get(pa);
        Ok(va)
    })
    .unwrap_or(Err(ESRCH))
}

/// SEM_UNMAP for the caller: removes its mapping of page `pa` at `va`
/// (EINVAL if there is none). The reference is kept until the process
/// ends (`unmapped_sem_pages`).
pub fn sem_page_unmap(pa: usize, va: usize) -> Result<(), isize> {
    with_current(|p| {
        let aspace = p.aspace.as_mut().ok_or(ESRCH)?;
        let at = p
            .maps
            .iter()
            .position(|m| m.0 == va && m.2)
            .filter(|_| aspace.translate(va, false) == Some(pa))
            .ok_or(EINVAL)?;
        aspace.unmap_user(va).ok_or(EINVAL)?;
        p.maps.swap_remove(at);
        p.unmapped_sem_pages.push(pa);
        Ok(())
    })
    .unwrap_or(Err(ESRCH))
}

/// MUNMAP for the caller: removes its mappings of the pages in
/// `[va, va + len)`. A private page's frame stays in the process's frames
/// until it exits (another CPU running one of its threads may still hold
/// the translation: freeing it now would hand that CPU someone else's
/// memory); a semaphore page keeps its reference until then too, as
/// SEM_UNMAP does; a shared region's page stays the region's.
pub fn munmap(va: usize, len: usize) -> Result<(), isize> {
    if va % PAGE_SIZE != 0 || len == 0 {
        return Err(EINVAL);
    }
    let end = va
        .checked_add(len)
        .filter(|&e| e <= USER_STACK_TOP)
        .ok_or(EINVAL)?;
    with_current(|p| {
        let aspace = p.aspace.as_mut().ok_or(ESRCH)?;
        let sem_pages = SEM_PAGES.lock();
        let mut i = 0;
        while i < p.maps.len() {
            let (page, _, shared) = p.maps[i];
            if !(va..end).contains(&page) {
                i += 1;
                continue;
            }
            if let Some(pa) = aspace.unmap_user(page) {
                if shared && sem_pages.contains_key(&pa) {
                    p.unmapped_sem_pages.push(pa);
                }
            }
            p.maps.swap_remove(i);
        }
        Ok(())
    })
    .unwrap_or(Err(ESRCH))
}

/// Pids of every process of test group `group`.
pub fn group_pids(group: usize) -> Vec<Pid> {
    PROCS
        .lock()
        .values()
        .filter(|p| p.group == group)
        .map(|p| p.pid)
        .collect()
}

/// Kills every process of `group` (status 128 + SIGKILL if undecided).
pub fn kill_group(group: usize) {
    for pid in group_pids(group) {
        kill_process(pid, testbed_abi::KILLED_BASE + sig::SIGKILL as i32);
    }
}

/// Drops every process record of `group` (after all its tasks ended).
pub fn remove_group(group: usize) {
    let gone: Vec<Process> = {
        let mut procs = PROCS.lock();
        let pids = procs
            .values()
            .filter(|p| p.group == group)
            .map(|p| p.pid)
            .collect::<Vec<_>>();
        pids.iter().filter_map(|pid| procs.remove(pid)).collect()
    };
    gone.into_iter().for_each(release);
    let regions: Vec<Vec<usize>> = {
        let mut shm = SHM.lock();
        let keys: Vec<usize> = shm
            .iter()
            .filter(|(_, r)| r.0 == group)
            .map(|(&k, _)| k)
            .collect();
        keys.iter()
            .filter_map(|k| shm.remove(k))
            .map(|r| r.1)
            .collect()
    };
    regions.into_iter().flatten().for_each(frames::free);
    crate::shm::release_group(group);
}

/// Exit status and zombie flag of `pid`.
pub fn status_of(pid: Pid) -> Option<(bool, Option<i32>)> {
    PROCS.lock().get(&pid).map(|p| (p.zombie, p.status))
}

/// Dequeues the lowest pending signal of the caller's process in `mask`
/// (`Kernel::take_signal`).
pub fn take_signal(mask: u64) -> Option<SigInfo> {
    with_current(|p| p.sig.take(mask)).flatten()
}

/// Makes a signal `take_signal` returned pending again
/// (`Kernel::restore_signal`).
pub fn restore_signal(info: SigInfo) {
    let _ = with_current(|p| p.sig.restore(info));
    sched::signal_event();
}

/// The earliest armed ITIMER_REAL (the idle clock must stop there).
pub fn earliest_itimer() -> Option<u64> {
    PROCS
        .lock()
        .values()
        .filter(|p| !p.zombie)
        .filter_map(|p| p.itimer.map(|t| t.0))
        .min()
}

/// Sends SIGALRM to every process whose ITIMER_REAL is due and re-arms
/// the periodic ones (called by the scheduler loop).
pub fn expire_itimers(now: u64) {
    sched::expiry_begin();
    let due: Vec<Pid> = {
        let mut procs = PROCS.lock();
        procs
            .values_mut()
            .filter(|p| !p.zombie)
            .filter_map(|p| {
                let (at, every) = p.itimer?;
                if at > now {
                    return None;
                }
                p.itimer = (every > 0).then(|| {
                    let missed = (now - at) / every + 1;
                    (at.saturating_add(missed.saturating_mul(every)), every)
                });
                Some(p.pid)
            })
            .collect()
    };
    if sched::JUMP_DELAY_NS > 0 && !due.is_empty() {
        sched::spin_ns(sched::JUMP_DELAY_NS);
    }
    for &pid in &due {
        let info = SigInfo {
            signo: sig::SIGALRM as u32,
            code: 0x80, // SI_KERNEL
            ..SigInfo::default()
        };
        let _ = deliver(pid, info);
    }
    sched::expiry_end(!due.is_empty());
}

/// Copies `src`'s pages into a fresh address space: private pages into
/// new frames (returned, owned by the copy), shared ones mapped again.
fn copy_pages(
    src: &AddressSpace,
    maps: &[(usize, UserPerm, bool)],
) -> Result<(AddressSpace, Vec<usize>), isize> {
    let mut aspace = AddressSpace::new().ok_or(ENOMEM)?;
    let mut owned: Vec<usize> = Vec::new();
    let copied = maps.iter().try_for_each(|&(va, perm, shared)| {
        let from = src.translate(va, false).ok_or(ENOMEM)?;
        let pa = if shared {
            from
        } else {
            if owned.len() >= MAX_FRAMES {
                return Err(ENOMEM);
            }
            let pa = frames::alloc_zeroed().ok_or(ENOMEM)?;
            owned.push(pa);
            // SAFETY: both are whole identity-mapped frames (VA == PA in
            // the kernel): `from` the parent's, `pa` one just allocated.
            unsafe { core::ptr::copy_nonoverlapping(from as *const u8, pa as *mut u8, PAGE_SIZE) };
            pa
        };
        if aspace.map_user(va, pa, perm) {
            Ok(())
        } else {
            Err(ENOMEM)
        }
    });
    match copied {
        Ok(()) => Ok((aspace, owned)),
        Err(e) => {
            drop(aspace);
            owned.into_iter().for_each(frames::free);
            Err(e)
        }
    }
}

/// FORK: a copy of the calling process running a copy of the calling
/// thread (its trap `frame`, returning 0); `Ipc::process_fork` runs
/// before the child can.
pub fn fork(frame: &crate::arch::TrapFrame) -> Result<Pid, isize> {
    let me = sched::current_pid();
    let child = {
        let procs = PROCS.lock();
        if procs.len() >= MAX_PROCS {
            return Err(EAGAIN);
        }
        let p = procs.get(&me).ok_or(ESRCH)?;
        let (aspace, owned) = copy_pages(p.aspace.as_ref().ok_or(ESRCH)?, &p.maps)?;
        // The child maps the parent's semaphore pages too: one reference
        // each (dropped by its release).
        for pa in sem_pages_of(&aspace, &p.maps) {
            sem_page_get(pa);
        }
        let pid = next_pid();
        let identity = (p.uid, p.groups, p.group);
        Process {
            gid: p.gid,
            euid: p.euid,
            egid: p.egid,
            name: p.name.clone(),
            sig: p.sig.fork(),
            mmap_next: p.mmap_next,
            fds: p.fds.fork(pid),
            maps: p.maps.clone(),
            ..Process::blank(pid, me, identity, p.umask, aspace, owned)
        }
    };
    let pid = child.pid;
    PROCS.lock().insert(pid, child);
    let mut regs = *frame;
    regs.set_return(0);
    let Some(tid) = sched::spawn_copy(pid, &regs, sched::current_sigmask()) else {
        if let Some(p) = PROCS.lock().remove(&pid) {
            release(p);
        }
        return Err(EAGAIN);
    };
    if let Some(p) = PROCS.lock().get_mut(&pid) {
        p.threads.push(tid);
    }
    crate::ipc::process_fork(me, pid);
    sched::start(tid);
    Ok(pid)
}

/// WAITPID: waits for a child (`pid` -1 or 0: any) to end, unless WNOHANG
/// (Ok(None) while none has); reaps it and returns (pid, Linux status).
pub fn waitpid(pid: isize, nohang: bool) -> Result<Option<(Pid, i32)>, isize> {
    let me = sched::current_pid();
    let found = wait_for_exit(|| {
        let procs = PROCS.lock();
        let mut mine = procs
            .values()
            .filter(|p| p.ppid == me && (pid <= 0 || p.pid as isize == pid))
            .peekable();
        if mine.peek().is_none() {
            return Some(Err(ECHILD));
        }
        match mine.find(|p| p.zombie) {
            Some(z) => {
                let status = match z.term_signal {
                    Some(s) => s as i32,
                    None => (z.status.unwrap_or(0) & 0xff) << 8,
                };
                Some(Ok(Some((z.pid, status))))
            }
            None if nohang => Some(Ok(None)),
            None => None,
        }
    })??;
    Ok(found)
}

/// Drops the record of a child WAITPID reported.
pub fn reap(pid: Pid) {
    PROCS.lock().remove(&pid);
}
