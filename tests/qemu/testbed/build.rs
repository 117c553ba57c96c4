//! Picks the linker script of the target architecture and rebuilds when the
//! program archive (TESTBED_PROGRAMS, made by ci/qemu-test) changes.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    println!("cargo:rustc-link-arg-bins=-T{dir}/linker-{arch}.ld");
    println!("cargo:rerun-if-changed=linker-{arch}.ld");
    println!("cargo:rerun-if-env-changed=TESTBED_PROGRAMS");
    println!("cargo:rerun-if-env-changed=TESTBED_CLOCK");
    if let Ok(p) = std::env::var("TESTBED_PROGRAMS") {
        println!("cargo:rerun-if-changed={p}");
    }
}
