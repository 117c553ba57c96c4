//! The Linux side's machinery for SysV differentials: a fresh IPC
//! namespace per case, actors that are threads with their own effective
//! ids, a do-nothing handler for the signal that interrupts blocked
//! callers, and how to see that a thread sleeps in a given syscall.
#![allow(dead_code)]

use std::sync::Once;
use std::time::{Duration, Instant};

/// The signal that interrupts blocked callers (with SA_RESTART: SysV
/// calls must still fail EINTR).
pub const SIGNAL: i32 = libc::SIGUSR1;

extern "C" fn on_signal(_: libc::c_int) {}

/// Installs the handler for `SIGNAL`, once per test binary.
pub fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a plain sigaction with a handler that does nothing.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(SIGNAL, &sa, std::ptr::null_mut()), 0);
        }
    });
}

/// Makes the calling thread (or a forked child) act as `(uid, gid)`: its
/// own effective ids and no supplementary groups (raw syscalls change one
/// thread only). Root stays as it is.
pub fn become_ids(uid: u32, gid: u32) {
    if uid == 0 {
        return;
    }
    // SAFETY: credential syscalls on the calling thread.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
            0
        );
        assert_eq!(libc::syscall(libc::SYS_setresgid, -1, gid, -1), 0);
        assert_eq!(libc::syscall(libc::SYS_setresuid, -1, uid, -1), 0);
    }
}

/// Runs `f` on a thread acting as `(uid, gid)` and waits for it.
pub fn as_actor<R: Send>(uid: u32, gid: u32, f: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        s.spawn(|| {
            become_ids(uid, gid);
            f()
        })
        .join()
        .expect("actor thread")
    })
}

/// Whether thread `tid` of this process sleeps in syscall `nr`.
pub fn sleeping_in(tid: i32, nr: libc::c_long) -> bool {
    let dir = format!("/proc/self/task/{tid}");
    let stat = std::fs::read_to_string(format!("{dir}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    let call = std::fs::read_to_string(format!("{dir}/syscall")).unwrap_or_default();
    state == Some("S") && call.split_whitespace().next() == Some(&nr.to_string())
}

/// Polls until `tid` sleeps in `nr` (true) or `finished` says it ended
/// (false); panics after a generous bound.
pub fn wait_asleep(tid: i32, nr: libc::c_long, finished: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if sleeping_in(tid, nr) {
            return true;
        }
        if finished() {
            return false;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "never slept or ended"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Runs `case` on a thread of its own in a fresh IPC namespace (which
/// needs root, as CI runs), so ids and *_INFO totals compare exactly and
/// nothing is left in the host's namespace.
pub fn in_fresh_namespace(
    case: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    install_handler();
    std::thread::spawn(move || {
        // SAFETY: unshare on this thread only; it then owns a fresh IPC
        // namespace that dies with it and the threads it spawns.
        if unsafe { libc::unshare(libc::CLONE_NEWIPC) } != 0 {
            return Err(format!(
                "unshare(CLONE_NEWIPC) failed ({}): the differential needs root",
                std::io::Error::last_os_error()
            ));
        }
        case()
    })
    .join()
    .map_err(|_| "case thread panicked".to_string())?
}
