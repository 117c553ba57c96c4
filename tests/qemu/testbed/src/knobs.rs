//! Build-time sizes a benchmark may raise (ci/bench's scaling curves);
//! unset, each is the testbed's documented default. Each is decimal
//! digits within its bounds, else the build fails.

/// `TESTBED_MAX_TASKS`: most tasks alive at once (`sched::MAX_TASKS`).
pub const MAX_TASKS: usize = number(option_env!("TESTBED_MAX_TASKS"), 1100, 16, 20_000);
/// `TESTBED_HEAP_MIB`: the kernel heap's largest size in MiB; it is at
/// most a quarter of RAM unless this is set, then at most 7/8 of it.
pub const HEAP_MIB: Option<usize> = match option_env!("TESTBED_HEAP_MIB") {
    Some(_) => Some(number(option_env!("TESTBED_HEAP_MIB"), 128, 16, 1792)),
    None => None,
};
/// `TESTBED_MAX_FRAMES`: user frames one process may own.
pub const MAX_FRAMES: usize = number(
    option_env!("TESTBED_MAX_FRAMES"),
    16 * 1024,
    1024,
    512 * 1024,
);
/// `TESTBED_MQ_BYTES`: each user's RLIMIT_MSGQUEUE in bytes (the
/// subsystem's `Resource::MqBytes`, Linux's 819 200 by default), which
/// binds root too and which the testbed has no setrlimit to raise: the mq
/// depth curves need a queue of 65 536 x 64 (8 912 896 bytes charged).
pub const MQ_BYTES: usize = number(option_env!("TESTBED_MQ_BYTES"), 819_200, 1, 1 << 40);
/// `TESTBED_REPEAT`: runs of the whole program list in one boot
/// (ci/qemu-test passes it on; the archive holds each program once).
pub const REPEAT: usize = number(option_env!("TESTBED_REPEAT"), 1, 1, 1000);
/// `TESTBED_BUDGET_S`: each program's budget in seconds of clock time.
pub const BUDGET_S: usize = number(option_env!("TESTBED_BUDGET_S"), 10, 1, 3600);

const fn number(v: Option<&str>, default: usize, min: usize, max: usize) -> usize {
    let b = match v {
        Some(v) => v.as_bytes(),
        None => return default,
    };
    assert!(!b.is_empty(), "a TESTBED_ size knob is empty");
    let mut n = 0usize;
    let mut i = 0;
    while i < b.len() {
        assert!(
            b[i].is_ascii_digit(),
            "a TESTBED_ size knob is not a number"
        );
        n = n * 10 + (b[i] - b'0') as usize;
        assert!(n <= max, "a TESTBED_ size knob is above its bound");
        i += 1;
    }
    assert!(n >= min, "a TESTBED_ size knob is below its bound");
    n
}
