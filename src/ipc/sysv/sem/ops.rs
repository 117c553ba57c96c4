//! The semop engine: one call's operations applied to a set atomically,
//! in array order, or not at all.
//!
//! The rules are Linux's (`perform_atomic_semop`): operations run in order
//! against the running values, so a call may name one semaphore twice; the
//! first operation that cannot run decides the outcome — it would block
//! (`sem_op == 0` on a non-zero value, or a decrement below zero: EAGAIN
//! when *that* operation carries IPC_NOWAIT), or it is out of range (a
//! value above SEMVMX, or a SEM_UNDO adjustment outside
//! -(SEMAEM + 1)..=SEMAEM: ERANGE). Either way every earlier operation is
//! rolled back. On success each touched semaphore records the caller's
//! pid. Nothing here allocates.

use crate::errno::{Errno, EAGAIN, ERANGE};

/// Largest semaphore value (SEMVMX).
pub const SEMVMX: i32 = 32767;
/// Largest SEM_UNDO adjustment (SEMAEM = SEMVMX).
pub const SEMAEM: i32 = SEMVMX;

/// sem_flg bit: do not block (IPC_NOWAIT).
pub const IPC_NOWAIT: i16 = 0o4000;
/// sem_flg bit: undo the operation when the process exits.
pub const SEM_UNDO: i16 = 0x1000;

/// One operation, as `struct sembuf` carries it (6 bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SemBuf {
    /// Index in the set.
    pub num: u16,
    /// Amount: > 0 adds, < 0 waits to subtract, 0 waits for zero.
    pub op: i16,
    /// IPC_NOWAIT, SEM_UNDO.
    pub flg: i16,
}

impl SemBuf {
    /// Whether it changes a value (needs alter permission).
    pub fn alters(&self) -> bool {
        self.op != 0
    }
    /// Whether it asks for a SEM_UNDO adjustment.
    pub fn undo(&self) -> bool {
        self.flg & SEM_UNDO != 0
    }
    /// Whether it must not block.
    pub fn nowait(&self) -> bool {
        self.flg & IPC_NOWAIT != 0
    }
}

/// One semaphore of a set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sem {
    /// semval, 0..=SEMVMX.
    pub val: i32,
    /// sempid: the last process that operated on it.
    pub pid: u32,
}

/// Why a call did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpsFailed {
    /// The operation at `index` cannot run now; the caller sleeps
    /// (counted by GETNCNT/GETZCNT on that operation's semaphore).
    Block {
        /// Index into the call's operations.
        index: usize,
    },
    /// EAGAIN (the blocking operation had IPC_NOWAIT) or ERANGE.
    Error(Errno),
}

/// Applies `ops` to `sems` atomically. `adj` is the caller's SEM_UNDO
/// adjustments for this set (one per semaphore), needed when any
/// operation has SEM_UNDO; without it such operations keep no
/// adjustment. Every `num` must already be checked `< sems.len()` (EFBIG
/// is the syscall layer's), and `adj` as long as `sems`.
pub fn apply(
    sems: &mut [Sem],
    mut adj: Option<&mut [i16]>,
    ops: &[SemBuf],
    pid: u32,
) -> Result<(), OpsFailed> {
    let mut done = 0;
    let outcome = loop {
        let Some(op) = ops.get(done) else {
            break Ok(());
        };
        let Some(sem) = sems.get(usize::from(op.num)) else {
            break Err(OpsFailed::Error(Errno::new(ERANGE)));
        };
        let cur = sem.val;
        let delta = i32::from(op.op);
        if (delta == 0 && cur != 0) || cur + delta < 0 {
            break Err(if op.nowait() {
                OpsFailed::Error(Errno::new(EAGAIN))
            } else {
                OpsFailed::Block { index: done }
            });
        }
        if cur + delta > SEMVMX {
            break Err(OpsFailed::Error(Errno::new(ERANGE)));
        }
        if op.undo() {
            if let Some(adj) = adj.as_deref_mut() {
                let Some(a) = adj.get_mut(usize::from(op.num)) else {
                    break Err(OpsFailed::Error(Errno::new(ERANGE)));
                };
                let next = i32::from(*a) - delta;
                if !(-(SEMAEM + 1)..=SEMAEM).contains(&next) {
                    break Err(OpsFailed::Error(Errno::new(ERANGE)));
                }
                // In range of i16 by the check above.
                *a = next as i16;
            }
        }
        sems[usize::from(op.num)].val = cur + delta;
        done += 1;
    };
    match outcome {
        Ok(()) => {
            for op in ops {
                sems[usize::from(op.num)].pid = pid;
            }
            Ok(())
        }
        Err(e) => {
            for op in ops[..done].iter().rev() {
                let delta = i32::from(op.op);
                sems[usize::from(op.num)].val -= delta;
                if op.undo() {
                    if let Some(a) = adj
                        .as_deref_mut()
                        .and_then(|a| a.get_mut(usize::from(op.num)))
                    {
                        *a = (i32::from(*a) + delta) as i16;
                    }
                }
            }
            Err(e)
        }
    }
}

/// What an exiting process's adjustment does to one semaphore: the value
/// plus the adjustment, clamped to 0..=SEMVMX (Linux's `exit_sem`).
pub fn settle(val: i32, adj: i16) -> i32 {
    (val + i32::from(adj)).clamp(0, SEMVMX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn op(num: u16, op: i16, flg: i16) -> SemBuf {
        SemBuf { num, op, flg }
    }

    fn vals(s: &[Sem]) -> Vec<i32> {
        s.iter().map(|s| s.val).collect()
    }

    #[test]
    fn all_or_nothing_in_array_order() {
        let mut s = vec![Sem::default(); 3];
        apply(&mut s, None, &[op(0, 2, 0), op(1, 1, 0)], 7).unwrap();
        assert_eq!(vals(&s), [2, 1, 0]);
        assert_eq!(s[0].pid, 7);
        // The third op blocks: the first two are rolled back.
        assert_eq!(
            apply(&mut s, None, &[op(0, -1, 0), op(1, -1, 0), op(2, -1, 0)], 8),
            Err(OpsFailed::Block { index: 2 })
        );
        assert_eq!(vals(&s), [2, 1, 0]);
        assert_eq!(s[0].pid, 7, "a failed call records no pid");
        // IPC_NOWAIT of the blocking operation decides EAGAIN.
        assert_eq!(
            apply(&mut s, None, &[op(0, -1, 0), op(2, -1, IPC_NOWAIT)], 8),
            Err(OpsFailed::Error(Errno::new(EAGAIN)))
        );
        assert_eq!(
            apply(&mut s, None, &[op(0, -1, IPC_NOWAIT), op(2, -1, 0)], 8),
            Err(OpsFailed::Block { index: 1 })
        );
        // Wait-for-zero blocks on a non-zero value.
        assert_eq!(
            apply(&mut s, None, &[op(1, 0, 0)], 8),
            Err(OpsFailed::Block { index: 0 })
        );
    }

    #[test]
    fn the_same_semaphore_twice_uses_running_values() {
        let mut s = vec![Sem::default(); 1];
        apply(&mut s, None, &[op(0, 1, 0), op(0, -1, 0), op(0, 0, 0)], 1).unwrap();
        assert_eq!(vals(&s), [0]);
    }

    #[test]
    fn range_and_undo_limits() {
        let mut s = vec![
            Sem {
                val: SEMVMX,
                pid: 0
            };
            1
        ];
        assert_eq!(
            apply(&mut s, None, &[op(0, 1, 0)], 1),
            Err(OpsFailed::Error(Errno::new(ERANGE)))
        );
        let mut s = vec![Sem::default(); 1];
        let mut adj = vec![0i16; 1];
        apply(&mut s, Some(&mut adj), &[op(0, 5, SEM_UNDO)], 1).unwrap();
        assert_eq!(adj, [-5]);
        apply(&mut s, Some(&mut adj), &[op(0, -2, SEM_UNDO)], 1).unwrap();
        assert_eq!(adj, [-3]);
        // An adjustment may reach -(SEMAEM + 1) but not pass it: ERANGE,
        // and nothing changes.
        let mut s = vec![Sem::default(); 1];
        let mut adj = vec![-32760i16; 1];
        assert_eq!(
            apply(&mut s, Some(&mut adj), &[op(0, 9, SEM_UNDO)], 1),
            Err(OpsFailed::Error(Errno::new(ERANGE)))
        );
        assert_eq!((vals(&s), adj.clone()), (vec![0], vec![-32760]));
        apply(&mut s, Some(&mut adj), &[op(0, 8, SEM_UNDO)], 1).unwrap();
        assert_eq!((vals(&s), adj), (vec![8], vec![-32768]));
    }

    #[test]
    fn exit_settles_with_clamping() {
        assert_eq!(settle(3, -5), 0);
        assert_eq!(settle(32760, 100), SEMVMX);
        assert_eq!(settle(4, -1), 3);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;

        fn ops() -> impl Strategy<Value = Vec<SemBuf>> {
            proptest::collection::vec(
                (
                    0u16..3,
                    -3i16..=3,
                    prop_oneof![Just(0), Just(IPC_NOWAIT), Just(SEM_UNDO)],
                )
                    .prop_map(|(num, op, flg)| SemBuf { num, op, flg }),
                1..6,
            )
        }

        /// gVisor's formulation: run the operations on a copy, and keep
        /// the copy only if all of them succeed.
        fn on_a_copy(
            sems: &[i32],
            adj: &[i16],
            ops: &[SemBuf],
        ) -> Result<(Vec<i32>, Vec<i16>), OpsFailed> {
            let (mut v, mut a) = (sems.to_vec(), adj.to_vec());
            for (i, o) in ops.iter().enumerate() {
                let n = usize::from(o.num);
                let d = i32::from(o.op);
                if (d == 0 && v[n] != 0) || v[n] + d < 0 {
                    return Err(if o.nowait() {
                        OpsFailed::Error(Errno::new(EAGAIN))
                    } else {
                        OpsFailed::Block { index: i }
                    });
                }
                if v[n] + d > SEMVMX {
                    return Err(OpsFailed::Error(Errno::new(ERANGE)));
                }
                if o.undo() {
                    let next = i32::from(a[n]) - d;
                    if !(-(SEMAEM + 1)..=SEMAEM).contains(&next) {
                        return Err(OpsFailed::Error(Errno::new(ERANGE)));
                    }
                    a[n] = next as i16;
                }
                v[n] += d;
            }
            Ok((v, a))
        }

        proptest! {
            #[test]
            fn matches_apply_on_a_copy(
                start in proptest::collection::vec(0i32..5, 3),
                calls in proptest::collection::vec(ops(), 1..20),
            ) {
                let mut s: Vec<Sem> = start.iter().map(|&val| Sem { val, pid: 0 }).collect();
                let mut adj = vec![0i16; 3];
                for c in calls {
                    let before = (vals(&s), adj.clone());
                    let want = on_a_copy(&before.0, &before.1, &c);
                    let got = apply(&mut s, Some(&mut adj), &c, 9);
                    match want {
                        Ok((v, a)) => {
                            prop_assert_eq!(got, Ok(()));
                            prop_assert_eq!((vals(&s), adj.clone()), (v, a));
                        }
                        Err(e) => {
                            prop_assert_eq!(got, Err(e));
                            prop_assert_eq!((vals(&s), adj.clone()), before);
                        }
                    }
                }
            }
        }
    }
}
