//! Replays the committed corpus (and any crash inputs kept as regression
//! cases) through the harness on the ordinary toolchain: every input must
//! run to its end with every invariant holding.

use std::path::Path;

fn replay(dir: &Path) -> usize {
    let mut n = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let data = std::fs::read(&path).expect("readable input");
        eprintln!("{}", path.display());
        redbear_ipc_fuzz::run(&data);
        n += 1;
    }
    n
}

#[test]
fn corpus_inputs_hold_every_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/dispatch");
    assert!(replay(&dir) > 0, "the corpus is empty");
}

#[test]
fn regression_inputs_hold_every_invariant() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions/dispatch");
    replay(&dir);
}
