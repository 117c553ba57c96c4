//! The TAP runner: each embedded program runs in turn as a fresh process
//! (uid 0, arg 0); its exit status decides ok / not ok; a program that
//! exceeds its budget is killed and reported as a timeout.

use crate::{clock, process, programs, sched};

/// Per-program budget in clock time (virtual time by default): 10 s, or
/// `TESTBED_BUDGET_S` at build time.
pub const BUDGET_NS: u64 = crate::knobs::BUDGET_S as u64 * 1_000_000_000;
/// `TESTBED_TIMES=1` at build time: every program's clock time is printed
/// (otherwise only a program that used more than half its budget's).
const SHOW_TIMES: bool = option_env!("TESTBED_TIMES").is_some();
/// Time allowed for a killed test's tasks to leave.
const TEARDOWN_NS: u64 = 2_000_000_000;

/// Runs every program; returns the number that failed.
pub fn run_all(cpus: usize) -> usize {
    let progs = programs::all();
    let (mut passed, mut failed) = (0usize, 0usize);
    let runs = progs
        .iter()
        .cycle()
        .take(progs.len() * crate::knobs::REPEAT);
    for (i, prog) in runs.enumerate() {
        let n = i + 1;
        let group = n;
        let charged_before = crate::ipc::accounting();
        let sem_pages_before = process::sem_pages();
        let verdict = match process::spawn(prog.name, prog.image, 0, 0, group, 0) {
            Err(e) => Err(alloc::format!("# spawn failed: errno {}", -e.abs())),
            Ok(pid) => {
                let done = || process::status_of(pid).is_none_or(|(zombie, _)| zombie);
                let started = clock::now();
                let finished = sched::run_until(&done, started + BUDGET_NS);
                let took_ms = (clock::now() - started) / 1_000_000;
                let status = process::status_of(pid).and_then(|s| s.1);
                if !finished {
                    sched::describe_tasks(&process::group_pids(group));
                    sched::describe_jumps();
                    // A program that overran its budget by a hair looks
                    // like a lost wake-up (its last line printed, nothing
                    // left to run): say whether it ended after all.
                    println!(
                        "# timed out after {} ms of clock time; ended by now: {}",
                        took_ms,
                        done()
                    );
                } else if SHOW_TIMES || took_ms > BUDGET_NS / 1_000_000 / 2 {
                    if took_ms > BUDGET_NS / 1_000_000 / 2 {
                        sched::describe_jumps();
                    }
                    println!(
                        "# {} took {} ms of its {} ms budget",
                        prog.name,
                        took_ms,
                        BUDGET_NS / 1_000_000
                    );
                }
                process::kill_group(group);
                let pids = process::group_pids(group);
                sched::run_until(
                    &|| sched::live_tasks_of(&pids) == 0,
                    clock::now() + TEARDOWN_NS,
                );
                let stuck = sched::live_tasks_of(&pids);
                if stuck == 0 {
                    process::remove_group(group);
                    crate::ipc::remove_sysv_objects();
                }
                let charged_after = crate::ipc::accounting();
                let sem_pages_after = process::sem_pages();
                match (finished, status) {
                    _ if stuck > 0 => {
                        Err(alloc::format!("# teardown: {} tasks did not exit", stuck))
                    }
                    (false, _) => Err(alloc::string::String::from("# timeout")),
                    (true, Some(0)) if charged_after != charged_before => Err(alloc::format!(
                        "# accounting not refunded: {:?} before, {:?} after",
                        charged_before,
                        charged_after
                    )),
                    (true, Some(0)) if sem_pages_after != sem_pages_before => Err(alloc::format!(
                        "# semaphore pages left behind: {} before, {} after",
                        sem_pages_before,
                        sem_pages_after
                    )),
                    (true, Some(0)) => Ok(()),
                    (true, s) => Err(alloc::format!("# exit status {}", s.unwrap_or(-1))),
                }
            }
        };
        match verdict {
            Ok(()) => {
                passed += 1;
                println!("ok {} - {}", n, prog.name);
            }
            Err(why) => {
                failed += 1;
                println!("not ok {} - {} {}", n, prog.name, why);
            }
        }
    }
    println!(
        "# after the run: {} tasks, {} process records, kernel heap {} KiB in use",
        sched::task_count(),
        process::PROCS.lock().len(),
        crate::heap::used() / 1024
    );
    println!(
        "# task runs per CPU: {:?}; signal IPIs {}",
        sched::runs_per_cpu(cpus),
        sched::signal_ipis()
    );
    println!("1..{}", progs.len() * crate::knobs::REPEAT);
    println!("{} passed, {} failed", passed, failed);
    failed
}
