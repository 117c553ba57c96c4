//! The POSIX semaphore syscalls: decode, call the semaphore, encode.

use crate::errno::{err, Errno, EINVAL};
use crate::ipc::common::open_file::{AccessMode, FileRef, OpenFile};
use crate::ipc::common::time;
use crate::ipc::sem::named::{self, NamedSem, Opened};
use crate::ipc::sem::{unnamed, SemWait};
use crate::kernel::{ClockId, Kernel};
use crate::syscall::abi::{flags, OpenFlags, SemFlags};
use crate::syscall::user::{self, read_timespec};

/// A semaphore as the caller named it.
enum SemRef {
    Unnamed(usize),
    /// The fd's description; its object is a `NamedSem` (checked).
    Named(FileRef),
}

/// The named semaphore behind `file`; EINVAL for another kind of fd.
fn named_sem(file: &FileRef) -> Result<&NamedSem, Errno> {
    file.downcast::<NamedSem>().ok_or(Errno::new(EINVAL))
}

fn resolve<K: Kernel + ?Sized>(k: &K, sem_ref: usize, f: SemFlags) -> Result<SemRef, Errno> {
    if !f.contains(SemFlags::REF_FD) {
        return Ok(SemRef::Unnamed(sem_ref));
    }
    let file = k.get_fd(sem_ref)?;
    named_sem(&file)?;
    Ok(SemRef::Named(file))
}

/// sem_init(sem_ptr, pshared, value)
pub fn init<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [uaddr, pshared, value, ..] = a;
    let value = u32::try_from(value).map_err(|_| Errno::new(EINVAL))?;
    unnamed::init(k, uaddr, pshared != 0, value)?;
    Ok(0)
}

/// sem_post(sem_ref, flags)
pub fn post<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let f: SemFlags = flags(a[1])?;
    if f.intersects(SemFlags::TRY | SemFlags::TIMED) {
        return err(EINVAL);
    }
    match resolve(k, a[0], f)? {
        SemRef::Unnamed(uaddr) => unnamed::post(k, uaddr)?,
        SemRef::Named(file) => named_sem(&file)?.post(k)?,
    }
    Ok(0)
}

/// sem_wait(sem_ref, flags, timeout_ptr, clock)
pub fn wait<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [sem_ref, raw_flags, timeout, clock, ..] = a;
    let f: SemFlags = flags(raw_flags)?;
    let how = match (f.contains(SemFlags::TRY), f.contains(SemFlags::TIMED)) {
        (true, true) => return err(EINVAL),
        (true, false) => SemWait::Try,
        (false, false) => SemWait::Forever,
        (false, true) => {
            let clock = match ClockId::from_abi(clock) {
                Some(c @ (ClockId::Realtime | ClockId::Monotonic)) => c,
                _ => return err(EINVAL),
            };
            let ts = read_timespec(k, timeout)?;
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
pub fn get_value<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let f: SemFlags = flags(a[1])?;
    if f.intersects(SemFlags::TRY | SemFlags::TIMED) {
        return err(EINVAL);
    }
    let value = match resolve(k, a[0], f)? {
        SemRef::Unnamed(uaddr) => unnamed::get_value(k, uaddr)?,
        SemRef::Named(file) => named_sem(&file)?.value(),
    };
    Ok(value as usize)
}

/// sem_open(name_ptr, name_len, oflag, mode, value, fd_slot) -> fd; the fd
/// is close-on-exec, as a named semaphore does not survive exec.
pub fn open<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let [name_ptr, name_len, raw_oflag, mode, value, fd_slot] = a;
    let oflag: OpenFlags = flags(raw_oflag)?;
    let sems = &k.ipc().sems;
    let raw = user::read_name(k, name_ptr, name_len, sems.rules())?;
    let name = sems.rules().parse(&raw)?;
    let open = named::OpenFlags {
        create: oflag.contains(OpenFlags::CREATE),
        exclusive: oflag.contains(OpenFlags::EXCLUSIVE),
    };
    let value = u32::try_from(value).map_err(|_| Errno::new(EINVAL))?;
    let (sem, opened) = sems.open(k, name.clone(), open, mode as u32, value)?;
    // Each sem_open is its own open description over the one semaphore.
    let file = OpenFile::new(k, sem.clone(), AccessMode::ReadWrite, false);
    let installed = k.install_fd(file, user::placement(fd_slot), true);
    if installed.is_err() && opened == Opened::Created {
        sems.undo_create(&name, &sem);
    }
    installed
}

/// sem_unlink(name_ptr, name_len)
pub fn unlink<K: Kernel + ?Sized>(k: &K, a: [usize; 6]) -> Result<usize, Errno> {
    let sems = &k.ipc().sems;
    let raw = user::read_name(k, a[0], a[1], sems.rules())?;
    sems.unlink(k, &raw)?;
    Ok(0)
}
