//! The testbed's Linux-written C programs (`tests/qemu/c/posix_*.c` and
//! the `*_stress.c` programs with their exact totals) are
//! Linux programs: each is compiled here with the host `cc` against the
//! host's glibc headers (nothing of ours on the include path), run on the
//! host Linux kernel, and must exit 0 — the same source the QEMU testbed
//! builds against its own libc and the shim. `every_posix_program_is_listed`
//! keeps `PROGRAMS` in step with the files.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The programs, by file name without `.c`.
const PROGRAMS: &[&str] = &[
    "posix_cancel",
    "posix_cputime",
    "posix_exec",
    "posix_exec_stress",
    "posix_fork",
    "posix_ipc_signals",
    "posix_sigaltstack",
    "posix_sigchld",
    "posix_signal_one_thread",
    "posix_mq_sigev_thread",
    "posix_pipe",
    "posix_pthread_attr",
    "posix_shm",
    "posix_mmap",
    "posix_mutex_cond",
    "posix_signal_frames",
    "posix_signal_waits",
    "posix_stat",
    "posix_sysconf",
    "posix_time_format",
    "posix_timed_waits",
    "posix_timers",
    "eventfd_stress",
    "fdevents_poll_stress",
    "futex_stress",
    "mq_stress",
    "sem_stress",
    "sysv_msg_stress",
    "sysv_sem_stress",
    "timerfd_stress",
];
/// The longest one may run.
const TIMEOUT: Duration = Duration::from_secs(60);

fn c_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/qemu/c")
}

fn out_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/posix-c-glibc");
    std::fs::create_dir_all(&d).expect("create the output dir");
    d
}

/// Builds `name.c` with glibc, runs it, and returns its stdout; panics on
/// a build failure, a nonzero exit or a hang.
fn build_and_run(name: &str) -> String {
    let exe = out_dir().join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(cc)
        .args([
            "-std=gnu11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pthread",
        ])
        .arg(c_dir().join(format!("{name}.c")))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        out.status.success(),
        "{name}.c does not build with glibc:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    let mut child = Command::new(&exe)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    loop {
        if let Some(status) = child.try_wait().expect("wait for the program") {
            let out = child.wait_with_output().expect("collect output");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert!(
                status.success(),
                "{name} on Linux/glibc: {status}\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            return stdout;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{name}: still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn posix_programs_run_on_linux() {
    for name in PROGRAMS {
        let out = build_and_run(name);
        assert!(out.contains("all cases passed"), "{name}: {out}");
    }
}

#[test]
fn every_posix_program_is_listed() {
    let mut found: Vec<String> = std::fs::read_dir(c_dir())
        .expect("read tests/qemu/c")
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| (n.starts_with("posix_") || n.ends_with("_stress.c")) && n.ends_with(".c"))
        .map(|n| n.trim_end_matches(".c").to_string())
        .collect();
    found.sort();
    let mut listed: Vec<String> = PROGRAMS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "list every tests/qemu/c/posix_*.c and *_stress.c in PROGRAMS"
    );
}
