//! Register conventions of the syscall instruction on each architecture,
//! the same as the Redox kernel's (docs/abi.md): the number and six
//! arguments in, one value out (`-errno` on failure). Both modules compile
//! on every host so the conventions are tested everywhere.

pub mod aarch64;
pub mod x86_64;
