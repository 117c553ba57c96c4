//! The named-semaphore fast path on the hosted kernel: a named semaphore's
//! words live in a kernel page that `SYS_RB_SEM_MAP` maps into each
//! process that asks, and "user space" (here: the test, running
//! `ipc::sem::protocol` on the mapped words with the simulated memory's
//! atomics, as the shim does on its own) makes no system call for an
//! uncontended post or wait, across two simulated processes. Every
//! futex call it does make is counted.

mod common;

use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{assert_accounting_zero, sys, user_bytes, Env};
use redbear_ipc::errno::{EAGAIN, EBADF, EFAULT, EINVAL, ENOENT, ENOMEM, EOPNOTSUPP};
use redbear_ipc::hosted::{ClockMode, HostedKernel, Process};
use redbear_ipc::ipc::futex::BITSET_MATCH_ANY;
use redbear_ipc::ipc::sem::protocol::{self, SemAccess, SemError, WaitMode, Word};
use redbear_ipc::ipc::sem::unnamed::{FLAGS_OFFSET, NWAITERS_OFFSET, SEM_FLAG_SHARED};
use redbear_ipc::kernel::{Credentials, Kernel, SHARED_PAGE_SIZE};
use redbear_ipc::syscall::abi::{FutexFlags, OpenFlags, SemFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::*;

/// The calling task's process's view of a mapped semaphore: loads and
/// compare-exchanges are user-space atomics on the simulated memory
/// (faulting where this process has no mapping), sleeps and wakes are
/// futex syscalls, counted.
struct Mapped<'k> {
    k: &'k HostedKernel,
    words: usize,
    syscalls: Cell<usize>,
}

impl<'k> Mapped<'k> {
    fn new(k: &'k HostedKernel, words: usize) -> Self {
        Mapped {
            k,
            words,
            syscalls: Cell::new(0),
        }
    }

    fn at(&self, word: Word) -> usize {
        match word {
            Word::Value => self.words,
            Word::Waiters => self.words + NWAITERS_OFFSET,
        }
    }

    fn call(&self, nr: usize, args: &[usize]) -> Result<usize, i32> {
        self.syscalls.set(self.syscalls.get() + 1);
        sys(self.k, nr, args)
    }

    fn pid(&self) -> u32 {
        self.k.current_pid()
    }

    fn post(&self) -> Result<(), i32> {
        protocol::post(self).map_err(errno)
    }

    fn wait(&self, mode: WaitMode) -> Result<(), i32> {
        protocol::wait(self, mode).map_err(errno)
    }

    fn value(&self) -> u32 {
        protocol::value(self).expect("mapped")
    }
}

fn errno(e: SemError<i32>) -> i32 {
    e.errno(|e| e)
}

impl SemAccess for Mapped<'_> {
    type Error = i32;
    fn load(&self, word: Word, _order: Ordering) -> Result<u32, i32> {
        self.k
            .memory()
            .load_u32(self.pid(), self.at(word))
            .map_err(|_| EFAULT)
    }
    fn compare_exchange(&self, word: Word, current: u32, new: u32) -> Result<u32, i32> {
        self.k
            .memory()
            .cmpxchg_u32(self.pid(), self.at(word), current, new)
            .map_err(|_| EFAULT)
    }
    fn fetch_add(&self, word: Word, delta: u32) -> Result<(), i32> {
        let mut cur = self.load(word, Ordering::SeqCst)?;
        loop {
            let seen = self.compare_exchange(word, cur, cur.wrapping_add(delta))?;
            if seen == cur {
                return Ok(());
            }
            cur = seen;
        }
    }
    fn sleep(&self) -> Result<(), i32> {
        let flags = FutexFlags::SHARED.bits();
        let any = BITSET_MATCH_ANY as usize;
        match self.call(SYS_RB_FUTEX_WAIT, &[self.words, 0, 0, flags, any]) {
            Ok(_) | Err(EAGAIN) => Ok(()),
            Err(e) => Err(e),
        }
    }
    fn wake_one(&self) -> Result<(), i32> {
        let flags = FutexFlags::SHARED.bits();
        let any = BITSET_MATCH_ANY as usize;
        self.call(SYS_RB_FUTEX_WAKE, &[self.words, 1, flags, any])
            .map(drop)
    }
}

fn open(k: &HostedKernel, name: &str, create: bool, value: u32) -> Result<usize, i32> {
    let (p, len) = user_bytes(k, name.as_bytes());
    let oflag = if create { OpenFlags::CREATE.bits() } else { 0 };
    sys(
        k,
        SYS_RB_SEM_OPEN,
        &[p, len, oflag, 0o600, value as usize, FD_SLOT_ANY],
    )
}

fn unlink(k: &HostedKernel, name: &str) -> Result<usize, i32> {
    let (p, len) = user_bytes(k, name.as_bytes());
    sys(k, SYS_RB_SEM_UNLINK, &[p, len])
}

fn fd_value(k: &HostedKernel, fd: usize) -> usize {
    sys(k, SYS_RB_SEM_GETVALUE, &[fd, SemFlags::REF_FD.bits()]).unwrap()
}

/// Runs `f` on a new thread as a task of `p`.
fn as_task<R: Send + 'static>(
    k: &Arc<HostedKernel>,
    p: &Arc<Process>,
    f: impl FnOnce(&HostedKernel) -> R + Send + 'static,
) -> std::thread::JoinHandle<R> {
    let k2 = k.clone();
    k.spawn_task(p, move || f(&k2))
}

#[test]
fn uncontended_post_and_wait_across_two_processes_make_no_syscall() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd_a = open(k, "/page", true, 2).unwrap();
    let words_a = sys(k, SYS_RB_SEM_MAP, &[fd_a]).unwrap();
    assert_eq!(words_a % 4, 0);
    // The words: value 2, no waiters, process-shared.
    assert_eq!(common::peek_u32(k, words_a), 2);
    assert_eq!(common::peek_u32(k, words_a + FLAGS_OFFSET), SEM_FLAG_SHARED);
    let key_a = k.shared_key(words_a).unwrap();

    let b = k.spawn_process(Credentials::new(1000, 1000));
    let (words_b, key_b) = as_task(k, &b, |k| {
        let fd = open(k, "/page", false, 0).unwrap();
        let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
        let m = Mapped::new(k, words);
        // B takes both units and gives one back: no syscall.
        m.wait(WaitMode::Block).unwrap();
        m.wait(WaitMode::Try).unwrap();
        assert_eq!(m.wait(WaitMode::Try), Err(EAGAIN));
        m.post().unwrap();
        assert_eq!(m.syscalls.get(), 0, "uncontended ops made a syscall");
        (words, k.shared_key(words).unwrap())
    })
    .join()
    .unwrap();
    assert_eq!(key_a, key_b, "the futex key of the value word matches");
    let _ = words_b;

    // A sees B's post in the page and through its fd.
    let m = Mapped::new(k, words_a);
    assert_eq!(m.value(), 1);
    assert_eq!(fd_value(k, fd_a), 1);
    m.wait(WaitMode::Block).unwrap();
    m.post().unwrap();
    m.post().unwrap();
    assert_eq!(m.syscalls.get(), 0);
    // The fd path runs the protocol on the same words.
    sys(k, SYS_RB_SEM_WAIT, &[fd_a, SemFlags::REF_FD.bits()]).unwrap();
    assert_eq!(m.value(), 1);
    unlink(k, "/page").unwrap();
    sys(k, SYS_RB_SEM_UNMAP, &[fd_a, words_a]).unwrap();
}

#[test]
fn a_contended_wait_sleeps_and_a_post_in_another_process_wakes_it() {
    let e = Env::new(ClockMode::Real);
    let k = &e.k;
    let fd = open(k, "/contend", true, 0).unwrap();
    let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
    let b = k.spawn_process(Credentials::new(1000, 1000));
    let waiter = as_task(k, &b, |k| {
        let fd = open(k, "/contend", false, 0).unwrap();
        let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
        let m = Mapped::new(k, words);
        m.wait(WaitMode::Block).unwrap();
        m.syscalls.get()
    });
    assert!(k.wait_parked(1, Duration::from_secs(10)), "B never slept");
    let m = Mapped::new(k, words);
    assert_eq!(common::peek_u32(k, words + NWAITERS_OFFSET), 1);
    m.post().unwrap();
    assert_eq!(m.syscalls.get(), 1, "a post with a waiter makes one wake");
    assert!(
        waiter.join().unwrap() >= 1,
        "the waiter slept in the kernel"
    );
    assert_eq!(m.value(), 0);

    // A waiter on the fd path (in the kernel) is woken by a mapped post,
    // and a mapped waiter by an fd post: one futex key for both.
    let fd_waiter = as_task(k, &b, |k| {
        let fd = open(k, "/contend", false, 0).unwrap();
        sys(k, SYS_RB_SEM_WAIT, &[fd, SemFlags::REF_FD.bits()])
    });
    assert!(k.wait_parked(1, Duration::from_secs(10)));
    m.post().unwrap();
    assert_eq!(fd_waiter.join().unwrap(), Ok(0));
    let mapped_waiter = as_task(k, &b, |k| {
        let fd = open(k, "/contend", false, 0).unwrap();
        let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
        Mapped::new(k, words).wait(WaitMode::Block)
    });
    assert!(k.wait_parked(1, Duration::from_secs(10)));
    sys(k, SYS_RB_SEM_POST, &[fd, SemFlags::REF_FD.bits()]).unwrap();
    assert_eq!(mapped_waiter.join().unwrap(), Ok(()));
    assert_eq!(m.value(), 0);
    unlink(k, "/contend").unwrap();
    k.exit_process(&b);
}

#[test]
fn unlink_while_mapped_keeps_the_page_until_the_last_mapping_and_fd_go() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    let pages = k.memory().pages();
    let fd = open(k, "/gone", true, 1).unwrap();
    let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
    assert_eq!(k.memory().pages(), pages + 1);
    let usage = k.ipc().acct.usage(1000).bytes();
    assert!(usage >= SHARED_PAGE_SIZE, "the page is charged: {usage}");
    unlink(k, "/gone").unwrap();
    assert_eq!(open(k, "/gone", false, 0), Err(ENOENT));
    // The name is gone; the semaphore works on through the mapping.
    let m = Mapped::new(k, words);
    m.wait(WaitMode::Try).unwrap();
    m.post().unwrap();
    assert_eq!(fd_value(k, fd), 1);
    // Closing the fd first: the mapping alone keeps the frame.
    let words2 = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
    assert_eq!(
        words2, words,
        "the hosted kernel maps a page at one address"
    );
    sys(k, SYS_RB_SEM_UNMAP, &[fd, words2]).unwrap();
    k.close(fd).unwrap();
    assert_accounting_zero(k);
    assert_eq!(k.memory().pages(), pages + 1, "still mapped once");
    m.post().unwrap();
    assert_eq!(m.value(), 2);
    // Exit unmaps: the frame goes.
    let b = k.spawn_process(Credentials::new(1000, 1000));
    let fd_b = as_task(k, &b, |k| {
        let fd = open(k, "/gone2", true, 0).unwrap();
        sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
        unlink(k, "/gone2").unwrap();
        fd
    })
    .join()
    .unwrap();
    let _ = fd_b;
    assert_eq!(k.memory().pages(), pages + 2);
    k.exit_process(&b);
    assert_eq!(k.memory().pages(), pages + 1);
    assert_accounting_zero(k);
    // This process's own mapping goes at its exit (`Env` never exits, so
    // a forked child shows it instead).
    let child = k.fork_process(&e.proc);
    let seen = as_task(k, &child, move |k| {
        let m = Mapped::new(k, words);
        m.post().unwrap();
        m.value()
    })
    .join()
    .unwrap();
    assert_eq!(seen, 3, "a forked child shares the mapping");
    k.exit_process(&child);
    assert_eq!(k.memory().pages(), pages + 1);
}

#[test]
fn fork_shares_the_mapping_and_exit_frees_the_page() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    let pages = k.memory().pages();
    let parent = k.spawn_process(Credentials::new(1000, 1000));
    let (fd, words) = as_task(k, &parent, |k| {
        let fd = open(k, "/fork", true, 0).unwrap();
        (fd, sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap())
    })
    .join()
    .unwrap();
    let child = k.fork_process(&parent);
    let calls = as_task(k, &child, move |k| {
        let m = Mapped::new(k, words);
        m.post().unwrap();
        // The inherited fd reaches the same semaphore.
        assert_eq!(fd_value(k, fd), 1);
        m.syscalls.get()
    })
    .join()
    .unwrap();
    assert_eq!(calls, 0);
    let taken = as_task(k, &parent, move |k| {
        let m = Mapped::new(k, words);
        m.wait(WaitMode::Try).map(|_| m.syscalls.get())
    })
    .join()
    .unwrap();
    assert_eq!(taken, Ok(0));
    as_task(k, &parent, |k| unlink(k, "/fork").unwrap())
        .join()
        .unwrap();
    k.exit_process(&child);
    assert_eq!(k.memory().pages(), pages + 1, "the parent still maps it");
    k.exit_process(&parent);
    assert_eq!(k.memory().pages(), pages, "no page left behind");
    assert_accounting_zero(k);
}

#[test]
fn map_and_unmap_errors() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    assert_eq!(sys(k, SYS_RB_SEM_MAP, &[77]), Err(EBADF));
    assert_eq!(sys(k, SYS_RB_SEM_MAP, &[usize::MAX]), Err(EBADF));
    let efd = sys(k, SYS_RB_EVENTFD2, &[0, 0]).unwrap();
    assert_eq!(sys(k, SYS_RB_SEM_MAP, &[efd]), Err(EINVAL));
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[efd, 0]), Err(EINVAL));
    let fd = open(k, "/err", true, 0).unwrap();
    let other = open(k, "/err_other", true, 0).unwrap();
    let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
    let other_words = sys(k, SYS_RB_SEM_MAP, &[other]).unwrap();
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[fd, words + 4]), Err(EINVAL));
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[fd, other_words]), Err(EINVAL));
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[fd, 0]), Err(EINVAL));
    // Another process has no mapping to remove.
    let b = k.spawn_process(Credentials::new(1000, 1000));
    let from_b = as_task(k, &b, move |k| {
        let fd = open(k, "/err", false, 0).unwrap();
        let m = Mapped::new(k, words);
        (sys(k, SYS_RB_SEM_UNMAP, &[fd, words]), m.post())
    })
    .join()
    .unwrap();
    assert_eq!(from_b, (Err(EINVAL), Err(EFAULT)), "B never mapped it");
    sys(k, SYS_RB_SEM_UNMAP, &[fd, words]).unwrap();
    // Unmapped: user space faults, and so do the kernel calls on it.
    let m = Mapped::new(k, words);
    assert_eq!(m.post(), Err(EFAULT));
    let shared = FutexFlags::SHARED.bits();
    assert_eq!(
        sys(k, SYS_RB_FUTEX_WAKE, &[words, 1, shared, usize::MAX >> 32]),
        Err(EFAULT)
    );
    assert_eq!(sys(k, SYS_RB_SEM_POST, &[words, 0]), Err(EFAULT));
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[fd, words]), Err(EINVAL));
    // The fd path still works.
    sys(k, SYS_RB_SEM_POST, &[fd, SemFlags::REF_FD.bits()]).unwrap();
    assert_eq!(fd_value(k, fd), 1);
    unlink(k, "/err").unwrap();
    unlink(k, "/err_other").unwrap();
    sys(k, SYS_RB_SEM_UNMAP, &[other, other_words]).unwrap();
    k.exit_process(&b);
}

#[test]
fn enomem_leaves_no_name_no_charge_and_no_page() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    let pages = k.memory().pages();
    k.memory().limit_pages(Some(pages));
    assert_eq!(open(k, "/nomem", true, 0), Err(ENOMEM));
    assert_eq!(open(k, "/nomem", false, 0), Err(ENOENT));
    assert_eq!(k.memory().pages(), pages);
    assert_accounting_zero(k);
    k.memory().limit_pages(None);
    let fd = open(k, "/nomem", true, 0).unwrap();
    k.memory().fail_maps(true);
    assert_eq!(sys(k, SYS_RB_SEM_MAP, &[fd]), Err(ENOMEM));
    k.memory().fail_maps(false);
    // The fd path works without a mapping.
    sys(k, SYS_RB_SEM_POST, &[fd, SemFlags::REF_FD.bits()]).unwrap();
    assert_eq!(fd_value(k, fd), 1);
    unlink(k, "/nomem").unwrap();
    k.close(fd).unwrap();
    assert_eq!(k.memory().pages(), pages);
    assert_accounting_zero(k);
}

#[test]
fn a_host_without_pages_answers_eopnotsupp_and_keeps_the_fd_path() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    k.set_no_pages(true);
    let pages = k.memory().pages();
    let fd = open(k, "/nopage", true, 1).unwrap();
    assert_eq!(k.memory().pages(), pages);
    assert_eq!(sys(k, SYS_RB_SEM_MAP, &[fd]), Err(EOPNOTSUPP));
    assert_eq!(sys(k, SYS_RB_SEM_UNMAP, &[fd, 0]), Err(EOPNOTSUPP));
    sys(k, SYS_RB_SEM_WAIT, &[fd, SemFlags::REF_FD.bits()]).unwrap();
    assert_eq!(
        sys(
            k,
            SYS_RB_SEM_WAIT,
            &[fd, (SemFlags::REF_FD | SemFlags::TRY).bits()]
        ),
        Err(EAGAIN)
    );
    unlink(k, "/nopage").unwrap();
}

#[test]
fn many_semaphores_map_one_page_each_and_all_go() {
    let e = Env::new(ClockMode::Virtual);
    let k = &e.k;
    let pages = k.memory().pages();
    let mut mapped = Vec::new();
    for i in 0..32 {
        let name = format!("/many{i}");
        let fd = open(k, &name, true, i).unwrap();
        let words = sys(k, SYS_RB_SEM_MAP, &[fd]).unwrap();
        assert_eq!(common::peek_u32(k, words), i);
        mapped.push((name, fd, words));
    }
    let mut addrs: Vec<usize> = mapped.iter().map(|m| m.2 / SHARED_PAGE_SIZE).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(addrs.len(), 32, "no two semaphores share a page");
    assert_eq!(k.memory().pages(), pages + 32);
    for (name, fd, words) in mapped {
        unlink(k, &name).unwrap();
        sys(k, SYS_RB_SEM_UNMAP, &[fd, words]).unwrap();
        k.close(fd).unwrap();
    }
    assert_eq!(k.memory().pages(), pages);
    assert_accounting_zero(k);
}
