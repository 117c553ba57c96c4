//! EXEC: execv(2) of an embedded program. The archive is the file
//! system: a path names the program by its last component ("/bin/x",
//! "./x" and "x" are all program "x").
//!
//! Everything that can fail (the arguments, the name, loading the image)
//! is done before the process changes, so a failed EXEC returns to the
//! unchanged caller. Then the other threads end (Linux's de_thread), the
//! process takes the new image (`process::exec_swap`), and the calling
//! thread's trap frame is reset to the new entry point with every
//! register zeroed.

use alloc::vec::Vec;

use testbed_abi::errno::*;

use crate::arch::TrapFrame;
use crate::process::{self, MAX_ARGS, MAX_ARG_BYTES};
use crate::syscall::with_aspace;
use crate::{programs, sched, usermem};

/// Longest program path accepted.
const MAX_PATH: usize = 4096;

/// Reads the NUL-terminated string at `ptr`, at most `limit` bytes
/// before the NUL (E2BIG beyond; EFAULT for an unmapped byte).
fn read_cstr(ptr: usize, limit: usize) -> Result<Vec<u8>, isize> {
    let mut out = Vec::new();
    with_aspace(|asp| loop {
        let mut b = [0u8; 1];
        usermem::read(asp, ptr + out.len(), &mut b)?;
        if b[0] == 0 {
            return Ok(Ok(()));
        }
        if out.len() >= limit {
            return Ok(Err(E2BIG));
        }
        out.push(b[0]);
    })??;
    Ok(out)
}

/// The argument strings of the null-terminated pointer array at `argv`.
fn read_argv(argv: usize) -> Result<Vec<Vec<u8>>, isize> {
    let mut args = Vec::new();
    let mut bytes = 0usize;
    loop {
        if args.len() > MAX_ARGS {
            return Err(E2BIG);
        }
        let p: u64 = with_aspace(|asp| usermem::read_val(asp, argv + args.len() * 8))?;
        if p == 0 {
            return Ok(args);
        }
        let s = read_cstr(p as usize, MAX_ARG_BYTES - bytes)?;
        bytes += s.len() + 1;
        if bytes > MAX_ARG_BYTES {
            return Err(E2BIG);
        }
        args.push(s);
    }
}

/// EXEC(path, path_len, argv). Ok: `frame` now enters the new image.
pub fn exec(frame: &mut TrapFrame, a: [usize; 6]) -> Result<(), isize> {
    let (path_ptr, path_len, argv) = (a[0], a[1], a[2]);
    if path_len > MAX_PATH {
        return Err(36); // ENAMETOOLONG
    }
    let mut path = alloc::vec![0u8; path_len];
    with_aspace(|asp| usermem::read(asp, path_ptr, &mut path))?;
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
    let name = core::str::from_utf8(name).map_err(|_| ENOENT)?;
    if name.is_empty() {
        return Err(ENOENT);
    }
    let prog = programs::find(name).ok_or(ENOENT)?;
    let args = read_argv(argv)?;
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    let img = process::load_image(prog.image, &refs)?;
    let (entry, sp) = (img.entry, img.sp);
    if let Err(e) = process::exec_end_other_threads() {
        img.discard();
        return Err(e);
    }
    process::exec_swap(img, prog.name)?;
    sched::set_altstack_of(sched::current(), (0, 0));
    frame.exec_reset(entry, sp, 0);
    Ok(())
}
