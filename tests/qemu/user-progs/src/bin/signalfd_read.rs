//! signalfd through the trap path: a blocked signal sent by another
//! process becomes readable (poll, then read gives signo and sender), a
//! blocking read is woken by a later kill, and the mask can be updated.
#![no_std]
#![no_main]

use redbear_ipc::syscall::abi::{FdFlags, FD_NEW, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::SYS_RB_SIGNALFD4;
use testbed_abi::{nr, sig, PollFd};
use user_rt::{check, println, sys, thread};

const EAGAIN: isize = 11;
const POLLIN: i16 = 1;
const SIG_BLOCK: usize = 0;

fn bit(s: usize) -> u64 {
    1 << (s - 1)
}

/// (signo, code, pid, uid) of one signalfd_siginfo.
fn read_info(fd: usize) -> Result<(u32, i32, u32, u32), isize> {
    let mut b = [0u8; 128];
    let n = sys::read(fd, &mut b)?;
    if n != 128 {
        return Err(-1);
    }
    let u = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    Ok((u(0), u(8) as i32, u(12), u(16)))
}

fn reader(fd: usize) -> i32 {
    match read_info(fd) {
        Ok((signo, ..)) => signo as i32,
        Err(e) => -(e as i32),
    }
}

fn main(arg: usize) -> i32 {
    if arg != 0 {
        // Child: signal the parent.
        return match sys::kill(sys::getppid(), arg) {
            Ok(_) => 0,
            Err(e) => e as i32,
        };
    }
    let mut ok = true;
    let mask = bit(sig::SIGUSR1) | bit(sig::SIGUSR2);
    ok &= check(
        "block",
        sys::sigprocmask(SIG_BLOCK, Some(mask)).map(|_| ()),
        Ok(()),
    );
    let make = |m: u64, flags: FdFlags, fd: usize| {
        sys::check(sys::syscall(
            SYS_RB_SIGNALFD4,
            [
                fd,
                &m as *const u64 as usize,
                8,
                flags.bits(),
                FD_SLOT_ANY,
                0,
            ],
        ))
    };
    let Ok(fd) = make(bit(sig::SIGUSR1), FdFlags::NONBLOCK, FD_NEW) else {
        return 1;
    };
    ok &= check("empty", read_info(fd), Err(EAGAIN));
    // A child (uid 0) sends SIGUSR1.
    let child = sys::spawn_process("signalfd_read", 0, sig::SIGUSR1).unwrap_or(0);
    ok &= check("child", sys::wait_process(child), Ok(0));
    let mut p = PollFd {
        fd: fd as i32,
        events: POLLIN,
        revents: 0,
    };
    let r = sys::check(sys::syscall(
        nr::POLL,
        [&mut p as *mut PollFd as usize, 1, 0, 0, 0, 0],
    ));
    ok &= check("poll", (r, p.revents), (Ok(1), POLLIN));
    ok &= check(
        "info",
        read_info(fd),
        Ok((sig::SIGUSR1 as u32, 0, child as u32, 0)),
    );
    ok &= check(
        "consumed",
        sys::sigpending().map(|s| s & bit(sig::SIGUSR1)),
        Ok(0),
    );
    // SIGUSR2 is not in the fd's mask: stays pending, fd not readable.
    sys::kill(sys::getpid(), sig::SIGUSR2).ok();
    ok &= check("other signal", read_info(fd), Err(EAGAIN));
    // Widen the mask: now it is.
    ok &= check("update", make(mask, FdFlags::empty(), fd), Ok(fd));
    ok &= check("usr2", read_info(fd).map(|i| i.0), Ok(sig::SIGUSR2 as u32));
    // A blocking read (new fd, blocking) woken by a kill from this thread.
    let Ok(bfd) = make(bit(sig::SIGUSR1), FdFlags::empty(), FD_NEW) else {
        return 2;
    };
    let tid = thread::spawn(reader, bfd).unwrap_or(0);
    sys::nanosleep(20_000_000).ok();
    sys::kill(sys::getpid(), sig::SIGUSR1).ok();
    ok &= check(
        "blocking reader",
        thread::join(tid),
        Ok(sig::SIGUSR1 as i32),
    );
    // Standard signals coalesce, realtime ones queue; lowest number first.
    let rt = sig::SIGRTMIN;
    let both = bit(sig::SIGUSR2) | bit(rt);
    ok &= check(
        "block rt",
        sys::sigprocmask(SIG_BLOCK, Some(both)).map(|_| ()),
        Ok(()),
    );
    let Ok(qfd) = make(both, FdFlags::NONBLOCK, FD_NEW) else {
        return 3;
    };
    for s in [rt, sig::SIGUSR2, rt, sig::SIGUSR2] {
        sys::kill(sys::getpid(), s).ok();
    }
    let order: [Result<u32, isize>; 4] = [
        read_info(qfd).map(|i| i.0),
        read_info(qfd).map(|i| i.0),
        read_info(qfd).map(|i| i.0),
        read_info(qfd).map(|i| i.0),
    ];
    ok &= check(
        "coalesce and queue",
        order,
        [
            Ok(sig::SIGUSR2 as u32),
            Ok(rt as u32),
            Ok(rt as u32),
            Err(EAGAIN),
        ],
    );
    // sigqueue: si_code SI_QUEUE and the value reach the reader.
    let rt1 = sig::SIGRTMIN + 1;
    ok &= check(
        "block rt1",
        sys::sigprocmask(SIG_BLOCK, Some(bit(rt1))).map(|_| ()),
        Ok(()),
    );
    let Ok(vfd) = make(bit(rt1), FdFlags::NONBLOCK, FD_NEW) else {
        return 4;
    };
    let q = sys::check(sys::syscall(
        nr::SIGQUEUE,
        [sys::getpid(), rt1, 1234, 0, 0, 0],
    ));
    ok &= check("sigqueue", q, Ok(0));
    let mut b = [0u8; 128];
    ok &= check("read queued", sys::read(vfd, &mut b), Ok(128));
    let u = |o: usize| u32::from_ne_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
    ok &= check(
        "signo, code, int",
        (u(0), u(8) as i32, u(44) as i32),
        (rt1 as u32, -1, 1234),
    );
    ok &= check(
        "bad size",
        sys::check(sys::syscall(
            SYS_RB_SIGNALFD4,
            [FD_NEW, &mask as *const u64 as usize, 4, 0, FD_SLOT_ANY, 0],
        )),
        Err(22),
    );
    if ok {
        println!("signalfd: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
