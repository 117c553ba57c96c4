//! The SysV semaphore syscalls: decode, call the set, encode.
//!
//! Register arguments that C declares `int` arrive sign-extended; values
//! outside `i32` are EINVAL (the shim never makes them). The checks come
//! in Linux's order (ipc/sem.c), so each bad input gets the errno Linux
//! gives it; user memory is read before the set is touched and written
//! after it answered, with no lock held.

use alloc::vec::Vec;

use crate::errno::{err, Errno, E2BIG, EINVAL, ENOMEM, ERANGE};
use crate::ipc::common::perm::Access;
use crate::ipc::common::time::{self, Timespec};
use crate::ipc::sysv::sem::ops::{SemBuf, SEMVMX};
use crate::ipc::sysv::sem::wake::{Batch, SEMOPM_FAST};
use crate::ipc::sysv::sem::{SemField, SemNamespace};
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{
    SemidDs, GETALL, GETNCNT, GETPID, GETVAL, GETZCNT, IPC_INFO, IPC_RMID, IPC_SET, IPC_STAT,
    SEMBUF_SIZE, SEMID_DS_SIZE, SEM_INFO, SEM_STAT, SEM_STAT_ANY, SETALL, SETVAL,
};
use crate::syscall::args::{Args, Reg};
use crate::syscall::uaccess::{UserSlice, UserValue};

/// A C `int` argument (EINVAL outside `i32`).
fn c_int(r: Reg) -> Result<i32, Errno> {
    i32::try_from(r.word() as isize).map_err(|_| Errno::new(EINVAL))
}

fn sets<K: Kernel + ?Sized>(k: &K) -> &SemNamespace {
    &k.ipc().sysv.sem
}

/// semget(key, nsems, semflg) -> semid
pub fn semget<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [key, nsems, flags, ..] = a.regs();
    let id = sets(k).get(k, c_int(key)?, c_int(nsems)?, c_int(flags)? as u32)?;
    Ok(id as usize)
}

/// Reads `n` sembufs at `at`, 64 at a time through a stack buffer.
fn read_ops<K: Kernel + ?Sized>(k: &K, at: Reg, n: usize) -> Result<Batch, Errno> {
    let bytes = n.checked_mul(SEMBUF_SIZE).ok_or(Errno::new(E2BIG))?;
    // EFAULT if the whole range wraps; the chunks below then cannot.
    UserSlice::new(at.word(), bytes)?;
    let mut batch = Batch::zeroed(n)?;
    let mut raw = [0u8; SEMOPM_FAST * SEMBUF_SIZE];
    for (chunk_no, chunk) in batch.as_mut_slice().chunks_mut(SEMOPM_FAST).enumerate() {
        let from = chunk_no * SEMOPM_FAST * SEMBUF_SIZE;
        let len = chunk.len() * SEMBUF_SIZE;
        UserSlice::new(at.word() + from, len)?.read_into(k, &mut raw[..len])?;
        for (op, b) in chunk.iter_mut().zip(raw.chunks_exact(SEMBUF_SIZE)) {
            *op = SemBuf {
                num: u16::from_ne_bytes([b[0], b[1]]),
                op: i16::from_ne_bytes([b[2], b[3]]),
                flg: i16::from_ne_bytes([b[4], b[5]]),
            };
        }
    }
    Ok(batch)
}

/// semtimedop(semid, sops, nsops, timeout) (semop: timeout null). The
/// timeout is relative, on CLOCK_MONOTONIC; when it passes the call
/// fails EAGAIN. Linux's order: the timeout is copied (EFAULT), nsops
/// checked (E2BIG, then EINVAL for 0), the operations copied (EFAULT),
/// then the id (EINVAL) and the timeout's range (EINVAL).
pub fn semtimedop<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [raw_id, sops, nsops, timeout, ..] = a.regs();
    let mut raw_ts = [0u8; 16];
    if let Some(p) = timeout.opt_ptr::<Timespec>() {
        p.bytes()?.read_into(k, &mut raw_ts)?;
    }
    let n = nsops.word();
    // semopm alone: the whole set of limits is not copied per call.
    if n > crate::ipc::sysv::limits::semopm(&k.ipc().acct) as usize {
        return err(E2BIG);
    }
    if n < 1 {
        return err(EINVAL);
    }
    let ops = read_ops(k, sops, n)?;
    let id = c_int(raw_id)?;
    if id < 0 {
        return err(EINVAL);
    }
    let deadline = match timeout.opt_ptr::<Timespec>() {
        None => None,
        Some(_) => {
            let ts = Timespec::decode(&raw_ts)?;
            Some(time::deadline(k, ClockId::Monotonic, ts, false))
        }
    };
    sets(k).semop(k, id, &ops, deadline)?;
    Ok(0)
}

fn to_user<K: Kernel + ?Sized>(k: &K, at: Reg, bytes: &[u8]) -> Result<(), Errno> {
    UserSlice::new(at.word(), bytes.len())?.write_from(k, bytes)?;
    Ok(())
}

/// semctl(semid, semnum, cmd, arg) -> 0, a value (GETVAL, GETPID,
/// GETNCNT, GETZCNT), an id (SEM_STAT*) or the highest index (IPC_INFO,
/// SEM_INFO). `arg` is the semun word: SETVAL's int, else a pointer.
pub fn semctl<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [raw_id, raw_num, raw_cmd, arg, ..] = a.regs();
    let id = c_int(raw_id)?;
    let num = c_int(raw_num)?;
    let cmd = c_int(raw_cmd)?;
    if id < 0 {
        return err(EINVAL);
    }
    let ns = sets(k);
    match cmd {
        IPC_INFO | SEM_INFO => {
            let (info, max) = ns.info(k, cmd == SEM_INFO);
            to_user(k, arg, &info.encode())?;
            Ok(max)
        }
        IPC_STAT | SEM_STAT | SEM_STAT_ANY => {
            let (full, ds) = ns.stat(k, id, cmd != IPC_STAT, cmd != SEM_STAT_ANY)?;
            to_user(k, arg, &ds.encode())?;
            Ok(full as usize)
        }
        GETVAL | GETPID | GETNCNT | GETZCNT => {
            let field = match cmd {
                GETVAL => SemField::Value,
                GETPID => SemField::Pid,
                GETNCNT => SemField::NCount,
                _ => SemField::ZCount,
            };
            ns.lookup(id)?.field(k, num, field)
        }
        GETALL => {
            let vals = ns.lookup(id)?.values(k)?;
            let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_ne_bytes()).collect();
            to_user(k, arg, &bytes)?;
            Ok(0)
        }
        SETALL => {
            let set = ns.lookup(id)?;
            set.check(&k.credentials(), Access::WRITE)?;
            let mut raw = Vec::new();
            raw.try_reserve_exact(set.nsems() * 2)
                .map_err(|_| Errno::new(ENOMEM))?;
            raw.resize(set.nsems() * 2, 0);
            UserSlice::new(arg.word(), raw.len())?.read_into(k, &mut raw)?;
            let vals: Vec<u16> = raw
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]]))
                .collect();
            set.set_all(k, &vals)?;
            Ok(0)
        }
        SETVAL => {
            // Linux takes the int of the semun (the low 32 bits of the
            // word on little-endian 64-bit; the rest is whatever the
            // caller's union held) and checks its range before it looks
            // the set up.
            let val = arg.word() as u32 as i32;
            if !(0..=SEMVMX).contains(&val) {
                return err(ERANGE);
            }
            ns.lookup(id)?.set_value(k, num, val)?;
            Ok(0)
        }
        IPC_SET => {
            let mut raw = [0u8; SEMID_DS_SIZE];
            UserSlice::new(arg.word(), SEMID_DS_SIZE)?.read_into(k, &mut raw)?;
            let ds = SemidDs::decode(&raw);
            ns.set(k, id, ds.perm.uid, ds.perm.gid, ds.perm.mode)?;
            Ok(0)
        }
        IPC_RMID => {
            ns.remove(k, id)?;
            Ok(0)
        }
        _ => err(EINVAL),
    }
}
