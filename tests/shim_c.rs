//! relibc-shim from C: every `relibc-shim/tests/c/*.c` program is compiled
//! with the host `cc` against `relibc-shim/include`, linked with the shim's
//! host staticlib (feature `hosted-backend`: its syscalls run on a hosted
//! kernel inside the program), run, and judged by its exit status. Also:
//! each public header compiles on its own (C11, -Wall -Werror).
//!
//! The staticlib is built once per run with
//! `cargo rustc -p relibc-shim --features hosted-backend --crate-type
//! staticlib` into `target/shim-host` (its own target dir, so this nested
//! cargo never waits on the outer one's lock).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Libraries a Rust std staticlib needs on Linux (`--print
/// native-static-libs`).
const NATIVE_LIBS: &[&str] = &[
    "-lgcc_s",
    "-lutil",
    "-lrt",
    "-lpthread",
    "-lm",
    "-ldl",
    "-lc",
];
/// The longest a C test may run.
const TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shim() -> PathBuf {
    root().join("relibc-shim")
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

fn out_dir() -> PathBuf {
    let d = root().join("target/shim-host/c-tests");
    std::fs::create_dir_all(&d).expect("create the C test output dir");
    d
}

/// The host staticlib, built once.
fn shim_lib() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let target_dir = root().join("target/shim-host");
        let status = Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["rustc", "-q", "-p", "relibc-shim", "--features"])
            .args([
                "hosted-backend",
                "--crate-type",
                "staticlib",
                "--target-dir",
            ])
            .arg(&target_dir)
            .status()
            .expect("run cargo");
        assert!(
            status.success(),
            "building the shim's host staticlib failed"
        );
        target_dir.join("debug/libredbear_shim.a")
    })
}

fn run(cmd: &mut Command) -> std::process::Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Compiles, links and runs `relibc-shim/tests/c/<name>.c`.
fn c_test(name: &str) {
    let src = shim().join("tests/c").join(format!("{name}.c"));
    build_and_run(&src, name, Libc::Shim);
}

/// What a C program is linked with.
#[derive(Clone, Copy, PartialEq)]
enum Libc {
    /// relibc-shim's headers and hosted staticlib (-DRB_SHIM_HOSTED).
    Shim,
    /// The host's glibc alone: the program runs on the host's Linux.
    Glibc,
}

/// Compiles `src` against `libc`, runs it as `exe`, and judges it by its
/// exit status.
fn build_and_run(src: &Path, exe: &str, libc: Libc) {
    let exe = out_dir().join(exe);
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g", "-pthread"]);
    if libc == Libc::Shim {
        cmd.arg("-DRB_SHIM_HOSTED")
            .arg("-I")
            .arg(shim().join("include"))
            .arg("-I")
            .arg(shim().join("tests/c"));
    }
    cmd.arg(src);
    if libc == Libc::Shim {
        cmd.arg(shim_lib()).args(NATIVE_LIBS);
    }
    let out = run(cmd.arg("-o").arg(&exe));
    let name = exe.display();
    assert!(
        out.status.success(),
        "{name} does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let start = Instant::now();
    let mut child = Command::new(&exe)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the C test");
    loop {
        if let Some(status) = child.try_wait().expect("wait for the C test") {
            let out = child.wait_with_output().expect("collect output");
            assert!(
                status.success(),
                "{name}: {status}\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            return;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            panic!("{name}: still running after {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A testbed C program (`tests/qemu/c/<name>.c`) written to run on Linux
/// too: built against the shim on the hosted kernel, and against glibc
/// on the host's Linux, whose behaviour it checks ours against.
fn testbed_c_both_ways(name: &str) {
    let src = root().join("tests/qemu/c").join(format!("{name}.c"));
    build_and_run(&src, &format!("{name}-shim"), Libc::Shim);
    build_and_run(&src, &format!("{name}-linux"), Libc::Glibc);
}

#[test]
fn testbed_sysv_msg_on_the_shim_and_on_linux() {
    testbed_c_both_ways("sysv_msg");
}

macro_rules! c_tests {
    ($($name:ident),* $(,)?) => {
        $( #[test] fn $name() { c_test(stringify!($name)); } )*
        const C_TESTS: &[&str] = &[$(stringify!($name)),*];
    };
}

c_tests!(
    layout,
    sem_unnamed,
    sem_threads,
    sem_named,
    eventfd,
    timerfd,
    signalfd,
    mq,
    mq_thread,
    efault,
    sysv_ipc
);

#[test]
fn every_c_program_is_a_test() {
    let mut found: Vec<String> = std::fs::read_dir(shim().join("tests/c"))
        .expect("relibc-shim/tests/c")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = C_TESTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(found, listed, "add the new C program to c_tests!");
}

fn headers(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read include dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            headers(&p, out);
        } else if p.extension().is_some_and(|x| x == "h") {
            out.push(p);
        }
    }
}

#[test]
fn each_header_compiles_on_its_own() {
    let inc = shim().join("include");
    let mut hs = Vec::new();
    headers(&inc, &mut hs);
    assert!(!hs.is_empty());
    for h in &hs {
        for defs in [&[][..], &["-D_GNU_SOURCE"], &["-D_POSIX_C_SOURCE=200809L"]] {
            let out = run(Command::new(cc())
                .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"])
                .args(defs)
                .arg("-I")
                .arg(&inc)
                .args(["-x", "c"])
                .arg(h));
            assert!(
                out.status.success(),
                "{} {defs:?}:\n{}",
                h.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // Included twice, and after the system headers it may meet.
        let name = h.strip_prefix(&inc).unwrap().display().to_string();
        let tu = out_dir().join("twice.c");
        std::fs::write(
            &tu,
            format!(
                "#define _GNU_SOURCE\n#include <limits.h>\n#include <fcntl.h>\n\
                 #include <{name}>\n#include <{name}>\nint main(void) {{ return 0; }}\n"
            ),
        )
        .unwrap();
        let out = run(Command::new(cc())
            .args([
                "-std=c11",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
                "-I",
            ])
            .arg(&inc)
            .arg(&tu));
        assert!(
            out.status.success(),
            "{name} twice:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
