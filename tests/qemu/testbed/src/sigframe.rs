//! Signal delivery on the way back to user mode: the signal frame a
//! handler runs on, `SIGRETURN`, and the SA_RESTART rule.
//!
//! The frame, at a 16-byte aligned `base` below the interrupted stack
//! pointer (and its 128-byte red zone), lowest address first:
//!
//! | offset | what |
//! |---|---|
//! | 0 | `siginfo_t` (128 bytes, Linux layout: si_signo 0, si_errno 4, si_code 8, si_pid 16, si_uid 20, si_value / si_status 24) |
//! | 128 | `FrameHead`: the mask to restore, a magic word |
//! | 144 | `arch::UserContext`: every general and FP/SIMD register |
//!
//! The handler starts as `handler(signo, &siginfo, &FrameHead)` with the
//! stack pointer at `base` (x86_64: `base - 8`, holding the restorer as
//! return address; aarch64: x30 = the restorer). The restorer calls
//! SIGRETURN with the stack pointer back at `base`, which restores the
//! context and the mask exactly. A frame that cannot be written or read
//! back ends the process with 128 + SIGSEGV, as Linux's force_sigsegv.

use redbear_ipc::kernel::SigInfo;
use testbed_abi::{sa, sig};

use crate::arch::{TrapFrame, UserContext, RETURN_ADDRESS_ON_STACK};
use crate::signal::{bit, Action};
use crate::{process, sched, syscall, usermem};

const INFO_SIZE: usize = 128;
const MAGIC: u64 = 0x5349_4746_5241_4d45; // "SIGFRAME"
/// Below the interrupted stack pointer: x86_64's red zone.
const RED_ZONE: usize = 128;
/// Linux's si_code for a thread-directed kill (tgkill).
pub const SI_TKILL: i32 = -6;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct FrameHead {
    mask: u64,
    magic: u64,
}

const HEAD_AT: usize = INFO_SIZE;
const CTX_AT: usize = INFO_SIZE + core::mem::size_of::<FrameHead>();
const FRAME_SIZE: usize = CTX_AT + core::mem::size_of::<UserContext>();

/// SIGKILL and SIGSTOP, which no mask holds.
pub fn unblockable() -> u64 {
    bit(sig::SIGKILL) | bit(sig::SIGSTOP)
}

/// `info` as Linux's 128-byte siginfo_t.
pub fn encode(info: &SigInfo) -> [u8; INFO_SIZE] {
    let mut b = [0u8; INFO_SIZE];
    b[0..4].copy_from_slice(&(info.signo as i32).to_ne_bytes());
    b[4..8].copy_from_slice(&info.errno.to_ne_bytes());
    b[8..12].copy_from_slice(&info.code.to_ne_bytes());
    b[16..20].copy_from_slice(&info.pid.to_ne_bytes());
    b[20..24].copy_from_slice(&info.uid.to_ne_bytes());
    if info.signo as usize == sig::SIGCHLD {
        b[24..28].copy_from_slice(&info.status.to_ne_bytes());
    } else {
        b[24..32].copy_from_slice(&info.ptr.to_ne_bytes());
    }
    b
}

/// What a thread-directed signal `s` (THREAD_KILL) carries: the sender
/// is this process.
pub fn thread_info(p: &process::Process, s: usize) -> SigInfo {
    SigInfo {
        signo: s as u32,
        code: SI_TKILL,
        pid: p.pid,
        uid: p.uid,
        ..SigInfo::default()
    }
}

/// The next deliverable signal of the running thread under `mask`: its
/// own (thread-directed) first, then the process's lowest.
fn next(mask: u64) -> Option<(SigInfo, Action)> {
    if let Some(s) = sched::take_thread_signal(!mask) {
        return process::with_current(|p| (thread_info(p, s), p.sig.action(s)));
    }
    process::with_current(|p| {
        let info = p.sig.take(p.sig.pending() & !mask)?;
        Some((info, p.sig.action(info.signo as usize)))
    })
    .flatten()
}

/// Acts on the pending signals the running thread does not block:
/// ignored and caught ones are consumed, a fatal one ends the process, a
/// handler gets a frame (one per return). `restart` is the system call
/// that just returned EINTR, when Linux restarts it under SA_RESTART.
/// Returns whether the frame now enters a handler.
pub fn deliver(frame: &mut TrapFrame, restart: Option<(usize, [usize; 6])>) -> bool {
    loop {
        let mask = sched::current_sigmask();
        let Some((info, action)) = next(mask) else {
            break;
        };
        sched::count_trap(sched::Trap::Taken);
        let s = info.signo as usize;
        match action {
            Action::Ignore | Action::Catch => continue,
            Action::Terminate => process::exit_by_signal(s),
            Action::Handler(act) => {
                if let Some((nr, args)) = restart {
                    if act.flags & sa::SA_RESTART != 0 {
                        frame.rewind_syscall(nr, &args);
                    }
                }
                let restore_mask = sched::swap_saved_mask(None).unwrap_or(mask);
                if push(
                    frame,
                    &info,
                    act.handler as usize,
                    act.restorer as usize,
                    restore_mask,
                    act.flags & sa::SA_ONSTACK != 0,
                )
                .is_err()
                {
                    process::exit_by_signal(sig::SIGSEGV);
                }
                sched::count_trap(sched::Trap::Frame);
                let mut during = mask | act.mask;
                if act.flags & sa::SA_NODEFER == 0 {
                    during |= bit(s);
                }
                sched::set_current_sigmask(|_| during & !unblockable());
                if act.flags & sa::SA_RESETHAND != 0 {
                    let _ = process::with_current(|p| p.sig.actions[s - 1] = Default::default());
                }
                return true;
            }
        }
    }
    if let Some(m) = sched::swap_saved_mask(None) {
        sched::set_current_sigmask(|_| m);
    }
    false
}

/// Writes the frame below the interrupted stack, or at the top of the
/// thread's alternate stack for an SA_ONSTACK handler that does not run
/// on it yet (Linux's get_sigframe: a nested one stays below the frame
/// already there), and points `frame` at the handler.
fn push(
    frame: &mut TrapFrame,
    info: &SigInfo,
    handler: usize,
    restorer: usize,
    restore_mask: u64,
    onstack: bool,
) -> Result<(), isize> {
    if !TrapFrame::user_address_ok(handler) {
        return Err(0);
    }
    let sp = frame.user_sp();
    let alt = sched::current_altstack();
    let nested = crate::sigcalls::on_altstack(sp, alt);
    let entering = onstack && alt.1 != 0 && !nested;
    let below = if entering {
        alt.0.checked_add(alt.1).ok_or(0isize)?
    } else {
        sp.checked_sub(RED_ZONE).ok_or(0isize)?
    };
    let base = below.checked_sub(FRAME_SIZE + 16).ok_or(0isize)? & !15;
    // A frame that would overflow the alternate stack is not written
    // below it (the process ends with SIGSEGV, as Linux's get_sigframe
    // refuses it).
    if (nested || entering) && !crate::sigcalls::on_altstack(base.saturating_sub(8), alt) {
        return Err(0);
    }
    let ctx = UserContext::save(frame);
    let head = FrameHead {
        mask: restore_mask,
        magic: MAGIC,
    };
    let handler_sp = if RETURN_ADDRESS_ON_STACK {
        base - 8
    } else {
        base
    };
    syscall::with_aspace(|asp| {
        usermem::write(asp, base, &encode(info))?;
        usermem::write_val(asp, base + HEAD_AT, &head)?;
        usermem::write_val(asp, base + CTX_AT, &ctx)?;
        if RETURN_ADDRESS_ON_STACK {
            usermem::write_val(asp, handler_sp, &(restorer as u64))?;
        }
        Ok(())
    })?;
    frame.enter_handler(
        handler,
        handler_sp,
        [info.signo as usize, base, base + HEAD_AT],
        restorer,
    );
    Ok(())
}

/// SIGRETURN: restores the context and mask saved at the stack pointer.
/// False if the frame is unreadable or not one of ours.
pub fn sigreturn(frame: &mut TrapFrame) -> bool {
    let base = frame.user_sp();
    let read = syscall::with_aspace(|asp| {
        let head: FrameHead = usermem::read_val(asp, base.wrapping_add(HEAD_AT))?;
        let ctx: UserContext = usermem::read_val(asp, base.wrapping_add(CTX_AT))?;
        Ok((head, ctx))
    });
    let Ok((head, ctx)) = read else {
        return false;
    };
    if head.magic != MAGIC || !ctx.restore(frame) {
        return false;
    }
    sched::set_current_sigmask(|_| head.mask & !unblockable());
    true
}
