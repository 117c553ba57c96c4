//! The operations a fuzz input is made of.

use arbitrary::Arbitrary;

/// One register value, drawn from the kinds of value that matter: small
/// numbers (counts, fds, flags), pointers into the caller's own memory,
/// pointers that fault, and extremes.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Arg {
    /// 0..=255: fds, counts, small flags and ids.
    Small(u8),
    /// A full register value.
    Word(u64),
    /// A pointer `offset` bytes into the caller's private region.
    Mine(u8),
    /// A pointer into the region every process shares.
    Shared(u8),
    /// A pointer into another process's private region (faults).
    Theirs(u8),
    /// NULL.
    Null,
    /// The top of the address space.
    NearMax,
    /// A SysV id or key the namespace has handed out (by position).
    Id(u8),
}

/// Who does something: an index into the live processes.
pub type Who = u8;

/// One step.
#[derive(Arbitrary, Clone, Debug)]
pub enum Op {
    /// A system call of the block (offset from BASE; a few beyond it) made
    /// by the caller's main task; calls that would block are made
    /// nonblocking or given an already-passed deadline.
    Call { who: Who, nr: u8, args: [Arg; 6] },
    /// The same, on a new thread of the caller that may block; the harness
    /// waits until it has parked or returned.
    Spawn { who: Who, nr: u8, args: [Arg; 6] },
    /// Writes bytes into the caller's private or the shared region.
    Poke {
        who: Who,
        shared: bool,
        offset: u8,
        bytes: Vec<u8>,
    },
    /// read/write/poll/close/dup on an fd of the caller.
    File {
        who: Who,
        fd: u8,
        what: FileOp,
        arg: Arg,
        len: u16,
    },
    /// Moves virtual time forward.
    Advance { ns: u32 },
    /// Queues signal `sig` (1..=64) for a process.
    Signal { to: Who, sig: u8 },
    /// A new process with these ids (up to the harness's process cap).
    Spawnproc { uid: u8, gid: u8 },
    /// fork() of a process.
    Fork { who: Who },
    /// exit() of a process: its blocked calls must end.
    Exit { who: Who },
    /// The caller's supplementary groups.
    Groups { who: Who, ids: Vec<u8> },
    /// Sets CLOCK_REALTIME (cancel-on-set timerfds, realtime deadlines).
    SetRealtime { secs: u32 },
}

/// A host file operation.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum FileOp {
    /// read(2).
    Read,
    /// write(2).
    Write,
    /// poll(2) with a zero timeout.
    Poll,
    /// close(2).
    Close,
    /// dup(2).
    Dup,
}
