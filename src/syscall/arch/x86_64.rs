//! x86_64 `syscall`: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9
//! (r10, not rcx: `syscall` overwrites rcx with the return rip and r11
//! with rflags); the result goes back in rax.

use crate::errno::Errno;

/// The registers the convention uses, as a trap handler saved them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SyscallRegs {
    /// Number in, result out.
    pub rax: usize,
    /// Argument 0.
    pub rdi: usize,
    /// Argument 1.
    pub rsi: usize,
    /// Argument 2.
    pub rdx: usize,
    /// Argument 3.
    pub r10: usize,
    /// Argument 4.
    pub r8: usize,
    /// Argument 5.
    pub r9: usize,
}

impl SyscallRegs {
    /// The number and arguments.
    pub fn decode(&self) -> (usize, [usize; 6]) {
        (
            self.rax,
            [self.rdi, self.rsi, self.rdx, self.r10, self.r8, self.r9],
        )
    }

    /// Stores the result the way user space reads it.
    pub fn encode(&mut self, result: Result<usize, Errno>) {
        self.rax = Errno::mux(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_order_and_errno_encoding() {
        let mut r = SyscallRegs {
            rax: 4001,
            rdi: 1,
            rsi: 2,
            rdx: 3,
            r10: 4,
            r8: 5,
            r9: 6,
        };
        assert_eq!(r.decode(), (4001, [1, 2, 3, 4, 5, 6]));
        r.encode(Err(Errno::new(crate::errno::EAGAIN)));
        assert_eq!(r.rax as isize, -11);
        r.encode(Ok(7));
        assert_eq!(r.rax, 7);
    }
}
