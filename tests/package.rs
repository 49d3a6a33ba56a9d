//! `tools/package` on the dev build: every shipped file is stripped and linked to its debug
//! information beside it, which keeps the line tables; the packaged host loads the packaged
//! plugins.

use hypernet_integration::{cargo, target_dir, workspace_root};
use std::path::Path;
use std::process::Command;

/// The section names of an ELF file, from `readelf -S`.
fn sections(file: &Path) -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-S", "-W"])
        .arg(file)
        .output()
        .expect("readelf runs (Debian: binutils)");
    assert!(out.status.success(), "readelf -S {}", file.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('.')))
        .map(str::to_owned)
        .collect()
}

#[test]
fn shipped_files_are_stripped_and_keep_their_line_tables_beside_them() {
    let root = workspace_root();
    let mut plugins = Vec::new();
    for entry in std::fs::read_dir(root.join("plugins")).unwrap() {
        let manifest = std::fs::read_to_string(entry.unwrap().path().join("Cargo.toml")).unwrap();
        if !manifest.contains("cdylib") {
            continue;
        }
        let name = manifest
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("a package name")
            .to_owned();
        plugins.push(name);
    }
    let mut args = vec!["build", "-p", "hypernet"];
    for p in &plugins {
        args.extend(["-p", p.as_str()]);
    }
    cargo(&root, &args);

    let out = tempfile::tempdir().unwrap();
    let package = out.path().join("package");
    let run = Command::new(root.join("tools/package"))
        .arg("--no-build")
        .env("PROFILE", "debug")
        .env("PACKAGE_DIR", &package)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );

    let mut shipped = vec!["hypernet".to_owned(), "hypernet-console".to_owned()];
    shipped.extend(
        plugins
            .iter()
            .map(|p| format!("lib{}.so", p.replace('-', "_"))),
    );
    for name in &shipped {
        let file = package.join(name);
        let debug = package.join(".debug").join(format!("{name}.debug"));
        let kept = sections(&file);
        assert!(
            kept.iter().any(|s| s == ".gnu_debuglink"),
            "{name}: {kept:?}"
        );
        assert!(
            !kept.iter().any(|s| {
                [".debug_info", ".debug_line", ".debug_str", ".symtab"].contains(&s.as_str())
            }),
            "{name} still carries debug information: {kept:?}"
        );
        let beside = sections(&debug);
        assert!(
            beside.iter().any(|s| s == ".debug_line"),
            "{name}.debug: {beside:?}"
        );
        assert!(
            std::fs::metadata(&file).unwrap().len()
                < std::fs::metadata(target_dir().join("debug").join(name))
                    .unwrap()
                    .len(),
            "{name} is no smaller stripped"
        );
    }

    // The packaged binary finds the packaged plugins beside it and loads them.
    let check = Command::new(package.join("hypernet"))
        .args(["plugins", "check", "--manifest"])
        .arg(package.join("plugins.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        check.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(text.contains("provider-sim"), "{text}");
}
