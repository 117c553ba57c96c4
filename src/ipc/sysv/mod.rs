//! SysV IPC: semaphore sets (and the machinery SysV families share).

pub mod sem;
