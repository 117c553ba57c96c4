//! Helpers of the conformance tests: a case runs once through `dispatch`
//! on the hosted kernel and once on the host Linux, each side reducing its
//! results to a list of numbers (a value, or minus the errno), and the two
//! lists must be equal, so the expectation is measured, not assumed.
//!
//! The Linux side runs in a forked child that enters a fresh IPC namespace
//! (`unshare(CLONE_NEWIPC)`, which needs root, as CI runs; the default
//! limits hold there and every object dies with the namespace) and then
//! takes uid 1000 / gid 1000 and umask 022, the credentials of the hosted
//! side's `Env`.
#![allow(dead_code)]

/// One result as a number: the value, or minus the errno.
pub fn ours(r: Result<usize, i32>) -> i64 {
    match r {
        Ok(v) => v as i64,
        Err(e) => -i64::from(e),
    }
}

/// A libc return value (-1 and errno on failure) as a number.
pub fn lx(r: i64) -> i64 {
    if r == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    }
}

/// Runs `f` in a child in a fresh IPC namespace as uid/gid 1000 with umask
/// 022 and returns its numbers; a child that could not set up, crashed
/// or reported nothing fails the test.
pub fn on_linux(f: impl FnOnce() -> Vec<i64>) -> Vec<i64> {
    in_child(false, f)
}

/// As `on_linux`, but the child keeps real and saved uid 0 (effective
/// uid/gid 1000), so `act_as` can switch its effective ids: a case with
/// several users (root among them) in one process.
pub fn on_linux_switchable(f: impl FnOnce() -> Vec<i64>) -> Vec<i64> {
    in_child(true, f)
}

/// Makes the calling thread of an `on_linux_switchable` child act as
/// `(uid, gid)` (raw syscalls: this thread only; root's capabilities
/// come back with effective uid 0).
pub fn act_as(uid: u32, gid: u32) {
    // SAFETY: credential syscalls on the calling thread.
    let ok = unsafe {
        libc::syscall(libc::SYS_setresuid, -1, 0, -1) == 0
            && libc::syscall(libc::SYS_setresgid, -1, gid, -1) == 0
            && libc::syscall(libc::SYS_setresuid, -1, uid, -1) == 0
    };
    assert!(ok, "act_as({uid}, {gid})");
}

fn in_child(switchable: bool, f: impl FnOnce() -> Vec<i64>) -> Vec<i64> {
    let mut pipe = [0i32; 2];
    // SAFETY: `pipe` is a valid array of two ints.
    assert_eq!(unsafe { libc::pipe(pipe.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: the child only makes system calls, runs `f` and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        // SAFETY: plain system calls on the child's own state.
        let ok = unsafe {
            libc::close(pipe[0]);
            libc::unshare(libc::CLONE_NEWIPC) == 0
                && libc::setgroups(0, std::ptr::null()) == 0
                && if switchable {
                    libc::setresgid(0, 1000, 0) == 0 && libc::setresuid(0, 1000, 0) == 0
                } else {
                    libc::setresgid(1000, 1000, 1000) == 0 && libc::setresuid(1000, 1000, 1000) == 0
                }
        };
        let code = if ok {
            // SAFETY: umask cannot fail.
            unsafe { libc::umask(0o022) };
            // A panic must not unwind into the test harness's copy here.
            let Ok(out) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) else {
                // SAFETY: ends the child at once.
                unsafe { libc::_exit(3) };
            };
            let bytes: Vec<u8> = out.iter().flat_map(|v| v.to_ne_bytes()).collect();
            // SAFETY: `bytes` is valid for its length.
            let n = unsafe { libc::write(pipe[1], bytes.as_ptr().cast(), bytes.len()) };
            i32::from(n != bytes.len() as isize)
        } else {
            2
        };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    // SAFETY: closing our copy of the write end.
    unsafe { libc::close(pipe[1]) };
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::read(pipe[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n as usize]);
    }
    let mut status = 0;
    // SAFETY: waits for our own child.
    unsafe {
        libc::close(pipe[0]);
        libc::waitpid(pid, &mut status, 0);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the Linux child failed (status {status:#x})"
    );
    raw.chunks_exact(8)
        .map(|c| i64::from_ne_bytes(c.try_into().unwrap_or([0; 8])))
        .collect()
}

/// Asserts that both sides produced the same numbers.
pub fn agree(case: &str, linux: Vec<i64>, ours: Vec<i64>) {
    eprintln!("{case}: linux {linux:?}");
    assert_eq!(linux, ours, "{case}: linux (left) and ours (right) differ");
}
