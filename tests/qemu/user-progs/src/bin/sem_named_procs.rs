//! Named POSIX semaphores between processes with different uids: mode
//! bits decide who may open (EACCES), a post in one process wakes a wait
//! in another, O_EXCL on an existing name is EEXIST, unlink by a
//! non-owner is refused. The umask is cleared first (mode bits as given).
#![no_std]
#![no_main]

#[path = "../sem.rs"]
mod sem;

use redbear_ipc::syscall::abi::OpenFlags;
use sem::{open, post, unlink, wait};
use user_rt::{println, sys};

const EACCES: isize = 13;
const EEXIST: isize = 17;
const CHILD_UID: u32 = 1000;

const PRIVATE: &[u8] = b"/rb-np-private";
const SHARED: &[u8] = b"/rb-np-shared";
const REPLY: &[u8] = b"/rb-np-reply";

fn check<T: PartialEq + core::fmt::Debug>(what: &str, got: T, want: T) -> bool {
    if got != want {
        println!(
            "{} (uid {}): got {:?}, want {:?}",
            what,
            sys::getuid(),
            got,
            want
        );
        return false;
    }
    true
}

fn child() -> i32 {
    let mut ok = true;
    ok &= check(
        "open 0600 as other uid",
        open(PRIVATE, OpenFlags::empty(), 0, 0),
        Err(EACCES),
    );
    ok &= check("unlink as non-owner", unlink(PRIVATE), Err(EACCES));
    match (
        open(SHARED, OpenFlags::empty(), 0, 0),
        open(REPLY, OpenFlags::empty(), 0, 0),
    ) {
        (Ok(fd), Ok(reply)) => {
            ok &= check("child post", post(fd), Ok(0));
            ok &= check("child waits for the reply", wait(reply), Ok(0));
        }
        other => {
            println!("child open: {:?}", other);
            ok = false;
        }
    }
    if ok {
        0
    } else {
        1
    }
}

fn main(arg: usize) -> i32 {
    if arg == 1 {
        return child();
    }
    let mut ok = true;
    ok &= check("umask was 022", sys::umask(0), 0o022);
    let create = OpenFlags::CREATE | OpenFlags::EXCLUSIVE;
    let Ok(pfd) = open(PRIVATE, create, 0o600, 0) else {
        return 1;
    };
    let Ok(sfd) = open(SHARED, create, 0o666, 0) else {
        return 2;
    };
    let Ok(rfd) = open(REPLY, create, 0o666, 0) else {
        return 4;
    };
    ok &= check("O_EXCL again", open(SHARED, create, 0o666, 0), Err(EEXIST));
    ok &= check(
        "O_CREAT existing",
        open(SHARED, OpenFlags::CREATE, 0o666, 0).map(|_| ()),
        Ok(()),
    );
    let Ok(pid) = sys::spawn_process("sem_named_procs", CHILD_UID, 1) else {
        return 3;
    };
    ok &= check("wait for child's post", wait(sfd), Ok(0));
    ok &= check("reply", post(rfd), Ok(0));
    ok &= check("child status", sys::wait_process(pid), Ok(0));
    ok &= check("unlink private", unlink(PRIVATE), Ok(0));
    ok &= check("unlink shared", unlink(SHARED), Ok(0));
    ok &= check("unlink reply", unlink(REPLY), Ok(0));
    ok &= check(
        "close",
        sys::close(pfd).and_then(|_| sys::close(sfd)),
        Ok(0),
    );
    if ok {
        println!("named semaphores between processes: ok");
        0
    } else {
        1
    }
}

user_rt::entry!(main);
