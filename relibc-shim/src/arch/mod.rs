//! Syscall instructions, one module per architecture, with the register
//! convention of docs/abi.md. Results are raw: a value, or `-errno` as an
//! unsigned word.

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "x86_64")]
mod x86_64;

#[cfg(target_arch = "aarch64")]
pub use aarch64::{syscall6, trap};
#[cfg(target_arch = "x86_64")]
pub use x86_64::{syscall6, trap};
