//! Names of POSIX IPC objects, and the rules each family applies to them.
//!
//! Two rule sets, measured on Linux 6.x with glibc 2.36:
//! - `NameRules::Mqueue`, the kernel's mqueue rules (mq_open is a system
//!   call there): a name starts with '/', has no other '/', and its
//!   component is 1..=255 bytes.
//! - `NameRules::Semaphore`, glibc's sem_open rules (a file
//!   `/dev/shm/sem.<name>`, named in user space): leading slashes are
//!   stripped, so "x", "/x" and "//x" are one name; what remains must be
//!   non-empty, without '/', shorter than 256 bytes; 252..=255 bytes parse
//!   but fail at lookup with ENAMETOOLONG ("sem." + name exceeds NAME_MAX).

use alloc::boxed::Box;

use crate::errno::{err, Errno, EACCES, EINVAL, ENAMETOOLONG, ENOENT};

/// Longest name component (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// Longest name, in bytes as passed, that the kernel reads at all
/// (PATH_MAX); a longer one is ENAMETOOLONG before memory is touched.
pub const NAME_READ_MAX: usize = 4096;

/// glibc's file-name prefix of a named semaphore, counted against NAME_MAX.
const SEM_FILE_PREFIX: usize = "sem.".len();

/// A syntactically valid object name, without its leading '/'s.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpcName(Box<[u8]>);

impl IpcName {
    /// Parses `raw` under the mq rules (`NameRules::Mqueue`).
    pub fn parse(raw: &[u8]) -> Result<Self, Errno> {
        NameRules::Mqueue.parse(raw)
    }

    /// The name, without its leading '/'s.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// The name rules of one family of named objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRules {
    /// POSIX message queues: Linux's mqueue rules.
    Mqueue,
    /// Named POSIX semaphores: glibc's sem_open rules.
    Semaphore,
}

impl NameRules {
    /// The most bytes a caller may pass; longer is ENAMETOOLONG unread.
    pub const fn max_raw_len(self) -> usize {
        match self {
            // "/" + NAME_MAX: anything longer is ENAMETOOLONG anyway.
            NameRules::Mqueue => NAME_MAX + 1,
            // Any number of leading '/' is allowed; cap what is read.
            NameRules::Semaphore => NAME_READ_MAX,
        }
    }

    /// Checks the syntax of `raw` (the caller's bytes, no terminating NUL;
    /// an embedded NUL is EINVAL, as no C caller can pass one):
    /// - Mqueue: "" or no leading '/' EINVAL, "/" ENOENT, another '/'
    ///   or a component "." or ".." EACCES, a component over NAME_MAX
    ///   ENAMETOOLONG;
    /// - Semaphore: after the leading '/'s, "" or a '/' or 256 bytes or
    ///   more EINVAL.
    ///
    /// Errors here come before any other check of the call.
    pub fn parse(self, raw: &[u8]) -> Result<IpcName, Errno> {
        match self {
            NameRules::Mqueue => parse_mqueue(raw),
            NameRules::Semaphore => parse_semaphore(raw),
        }
    }

    /// Errors a parsed name gives when it is looked up (after the family's
    /// own argument checks): Semaphore, 252..=255 bytes ENAMETOOLONG.
    pub fn resolve(self, name: &IpcName) -> Result<(), Errno> {
        match self {
            NameRules::Mqueue => Ok(()),
            NameRules::Semaphore if name.0.len() + SEM_FILE_PREFIX > NAME_MAX => err(ENAMETOOLONG),
            NameRules::Semaphore => Ok(()),
        }
    }

    /// What an unlink reports for a name `parse` rejected with `e`:
    /// glibc's sem_unlink turns EINVAL into ENOENT ("no such name").
    pub fn unlink_error(self, e: Errno) -> Errno {
        match self {
            NameRules::Semaphore if e.errno == EINVAL => Errno::new(ENOENT),
            _ => e,
        }
    }
}

fn parse_mqueue(raw: &[u8]) -> Result<IpcName, Errno> {
    let Some((&b'/', component)) = raw.split_first() else {
        return err(EINVAL);
    };
    if component.contains(&0) {
        return err(EINVAL);
    }
    if component.len() > NAME_MAX {
        return err(ENAMETOOLONG);
    }
    if component.is_empty() {
        return err(ENOENT);
    }
    // Another '/', and "." or ".." (Linux's lookup in the mqueue
    // filesystem refuses those two components), are EACCES.
    if component.contains(&b'/') || component == b"." || component == b".." {
        return err(EACCES);
    }
    Ok(IpcName(component.into()))
}

fn parse_semaphore(raw: &[u8]) -> Result<IpcName, Errno> {
    let start = raw.iter().position(|&b| b != b'/').unwrap_or(raw.len());
    let name = &raw[start..];
    if name.is_empty() || name.len() > NAME_MAX || name.contains(&b'/') || name.contains(&0) {
        return err(EINVAL);
    }
    Ok(IpcName(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn bytes(r: Result<IpcName, Errno>) -> Result<Vec<u8>, Errno> {
        r.map(|n| n.as_bytes().to_vec())
    }

    #[test]
    fn linux_mqueue_name_rules() {
        let mq = NameRules::Mqueue;
        assert_eq!(mq.parse(b""), err(EINVAL));
        assert_eq!(mq.parse(b"abc"), err(EINVAL));
        assert_eq!(mq.parse(b"/"), err(ENOENT));
        assert_eq!(mq.parse(b"/a/b"), err(EACCES));
        assert_eq!(mq.parse(b"//a"), err(EACCES));
        assert_eq!(mq.parse(b"/."), err(EACCES));
        assert_eq!(mq.parse(b"/.."), err(EACCES));
        assert!(mq.parse(b"/...").is_ok());
        assert_eq!(mq.parse(b"/a\0b"), err(EINVAL));
        assert_eq!(bytes(mq.parse(b"/ok")), Ok(b"ok".to_vec()));
        assert_eq!(IpcName::parse(b"/ok"), mq.parse(b"/ok"));
        let mut long = vec![b'x'; NAME_MAX + 1];
        long[0] = b'/';
        let name = mq.parse(&long);
        assert!(name.is_ok(), "255-byte component is allowed");
        assert_eq!(name.map(|n| mq.resolve(&n)), Ok(Ok(())));
        long.push(b'x');
        assert_eq!(mq.parse(&long), err(ENAMETOOLONG));
        assert_eq!(mq.unlink_error(Errno::new(EINVAL)), Errno::new(EINVAL));
    }

    #[test]
    fn glibc_semaphore_name_rules() {
        let sem = NameRules::Semaphore;
        assert_eq!(sem.parse(b""), err(EINVAL));
        assert_eq!(sem.parse(b"/"), err(EINVAL));
        assert_eq!(sem.parse(b"///"), err(EINVAL));
        assert_eq!(sem.parse(b"/a/b"), err(EINVAL));
        assert_eq!(sem.parse(b"a/"), err(EINVAL));
        assert_eq!(sem.parse(b"/a\0b"), err(EINVAL));
        assert_eq!(bytes(sem.parse(b"noslash")), Ok(b"noslash".to_vec()));
        assert_eq!(sem.parse(b"x"), sem.parse(b"/x"));
        assert_eq!(sem.parse(b"x"), sem.parse(b"///x"));
        assert_eq!(bytes(sem.parse(b"/..")), Ok(b"..".to_vec()));
        for len in 1..=260usize {
            let mut raw = vec![b'/'; 3];
            raw.resize(3 + len, b'q');
            let parsed = sem.parse(&raw);
            let resolved = parsed.clone().and_then(|n| sem.resolve(&n));
            match len {
                ..=251 => assert_eq!(resolved, Ok(()), "{len}"),
                252..=255 => assert_eq!(resolved, err(ENAMETOOLONG), "{len}"),
                _ => assert_eq!(parsed, err(EINVAL), "{len}"),
            }
        }
        assert_eq!(sem.unlink_error(Errno::new(EINVAL)), Errno::new(ENOENT));
        assert_eq!(
            sem.unlink_error(Errno::new(ENAMETOOLONG)),
            Errno::new(ENAMETOOLONG)
        );
        assert!(sem.max_raw_len() > NAME_MAX + 1);
        assert_eq!(NameRules::Mqueue.max_raw_len(), NAME_MAX + 1);
    }
}
