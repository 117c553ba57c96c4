//! The signal system calls beyond KILL/SIGPROCMASK: SIGACTION,
//! SIGSUSPEND, SIGTIMEDWAIT, THREAD_KILL, SETITIMER (ITIMER_REAL) and
//! SIGALTSTACK.
//! Delivery itself is `sigframe.rs`.

use redbear_ipc::kernel::SigInfo;
use testbed_abi::{errno::*, sig, ss, Itimerval, SigAction, StackT, Timespec};

use crate::process::{self, Pid};
use crate::sigframe::{self, unblockable};
use crate::signal::{bit, Action};
use crate::syscall::with_aspace;
use crate::{clock, sched, usermem};

type R = Result<usize, isize>;

fn valid(signo: usize) -> Result<(), isize> {
    if (1..=sig::NSIG).contains(&signo) {
        Ok(())
    } else {
        Err(EINVAL)
    }
}

/// SIGACTION(sig, new or 0, old or 0): the old action is written before
/// the new one takes effect, so a bad `old` changes nothing. Making a
/// signal ignored discards its pending instances.
pub fn sigaction(signo: usize, new_ptr: usize, old_ptr: usize) -> R {
    valid(signo)?;
    let new: Option<SigAction> = match new_ptr {
        0 => None,
        p => Some(with_aspace(|asp| usermem::read_val(asp, p))?),
    };
    if new.is_some() && (signo == sig::SIGKILL || signo == sig::SIGSTOP) {
        return Err(EINVAL);
    }
    let old = process::with_current(|p| p.sig.actions[signo - 1]).ok_or(ESRCH)?;
    if old_ptr != 0 {
        with_aspace(|asp| usermem::write_val(asp, old_ptr, &old))?;
    }
    if let Some(mut act) = new {
        act.mask &= !unblockable();
        process::with_current(|p| {
            p.sig.actions[signo - 1] = act;
            if p.sig.action(signo) == Action::Ignore {
                p.sig.discard(signo);
            }
        })
        .ok_or(ESRCH)?;
    }
    Ok(0)
}

/// SIGSUSPEND(mask): waits with `mask` until a signal is delivered; the
/// old mask comes back after its handler (`sigframe::deliver`).
pub fn sigsuspend(mask_ptr: usize) -> R {
    let mask: u64 = with_aspace(|asp| usermem::read_val(asp, mask_ptr))?;
    let old = sched::set_current_sigmask(|_| mask & !unblockable());
    sched::swap_saved_mask(Some(old));
    while sched::park(None) != sched::Wake::Interrupted {}
    Err(EINTR)
}

fn take_in(set: u64) -> Option<(SigInfo, bool)> {
    if let Some(s) = sched::take_thread_signal(set) {
        return process::with_current(|p| (sigframe::thread_info(p, s), false));
    }
    process::take_signal(set).map(|i| (i, true))
}

fn ts_ns(ts: &Timespec) -> Result<u64, isize> {
    if ts.tv_sec < 0 || !(0..1_000_000_000).contains(&ts.tv_nsec) {
        return Err(EINVAL);
    }
    Ok((ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64))
}

/// SIGTIMEDWAIT(set, info or 0, timeout or 0): while it waits, the signals
/// of `set` are unblocked for the caller (Linux's real_blocked), so their
/// arrival wakes it; the mask is back as it was on return.
pub fn sigtimedwait(set_ptr: usize, info_ptr: usize, ts_ptr: usize) -> R {
    let set: u64 = with_aspace(|asp| usermem::read_val(asp, set_ptr))?;
    let set = set & !unblockable();
    let deadline = match ts_ptr {
        0 => None,
        p => {
            let ts: Timespec = with_aspace(|asp| usermem::read_val(asp, p))?;
            Some(clock::now().saturating_add(ts_ns(&ts)?))
        }
    };
    let old = sched::set_current_sigmask(|m| m & !set);
    let got = loop {
        if let Some(hit) = take_in(set) {
            break Ok(hit);
        }
        match sched::park(deadline) {
            sched::Wake::TimedOut => break Err(EAGAIN),
            sched::Wake::Interrupted => {
                if let Some(hit) = take_in(set) {
                    break Ok(hit);
                }
                break Err(EINTR);
            }
            sched::Wake::Unparked => {}
        }
    };
    sched::set_current_sigmask(|_| old);
    let (info, from_process) = got?;
    if info_ptr != 0 {
        let wrote = with_aspace(|asp| usermem::write(asp, info_ptr, &sigframe::encode(&info)));
        if let Err(e) = wrote {
            if from_process {
                process::restore_signal(info);
            }
            return Err(e);
        }
    }
    Ok(info.signo as usize)
}

/// THREAD_KILL(tid, sig): tgkill within the caller's process. A signal
/// the thread would ignore and does not block is discarded at once.
pub fn thread_kill(tid: usize, signo: usize) -> R {
    let pid: Pid = sched::current_pid();
    if signo == 0 {
        return match sched::sigmask_of(tid as u64) {
            Some(_)
                if process::with_current(|p| p.threads.contains(&(tid as u64))) == Some(true) =>
            {
                Ok(0)
            }
            _ => Err(ESRCH),
        };
    }
    valid(signo)?;
    let ignored = process::with_current(|p| p.sig.action(signo) == Action::Ignore).ok_or(ESRCH)?;
    let blocked = sched::sigmask_of(tid as u64).ok_or(ESRCH)? & bit(signo) != 0;
    if ignored && !blocked {
        return Ok(0);
    }
    if sched::thread_kill(pid, tid as u64, signo) {
        Ok(0)
    } else {
        Err(ESRCH)
    }
}

/// SIGPIPE to the calling thread (a write with no reader open), unless
/// it is ignored and not blocked.
pub fn raise_pipe() {
    let _ = thread_kill(sched::current() as usize, 13);
}

fn tv_ns(sec: i64, usec: i64) -> Result<u64, isize> {
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(usec as u64 * 1000))
}

/// SETITIMER(new or 0, old or 0) for ITIMER_REAL.
pub fn setitimer(new_ptr: usize, old_ptr: usize) -> R {
    let new: Option<Itimerval> = match new_ptr {
        0 => None,
        p => Some(with_aspace(|asp| usermem::read_val(asp, p))?),
    };
    let arm = match new {
        Some(v) => Some((
            tv_ns(v.value_sec, v.value_usec)?,
            tv_ns(v.interval_sec, v.interval_usec)?,
        )),
        None => None,
    };
    let now = clock::now();
    let cur = process::with_current(|p| p.itimer).ok_or(ESRCH)?;
    if old_ptr != 0 {
        let (left, every) = cur.map_or((0, 0), |(at, every)| {
            (at.saturating_sub(now).max(1000), every)
        });
        let us = |ns: u64| {
            (
                (ns / 1_000_000_000) as i64,
                ((ns % 1_000_000_000) / 1000) as i64,
            )
        };
        let ((vs, vu), (is, iu)) = (us(left), us(every));
        let old = Itimerval {
            interval_sec: is,
            interval_usec: iu,
            value_sec: vs,
            value_usec: vu,
        };
        with_aspace(|asp| usermem::write_val(asp, old_ptr, &old))?;
    }
    if let Some((value, every)) = arm {
        let timer = (value > 0).then(|| (now.saturating_add(value), every));
        process::with_current(|p| p.itimer = timer).ok_or(ESRCH)?;
    }
    Ok(0)
}

/// Whether `sp` lies on the alternate stack `alt` (base, size), as
/// Linux's on_sig_stack tests it for a stack growing down.
pub fn on_altstack(sp: usize, alt: (usize, usize)) -> bool {
    alt.1 != 0 && sp > alt.0 && sp - alt.0 <= alt.1
}

/// SIGALTSTACK(new or 0, old or 0) of the calling thread, whose user
/// stack pointer is `sp`; Linux's do_sigaltstack: the old stack reports
/// SS_DISABLE (none) or SS_ONSTACK (running on it); a change while on
/// it is EPERM, a mode other than 0 / SS_ONSTACK / SS_DISABLE EINVAL (so
/// is SS_AUTODISARM, which is not built), a size below MINSIGSTKSZ
/// ENOMEM; the old one is written only on success.
pub fn sigaltstack(sp: usize, new_ptr: usize, old_ptr: usize) -> R {
    let cur = sched::current_altstack();
    let old = StackT {
        sp: cur.0 as u64,
        flags: if cur.1 == 0 {
            ss::SS_DISABLE
        } else if on_altstack(sp, cur) {
            ss::SS_ONSTACK
        } else {
            0
        },
        pad: 0,
        size: cur.1 as u64,
    };
    if new_ptr != 0 {
        let new: StackT = with_aspace(|asp| usermem::read_val(asp, new_ptr))?;
        if on_altstack(sp, cur) {
            return Err(EPERM);
        }
        let alt = match new.flags {
            ss::SS_DISABLE => (0, 0),
            0 | ss::SS_ONSTACK if new.size < ss::MINSIGSTKSZ => return Err(ENOMEM),
            0 | ss::SS_ONSTACK => {
                let size = usize::try_from(new.size).map_err(|_| ENOMEM)?;
                (new.sp as usize, size)
            }
            _ => return Err(EINVAL),
        };
        sched::set_altstack_of(sched::current(), alt);
    }
    if old_ptr != 0 {
        with_aspace(|asp| usermem::write_val(asp, old_ptr, &old))?;
    }
    Ok(0)
}
