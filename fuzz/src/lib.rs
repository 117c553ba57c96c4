//! The fuzz harness: a hosted kernel driven by a sequence of operations
//! decoded from the fuzzer's bytes. Several simulated processes with their
//! own credentials make system calls through `dispatch` (blocking ones on
//! threads of their own), fork, exit, get signals, and remove objects under
//! blocked waiters. After every step and at the end the harness checks the
//! kernel's invariants; a broken one panics, which the fuzzer reports.
//!
//! The same `run` replays the committed corpus in an ordinary test
//! (`tests/corpus.rs`), so the corpus is checked on every CI run.

pub mod model;
pub mod ops;
pub mod pool;
pub mod world;

/// Decodes `data` into operations and runs them; panics on a broken
/// invariant.
pub fn run(data: &[u8]) {
    let mut u = arbitrary::Unstructured::new(data);
    let mut world = world::World::new();
    while !u.is_empty() {
        match u.arbitrary::<ops::Op>() {
            Ok(op) => world.step(&op),
            Err(_) => break,
        }
    }
    world.teardown();
}
