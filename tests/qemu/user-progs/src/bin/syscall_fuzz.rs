//! Random arguments (wild, kernel, read-only, unaligned, valid pointers,
//! huge and small integers) thrown at the base calls and at redbear-ipc's
//! whole block from child processes, each killed by a watchdog if it
//! blocks. The kernel must stay up: afterwards a fresh program still runs.
#![no_std]
#![no_main]

use redbear_ipc::syscall::numbers::{BASE, END};
use testbed_abi::{nr, sig};
use user_rt::{println, sys};

const ROUNDS: usize = 12;
const CALLS: usize = 3000;

static mut BUF: [u8; 8192] = [0; 8192];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn arg(r: &mut Rng) -> usize {
    let buf = &raw mut BUF as usize;
    match r.below(16) {
        0 => 0,
        1 => 1,
        2 => r.below(8),
        3 => usize::MAX,
        4 => 0x10,
        5 => 0x100000,                           // kernel memory
        6 => buf + r.below(8192),                // valid, maybe unaligned
        7 => buf + 4 * r.below(2048),            // valid, aligned
        8 => main as *const () as usize,         // read-only code
        9 => 0x0000_0010_0000_0000 + (20 << 30), // unmapped user range
        10 => 0x0000_0020_0000_0000 - 8,         // top of the stack region
        11 => 1 << 63,                           // non-canonical
        12 => r.below(4096),
        13 => r.next() as usize,
        14 => (r.next() as u32) as usize,
        _ => buf + 8192 - r.below(16), // straddles the end
    }
}

fn fuzz(seed: usize) -> i32 {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15 ^ (seed as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let me = sys::getpid();
    for _ in 0..CALLS {
        let n = if r.below(3) == 0 {
            1 + r.below(nr::END - 1)
        } else {
            BASE + r.below(END - BASE + 4)
        };
        let mut a = [0usize; 6];
        for x in a.iter_mut() {
            *x = arg(&mut r);
        }
        match n {
            // Would end the fuzzer early, spawn more of it, touch other
            // processes, or print noise into the TAP stream.
            nr::EXIT
            | nr::THREAD_EXIT
            | nr::SPAWN_THREAD
            | nr::SPAWN_PROCESS
            | nr::MMAP_ANON
            | nr::SHM_MAP
            | nr::CONSOLE_WRITE => continue,
            nr::WRITE if a[0] == 1 || a[0] == 2 => continue,
            nr::KILL => {
                // Only signals that do not end the fuzzer.
                a[0] = me;
                a[1] = [0, sig::SIGCHLD, sig::SIGURG, sig::SIGWINCH][r.below(4)];
            }
            _ => {}
        }
        sys::syscall(n, a);
    }
    0
}

fn main(arg: usize) -> i32 {
    if arg != 0 {
        return fuzz(arg);
    }
    let mut statuses = [0i32; ROUNDS];
    for (round, st) in statuses.iter_mut().enumerate() {
        let pid = match sys::spawn_process("syscall_fuzz", 0, round + 1) {
            Ok(p) => p,
            Err(e) => {
                println!("spawn: {}", e);
                return 1;
            }
        };
        // Watchdog: a child that blocked somewhere is killed.
        sys::nanosleep(300_000_000).ok();
        let _ = sys::kill(pid, sig::SIGKILL);
        match sys::wait_process(pid) {
            Ok(s) => *st = s,
            Err(e) => {
                println!("wait: {}", e);
                return 2;
            }
        }
    }
    // The kernel is still up: a fresh program runs normally.
    match sys::spawn_process("hello", 0, 0).and_then(sys::wait_process) {
        Ok(0) => {}
        other => {
            println!("hello after fuzzing: {:?}", other);
            return 3;
        }
    }
    println!("syscall fuzz: ok, child statuses {:?}", statuses);
    0
}

user_rt::entry!(main);
