//! The embedded program archive (format: `testbed_abi::ARCHIVE_MAGIC`),
//! built by ci/qemu-test and included at build time.

use alloc::vec::Vec;

use spin::Once;

pub struct Program {
    pub name: &'static str,
    pub image: &'static [u8],
}

static ARCHIVE: &[u8] = include_bytes!(env!("TESTBED_PROGRAMS"));
static PROGRAMS: Once<Vec<Program>> = Once::new();

fn parse(mut b: &'static [u8]) -> Vec<Program> {
    let mut out = Vec::new();
    let magic = testbed_abi::ARCHIVE_MAGIC;
    if b.len() < magic.len() || &b[..magic.len()] != magic {
        return out;
    }
    b = &b[magic.len()..];
    loop {
        let Some(n) = b
            .get(0..4)
            .and_then(|x| x.try_into().ok())
            .map(u32::from_le_bytes)
        else {
            break;
        };
        let n = n as usize;
        let Some(name) = b.get(4..4 + n).and_then(|x| core::str::from_utf8(x).ok()) else {
            break;
        };
        let o = 4 + n;
        let Some(len) = b
            .get(o..o + 8)
            .and_then(|x| x.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            break;
        };
        let len = len as usize;
        let Some(image) = b.get(o + 8..o + 8 + len) else {
            break;
        };
        out.push(Program { name, image });
        b = &b[o + 8 + len..];
    }
    out
}

pub fn all() -> &'static [Program] {
    PROGRAMS.call_once(|| parse(ARCHIVE))
}

pub fn find(name: &str) -> Option<&'static Program> {
    all().iter().find(|p| p.name == name)
}
