//! The trap benchmark (`benches/trap/ipc_bench.c`, run by `ci/bench` under
//! QEMU) must not rot between runs of the benchmark: it is compiled here
//! with the host `cc` against glibc and run once in its `quick` mode (a
//! few iterations of each row, well under a second). Only that it builds,
//! runs every row without a failure and prints its machine-readable lines
//! is checked; its figures are not (they are host cycles here, not
//! instruction counts).

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `RBBENCH <row> <per-op> <syscalls x100 or ->` line, parsed.
fn row(line: &str) -> Option<(&str, u64)> {
    let mut f = line.strip_prefix("RBBENCH ")?.split(' ');
    let (name, per_op, sys) = (f.next()?, f.next()?, f.next()?);
    if f.next().is_some() || (sys != "-" && sys.parse::<u64>().is_err()) {
        return None;
    }
    Some((name, per_op.parse().ok()?))
}

/// Builds `benches/trap/<name>.c` with the host `cc`, runs it `quick`,
/// checks its framing lines and returns its output and rows.
fn build_and_run(name: &str) -> (String, Vec<(String, u64)>) {
    let dir = root().join("target/ipc-bench-host");
    std::fs::create_dir_all(&dir).expect("create the output dir");
    let exe = dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = Command::new(cc)
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread"])
        .arg(root().join(format!("benches/trap/{name}.c")))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        built.status.success(),
        "{name}.c does not build:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let ran = Command::new(&exe)
        .arg("quick")
        .output()
        .expect("run the benchmark");
    let stdout = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(
        ran.status.success(),
        "{name} failed: {}\n{stdout}",
        ran.status
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines
        .first()
        .is_some_and(|l| l.starts_with("RBBENCH_BEGIN linux ")));
    assert_eq!(lines.last(), Some(&"RBBENCH_END 0"), "{stdout}");
    assert!(!stdout.contains("RBBENCH_FAIL"), "{stdout}");
    let rows: Vec<(String, u64)> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| row(l).unwrap_or_else(|| panic!("not a row line: {l:?}")))
        .map(|(n, v)| (n.to_string(), v))
        .collect();
    // Every row measured something (the counter moved).
    assert!(rows.iter().all(|(_, v)| *v > 0), "{stdout}");
    (stdout, rows)
}

#[test]
fn ipc_bench_builds_and_runs_on_glibc() {
    let (stdout, rows) = build_and_run("ipc_bench");
    for want in [
        "null_getpid",
        "futex_wake_nowaiter",
        "futex_pingpong",
        "sem_post_wait",
        "named_sem_post_wait",
        "named_sem_pingpong_2proc",
        "named_sem_post_wait_2proc",
        "eventfd_write_read",
        "poll_256_fds",
        "timerfd_gettime",
        "kill_signalfd_read",
        "msgsnd_msgrcv_64",
        "msgrcv_typed_10_others",
        "mq_send_receive_64",
        "mq_send_receive_8192",
        "semop_up_down_two_calls",
        "semop_up_down_one_call",
    ] {
        assert!(
            rows.iter().any(|(n, _)| n == want),
            "no row {want}:\n{stdout}"
        );
    }
}

/// The curves (`ipc_curves.c`, the same harness): in `quick` mode each
/// curve runs to K = 100, each in a child process, and every curve
/// reports its three points.
#[test]
fn ipc_curves_builds_and_runs_on_glibc() {
    let (stdout, rows) = build_and_run("ipc_curves");
    for curve in [
        "futex_wake_nowaiter_parked_elsewhere",
        "futex_wake_1_of_waiters_on_one_word",
        "semop_wake_1_of_waiters_on_one_semaphore",
        "timerfd_arm_disarm_armed",
        "eventfd_write_read_others_open",
        "kill_signalfd_read_others_open",
        "msgsnd_msgrcv_64_other_queues",
        "semop_up_down_one_call_other_sets",
        "mq_send_receive_64_other_queues",
    ] {
        for k in [1, 10, 100] {
            let want = format!("{curve}_{k}");
            assert!(
                rows.iter().any(|(n, _)| *n == want),
                "no row {want}:\n{stdout}"
            );
        }
    }
}
