//! Reading a `git format-patch` series from the tree, shared by the tests
//! that check the Redox kernel and relibc series.

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
