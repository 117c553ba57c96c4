//! Links every user program at USER_BASE with tests/qemu/user.ld.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    println!("cargo:rustc-link-arg-bins=-T{dir}/../user.ld");
    println!("cargo:rerun-if-changed=../user.ld");
}
