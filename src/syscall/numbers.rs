//! The new syscall numbers: one table, shared with relibc-shim and the
//! kernel patches (a CI check compares them).
//!
//! The block starts at 4000, inside 1000..=9452, which redox_syscall has
//! never used; the numbers carry no class bits (the Redox kernel matches
//! the whole number). `tests/numbers.rs` proves that none collides with a
//! `SYS_*` constant of redox_syscall. A number whose family is not built
//! yet is reserved here and answers ENOSYS.

/// First number of the block.
pub const BASE: usize = 4000;
/// One past the last number of the block.
pub const END: usize = BASE + 64;

macro_rules! numbers {
    ($( $(#[$doc:meta])* $name:ident = $off:expr, $status:ident; )*) => {
        $( $(#[$doc])* pub const $name: usize = BASE + $off; )*
        /// Every number with its name and whether its family is built.
        pub const ALL: &[(&str, usize, Status)] = &[ $( (stringify!($name), BASE + $off, Status::$status) ),* ];
    };
}

/// Whether a number has an implementation yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Dispatched to a real implementation.
    Implemented,
    /// Reserved for a family not built yet: ENOSYS.
    Reserved,
}

numbers! {
    /// futex_wait(uaddr, expected, timeout_ptr, flags, bitset)
    SYS_RB_FUTEX_WAIT = 0, Implemented;
    /// futex_wake(uaddr, count, flags, bitset) -> woken
    SYS_RB_FUTEX_WAKE = 1, Implemented;
    /// futex_requeue(uaddr, wake, uaddr2, requeue, flags) -> woken + moved
    SYS_RB_FUTEX_REQUEUE = 2, Implemented;
    /// futex_cmp_requeue(uaddr, wake, uaddr2, requeue, flags, expected)
    SYS_RB_FUTEX_CMP_REQUEUE = 3, Implemented;

    /// sem_init(sem_ptr, pshared, value)
    SYS_RB_SEM_INIT = 8, Implemented;
    /// sem_post(sem_ref, flags): sem_ref is a sem address, or an fd with SEM_REF_FD
    SYS_RB_SEM_POST = 9, Implemented;
    /// sem_wait(sem_ref, flags, timeout_ptr, clock): SEM_TRY / SEM_TIMED in flags
    SYS_RB_SEM_WAIT = 10, Implemented;
    /// sem_getvalue(sem_ref, flags) -> value
    SYS_RB_SEM_GETVALUE = 11, Implemented;
    /// sem_open(name_ptr, name_len, oflag, mode, value, fd_slot) -> fd
    SYS_RB_SEM_OPEN = 12, Implemented;
    /// sem_unlink(name_ptr, name_len)
    SYS_RB_SEM_UNLINK = 13, Implemented;
    /// sem_map(fd) -> uaddr: maps a named semaphore's page (EOPNOTSUPP without pages)
    SYS_RB_SEM_MAP = 14, Implemented;
    /// sem_unmap(fd, uaddr): removes a mapping sem_map made
    SYS_RB_SEM_UNMAP = 15, Implemented;

    /// semget(key, nsems, semflg)
    SYS_RB_SEMGET = 16, Implemented;
    /// semop / semtimedop(semid, sops_ptr, nsops, timeout_ptr)
    SYS_RB_SEMTIMEDOP = 17, Implemented;
    /// semctl(semid, semnum, cmd, arg)
    SYS_RB_SEMCTL = 18, Implemented;

    /// mq_open(name_ptr, name_len, oflag, mode, attr_ptr, fd_slot)
    SYS_RB_MQ_OPEN = 24, Implemented;
    /// mq_unlink(name_ptr, name_len)
    SYS_RB_MQ_UNLINK = 25, Implemented;
    /// mq_timedsend(fd, msg_ptr, len, prio, timeout_ptr)
    SYS_RB_MQ_TIMEDSEND = 26, Implemented;
    /// mq_timedreceive(fd, buf_ptr, len, prio_ptr, timeout_ptr)
    SYS_RB_MQ_TIMEDRECEIVE = 27, Implemented;
    /// mq_getsetattr(fd, new_attr_ptr, old_attr_ptr)
    SYS_RB_MQ_GETSETATTR = 28, Implemented;
    /// mq_notify(fd, sigevent_ptr)
    SYS_RB_MQ_NOTIFY = 29, Implemented;

    /// msgget(key, msgflg)
    SYS_RB_MSGGET = 32, Implemented;
    /// msgsnd(msqid, msgp, msgsz, msgflg)
    SYS_RB_MSGSND = 33, Implemented;
    /// msgrcv(msqid, msgp, msgsz, msgtyp, msgflg)
    SYS_RB_MSGRCV = 34, Implemented;
    /// msgctl(msqid, cmd, buf)
    SYS_RB_MSGCTL = 35, Implemented;

    /// eventfd2(initval, flags, fd_slot)
    SYS_RB_EVENTFD2 = 40, Implemented;
    /// signalfd4(fd, mask_ptr, masksize, flags, fd_slot)
    SYS_RB_SIGNALFD4 = 41, Implemented;
    /// timerfd_create(clockid, flags, fd_slot)
    SYS_RB_TIMERFD_CREATE = 42, Implemented;
    /// timerfd_settime(fd, flags, new_ptr, old_ptr)
    SYS_RB_TIMERFD_SETTIME = 43, Implemented;
    /// timerfd_gettime(fd, cur_ptr)
    SYS_RB_TIMERFD_GETTIME = 44, Implemented;
    /// signal_queued(pid, signo) -> woken: a host whose signals are queued
    /// in user space (Redox: procmgr and redox-rt) says a signal is now
    /// pending for process `pid`, so that its signalfds re-check
    SYS_RB_SIGNAL_QUEUED = 45, Implemented;
}

/// Whether `nr` falls in our block (the host routes these to `dispatch`).
pub const fn is_ours(nr: usize) -> bool {
    nr >= BASE && nr < END
}
