//! Names of POSIX IPC objects (named semaphores, message queues).
//!
//! Linux's mqueue rules, which our named semaphores share: a name starts
//! with '/', has no other '/', and its component is 1..=255 bytes.

use alloc::boxed::Box;

use crate::errno::{err, Errno, EACCES, EINVAL, ENAMETOOLONG, ENOENT};

/// Longest name component (NAME_MAX).
pub const NAME_MAX: usize = 255;

/// A validated object name, without its leading '/'.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct IpcName(Box<[u8]>);

impl IpcName {
    /// Validates `raw` (the bytes the user passed, without a NUL):
    /// "" or no leading '/' -> EINVAL, "/" -> ENOENT, another '/' -> EACCES,
    /// a component over NAME_MAX -> ENAMETOOLONG, an embedded NUL -> EINVAL.
    pub fn parse(raw: &[u8]) -> Result<Self, Errno> {
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
        if component.contains(&b'/') {
            return err(EACCES);
        }
        Ok(IpcName(component.into()))
    }

    /// The component, without the leading '/'.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn linux_mqueue_name_rules() {
        assert_eq!(IpcName::parse(b""), err(EINVAL));
        assert_eq!(IpcName::parse(b"abc"), err(EINVAL));
        assert_eq!(IpcName::parse(b"/"), err(ENOENT));
        assert_eq!(IpcName::parse(b"/a/b"), err(EACCES));
        assert_eq!(IpcName::parse(b"/a\0b"), err(EINVAL));
        assert_eq!(
            IpcName::parse(b"/ok").map(|n| n.as_bytes().to_vec()),
            Ok(b"ok".to_vec())
        );
        let mut long = vec![b'x'; NAME_MAX + 1];
        long[0] = b'/';
        assert!(
            IpcName::parse(&long).is_ok(),
            "255-byte component is allowed"
        );
        long.push(b'x');
        assert_eq!(IpcName::parse(&long), err(ENAMETOOLONG));
    }
}
