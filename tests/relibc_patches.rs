//! The relibc patch series (kernel-patches/relibc/*.patch) against this
//! repository: every `SYS_RB_*` name it uses is an implemented number of
//! `redbear_ipc::syscall::numbers::ALL`, every C function relibc-shim
//! exports is defined in the series under the relibc header directory that
//! matches the shim's header, and the Redox-specific duties the kernel
//! leaves to the libc (an explicit fd slot, close-on-exec recorded by
//! redox-rt) are there.
//!
//! Runs on the patch text alone: no relibc source is needed.

mod series;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use redbear_ipc::syscall::numbers::{Status, ALL};

/// The commit of redox-os/relibc the series applies to.
const PINNED: &str = "6359922768c68a86e509c03555e0efcd97368972";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn series_dir() -> PathBuf {
    root().join("kernel-patches").join("relibc")
}

/// The series in order.
fn patches() -> Vec<(String, String)> {
    series::read(&series_dir())
}

/// The new side of the series' hunks, per file (`diff --git a/X b/X`), in
/// order: added lines and the context around them (a rewritten file keeps
/// some of its old lines as context).
fn series_additions() -> BTreeMap<String, Vec<String>> {
    series::additions(&patches(), series::Side::New)
}

/// The C functions a shim header declares: `type name(...)` at the start
/// of a line, `*` allowed before the name.
fn header_functions(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let l = line.trim_end();
        if !l.starts_with(|c: char| c.is_ascii_lowercase()) || l.starts_with("typedef") {
            continue;
        }
        let Some(paren) = l.find('(') else { continue };
        let before = l[..paren].trim_end();
        let name: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        // A declaration has a type before the name.
        if !name.is_empty() && before.len() > name.len() {
            out.insert(name);
        }
    }
    out
}

/// Shim headers: (path under include/, text).
fn shim_headers() -> Vec<(String, String)> {
    let inc = root().join("relibc-shim").join("include");
    let mut out = Vec::new();
    let mut stack = vec![inc.clone()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).expect("relibc-shim/include exists") {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "h") {
                let rel = p
                    .strip_prefix(&inc)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// relibc's header directory for a header path: `sys/eventfd.h` ->
/// `src/header/sys_eventfd/mod.rs` (its Makefile maps `_` to `/`).
fn relibc_module(header: &str) -> String {
    format!(
        "src/header/{}/mod.rs",
        header.trim_end_matches(".h").replace('/', "_")
    )
}

/// `#[no_mangle]` / `#[unsafe(no_mangle)]` `extern "C" fn` names in Rust
/// source lines (doc comments and other attributes may stand between).
fn exported_fns(lines: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut pending = false;
    for line in lines {
        let t = line.trim();
        if t == "#[no_mangle]" || t == "#[unsafe(no_mangle)]" {
            pending = true;
            continue;
        }
        if pending && (t.starts_with("///") || t.starts_with("#[") || t.starts_with("//")) {
            continue;
        }
        if pending {
            if let Some(pos) = t.find("extern \"C\" fn ") {
                let rest = &t[pos + "extern \"C\" fn ".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
        pending = false;
    }
    out
}

fn shim_source_exports() -> BTreeSet<String> {
    let src = root().join("relibc-shim").join("src");
    let mut out = BTreeSet::new();
    for e in fs::read_dir(&src).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "rs") {
            let lines: Vec<String> = fs::read_to_string(&p)
                .unwrap()
                .lines()
                .map(String::from)
                .collect();
            out.extend(exported_fns(&lines));
        }
    }
    out
}

#[test]
fn the_series_is_git_am_shaped_and_numbered() {
    let ps = patches();
    assert!(ps.len() >= 4, "the relibc series has its patches");
    // Numbers are handed out per family before the patches land, so the
    // series may have a gap while one is pending; they only go up.
    let mut last = 0u32;
    for (name, text) in &ps {
        let n: u32 = name
            .get(..4)
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("{name}: starts with a four-digit number"));
        assert!(
            name.as_bytes().get(4) == Some(&b'-') && n > last,
            "{name}: patches are numbered from 0001 upwards, in order"
        );
        last = n;
        assert!(
            text.starts_with("From 0000000000000000000000000000000000000000 "),
            "{name}: git format-patch --zero-commit output"
        );
        assert!(text.contains("\nSubject: [PATCH"), "{name}: has a subject");
        assert!(text.contains("\ndiff --git a/"), "{name}: has a diff");
    }
}

#[test]
fn the_readme_names_the_pinned_commit() {
    let readme = fs::read_to_string(series_dir().join("README.md")).expect("README.md");
    assert!(readme.contains(PINNED), "README names relibc {PINNED}");
}

#[test]
fn relibc_depends_on_this_crate_by_path() {
    let add = series_additions();
    let cargo = add
        .get("Cargo.toml")
        .expect("the series edits relibc's Cargo.toml");
    assert!(
        cargo
            .iter()
            .any(|l| l.starts_with("redbear-ipc = {") && l.contains("path = \"../redbear-ipc\"")),
        "Cargo.toml gains `redbear-ipc = {{ path = \"../redbear-ipc\" ... }}`"
    );
}

#[test]
fn every_sys_rb_name_in_the_series_is_an_implemented_number() {
    let table: BTreeMap<&str, Status> = ALL.iter().map(|(n, _, s)| (*n, *s)).collect();
    let mut used = BTreeSet::new();
    for (name, text) in patches() {
        for rb in series::rb_names(&text) {
            match table.get(rb.as_str()) {
                None => panic!("{name}: {rb} is not in redbear_ipc::syscall::numbers::ALL"),
                Some(Status::Reserved) => {
                    panic!("{name}: {rb} is reserved in the table (ENOSYS); relibc must not call it yet")
                }
                Some(Status::Implemented) => {
                    used.insert(rb);
                }
            }
        }
    }
    assert!(!used.is_empty(), "the series calls the block");
}

#[test]
fn every_function_the_shim_exports_is_in_the_series_under_its_header() {
    let add = series_additions();
    let mut declared = BTreeSet::new();
    for (header, text) in shim_headers() {
        let fns = header_functions(&text);
        assert!(!fns.is_empty(), "{header}: declares functions");
        let module = relibc_module(&header);
        let lines = add
            .get(&module)
            .unwrap_or_else(|| panic!("{header}: the series has no {module}"));
        let defined = exported_fns(lines);
        for f in &fns {
            assert!(
                defined.contains(f) || UPSTREAM.contains(&(header.as_str(), f.as_str())),
                "{header}: {f} is not defined with #[unsafe(no_mangle)] in the series' {module}"
            );
        }
        declared.extend(fns);
    }
    // The header list is complete: every C symbol the shim's Rust code
    // exports (bar its private helpers) is declared in one of them.
    for f in shim_source_exports() {
        if f.starts_with("rb_shim_") || f.starts_with("__rb_shim_") {
            continue;
        }
        assert!(
            declared.contains(&f),
            "relibc-shim exports {f}, which no shim header declares"
        );
    }
    // sem_open is C code in the shim (variadic); the header has it.
    assert!(declared.contains("sem_open"));
}

/// Shim functions relibc already has at the pinned commit, as the shim
/// does them, which the series therefore leaves alone: `ftok` in
/// src/header/sys_ipc/mod.rs computes glibc's key from stat()'s st_ino
/// and st_dev (kernel-patches/relibc/README.md).
const UPSTREAM: &[(&str, &str)] = &[("sys/ipc.h", "ftok")];

#[test]
fn upstream_functions_are_few_and_really_left_alone() {
    let add = series_additions();
    for (header, f) in UPSTREAM {
        let module = relibc_module(header);
        let lines = add
            .get(&module)
            .map(|l| exported_fns(l))
            .unwrap_or_default();
        assert!(
            !lines.contains(*f),
            "{header}: the series defines {f} after all; drop it from UPSTREAM"
        );
    }
}

#[test]
fn sysv_structs_are_the_kernel_abi_layouts() {
    // relibc's ipc_perm is 28 bytes at the pinned commit; the kernel's
    // (Linux's) is 48. The series grows it and checks every SysV struct
    // and value against the crate at compile time.
    let add = series_additions();
    let ipc = add
        .get("src/header/sys_ipc/mod.rs")
        .expect("the series edits sys/ipc.h")
        .join("\n");
    for field in ["pub __pad2: c_ushort,", "pub __glibc_reserved1: c_ulong,"] {
        assert!(ipc.contains(field), "ipc_perm gains {field}");
    }
    assert!(ipc.contains("size_of::<ipc_perm>() == IPC_PERM_SIZE"));
    assert!(ipc.contains("pub const IPC_INFO: i32 = 3;"));
    let msg = add
        .get("src/header/sys_msg/mod.rs")
        .expect("the series adds sys/msg.h")
        .join("\n");
    for check in [
        "size_of::<msqid_ds>() == abi::MSQID_DS_SIZE",
        "size_of::<msginfo>() == abi::MSGINFO_SIZE",
        "size_of::<c_long>() == abi::MSGBUF_TYPE_SIZE",
        "MSG_STAT_ANY == abi::MSG_STAT_ANY",
    ] {
        assert!(msg.contains(check), "sys/msg.h checks {check}");
    }
    // Blocking calls are not restarted after a handler (EINTR).
    assert_eq!(msg.matches("redbear_ipc::interruptible(").count(), 2);
}

#[test]
fn fd_creating_calls_take_a_slot_from_redox_rt_with_cloexec_recorded() {
    let add = series_additions();
    const CREATING: [&str; 5] = [
        "SYS_RB_SEM_OPEN",
        "SYS_RB_EVENTFD2",
        "SYS_RB_SIGNALFD4",
        "SYS_RB_TIMERFD_CREATE",
        "SYS_RB_MQ_OPEN",
    ];
    for nr in CREATING {
        let files: Vec<&String> = add
            .iter()
            .filter(|(_, lines)| lines.iter().any(|l| series::rb_names(l).contains(nr)))
            .map(|(f, _)| f)
            .collect();
        assert!(!files.is_empty(), "the series calls {nr}");
        for f in files {
            let text = add[f].join("\n");
            assert!(
                text.contains("redbear_ipc::new_fd("),
                "{f}: {nr} must get its fd slot through redbear_ipc::new_fd (redox-rt's file table)"
            );
            assert!(
                !text.contains("FD_SLOT_ANY") || nr == "SYS_RB_SIGNALFD4",
                "{f}: {nr} must not let the kernel pick the fd on Redox"
            );
        }
    }
    let rt = add
        .get("redox-rt/src/sys.rs")
        .expect("the series adds the fd-slot helper to redox-rt")
        .join("\n");
    assert!(
        rt.contains("pub fn new_fd_into("),
        "redox-rt gains new_fd_into"
    );
    assert!(
        rt.contains("add_posix(if cloexec { O_CLOEXEC } else { 0 })"),
        "new_fd_into records O_CLOEXEC in redox-rt's file table"
    );
    let plat = add
        .get("src/platform/redbear_ipc.rs")
        .expect("the series has the kernel-call module")
        .join("\n");
    assert!(
        plat.contains("redox_rt::sys::new_fd_into("),
        "new_fd uses redox-rt's slot"
    );
    assert!(
        plat.contains("syscall::syscall6("),
        "traps through redox_syscall's raw syscall6"
    );
}

#[test]
fn unnamed_semaphores_use_the_crate_layout_and_the_rb_futex_family() {
    let add = series_additions();
    let sem = add
        .get("src/header/semaphore/mod.rs")
        .expect("the series rewrites semaphore.h")
        .join("\n");
    for name in [
        "VALUE_OFFSET",
        "NWAITERS_OFFSET",
        "FLAGS_OFFSET",
        "SEM_WORDS_SIZE",
    ] {
        assert!(
            sem.contains(&format!("== {name}")),
            "semaphore.h checks {name} against redbear_ipc::ipc::sem::unnamed"
        );
    }
    assert!(sem.contains("SYS_RB_FUTEX_WAIT") && sem.contains("SYS_RB_FUTEX_WAKE"));
    // Waits and wakes on one word go through one family (README): the
    // semaphore code never uses Redox's SYS_FUTEX.
    assert!(!sem.contains("SYS_FUTEX,") && !sem.contains("syscall::SYS_FUTEX"));
}

#[test]
fn unnamed_semaphores_run_the_crate_protocol_not_a_copy() {
    // One protocol for the kernel, the shim and relibc: the series calls
    // redbear_ipc::ipc::sem::protocol and has no post/take loop of its own.
    let add = series_additions();
    let sem = add
        .get("src/header/semaphore/mod.rs")
        .expect("the series rewrites semaphore.h")
        .join("\n");
    assert!(sem.contains("protocol::{self, SemAccess, SemError, WaitMode, Word}"));
    assert!(sem.contains("impl SemAccess for Local<'_> {"));
    for call in ["protocol::post(", "protocol::wait(", "protocol::try_take("] {
        assert!(sem.contains(call), "semaphore.h calls {call}");
    }
    for copy in ["cur + 1", "cur - 1", "nwaiters.load(", "nwaiters.fetch_"] {
        assert!(
            !sem.contains(copy),
            "semaphore.h repeats a protocol step: {copy}"
        );
    }
}

#[test]
fn named_semaphores_map_their_page_and_fall_back_to_the_fd_calls() {
    // 0014: sem_open maps the kernel's page (SYS_RB_SEM_MAP) and the
    // operations run the unnamed protocol on it; EOPNOTSUPP/ENOSYS keep
    // the fd calls; sem_close clears FLAG_MAPPED before it unmaps.
    let add = series_additions();
    let sem = add
        .get("src/header/semaphore/mod.rs")
        .expect("the series rewrites semaphore.h")
        .join("\n");
    for needle in [
        "const FLAG_MAPPED: u32 = 1 << 30;",
        "redbear_ipc::call(SYS_RB_SEM_MAP, [fd as usize, 0, 0, 0, 0, 0])",
        "Err(Errno(EOPNOTSUPP | ENOSYS)) => sem.words.flags.store(FLAG_NAMED, SeqCst),",
        "let flags = e.sem.words.flags.swap(FLAG_NAMED, SeqCst);",
        "redbear_ipc::call(SYS_RB_SEM_UNMAP, [fd, page, 0, 0, 0, 0])",
        "fn words_of(s: &Sem, flags: u32) -> Option<&Words> {",
    ] {
        assert!(sem.contains(needle), "semaphore.h lacks `{needle}`");
    }
    // The mapped words go through the same fast path as unnamed ones.
    assert!(sem.contains("words_of(s, s.words.flags.load(Relaxed))"));
}

#[test]
fn realtime_sigev_signal_goes_through_the_helper_with_si_mesgq() {
    // 0015: on Redox the kernel cannot raise a signal, so mq_notify hands
    // a realtime SIGEV_SIGNAL to the helper, which queues it through
    // procmgr with SI_MESGQ, the value and the notice's pid and uid.
    let add = series_additions();
    let mq = add
        .get("src/header/mqueue/mod.rs")
        .expect("the series adds mqueue.h")
        .join("\n");
    assert!(mq.contains("sigev_thread::register_signal(mqdes, sev)"));
    assert!(mq.contains("(SIGRTMIN..=SIGRTMAX).contains(&s)"));
    let helper = add
        .get("src/header/mqueue/sigev_thread.rs")
        .expect("0012's helper")
        .join("\n");
    for needle in [
        "pub fn register_signal(mqd: c_int, sev: &sigevent) -> Result<()> {",
        "code: SI_MESGQ,",
        "redox_rt::sys::posix_sigqueue_info(",
        "u32::from_ne_bytes(pid)",
        "u32::from_ne_bytes(uid)",
    ] {
        assert!(helper.contains(needle), "sigev_thread.rs lacks `{needle}`");
    }
    let rt = add.get("redox-rt/src/sys.rs").expect("redox-rt").join("\n");
    assert!(rt.contains(
        "pub fn posix_sigqueue_info(pid: usize, sig: usize, info: RtSigInfo) -> Result<()> {"
    ));
}

#[test]
fn mqueue_uses_the_kernel_abi_and_translates_relibcs_values() {
    let add = series_additions();
    let mq = add
        .get("src/header/mqueue/mod.rs")
        .expect("the series adds mqueue.h")
        .join("\n");
    for nr in [
        "SYS_RB_MQ_OPEN",
        "SYS_RB_MQ_UNLINK",
        "SYS_RB_MQ_TIMEDSEND",
        "SYS_RB_MQ_TIMEDRECEIVE",
        "SYS_RB_MQ_GETSETATTR",
        "SYS_RB_MQ_NOTIFY",
    ] {
        assert!(mq.contains(nr), "mqueue.h calls {nr}");
    }
    // The layouts and flags come from the crate, nothing is retyped.
    assert!(mq.contains("size_of::<mq_attr>() == MQ_ATTR_SIZE"));
    assert!(
        mq.contains("MqOpenFlags"),
        "oflag becomes the kernel's MqOpenFlags"
    );
    assert!(
        mq.contains("MQ_NONBLOCK"),
        "mq_flags' O_NONBLOCK is translated"
    );
    assert!(
        mq.contains("SIGEVENT_SIZE"),
        "sigevent goes into the kernel's layout"
    );
    // mq_open is C-variadic and reads mode and attr only with O_CREAT.
    assert!(mq.contains("fn mq_open(name: *const c_char, oflag: c_int, mut __valist: ...)"));
    assert!(mq.contains("if oflag & O_CREAT == O_CREAT"));
    let header_mod = add
        .get("src/header/mod.rs")
        .expect("the series edits src/header/mod.rs")
        .join("\n");
    assert!(header_mod.contains("pub mod mqueue;"));
    let toml = add
        .get("src/header/mqueue/cbindgen.toml")
        .expect("mqueue.h has its cbindgen.toml")
        .join("\n");
    assert!(toml.contains("_RELIBC_MQUEUE_H"));
}

#[test]
fn no_relibc_source_is_committed_here() {
    // Only the series and its README live in kernel-patches/relibc/.
    for e in fs::read_dir(series_dir()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name == "README.md" || name.ends_with(".patch"),
            "kernel-patches/relibc/{name}: only patches and the README belong here"
        );
        assert!(p.is_file(), "{name}: no directories (no upstream tree)");
    }
    assert!(Path::new(&series_dir()).join("README.md").exists());
}

#[test]
fn sysv_semaphores_are_kernel_calls_with_the_kernel_layouts() {
    let add = series_additions();
    let sem = add
        .get("src/header/sys_sem/mod.rs")
        .expect("the series adds sys/sem.h")
        .join("\n");
    for nr in ["SYS_RB_SEMGET", "SYS_RB_SEMTIMEDOP", "SYS_RB_SEMCTL"] {
        assert!(sem.contains(nr), "sys/sem.h calls {nr}");
    }
    // The structs are the kernel ABI's, so pointers go through unchanged.
    for check in [
        "size_of::<sembuf>() == abi::SEMBUF_SIZE",
        "size_of::<semid_ds>() == abi::SEMID_DS_SIZE",
        "size_of::<seminfo>() == abi::SEMINFO_SIZE",
        "offset_of!(semid_ds, sem_nsems) == 80",
    ] {
        assert!(sem.contains(check), "sys/sem.h asserts {check}");
    }
    // semop is not restarted after a handler (EINTR), semctl is variadic.
    assert!(sem.contains("redbear_ipc::interruptible("));
    assert!(sem.contains("cmd: c_int, mut __valist: ...) -> c_int"));
    let mods = add
        .get("src/header/mod.rs")
        .expect("the series edits header/mod.rs")
        .join("\n");
    assert!(mods.contains("pub mod sys_sem;"));
}
