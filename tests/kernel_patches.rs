//! The kernel patch series (kernel-patches/*.patch) against the syscall
//! table: the numbers the patches route and name are exactly
//! `redbear_ipc::syscall::numbers::ALL`, so the kernel and the subsystem
//! (and the shim, which uses the same table) cannot drift apart.
//!
//! Runs on the patch text alone: no upstream source is needed.

mod series;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use redbear_ipc::syscall::numbers::{Status, ALL, BASE, END};

/// The commit of redox-os/kernel the series applies to.
const PINNED: &str = "663e66410bac71cd7e335501118a7cee746d15f9";

fn patch_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kernel-patches")
}

/// The series in order.
fn patches() -> Vec<(String, String)> {
    series::read(&patch_dir())
}

/// Every added line of the whole series, per file.
fn series_additions() -> BTreeMap<String, Vec<String>> {
    series::additions(&patches(), series::Side::Added)
}

fn table_names() -> BTreeSet<String> {
    ALL.iter().map(|(name, _, _)| name.to_string()).collect()
}

#[test]
fn the_series_is_git_am_shaped_and_numbered() {
    let series = patches();
    assert!(
        series.len() >= 4,
        "expected the whole series, found {}",
        series.len()
    );
    let total = series.len();
    for (i, (name, text)) in series.iter().enumerate() {
        assert!(
            name.starts_with(&format!("{:04}-", i + 1)),
            "{name}: numbered in order"
        );
        assert!(
            text.starts_with("From "),
            "{name}: mbox header (git format-patch)"
        );
        assert!(
            text.contains(&format!("Subject: [PATCH {}/{}]", i + 1, total)),
            "{name}: Subject: [PATCH {}/{}]",
            i + 1,
            total
        );
        assert!(text.contains("\ndiff --git a/"), "{name}: has a diff");
    }
}

#[test]
fn the_readme_names_the_pinned_commit() {
    let readme =
        fs::read_to_string(patch_dir().join("README.md")).expect("kernel-patches/README.md");
    assert!(readme.contains(PINNED), "README names {PINNED}");
}

#[test]
fn the_kernel_depends_on_this_crate() {
    let adds = series_additions();
    let cargo = adds.get("Cargo.toml").expect("the series edits Cargo.toml");
    assert!(
        cargo
            .iter()
            .any(|l| l.trim_start().starts_with("redbear-ipc =") && l.contains("path")),
        "Cargo.toml gains a path dependency on redbear-ipc: {cargo:?}"
    );
}

#[test]
fn every_number_of_the_block_is_routed_to_dispatch() {
    let adds = series_additions();
    let mod_rs = adds
        .get("src/syscall/mod.rs")
        .expect("the series edits src/syscall/mod.rs");
    let text = mod_rs.join("\n");
    // One range arm routes BASE..END, the whole block, to the adapter,
    // which calls redbear_ipc::syscall::dispatch (reserved numbers answer
    // ENOSYS there).
    let arm = "::redbear_ipc::syscall::numbers::BASE..::redbear_ipc::syscall::numbers::END";
    assert!(text.contains(arm), "src/syscall/mod.rs routes {arm}");
    assert!(text.contains("crate::redbear_ipc::syscall(a, [b, c, d, e, f, g], token)"));
    let adapter = adds
        .get("src/redbear_ipc/mod.rs")
        .expect("the adapter module")
        .join("\n");
    assert!(adapter.contains("redbear_ipc::syscall::dispatch(&k, nr, args)"));
    for (name, nr, _) in ALL {
        assert!(
            (BASE..END).contains(nr),
            "{name} = {nr} lies in the routed block"
        );
    }
    // No stray literal from the block in the dispatch hunk: the numbers
    // come from the table only.
    for n in BASE..END {
        assert!(
            !text.contains(&n.to_string()),
            "literal {n} in src/syscall/mod.rs"
        );
    }
}

#[test]
fn every_implemented_number_is_routed_and_named() {
    let adds = series_additions();
    let debug = adds
        .get("src/syscall/debug.rs")
        .expect("the series edits src/syscall/debug.rs");
    let named: BTreeSet<String> = series::rb_names(&debug.join("\n"));
    // format_call names exactly the table: every entry (implemented or
    // reserved) formats as rb_<call>, and nothing else is named.
    assert_eq!(
        named,
        table_names(),
        "debug.rs format_call arms == numbers::ALL"
    );
    for (name, _, status) in ALL {
        if *status == Status::Implemented {
            assert!(
                named.contains(*name),
                "{name} is implemented but format_call lacks it"
            );
        }
    }
}

#[test]
fn every_sys_rb_name_in_the_series_exists_in_the_table() {
    let table = table_names();
    for (patch, text) in patches() {
        for name in series::rb_names(&text) {
            assert!(
                table.contains(&name),
                "{patch} uses {name}, which numbers::ALL lacks"
            );
        }
    }
}

#[test]
fn redox_futex_ops_keep_redox_syscall_values() {
    // The futex hunk translates Redox's ops by redox_syscall's constants,
    // whose values are the ABI: WAIT 0, WAKE 1, REQUEUE 2, WAIT64 3.
    assert_eq!(syscall::flag::FUTEX_WAIT, 0);
    assert_eq!(syscall::flag::FUTEX_WAKE, 1);
    assert_eq!(syscall::flag::FUTEX_REQUEUE, 2);
    assert_eq!(syscall::flag::FUTEX_WAIT64, 3);
    let adds = series_additions();
    let futex = adds
        .get("src/redbear_ipc/futex.rs")
        .expect("the futex adapter")
        .join("\n");
    for op in [
        "FUTEX_WAIT =>",
        "FUTEX_WAKE =>",
        "FUTEX_REQUEUE =>",
        "FUTEX_WAIT64 =>",
    ] {
        assert!(futex.contains(op), "futex adapter handles {op}");
    }
    let upstream = adds
        .get("src/syscall/futex.rs")
        .expect("SYS_FUTEX rerouted")
        .join("\n");
    assert!(upstream.contains("crate::redbear_ipc::futex::redox_futex("));
}

#[test]
fn redox_futex_keys_private_memory_by_address_space() {
    // Every SYS_FUTEX word keyed by its frame loses wake-ups after a fork
    // (a copy-on-write break moves the writer's word to a new frame):
    // only memory that stays shared across a fork may be keyed by frame.
    let adds = series_additions();
    let futex = adds
        .get("src/redbear_ipc/futex.rs")
        .expect("the futex adapter")
        .join("\n");
    assert!(
        !futex.contains("for_caller(&k, UserPtr::new(uaddr), true)"),
        "SYS_FUTEX keys every word as shared again"
    );
    assert!(
        futex.contains("let shared = uaddr.is_multiple_of(4) && k.futex_word_is_shared(uaddr)?;")
            && futex.contains("FutexKey::for_caller(&k, UserPtr::new(uaddr), shared)"),
        "SYS_FUTEX's key must follow the mapping"
    );
    let adapter = adds
        .get("src/redbear_ipc/kernel.rs")
        .expect("the Kernel adapter")
        .join("\n");
    let rule = adapter
        .split("pub fn futex_word_is_shared(")
        .nth(1)
        .expect("RedoxKernel::futex_word_is_shared");
    let body = &rule[..rule.find("\n    }\n").expect("its end")];
    assert!(
        body.contains(
            "Some((_, info)) => Ok(!matches!(info.provider, Provider::Allocated { .. })),"
        ) && body.contains("None => Err(UserFault),"),
        "private (Provider::Allocated) grants key by address, others by frame, no grant faults"
    );
}

/// `fn` names declared at one indentation level inside the block that
/// starts with the line `header` (up to its closing `}` at column 0).
fn block_fn_names(lines: &[String], header: &str, indent: &str) -> BTreeSet<String> {
    let start = lines
        .iter()
        .position(|l| l.trim_end() == header)
        .unwrap_or_else(|| panic!("no `{header}`"));
    lines[start + 1..]
        .iter()
        .take_while(|l| l.as_str() != "}")
        .filter_map(|l| {
            let rest = l.strip_prefix(indent)?;
            let rest = rest
                .strip_prefix("pub ")
                .unwrap_or(rest)
                .strip_prefix("fn ")?;
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            Some(rest[..end].to_string())
        })
        .collect()
}

#[test]
fn the_adapter_implements_kernel_methods_including_the_no_fault_pair() {
    let adds = series_additions();
    let adapter = adds
        .get("src/redbear_ipc/kernel.rs")
        .expect("the Kernel adapter");
    let implemented = block_fn_names(adapter, "impl Kernel for RedoxKernel<'_> {", "    ");
    let source = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kernel.rs"))
        .expect("src/kernel.rs");
    let lines: Vec<String> = source.lines().map(str::to_string).collect();
    let declared = block_fn_names(&lines, "pub trait Kernel: Sync {", "    ");
    for name in &implemented {
        assert!(
            declared.contains(name),
            "the adapter implements Kernel::{name}, which the trait lacks"
        );
    }
    // Without these overrides the futex value check would fall back to the
    // defaults and could sleep (a page fault on an fmap'd page) under a
    // bucket spin lock on Redox: that compiles, so it is checked here.
    // load_user_u32 has no default: the adapter must have it (the series
    // is not compiled here).
    for name in ["read_user_u32_nofault", "fault_in_user", "load_user_u32"] {
        assert!(
            declared.contains(name),
            "the trait no longer has {name}: the series needs a refresh"
        );
        assert!(
            implemented.contains(name),
            "the Redox adapter must override Kernel::{name}"
        );
    }
}

#[test]
fn named_semaphore_pages_are_frames_whose_mappings_hold_references() {
    // The fast path of named semaphores on Redox: the three hooks are
    // overridden (their defaults are ENOSYS, which would compile and
    // quietly keep every operation a syscall), the page is a frame with a
    // reference count (RaiiFrame) and each mapping an AllocatedShared
    // grant holding a reference of its own, so no mapping outlives the
    // frame; unmap checks that the grant maps this frame.
    let adds = series_additions();
    let adapter = adds
        .get("src/redbear_ipc/kernel.rs")
        .expect("the Kernel adapter");
    let implemented = block_fn_names(adapter, "impl Kernel for RedoxKernel<'_> {", "    ");
    for name in ["shared_page_alloc", "shared_page_map", "shared_page_unmap"] {
        assert!(
            implemented.contains(name),
            "the Redox adapter must override Kernel::{name}"
        );
    }
    let text = adapter.join("\n");
    for needle in [
        "impl SharedPage for RedoxSharedPage {",
        "frame: RaiiFrame,",
        "RaiiFrame::allocate()",
        "Grant::allocated_shared_one_page(frame, page, flags, mapper, flusher, false)",
        "Provider::AllocatedShared { .. }",
        "phys == frame.base()",
    ] {
        assert!(text.contains(needle), "the page adapter lacks `{needle}`");
    }
}

#[test]
fn the_adapter_says_why_it_cannot_send_signals_and_runs_the_exit_hook() {
    let adds = series_additions();
    let adapter = adds
        .get("src/redbear_ipc/kernel.rs")
        .expect("the Kernel adapter");
    let implemented = block_fn_names(adapter, "impl Kernel for RedoxKernel<'_> {", "    ");
    // The trait default is ENOSYS too, but an explicit override is where
    // the reason is written; dropping it would go unnoticed otherwise.
    assert!(
        implemented.contains("send_signal"),
        "the Redox adapter must state its send_signal answer"
    );
    // The exit path of every context asks whether it is the last of its
    // process and then runs the crate's exit hook.
    let exit = adds
        .get("src/syscall/process.rs")
        .expect("the series hooks exit_this_context");
    for call in [
        "crate::redbear_ipc::process::is_last_of(",
        "crate::redbear_ipc::process::exited(",
    ] {
        assert!(
            exit.iter().any(|l| l.contains(call)),
            "exit_this_context must call {call}"
        );
    }
    let hook = adds
        .get("src/redbear_ipc/process.rs")
        .expect("the adapter's exit hook");
    assert!(hook.iter().any(|l| l.contains(".process_exit(&k, pid)")));
}

#[test]
fn timerfd_expiry_comes_from_the_timer_tick_and_registers_nothing_per_call() {
    let adds = series_additions();
    // The timer interrupt's `context::timeout::trigger` runs the
    // subsystem's timer queue, through the try_lock form.
    let timeout = adds
        .get("src/context/timeout.rs")
        .expect("the series hooks context::timeout::trigger")
        .join("\n");
    assert!(
        timeout.contains("crate::redbear_ipc::timer_tick(token);"),
        "timeout::trigger must call the tick hook"
    );
    let adapter = adds
        .get("src/redbear_ipc/mod.rs")
        .expect("the adapter module")
        .join("\n");
    let hook = adapter
        .split("pub fn timer_tick(token: &mut CleanLockToken) {")
        .nth(1)
        .expect("redbear_ipc::timer_tick");
    let body = &hook[..hook.find("\n}").expect("its end")];
    assert!(
        body.contains(".try_expire_timers(&k)"),
        "the tick must use the interrupt-safe try_expire_timers: {body}"
    );
    assert!(
        body.contains("IPC.get()") && !body.contains("ipc()"),
        "the tick must not create the namespace (an allocation) in the interrupt"
    );
    // No patch registers timeouts in Redox's global list any more (it grew
    // with every read and fevent of an armed timerfd).
    for one in patches() {
        let patch = one.0.clone();
        for (file, lines) in series::additions(&[one], series::Side::Added) {
            assert!(
                !lines.iter().any(|l| l.contains("timeout::register(")),
                "{patch} registers a Redox timeout in {file}"
            );
        }
    }
}
