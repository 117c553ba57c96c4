//! Property test: no syscall argument a user can pass makes the subsystem
//! panic, hang or leak. Random numbers in and around our block, with
//! arguments drawn from valid and invalid pointers, sizes and flags; every
//! call must return (non-blocking forms only), and afterwards the
//! accounting and the futex table are back to their idle state.

mod common;

use common::{sys, user_bytes, Env};
use proptest::prelude::*;
use redbear_ipc::hosted::ClockMode;
use redbear_ipc::kernel::Kernel;
use redbear_ipc::syscall::abi::SemFlags;
use redbear_ipc::syscall::abi::IPC_NOWAIT;
use redbear_ipc::syscall::numbers::{
    BASE, END, SYS_RB_FUTEX_WAIT, SYS_RB_MQ_TIMEDRECEIVE, SYS_RB_MQ_TIMEDSEND, SYS_RB_MSGRCV,
    SYS_RB_MSGSND, SYS_RB_SEMTIMEDOP, SYS_RB_SEM_WAIT,
};

/// An argument: interesting values a fuzzer would find.
#[derive(Clone, Debug)]
enum Arg {
    Small(usize),
    Big(usize),
    Valid(usize),
    Null,
    Wild(usize),
    NearMax,
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        (0..16usize).prop_map(Arg::Small),
        any::<usize>().prop_map(Arg::Big),
        (0..64usize).prop_map(Arg::Valid),
        Just(Arg::Null),
        any::<usize>().prop_map(Arg::Wild),
        Just(Arg::NearMax),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_arguments_return_an_errno_or_a_value(
        calls in proptest::collection::vec(((BASE - 2)..(END + 2), proptest::collection::vec(arg(), 6)), 1..12)
    ) {
        let e = Env::new(ClockMode::Virtual);
        // A valid region holding a name-like string and a past timeout.
        let (buf, _) = user_bytes(&e.k, &[b'/'; 64]);
        let zero = [0u8; 16];
        e.k.write_user(buf + 48, &zero).unwrap();
        // A zero timeout of its own (no fuzzed call writes there).
        let (no_wait, _) = user_bytes(&e.k, &zero);
        for (nr, args) in calls {
            let mut a = [0usize; 6];
            for (slot, arg) in a.iter_mut().zip(&args) {
                *slot = match *arg {
                    Arg::Small(v) => v,
                    Arg::Big(v) => v,
                    Arg::Valid(off) => buf + off,
                    Arg::Null => 0,
                    Arg::Wild(v) => v | 0x1,
                    Arg::NearMax => usize::MAX - 3,
                };
            }
            // Keep every call non-blocking: waits become try-waits or
            // waits on a word that never holds the expected value.
            if nr == SYS_RB_SEM_WAIT {
                a[1] = (a[1] & SemFlags::REF_FD.bits()) | SemFlags::TRY.bits();
            }
            if nr == SYS_RB_FUTEX_WAIT {
                a[1] = 0xFFFF_FFFF; // the region never holds this word
            }
            if nr == SYS_RB_SEMTIMEDOP {
                a[3] = no_wait; // a zero relative timeout: never sleeps
            }
            // SysV msg: IPC_NOWAIT in msgflg; POSIX mq: a deadline at the
            // epoch (absolute CLOCK_REALTIME: the zero timespec), long past.
            match nr {
                SYS_RB_MSGSND => a[3] |= IPC_NOWAIT as usize,
                SYS_RB_MSGRCV => a[4] |= IPC_NOWAIT as usize,
                SYS_RB_MQ_TIMEDSEND | SYS_RB_MQ_TIMEDRECEIVE => a[4] = no_wait,
                _ => {}
            }
            let _ = sys(&e.k, nr, &a[..]);
            // And the host's fd calls on whatever fds exist, with the same
            // arguments: read and write must not block here, so make the
            // description nonblocking first.
            let fd = a[0] % 8;
            if e.k.set_nonblocking(fd, true).is_ok() {
                let _ = e.k.read(fd, a[1], a[2] % 1024);
                let _ = e.k.write(fd, a[1], a[2] % 1024);
                let _ = e.k.poll(&[(fd, redbear_ipc::ipc::common::pollee::Readiness::all())], Some(std::time::Duration::ZERO));
            }
        }
        prop_assert_eq!(e.k.parked_tasks(), 0);
        // Close whatever was opened, unlink every name that may exist and
        // remove the SysV objects: then nothing may remain charged.
        for fd in 0..1024 {
            let _ = e.k.close(fd);
        }
        for len in 0..=64usize {
            let _ = sys(&e.k, redbear_ipc::syscall::numbers::SYS_RB_SEM_UNLINK, &[buf, len]);
        }
        // SysV objects outlive their processes: remove them as a
        // namespace teardown would.
        e.k.ipc().sysv.remove_all(&*e.k);
        prop_assert!(e.k.ipc().sems.is_empty());
        // SysV objects outlive everything but their removal (ipcrm -a).
        e.k.ipc().sysv.remove_all(&*e.k);
        prop_assert_eq!(e.k.ipc().acct.users_charged(), 0);
    }
}
