//! The differential harness: run one operation sequence against the host
//! Linux kernel (through libc) and against our `dispatch` on the hosted
//! kernel, and compare every result and errno.
//!
//! A family supplies two `Backend`s over its own `Op` type; `run` drives
//! both in lockstep and reports the first step whose outcomes differ,
//! unless the family declares that step an expected divergence (the
//! documented places where we deliberately differ from Linux).
#![allow(dead_code)]

pub mod block;
pub mod users;

use std::fmt::Debug;

/// One step's outcome: a value (normalised by the backend so the two sides
/// are comparable, e.g. "an fd" rather than its number) or an errno.
pub type Outcome = Result<i64, i32>;

/// One side of a differential run.
pub trait Backend<Op> {
    /// Performs `op` and reports its outcome.
    fn apply(&mut self, op: &Op) -> Outcome;
}

/// Why a step may legitimately differ.
pub type Divergence<Op> = fn(&Op, &Outcome, &Outcome) -> bool;

/// Runs `ops` on both backends; Err describes the first mismatch with the
/// whole sequence up to it, for a minimal, readable failure.
pub fn run<Op: Debug>(
    ops: &[Op],
    linux: &mut dyn Backend<Op>,
    ours: &mut dyn Backend<Op>,
    allowed: Divergence<Op>,
) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        let want = linux.apply(op);
        let got = ours.apply(op);
        if want != got && !allowed(op, &want, &got) {
            return Err(format!(
                "step {i}: {op:?}\n  linux: {}\n  ours:  {}\n  sequence: {:?}",
                show(&want),
                show(&got),
                &ops[..=i]
            ));
        }
    }
    Ok(())
}

/// Human-readable outcome with the errno's name.
pub fn show(o: &Outcome) -> String {
    match o {
        Ok(v) => format!("Ok({v})"),
        Err(e) => format!("Err({})", errno_name(*e)),
    }
}

fn errno_name(e: i32) -> String {
    let name = match e {
        libc::EAGAIN => "EAGAIN",
        libc::EINVAL => "EINVAL",
        libc::ENOENT => "ENOENT",
        libc::EEXIST => "EEXIST",
        libc::EACCES => "EACCES",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EFAULT => "EFAULT",
        libc::EBADF => "EBADF",
        libc::EINTR => "EINTR",
        libc::EPERM => "EPERM",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// The calling thread's errno after a failed libc call.
pub fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A libc return value `r` (-1 on failure) as an `Outcome`.
pub fn libc_outcome(r: i64) -> Outcome {
    if r == -1 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}
pub mod sysv_linux;
