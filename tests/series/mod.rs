//! Reading a `git format-patch` series from the tree, shared by the tests
//! that check the Redox kernel and relibc series.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The series in `dir` in order: every `NNNN-*.patch`, as (file name, text).
pub fn read(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} exists: {e}", dir.display()))
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "patch"))
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, fs::read_to_string(&p).expect("patch is UTF-8 text"))
        })
        .collect();
    out.sort();
    out
}

/// Which lines of a hunk `additions` keeps (each test binary uses one).
#[allow(dead_code)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Only the added lines.
    Added,
    /// The new side: added lines and the context around them (a rewritten
    /// file keeps some of its old lines as context).
    New,
}

/// The lines of `side` of every patch of `series`, in order, per file they
/// touch (`diff --git a/X b/X`).
pub fn additions(series: &[(String, String)], side: Side) -> BTreeMap<String, Vec<String>> {
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, patch) in series {
        let mut current: Option<String> = None;
        for line in patch.lines() {
            if let Some(rest) = line.strip_prefix("diff --git a/") {
                let path = rest.split(" b/").next().unwrap().to_string();
                files.entry(path.clone()).or_default();
                current = Some(path);
            } else if line.starts_with("+++") || line.starts_with("---") {
                continue;
            } else if let Some(path) = &current {
                let kept = match side {
                    Side::Added => line.strip_prefix('+'),
                    Side::New => line.strip_prefix('+').or_else(|| line.strip_prefix(' ')),
                };
                if let Some(kept) = kept {
                    files.get_mut(path).unwrap().push(kept.to_string());
                }
            }
        }
    }
    files
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `SYS_RB_*` identifiers in `text`. A bare `SYS_RB_`, or a prefix ending
/// in `_` such as `SYS_RB_SEM_*` in prose, names a family, not a number.
pub fn rb_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("SYS_RB_") {
        let start = i + pos;
        let mut end = start + "SYS_RB_".len();
        while end < bytes.len() && is_ident(bytes[end]) {
            end += 1;
        }
        let preceded = start > 0 && is_ident(bytes[start - 1]);
        if !preceded && end > start + "SYS_RB_".len() && !text[start..end].ends_with('_') {
            names.insert(text[start..end].to_string());
        }
        i = end;
    }
    names
}
