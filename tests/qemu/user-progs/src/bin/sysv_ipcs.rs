//! A small `ipcs -q` / `ipcrm` built only from msgctl's MSG_INFO,
//! MSG_STAT_ANY and IPC_RMID: it lists what exists (key, id, owner, mode,
//! messages, bytes), removes by id and by key, and checks that the listing
//! follows. Other programs' queues may be listed too; only ours are judged.
#![no_std]
#![no_main]

#[path = "../sysv.rs"]
mod sysv;

use redbear_ipc::syscall::abi::{IPC_NOWAIT, MSGINFO_SIZE, MSG_INFO, MSG_STAT_ANY};
use sysv::*;
use user_rt::{check, println};

const KEYS: [i32; 3] = [0x5157_0001, 0x5157_0002, 0x5157_0003];

/// One listed queue: (key, id, qnum, cbytes).
type Row = (i32, i32, u64, u64);

/// Prints every queue as `ipcs -q` does and returns the rows for our keys.
fn ipcs() -> Result<[Option<Row>; 3], i32> {
    let mut raw = [0u8; MSGINFO_SIZE];
    let max = ctl(0, MSG_INFO, raw.as_mut_ptr() as usize)?;
    let queues = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
    println!(
        "------ Message Queues ({} in use, highest index {}) ------",
        queues, max
    );
    println!("key        msqid      owner  perms  used-bytes  messages");
    let mut ours = [None; 3];
    for index in 0..=max as i32 {
        let Ok((id, ds)) = stat_cmd(index, MSG_STAT_ANY) else {
            continue;
        };
        let id = id as i32;
        println!(
            "{:#010x} {:<10} {:<6} {:<6o} {:<11} {}",
            ds.perm.key as u32, id, ds.perm.uid, ds.perm.mode, ds.cbytes, ds.qnum
        );
        if let Some(i) = KEYS.iter().position(|&k| k == ds.perm.key) {
            ours[i] = Some((ds.perm.key, id, ds.qnum, ds.cbytes));
        }
    }
    Ok(ours)
}

/// `ipcrm -Q key`: the id by key, then IPC_RMID.
fn ipcrm_key(key: i32) -> Result<usize, i32> {
    rmid(msgget(key, 0)?)
}

fn main(_: usize) -> i32 {
    let mut ok = true;
    let mut ids = [0i32; 3];
    for (i, &key) in KEYS.iter().enumerate() {
        match msgget(key, IPC_CREAT | IPC_EXCL | 0o640) {
            Ok(id) => ids[i] = id,
            Err(e) => {
                println!("msgget {:#x}: errno {}", key, e);
                return 2;
            }
        }
    }
    ok &= check("send", msgsnd(ids[1], 5, b"hello", IPC_NOWAIT), Ok(0));
    ok &= check("send", msgsnd(ids[1], 6, b"ab", IPC_NOWAIT), Ok(0));
    ok &= check(
        "listed",
        ipcs(),
        Ok([
            Some((KEYS[0], ids[0], 0, 0)),
            Some((KEYS[1], ids[1], 2, 7)),
            Some((KEYS[2], ids[2], 0, 0)),
        ]),
    );
    ok &= check("ipcrm -q id", rmid(ids[0]), Ok(0));
    ok &= check("ipcrm -Q key", ipcrm_key(KEYS[1]), Ok(0));
    ok &= check(
        "listed after ipcrm",
        ipcs(),
        Ok([None, None, Some((KEYS[2], ids[2], 0, 0))]),
    );
    ok &= check("ipcrm -Q key", ipcrm_key(KEYS[2]), Ok(0));
    ok &= check("gone", ipcs(), Ok([None, None, None]));
    ok &= check("ipcrm of a gone key", ipcrm_key(KEYS[2]), Err(ENOENT));
    if ok {
        println!("ipcs/ipcrm: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
