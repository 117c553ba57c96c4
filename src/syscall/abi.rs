//! The kernel ABI behind the new numbers: flag bits and layouts. This is
//! our ABI, not libc's; relibc-shim translates (docs/abi.md).

use bitflags::bitflags;

/// `fd_slot` argument of calls that create an fd: let the kernel choose
/// the lowest free number. Any other value asks for exactly that number
/// (Redox's `*_into` convention: EEXIST if taken).
pub const FD_SLOT_ANY: usize = usize::MAX;

bitflags! {
    /// Flags of the futex calls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FutexFlags: usize {
        /// The word is process-shared: key by the memory, not the address.
        const SHARED = 1 << 0;
        /// Timeouts are on CLOCK_REALTIME (else CLOCK_MONOTONIC).
        const CLOCK_REALTIME = 1 << 1;
        /// The timeout is an absolute time (else relative).
        const ABSOLUTE = 1 << 2;
    }
}

bitflags! {
    /// Flags of the semaphore calls.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct SemFlags: usize {
        /// `sem_ref` is an fd from `sem_open` (else a `sem_t` address).
        const REF_FD = 1 << 0;
        /// `sem_trywait`: EAGAIN instead of sleeping.
        const TRY = 1 << 1;
        /// Sleep at most until the absolute timeout at `timeout_ptr` on
        /// the clock argument.
        const TIMED = 1 << 2;
    }
}

bitflags! {
    /// `oflag` of `sem_open` (and later `mq_open`) in the kernel ABI.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct OpenFlags: usize {
        /// O_CREAT.
        const CREATE = 1 << 0;
        /// O_EXCL.
        const EXCLUSIVE = 1 << 1;
    }
}

bitflags! {
    /// Creation flags of eventfd2, signalfd4 and timerfd_create.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct FdFlags: usize {
        /// O_NONBLOCK on the new description.
        const NONBLOCK = 1 << 0;
        /// FD_CLOEXEC on the new fd.
        const CLOEXEC = 1 << 1;
        /// eventfd only: EFD_SEMAPHORE.
        const SEMAPHORE = 1 << 2;
    }
}

bitflags! {
    /// Flags of timerfd_settime (Linux's values).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TimerSetFlags: usize {
        /// TFD_TIMER_ABSTIME.
        const ABSTIME = 1 << 0;
        /// TFD_TIMER_CANCEL_ON_SET.
        const CANCEL_ON_SET = 1 << 1;
    }
}

/// `fd` argument of signalfd4 that asks for a new signalfd (C's -1).
pub const FD_NEW: usize = usize::MAX;
/// Size of the signal mask signalfd4 takes (Linux's kernel sigset_t).
pub const SIGSET_SIZE: usize = 8;
/// Size of the kernel-ABI itimerspec: interval then value, two timespecs.
pub const ITIMERSPEC_SIZE: usize = 32;
/// Linux's CLOCK_REALTIME_ALARM (timerfd; needs privilege).
pub const CLOCK_REALTIME_ALARM: usize = 8;
/// Linux's CLOCK_BOOTTIME_ALARM (timerfd; needs privilege).
pub const CLOCK_BOOTTIME_ALARM: usize = 9;

/// Size of the kernel-ABI timespec: `{ i64 tv_sec; i64 tv_nsec; }`.
pub const TIMESPEC_SIZE: usize = 16;

/// Decodes a flags word, EINVAL on unknown bits.
pub fn flags<F: bitflags::Flags<Bits = usize>>(raw: usize) -> Result<F, crate::Errno> {
    F::from_bits(raw).ok_or(crate::Errno::new(crate::errno::EINVAL))
}

/// SysV command: remove the object (msgctl, semctl).
pub const IPC_RMID: i32 = 0;
/// SysV command: set owner, mode and the family's settable fields.
pub const IPC_SET: i32 = 1;
/// SysV command: read the object's state.
pub const IPC_STAT: i32 = 2;
/// SysV command: the namespace's limits.
pub const IPC_INFO: i32 = 3;
/// SysV flag: fail EAGAIN / ENOMSG instead of sleeping.
pub const IPC_NOWAIT: u32 = 0o4000;
/// msgctl: IPC_STAT by table index, returning the full id.
pub const MSG_STAT: i32 = 11;
/// msgctl: IPC_INFO with the namespace's usage.
pub const MSG_INFO: i32 = 12;
/// msgctl: MSG_STAT without the read-permission check.
pub const MSG_STAT_ANY: i32 = 13;
/// msgrcv flag: truncate a longer message instead of E2BIG.
pub const MSG_NOERROR: u32 = 0o10000;
/// msgrcv flag: the first message not of type msgtyp.
pub const MSG_EXCEPT: u32 = 0o20000;
/// msgrcv flag: copy the message at index msgtyp without removing it.
pub const MSG_COPY: u32 = 0o40000;

/// Size of the kernel-ABI `struct ipc_perm` (Linux's layout).
pub const IPC_PERM_SIZE: usize = 48;
/// Size of the kernel-ABI `struct msqid_ds` (Linux's x86_64 layout).
pub const MSQID_DS_SIZE: usize = 120;
/// Size of the kernel-ABI `struct msginfo`.
pub const MSGINFO_SIZE: usize = 32;
/// Bytes before the text in a `struct msgbuf`: a `long mtype`.
pub const MSGBUF_TYPE_SIZE: usize = 8;

/// `struct ipc_perm`: key@0 uid@4 gid@8 cuid@12 cgid@16 mode@20 (u32)
/// seq@24 (u16), then padding and two reserved words to 48 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpcPermAbi {
    /// The key.
    pub key: i32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Creator uid.
    pub cuid: u32,
    /// Creator gid.
    pub cgid: u32,
    /// Mode bits.
    pub mode: u32,
    /// Sequence number.
    pub seq: u16,
}

fn put_u32(raw: &mut [u8], at: usize, v: u32) {
    raw[at..at + 4].copy_from_slice(&v.to_ne_bytes());
}
fn put_u64(raw: &mut [u8], at: usize, v: u64) {
    raw[at..at + 8].copy_from_slice(&v.to_ne_bytes());
}
fn get_u32(raw: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&raw[at..at + 4]);
    u32::from_ne_bytes(b)
}
fn get_u64(raw: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&raw[at..at + 8]);
    u64::from_ne_bytes(b)
}

impl IpcPermAbi {
    /// Writes the 48 bytes at the start of `raw`.
    pub fn encode(&self, raw: &mut [u8]) {
        raw[..IPC_PERM_SIZE].fill(0);
        put_u32(raw, 0, self.key as u32);
        put_u32(raw, 4, self.uid);
        put_u32(raw, 8, self.gid);
        put_u32(raw, 12, self.cuid);
        put_u32(raw, 16, self.cgid);
        put_u32(raw, 20, self.mode);
        raw[24..26].copy_from_slice(&self.seq.to_ne_bytes());
    }

    /// Reads the 48 bytes at the start of `raw`.
    pub fn decode(raw: &[u8]) -> Self {
        IpcPermAbi {
            key: get_u32(raw, 0) as i32,
            uid: get_u32(raw, 4),
            gid: get_u32(raw, 8),
            cuid: get_u32(raw, 12),
            cgid: get_u32(raw, 16),
            mode: get_u32(raw, 20),
            seq: (get_u32(raw, 24) & 0xffff) as u16,
        }
    }
}

/// `struct msqid_ds`: perm@0, stime@48 rtime@56 ctime@64 (i64 seconds),
/// cbytes@72 qnum@80 qbytes@88 (u64), lspid@96 lrpid@100 (i32), two
/// reserved words to 120 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsqidDs {
    /// Ownership and mode.
    pub perm: IpcPermAbi,
    /// Time of the last msgsnd.
    pub stime: i64,
    /// Time of the last msgrcv.
    pub rtime: i64,
    /// Time of creation or the last IPC_SET.
    pub ctime: i64,
    /// Bytes of text queued.
    pub cbytes: u64,
    /// Messages queued.
    pub qnum: u64,
    /// Most bytes the queue may hold.
    pub qbytes: u64,
    /// Pid of the last msgsnd.
    pub lspid: u32,
    /// Pid of the last msgrcv.
    pub lrpid: u32,
}

impl MsqidDs {
    /// The 120 ABI bytes.
    pub fn encode(&self) -> [u8; MSQID_DS_SIZE] {
        let mut raw = [0u8; MSQID_DS_SIZE];
        self.perm.encode(&mut raw);
        put_u64(&mut raw, 48, self.stime as u64);
        put_u64(&mut raw, 56, self.rtime as u64);
        put_u64(&mut raw, 64, self.ctime as u64);
        put_u64(&mut raw, 72, self.cbytes);
        put_u64(&mut raw, 80, self.qnum);
        put_u64(&mut raw, 88, self.qbytes);
        put_u32(&mut raw, 96, self.lspid);
        put_u32(&mut raw, 100, self.lrpid);
        raw
    }

    /// Decodes 120 ABI bytes (IPC_SET reads perm.uid, perm.gid, perm.mode
    /// and qbytes).
    pub fn decode(raw: &[u8; MSQID_DS_SIZE]) -> Self {
        MsqidDs {
            perm: IpcPermAbi::decode(raw),
            stime: get_u64(raw, 48) as i64,
            rtime: get_u64(raw, 56) as i64,
            ctime: get_u64(raw, 64) as i64,
            cbytes: get_u64(raw, 72),
            qnum: get_u64(raw, 80),
            qbytes: get_u64(raw, 88),
            lspid: get_u32(raw, 96),
            lrpid: get_u32(raw, 100),
        }
    }
}

/// `struct msginfo` (IPC_INFO / MSG_INFO): eight ints, the last a u16.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MsgInfo {
    /// IPC_INFO: MSGPOOL; MSG_INFO: queues in use.
    pub msgpool: i32,
    /// IPC_INFO: MSGMAP; MSG_INFO: messages queued in the namespace.
    pub msgmap: i32,
    /// msgmax.
    pub msgmax: i32,
    /// msgmnb.
    pub msgmnb: i32,
    /// msgmni.
    pub msgmni: i32,
    /// MSGSSZ.
    pub msgssz: i32,
    /// IPC_INFO: MSGTQL; MSG_INFO: bytes queued in the namespace.
    pub msgtql: i32,
    /// MSGSEG.
    pub msgseg: u16,
}

impl MsgInfo {
    /// The 32 ABI bytes.
    pub fn encode(&self) -> [u8; MSGINFO_SIZE] {
        let mut raw = [0u8; MSGINFO_SIZE];
        let ints = [
            self.msgpool,
            self.msgmap,
            self.msgmax,
            self.msgmnb,
            self.msgmni,
            self.msgssz,
            self.msgtql,
        ];
        for (i, v) in ints.iter().enumerate() {
            put_u32(&mut raw, i * 4, *v as u32);
        }
        raw[28..30].copy_from_slice(&self.msgseg.to_ne_bytes());
        raw
    }
}

bitflags! {
    /// `oflag` of `mq_open` in the kernel ABI. The access mode is the low
    /// two bits, as O_ACCMODE (0 read, 1 write, 2 both; 3 is Linux's
    /// "neither"), the rest are ours.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MqOpenFlags: usize {
        /// O_ACCMODE bit 0 (O_WRONLY).
        const WRONLY = 1 << 0;
        /// O_ACCMODE bit 1 (O_RDWR).
        const RDWR = 1 << 1;
        /// O_CREAT.
        const CREATE = 1 << 2;
        /// O_EXCL.
        const EXCLUSIVE = 1 << 3;
        /// O_NONBLOCK on the new description.
        const NONBLOCK = 1 << 4;
        /// FD_CLOEXEC on the new fd.
        const CLOEXEC = 1 << 5;
    }
}

/// Size of the kernel-ABI `struct mq_attr` (Linux's 64-bit layout: four
/// i64s, mq_flags, mq_maxmsg, mq_msgsize, mq_curmsgs, then 4 reserved).
pub const MQ_ATTR_SIZE: usize = 64;
/// The one mq_flags bit (Linux's O_NONBLOCK value).
pub const MQ_NONBLOCK: i64 = 0o4000;
/// Size of the kernel-ABI `struct sigevent` (Linux's): sigev_value
/// (u64) at 0, sigev_signo (i32) at 8, sigev_notify (i32) at 12, the
/// rest ignored.
pub const SIGEVENT_SIZE: usize = 64;
/// sigev_notify: send a signal.
pub const SIGEV_SIGNAL: i32 = 0;
/// sigev_notify: register, send nothing.
pub const SIGEV_NONE: i32 = 1;
/// sigev_notify: run a function in a new thread. A C library feature; the
/// kernel's half: sigev_signo is a message-queue fd (the notice channel),
/// sigev_value a cookie, and firing posts a notice of `MQ_NOTICE_SIZE`
/// bytes on the channel (`ipc::mq::notify::Notice`).
pub const SIGEV_THREAD: i32 = 2;
/// Size of a SIGEV_THREAD notice: cookie (u64) at 0, the sender's pid
/// (u32) at 8, its real uid (u32) at 12.
pub const MQ_NOTICE_SIZE: usize = crate::ipc::mq::notify::NOTICE_SIZE;

/// semctl: sempid of one semaphore.
pub const GETPID: i32 = 11;
/// semctl: semval of one semaphore.
pub const GETVAL: i32 = 12;
/// semctl: every semval, as unsigned shorts.
pub const GETALL: i32 = 13;
/// semctl: callers waiting for one semaphore to grow.
pub const GETNCNT: i32 = 14;
/// semctl: callers waiting for one semaphore to be zero.
pub const GETZCNT: i32 = 15;
/// semctl: set one semval.
pub const SETVAL: i32 = 16;
/// semctl: set every semval.
pub const SETALL: i32 = 17;
/// semctl: IPC_STAT by table index, returning the full id.
pub const SEM_STAT: i32 = 18;
/// semctl: IPC_INFO with the namespace's usage.
pub const SEM_INFO: i32 = 19;
/// semctl: SEM_STAT without the read-permission check.
pub const SEM_STAT_ANY: i32 = 20;

/// Size of one kernel-ABI `struct sembuf`: u16 num, i16 op, i16 flg.
pub const SEMBUF_SIZE: usize = 6;
/// Size of the kernel-ABI `struct semid_ds` (Linux's x86_64 layout, on
/// both architectures).
pub const SEMID_DS_SIZE: usize = 104;
/// Size of the kernel-ABI `struct seminfo`: ten ints.
pub const SEMINFO_SIZE: usize = 40;

/// `struct semid_ds`: perm@0, otime@48, (reserved@56), ctime@64,
/// (reserved@72), nsems@80 (u64), two reserved words to 104 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SemidDs {
    /// Ownership and mode.
    pub perm: IpcPermAbi,
    /// Time of the last semop.
    pub otime: i64,
    /// Time of creation or the last IPC_SET, SETVAL or SETALL.
    pub ctime: i64,
    /// Semaphores in the set.
    pub nsems: u64,
}

impl SemidDs {
    /// The 104 ABI bytes.
    pub fn encode(&self) -> [u8; SEMID_DS_SIZE] {
        let mut raw = [0u8; SEMID_DS_SIZE];
        self.perm.encode(&mut raw);
        put_u64(&mut raw, 48, self.otime as u64);
        put_u64(&mut raw, 64, self.ctime as u64);
        put_u64(&mut raw, 80, self.nsems);
        raw
    }

    /// Decodes 104 ABI bytes (IPC_SET reads perm.uid, perm.gid and
    /// perm.mode).
    pub fn decode(raw: &[u8; SEMID_DS_SIZE]) -> Self {
        SemidDs {
            perm: IpcPermAbi::decode(raw),
            otime: get_u64(raw, 48) as i64,
            ctime: get_u64(raw, 64) as i64,
            nsems: get_u64(raw, 80),
        }
    }
}

/// `struct seminfo` (IPC_INFO / SEM_INFO): ten ints in this order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SemInfo {
    /// SEMMAP (Linux's constant 1024000000).
    pub semmap: i32,
    /// semmni.
    pub semmni: i32,
    /// semmns.
    pub semmns: i32,
    /// SEMMNU (Linux's constant 1024000000).
    pub semmnu: i32,
    /// semmsl.
    pub semmsl: i32,
    /// semopm.
    pub semopm: i32,
    /// SEMUME (Linux's constant 500).
    pub semume: i32,
    /// IPC_INFO: SEMUSZ; SEM_INFO: sets in use.
    pub semusz: i32,
    /// SEMVMX.
    pub semvmx: i32,
    /// IPC_INFO: SEMAEM; SEM_INFO: semaphores in use.
    pub semaem: i32,
}

impl SemInfo {
    /// The 40 ABI bytes.
    pub fn encode(&self) -> [u8; SEMINFO_SIZE] {
        let mut raw = [0u8; SEMINFO_SIZE];
        let ints = [
            self.semmap,
            self.semmni,
            self.semmns,
            self.semmnu,
            self.semmsl,
            self.semopm,
            self.semume,
            self.semusz,
            self.semvmx,
            self.semaem,
        ];
        for (i, v) in ints.iter().enumerate() {
            put_u32(&mut raw, i * 4, *v as u32);
        }
        raw
    }

    /// Decodes 40 ABI bytes.
    pub fn decode(raw: &[u8; SEMINFO_SIZE]) -> Self {
        let w = |i: usize| get_u32(raw, i * 4) as i32;
        SemInfo {
            semmap: w(0),
            semmni: w(1),
            semmns: w(2),
            semmnu: w(3),
            semmsl: w(4),
            semopm: w(5),
            semume: w(6),
            semusz: w(7),
            semvmx: w(8),
            semaem: w(9),
        }
    }
}
