//! Milestone 1: a ring-3 program makes syscalls, prints, and exits 0.
#![no_std]
#![no_main]

use user_rt::{println, sys};

fn main(_arg: usize) -> i32 {
    let pid = sys::getpid();
    println!("hello from user space, pid {} uid {}", pid, sys::getuid());
    if pid == 0 {
        return 1;
    }
    0
}

user_rt::entry!(main);
