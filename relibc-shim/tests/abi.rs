//! The shim's libc values are the host libc's (Linux layout), results
//! decode as the kernel ABI says, and the x86_64 syscall stub passes all
//! six argument registers as the convention says (checked against Linux,
//! which uses the same registers).

use core::ffi::c_int;

use redbear_shim::cabi::{self, Timespec};
use redbear_shim::sys::decode;

#[test]
fn libc_values_are_the_host_libcs() {
    assert_eq!(cabi::O_CREAT, libc::O_CREAT);
    assert_eq!(cabi::O_EXCL, libc::O_EXCL);
    assert_eq!(cabi::CLOCK_REALTIME, libc::CLOCK_REALTIME);
    assert_eq!(cabi::CLOCK_MONOTONIC, libc::CLOCK_MONOTONIC);
    assert_eq!(cabi::O_NONBLOCK, libc::O_NONBLOCK);
    assert_eq!(cabi::O_CLOEXEC, libc::O_CLOEXEC);
    assert_eq!(redbear_shim::eventfd::EFD_SEMAPHORE, libc::EFD_SEMAPHORE);
    assert_eq!(cabi::O_NONBLOCK, libc::EFD_NONBLOCK);
    assert_eq!(cabi::O_CLOEXEC, libc::EFD_CLOEXEC);
    assert_eq!(cabi::O_NONBLOCK, libc::SFD_NONBLOCK);
    assert_eq!(cabi::O_CLOEXEC, libc::SFD_CLOEXEC);
    assert_eq!(
        core::mem::size_of::<redbear_shim::signalfd::SignalfdSiginfo>(),
        core::mem::size_of::<libc::signalfd_siginfo>()
    );
    assert_eq!(
        core::mem::offset_of!(redbear_shim::signalfd::SignalfdSiginfo, ssi_arch),
        core::mem::offset_of!(libc::signalfd_siginfo, ssi_arch)
    );
    assert_eq!(cabi::O_NONBLOCK, libc::TFD_NONBLOCK);
    assert_eq!(cabi::O_CLOEXEC, libc::TFD_CLOEXEC);
    assert_eq!(
        redbear_shim::timerfd::TFD_TIMER_ABSTIME,
        libc::TFD_TIMER_ABSTIME
    );
    assert_eq!(
        redbear_shim::timerfd::TFD_TIMER_CANCEL_ON_SET,
        libc::TFD_TIMER_CANCEL_ON_SET
    );
    assert_eq!(
        core::mem::size_of::<redbear_shim::timerfd::Itimerspec>(),
        core::mem::size_of::<libc::itimerspec>()
    );
    assert_eq!(
        core::mem::offset_of!(redbear_shim::timerfd::Itimerspec, it_value),
        core::mem::offset_of!(libc::itimerspec, it_value)
    );
    assert_eq!(
        core::mem::size_of::<Timespec>(),
        core::mem::size_of::<libc::timespec>()
    );
    assert_eq!(
        core::mem::offset_of!(Timespec, tv_nsec),
        core::mem::offset_of!(libc::timespec, tv_nsec)
    );
    assert_eq!(
        core::mem::size_of::<redbear_shim::sem::SemT>(),
        core::mem::size_of::<libc::sem_t>()
    );
}

#[test]
fn wait_clocks_translate_to_the_kernel_abi() {
    use redbear_ipc::kernel::ClockId;
    assert_eq!(
        cabi::wait_clock(libc::CLOCK_REALTIME),
        Some(ClockId::Realtime)
    );
    assert_eq!(
        cabi::wait_clock(libc::CLOCK_MONOTONIC),
        Some(ClockId::Monotonic)
    );
    for other in [libc::CLOCK_PROCESS_CPUTIME_ID, libc::CLOCK_BOOTTIME, -1, 99] {
        assert_eq!(cabi::wait_clock(other), None, "clock {other}");
    }
}

#[test]
fn open_flags_translate_and_excl_needs_creat() {
    use redbear_ipc::syscall::abi::OpenFlags;
    assert_eq!(cabi::open_flags(0), OpenFlags::empty());
    assert_eq!(cabi::open_flags(libc::O_CREAT), OpenFlags::CREATE);
    assert_eq!(
        cabi::open_flags(libc::O_CREAT | libc::O_EXCL | libc::O_RDWR),
        OpenFlags::CREATE | OpenFlags::EXCLUSIVE
    );
    assert_eq!(cabi::open_flags(libc::O_EXCL), OpenFlags::empty());
}

#[test]
fn timespec_to_abi_is_two_native_i64() {
    let raw = Timespec {
        tv_sec: -2,
        tv_nsec: 999_999_999,
    }
    .to_abi();
    assert_eq!(raw[..8], (-2i64).to_ne_bytes());
    assert_eq!(raw[8..], 999_999_999i64.to_ne_bytes());
}

#[test]
fn results_decode_like_error_mux() {
    assert_eq!(decode(0), Ok(0));
    assert_eq!(decode(4095), Ok(4095));
    assert_eq!(decode(usize::MAX - 4095 - 1), Ok(usize::MAX - 4096));
    assert_eq!(decode(-4095isize as usize), Err(4095 as c_int));
    assert_eq!(decode(-11isize as usize), Err(11));
    assert_eq!(decode(-1isize as usize), Err(1));
}

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
#[test]
fn x86_64_stub_passes_all_six_registers() {
    use redbear_shim::arch::syscall6;
    // getpid: the number in rax, the result in rax.
    // SAFETY: getpid has no arguments.
    let pid = unsafe { syscall6(libc::SYS_getpid as usize, [0; 6]) };
    assert_eq!(pid, std::process::id() as usize);
    // mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS,
    // -1, 0) reads rdi, rsi, rdx, r10, r8, r9: a wrong register fails it.
    let args = [
        0,
        4096,
        (libc::PROT_READ | libc::PROT_WRITE) as usize,
        (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as usize,
        -1isize as usize,
        0,
    ];
    // SAFETY: a fresh anonymous mapping, unmapped below.
    let at = decode(unsafe { syscall6(libc::SYS_mmap as usize, args) }).expect("mmap");
    // SAFETY: the page was just mapped read-write.
    unsafe { (at as *mut u64).write(42) };
    // Bad fd with MAP_SHARED file mapping: r8 reaches the kernel.
    let bad = [
        0,
        4096,
        libc::PROT_READ as usize,
        libc::MAP_SHARED as usize,
        12345,
        0,
    ];
    // SAFETY: fails with EBADF, maps nothing.
    let r = decode(unsafe { syscall6(libc::SYS_mmap as usize, bad) });
    assert_eq!(r, Err(libc::EBADF));
    // SAFETY: unmaps the page mapped above.
    let r = decode(unsafe { syscall6(libc::SYS_munmap as usize, [at, 4096, 0, 0, 0, 0]) });
    assert_eq!(r, Ok(0));
}

#[test]
fn fd_flags_translate_and_reject_unknown_bits() {
    use redbear_ipc::syscall::abi::FdFlags;
    let sem = libc::EFD_SEMAPHORE;
    assert_eq!(cabi::fd_flags(0, sem), Some(FdFlags::empty()));
    assert_eq!(
        cabi::fd_flags(libc::EFD_NONBLOCK | libc::EFD_CLOEXEC | sem, sem),
        Some(FdFlags::NONBLOCK | FdFlags::CLOEXEC | FdFlags::SEMAPHORE)
    );
    assert_eq!(cabi::fd_flags(sem, 0), None, "no semaphore bit: EINVAL");
    assert_eq!(cabi::fd_flags(0x4, sem), None);
    assert_eq!(cabi::fd_flags(-1, sem), None);
}
