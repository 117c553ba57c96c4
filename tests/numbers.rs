//! Our syscall numbers never collide with redox_syscall's.
//!
//! The test reads redox_syscall's own `src/number.rs` (located through
//! `cargo metadata` for the host platform, so it is the exact version we build against), evaluates
//! every `pub const SYS_*` in it, and checks our table against all of them,
//! plus the ranges Redox has never used (docs/abi.md).

use std::collections::HashMap;
use std::process::Command;

use redbear_ipc::syscall::numbers::{is_ours, Status, ALL, BASE, END};

fn redox_syscall_number_rs() -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only the host's dependency graph: a fresh machine's registry cache
    // holds just the crates this build compiled, and an unfiltered offline
    // `cargo metadata` would ask for every platform's (r-efi, wasi, ...).
    let host = host_triple();
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta = String::from_utf8(out.stdout).expect("utf-8 metadata");
    // Find the manifest path of the redox_syscall package without a JSON
    // dependency: it is the only manifest under a redox_syscall-<ver> dir.
    let needle = "\"manifest_path\":\"";
    let manifest = meta
        .match_indices(needle)
        .map(|(i, _)| {
            let rest = &meta[i + needle.len()..];
            &rest[..rest.find('"').expect("closing quote")]
        })
        .find(|p| p.contains("/redox_syscall-0.9"))
        .expect("redox_syscall 0.9 is a dependency");
    let dir = std::path::Path::new(manifest)
        .parent()
        .expect("manifest dir");
    std::fs::read_to_string(dir.join("src/number.rs")).expect("number.rs readable")
}

/// The host's target triple, from the rustc this build uses.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let text = String::from_utf8(out.stdout).expect("utf-8 rustc -vV");
    text.lines()
        .find_map(|l| l.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .trim()
        .to_string()
}

fn parse_value(expr: &str, known: &HashMap<String, usize>) -> Option<usize> {
    expr.split('|')
        .map(|term| {
            let t = term.trim().replace('_', "");
            if let Some(hex) = t.strip_prefix("0x") {
                usize::from_str_radix(hex, 16).ok()
            } else if let Ok(n) = t.parse::<usize>() {
                Some(n)
            } else {
                known.get(term.trim()).copied()
            }
        })
        .try_fold(0usize, |acc, v| v.map(|v| acc | v))
}

fn redox_numbers() -> HashMap<String, usize> {
    let src = redox_syscall_number_rs();
    let mut known = HashMap::new();
    for line in src.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        let Some((name, rhs)) = rest.split_once(':') else {
            continue;
        };
        let Some((_, expr)) = rhs.split_once('=') else {
            continue;
        };
        let expr = expr.split(';').next().unwrap_or("");
        let value =
            parse_value(expr, &known).unwrap_or_else(|| panic!("cannot evaluate {name} = {expr}"));
        known.insert(name.trim().to_string(), value);
    }
    known
}

#[test]
fn no_collision_with_any_redox_syscall_number() {
    let redox = redox_numbers();
    let syscalls: Vec<_> = redox
        .iter()
        .filter(|(n, _)| {
            n.starts_with("SYS_")
                && !n.starts_with("SYS_CLASS")
                && !n.starts_with("SYS_ARG")
                && !n.starts_with("SYS_RET")
        })
        .collect();
    let declared = redox_syscall_number_rs()
        .lines()
        .filter(|l| l.trim().starts_with("pub const SYS_"))
        .count();
    assert_eq!(redox.len(), declared, "every SYS_* constant was evaluated");
    assert!(
        syscalls.len() >= 20,
        "parsed too few syscall numbers: {}",
        syscalls.len()
    );
    for (name, nr, _) in ALL {
        for (theirs, value) in &syscalls {
            assert_ne!(nr, *value, "{name} collides with redox_syscall's {theirs}");
        }
        // Also never equal to any Redox number with its class bits removed.
        for (theirs, value) in &syscalls {
            assert_ne!(
                *nr,
                *value & 0xFFFF,
                "{name} equals the low bits of {theirs}"
            );
        }
    }
}

#[test]
fn block_is_in_the_never_used_range_and_distinct() {
    const _: () = assert!(BASE >= 1000 && END - 1 <= 9452);
    let mut seen = std::collections::HashSet::new();
    for (name, nr, _) in ALL {
        assert!(is_ours(*nr), "{name} outside the block");
        assert!(seen.insert(*nr), "{name} duplicates a number");
    }
    assert!(ALL.iter().any(|(_, _, s)| *s == Status::Implemented));
}
