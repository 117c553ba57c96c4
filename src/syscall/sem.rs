//! The POSIX semaphore syscalls: decode, call the semaphore, encode.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::open_file::{AccessMode, FileRef};
use crate::ipc::common::time::{self, Timespec};
use crate::ipc::sem::named::{self, NamedSem};
use crate::ipc::sem::unnamed::{self, SemWords};
use crate::ipc::sem::SemWait;
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{OpenFlags, SemFlags};
use crate::syscall::args::{Args, Reg};
use crate::syscall::names::{self, Install};
use crate::syscall::uaccess::UserPtr;

/// A semaphore as the caller named it.
enum SemRef {
    Unnamed(UserPtr<SemWords>),
    /// The fd's description; its object is a `NamedSem` (checked).
    Named(FileRef),
}

/// The named semaphore behind `file`; EINVAL for another kind of fd.
fn named_sem(file: &FileRef) -> Result<&NamedSem, Errno> {
    file.downcast::<NamedSem>().ok_or(Errno::new(EINVAL))
}

fn resolve<K: Kernel + ?Sized>(k: &K, sem_ref: Reg, f: SemFlags) -> Result<SemRef, Errno> {
    if !f.contains(SemFlags::REF_FD) {
        return Ok(SemRef::Unnamed(sem_ref.ptr()));
    }
    let file = k.get_fd(sem_ref.fd()?)?;
    named_sem(&file)?;
    Ok(SemRef::Named(file))
}

/// The flags of post and getvalue: neither TRY nor TIMED (EINVAL).
fn plain_flags(flags: Reg) -> Result<SemFlags, Errno> {
    let f: SemFlags = flags.flags()?;
    if f.intersects(SemFlags::TRY | SemFlags::TIMED) {
        return err(EINVAL);
    }
    Ok(f)
}

/// sem_init(sem_ptr, pshared, value): `pshared` a C `int` (nonzero:
/// shared), `value` an `unsigned int` (EINVAL above `u32::MAX`, and above
/// SEM_VALUE_MAX from the semaphore).
pub fn init<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [sem, pshared, value, ..] = a.regs();
    let shared = pshared.int()? != 0;
    unnamed::init(k, sem.ptr(), shared, value.u32()?)?;
    Ok(0)
}

/// sem_post(sem_ref, flags)
pub fn post<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [sem_ref, flags, ..] = a.regs();
    let f = plain_flags(flags)?;
    match resolve(k, sem_ref, f)? {
        SemRef::Unnamed(uaddr) => unnamed::post(k, uaddr)?,
        SemRef::Named(file) => named_sem(&file)?.post(k)?,
    }
    Ok(0)
}

/// sem_wait(sem_ref, flags, timeout_ptr, clock)
pub fn wait<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [sem_ref, flags, timeout, clock, ..] = a.regs();
    let f: SemFlags = flags.flags()?;
    let how = match (f.contains(SemFlags::TRY), f.contains(SemFlags::TIMED)) {
        (true, true) => return err(EINVAL),
        (true, false) => SemWait::Try,
        (false, false) => SemWait::Forever,
        (false, true) => {
            let clock = match clock.clock()? {
                c @ (ClockId::Realtime | ClockId::Monotonic) => c,
                _ => return err(EINVAL),
            };
            let ts = timeout.ptr::<Timespec>().read(k)?;
            SemWait::Until(time::deadline(k, clock, ts, true))
        }
    };
    match resolve(k, sem_ref, f)? {
        SemRef::Unnamed(uaddr) => unnamed::wait(k, uaddr, how)?,
        SemRef::Named(file) => named_sem(&file)?.wait(k, how)?,
    }
    Ok(0)
}

/// sem_getvalue(sem_ref, flags) -> value
pub fn get_value<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [sem_ref, flags, ..] = a.regs();
    let f = plain_flags(flags)?;
    let value = match resolve(k, sem_ref, f)? {
        SemRef::Unnamed(uaddr) => unnamed::get_value(k, uaddr)?,
        SemRef::Named(file) => named_sem(&file)?.value(),
    };
    Ok(value as usize)
}

/// sem_open(name_ptr, name_len, oflag, mode, value, fd_slot) -> fd; the fd
/// is close-on-exec, as a named semaphore does not survive exec.
pub fn open<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [name_ptr, name_len, oflag, mode, value, fd_slot] = a.regs();
    let oflag: OpenFlags = oflag.flags()?;
    let sems = &k.ipc().sems;
    let name = names::read_name(k, sems, name_ptr, name_len)?;
    let open = named::OpenFlags {
        create: oflag.contains(OpenFlags::CREATE),
        exclusive: oflag.contains(OpenFlags::EXCLUSIVE),
    };
    let (mode, value, slot) = (mode.u32()?, value.u32()?, fd_slot.fd_slot()?);
    let opened = sems.open(k, name.clone(), open, mode, value)?;
    // Each sem_open is its own open description over the one semaphore.
    let how = Install {
        access: AccessMode::ReadWrite,
        nonblocking: false,
        placement: slot,
        cloexec: true,
    };
    names::install_open(k, sems, &name, opened, how)
}

/// sem_unlink(name_ptr, name_len)
pub fn unlink<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    names::unlink(k, &k.ipc().sems, a)
}

/// sem_map(fd) -> uaddr: maps the page of the named semaphore behind `fd`
/// into the caller; its first 16 bytes are an unnamed process-shared
/// semaphore's words (`ipc::sem::unnamed`), which user space runs the
/// protocol on. EBADF, EINVAL (not a named semaphore), EOPNOTSUPP (the
/// host keeps the state in the kernel), ENOMEM.
pub fn map<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, ..] = a.regs();
    let file = k.get_fd(fd.fd()?)?;
    named_sem(&file)?.map(k)
}

/// sem_unmap(fd, uaddr): removes the caller's mapping at `uaddr` of the
/// page of the named semaphore behind `fd`. EBADF, EINVAL (not a named
/// semaphore, or not one of its mappings), EOPNOTSUPP.
pub fn unmap<K: Kernel + ?Sized>(k: &K, a: Args) -> Result<usize, Errno> {
    let [fd, uaddr, ..] = a.regs();
    let file = k.get_fd(fd.fd()?)?;
    named_sem(&file)?.unmap(k, uaddr.word())?;
    Ok(0)
}
