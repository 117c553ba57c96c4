//! aarch64 `svc #0`: number in x8, arguments in x0–x5; the result goes back
//! in x0 (overwriting argument 0), as in the Redox kernel.

use crate::errno::Errno;

/// The registers the convention uses, as a trap handler saved them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SyscallRegs {
    /// x0..x5: arguments in; x0 is the result out.
    pub x: [usize; 6],
    /// x8: the number.
    pub x8: usize,
}

impl SyscallRegs {
    /// The number and arguments.
    pub fn decode(&self) -> (usize, [usize; 6]) {
        (self.x8, self.x)
    }

    /// Stores the result the way user space reads it.
    pub fn encode(&mut self, result: Result<usize, Errno>) {
        self.x[0] = Errno::mux(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_order_and_errno_encoding() {
        let mut r = SyscallRegs {
            x: [1, 2, 3, 4, 5, 6],
            x8: 4000,
        };
        assert_eq!(r.decode(), (4000, [1, 2, 3, 4, 5, 6]));
        r.encode(Err(Errno::new(crate::errno::EFAULT)));
        assert_eq!(r.x[0] as isize, -14);
    }
}
