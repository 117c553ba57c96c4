//! libFuzzer entry: the whole harness is `redbear_ipc_fuzz::run`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| redbear_ipc_fuzz::run(data));
