//! Compiles the C parts of the shim (`src/c/*.c`: the variadic entry points
//! that stable Rust cannot define) into a static library bundled into the
//! crate. The host target uses the host C compiler ($CC or `cc`); other
//! targets use clang with `--target=<arch>-unknown-none-elf`, freestanding
//! and without vector registers (the files need only <stdarg.h>).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let host = env::var("HOST").expect("cargo sets HOST");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let arch = env::var("CARGO_CFG_TARGET_ARCH").expect("cargo sets the arch");
    let os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();

    // libc's O_CREAT on the target: relibc's on Redox (redox_syscall's),
    // Linux's elsewhere (src/cabi.rs has the same choice; the host tests
    // check both against the host libc).
    let o_creat = if os == "redox" {
        syscall::flag::O_CREAT
    } else {
        0o100
    };

    let mut sources: Vec<PathBuf> = std::fs::read_dir("src/c")
        .expect("src/c exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    println!("cargo:rerun-if-changed=src/c");
    println!("cargo:rerun-if-env-changed=CC");

    let (cc, mut flags): (String, Vec<String>) = if target == host {
        (env::var("CC").unwrap_or_else(|_| "cc".into()), vec![])
    } else {
        (
            "clang".into(),
            vec![
                format!("--target={arch}-unknown-none-elf"),
                "-ffreestanding".into(),
                "-mgeneral-regs-only".into(),
            ],
        )
    };
    flags.extend(["-std=c11", "-O2", "-fPIC", "-fno-stack-protector", "-Wall"].map(String::from));
    flags.push(format!("-DRB_SHIM_O_CREAT={o_creat:#x}"));

    let mut objects = Vec::new();
    for src in &sources {
        let obj = out
            .join(src.file_stem().expect("a file name"))
            .with_extension("o");
        run(Command::new(&cc)
            .args(&flags)
            .arg("-c")
            .arg(src)
            .arg("-o")
            .arg(&obj));
        objects.push(obj);
    }
    let lib = out.join("librbshim_c.a");
    let _ = std::fs::remove_file(&lib);
    let ar = if target == host || !has("llvm-ar") {
        "ar"
    } else {
        "llvm-ar"
    };
    run(Command::new(ar).arg("crs").arg(&lib).args(&objects));
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=rbshim_c");
}

fn has(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
}

fn run(cmd: &mut Command) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(status.success(), "{cmd:?} failed: {status}");
}
