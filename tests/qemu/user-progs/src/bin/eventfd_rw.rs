//! eventfd through the trap path: counter and semaphore modes, O_NONBLOCK
//! EAGAIN, a blocking read woken by another thread's write, poll
//! readiness, dup sharing the object, close.
#![no_std]
#![no_main]

use redbear_ipc::syscall::abi::{FdFlags, FD_SLOT_ANY};
use redbear_ipc::syscall::numbers::SYS_RB_EVENTFD2;
use testbed_abi::{nr, PollFd};
use user_rt::{check, println, sys, thread};

const EAGAIN: isize = 11;
const POLLIN: i16 = 1;
const POLLOUT: i16 = 4;

fn eventfd(init: u32, flags: FdFlags) -> Result<usize, isize> {
    sys::check(sys::syscall(
        SYS_RB_EVENTFD2,
        [init as usize, flags.bits(), FD_SLOT_ANY, 0, 0, 0],
    ))
}
fn wr(fd: usize, v: u64) -> Result<usize, isize> {
    sys::write(fd, &v.to_ne_bytes())
}
fn poll1(fd: usize, events: i16, timeout_ms: isize) -> Result<i16, isize> {
    let mut p = PollFd {
        fd: fd as i32,
        events,
        revents: 0,
    };
    sys::check(sys::syscall(
        nr::POLL,
        [
            &mut p as *mut PollFd as usize,
            1,
            timeout_ms as usize,
            0,
            0,
            0,
        ],
    ))?;
    Ok(p.revents)
}

fn blocking_reader(fd: usize) -> i32 {
    match sys::read_u64(fd) {
        Ok(v) => v as i32,
        Err(e) => -(e as i32),
    }
}

fn blocking_writer(fd: usize) -> i32 {
    match wr(fd, 5) {
        Ok(n) => n as i32,
        Err(e) => -(e as i32),
    }
}

fn main(_: usize) -> i32 {
    let mut ok = true;
    let Ok(fd) = eventfd(0, FdFlags::NONBLOCK) else {
        return 1;
    };
    ok &= check("fd >= 3", fd >= 3, true);
    ok &= check("empty read", sys::read_u64(fd), Err(EAGAIN));
    ok &= check("poll empty", poll1(fd, POLLIN | POLLOUT, 0), Ok(POLLOUT));
    ok &= check("write", wr(fd, 3), Ok(8));
    ok &= check("write 2", wr(fd, 4), Ok(8));
    ok &= check("poll ready", poll1(fd, POLLIN, 0), Ok(POLLIN));
    ok &= check("read sum", sys::read_u64(fd), Ok(7));
    ok &= check("short read", sys::read(fd, &mut [0u8; 4]), Err(22));
    ok &= check("bad write", wr(fd, u64::MAX), Err(22));
    let dup = sys::dup(fd).unwrap_or(0);
    ok &= check("dup write", wr(dup, 5), Ok(8));
    ok &= check("read via original", sys::read_u64(fd), Ok(5));
    ok &= check("close dup", sys::close(dup), Ok(0));
    ok &= check("close", sys::close(fd), Ok(0));
    ok &= check("read closed", sys::read_u64(fd), Err(9));

    // fcntl: status flags of the description, close-on-exec of the fd.
    let fcntl = |fd: usize, cmd: usize, arg: usize| {
        sys::check(sys::syscall(nr::FCNTL, [fd, cmd, arg, 0, 0, 0]))
    };
    let Ok(cfd) = eventfd(0, FdFlags::NONBLOCK | FdFlags::CLOEXEC) else {
        return 4;
    };
    // Linux reports the access mode too: O_RDWR | O_NONBLOCK (measured).
    ok &= check("F_GETFL rdwr|nonblock", fcntl(cfd, 3, 0), Ok(0o4002));
    ok &= check("F_GETFD cloexec", fcntl(cfd, 1, 0), Ok(1));
    ok &= check("F_SETFD", fcntl(cfd, 2, 0), Ok(0));
    ok &= check("F_GETFD cleared", fcntl(cfd, 1, 0), Ok(0));
    let cdup = sys::dup(cfd).unwrap_or(0);
    ok &= check("dup has no cloexec", fcntl(cdup, 1, 0), Ok(0));
    ok &= check("F_SETFL blocking", fcntl(cfd, 4, 0), Ok(0));
    ok &= check("dup shares the description", fcntl(cdup, 3, 0), Ok(0o2));
    ok &= check("F_SETFL nonblock again", fcntl(cdup, 4, 0o4000), Ok(0));
    ok &= check("still EAGAIN", sys::read_u64(cfd), Err(EAGAIN));
    ok &= check("bad cmd", fcntl(cfd, 99, 0), Err(22));
    ok &= check("bad fd", fcntl(200, 1, 0), Err(9));
    sys::close(cdup).ok();
    sys::close(cfd).ok();

    // Semaphore mode.
    let Ok(sfd) = eventfd(2, FdFlags::NONBLOCK | FdFlags::SEMAPHORE) else {
        return 2;
    };
    ok &= check("sem read 1", sys::read_u64(sfd), Ok(1));
    ok &= check("sem read 2", sys::read_u64(sfd), Ok(1));
    ok &= check("sem empty", sys::read_u64(sfd), Err(EAGAIN));

    // Blocking read woken by a write from this thread.
    let Ok(bfd) = eventfd(0, FdFlags::empty()) else {
        return 3;
    };
    let tid = thread::spawn(blocking_reader, bfd).unwrap_or(0);
    sys::nanosleep(20_000_000).ok();
    ok &= check("wake write", wr(bfd, 9), Ok(8));
    ok &= check("reader got", thread::join(tid), Ok(9));
    // A full counter: nonblocking write is EAGAIN, poll has no POLLOUT, a
    // blocking writer waits until a read makes room.
    let Ok(ffd) = eventfd(0, FdFlags::NONBLOCK) else {
        return 5;
    };
    ok &= check("fill", wr(ffd, u64::MAX - 1), Ok(8));
    ok &= check("full write", wr(ffd, 1), Err(EAGAIN));
    ok &= check("no POLLOUT", poll1(ffd, POLLIN | POLLOUT, 0), Ok(POLLIN));
    let fcntl = |fd: usize, cmd: usize, arg: usize| {
        sys::check(sys::syscall(nr::FCNTL, [fd, cmd, arg, 0, 0, 0]))
    };
    ok &= check("make blocking", fcntl(ffd, 4, 0), Ok(0));
    let wtid = thread::spawn(blocking_writer, ffd).unwrap_or(0);
    sys::nanosleep(20_000_000).ok();
    ok &= check("drain", sys::read_u64(ffd), Ok(u64::MAX - 1));
    ok &= check("writer done", thread::join(wtid), Ok(8));
    ok &= check("writer's value", sys::read_u64(ffd), Ok(5));
    sys::close(ffd).ok();

    // poll with a timeout on an empty eventfd times out (virtual clock).
    let t0 = sys::monotonic_ns();
    ok &= check("poll timeout", poll1(bfd, POLLIN, 50), Ok(0));
    ok &= check("poll waited", sys::monotonic_ns() - t0 >= 50_000_000, true);
    // EFAULT on a wild buffer, object unchanged.
    wr(bfd, 1).ok();
    ok &= check(
        "efault read",
        sys::check(sys::syscall(nr::READ, [bfd, 0x10, 8, 0, 0, 0])),
        Err(14),
    );
    ok &= check("still readable", sys::read_u64(bfd), Ok(1));
    if ok {
        println!("eventfd: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
