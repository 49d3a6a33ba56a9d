//! Lays out the release `hypernet` binary's code with the functions a running host executes
//! first and together (`link-order.txt`, written by `tools/link-order`).
//!
//! The kernel maps a program's code in 64 KiB around each page first touched, so code that
//! runs spread over the whole binary makes most of it resident: 12 of its 15 MiB of code
//! before, under 6 MiB with this order (docs/benchmarks.md, "Where the memory goes").
//!
//! The order is given to the linker with `--symbol-ordering-file`, which the toolchain's own
//! linker (LLD, the default for `x86_64-unknown-linux-gnu` since Rust 1.90) understands. It is
//! left out for other targets, when a linker is configured, and with `HYPERNET_LINK_ORDER=0`.
//! Names the binary no longer has are skipped, so a stale file costs memory, never the build.
//!
//! With the same linker, and when the C library the binary is built against reads them
//! (glibc 2.36 and later), its relative relocations are packed (`-z pack-relative-relocs`):
//! the loader reads some kilobytes at start instead of 600 KB of them, and the binary is that
//! much smaller. Such a binary needs glibc 2.36 or later where it runs.

use std::env;
use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=link-order.txt");
    println!("cargo:rerun-if-env-changed=HYPERNET_LINK_ORDER");

    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let default_linker = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu")
        && env::var_os("RUSTC_LINKER").is_none()
        && !env::var("CARGO_ENCODED_RUSTFLAGS").is_ok_and(|f| f.contains("linker"));
    let wanted = env::var("HYPERNET_LINK_ORDER").map_or(true, |v| v != "0");
    let order =
        Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("link-order.txt");

    if release && default_linker && wanted && order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=hypernet=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bin=hypernet=-Wl,--no-warn-symbol-ordering");
    }
    let native = env::var("TARGET").ok() == env::var("HOST").ok();
    if release && default_linker && native && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=hypernet=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether this machine's C library is glibc of version `major.minor` or later (`getconf
/// GNU_LIBC_VERSION` prints `glibc 2.36`).
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    found >= (major, minor)
}
