//! What the syscalls of the named families (sem_open/sem_unlink,
//! mq_open/mq_unlink) share around their `NameTable`: reading a name
//! under the family's rules, installing the fd of an open (undoing a
//! creation whose fd could not be installed), and unlink.

use alloc::sync::Arc;

use crate::errno::Errno;
use crate::ipc::common::file::FileObject;
use crate::ipc::common::name::IpcName;
use crate::ipc::common::names::{NameTable, Named, Opened};
use crate::ipc::common::open_file::{AccessMode, OpenFile};
use crate::kernel::{FdPlacement, Kernel};
use crate::syscall::args::{Args, Reg};

/// The name at (`ptr`, `len`) in the caller's memory, parsed with the
/// table's rules: ENAMETOOLONG past their longest raw name, EFAULT, then
/// the rules' syntax errors.
pub fn read_name<K, T>(k: &K, table: &NameTable<T>, ptr: Reg, len: Reg) -> Result<IpcName, Errno>
where
    K: Kernel + ?Sized,
    T: Named,
{
    let raw = ptr.name(len, table.rules().max_raw_len())?.read_vec(k)?;
    table.rules().parse(&raw)
}

/// How the fd of an open is made.
pub struct Install {
    /// The description's access mode.
    pub access: AccessMode,
    /// O_NONBLOCK of the description.
    pub nonblocking: bool,
    /// Where the fd goes.
    pub placement: FdPlacement,
    /// O_CLOEXEC.
    pub cloexec: bool,
}

/// Installs a new description of `obj`, which the open of `name` gave
/// (`opened` says whether it created it); returns the fd. If the fd
/// cannot be installed, a creation is undone (`NameTable::undo_create`),
/// so the failed open leaves the namespace as it found it.
pub fn install_open<K, T>(
    k: &K,
    table: &NameTable<T>,
    name: &IpcName,
    (obj, opened): (Arc<T>, Opened),
    how: Install,
) -> Result<usize, Errno>
where
    K: Kernel + ?Sized,
    T: Named + FileObject,
{
    let file = OpenFile::new(k, obj.clone(), how.access, how.nonblocking);
    let installed = k.install_fd(file, how.placement, how.cloexec);
    if installed.is_err() && opened == Opened::Created {
        table.undo_create(name, &obj);
    }
    installed
}

/// X_unlink(name_ptr, name_len) on `table`: the name's errors as the
/// family's unlink reports them, ENOENT, EACCES unless the caller owns
/// the object (`NameTable::unlink`).
pub fn unlink<K, T>(k: &K, table: &NameTable<T>, a: Args) -> Result<usize, Errno>
where
    K: Kernel + ?Sized,
    T: Named,
{
    let [name_ptr, name_len, ..] = a.regs();
    let raw = name_ptr
        .name(name_len, table.rules().max_raw_len())?
        .read_vec(k)?;
    table.unlink(&k.credentials(), &raw)?;
    Ok(0)
}
