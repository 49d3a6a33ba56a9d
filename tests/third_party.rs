//! Plugins built outside the workspace: a third-party crate loads; one built against an
//! incompatible plugin-api (another major, another 0.x minor) is refused with both versions
//! named, and one whose plugin-api types were changed with its first difference named.
//!
//! Each test has the machine alone ([`alone`]): its cargo builds keep every core busy.

use hypernet_integration::turn::alone;
use hypernet_integration::{Env, cargo, target_dir, workspace_root};
use std::path::{Path, PathBuf};

/// Copies a folder (no `target/`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" || name == "Cargo.lock" {
            continue;
        }
        let dest = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Copies the fixture crate under a new package name, depending on the plugin-api at
/// `api`, builds it, and returns the library path.
fn build_fixture(work: &Path, package: &str, api: &Path) -> PathBuf {
    let crate_dir = work.join(package);
    copy_dir(
        &workspace_root().join("tests/fixtures/external-plugin"),
        &crate_dir,
    );
    let manifest = crate_dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace(
            "name = \"hypernet-plugin-external\"",
            &format!("name = \"{package}\""),
        )
        .replace(
            "path = \"../../../plugin-api\"",
            &format!("path = {:?}", api.display().to_string()),
        );
    std::fs::write(&manifest, text).unwrap();
    // The workspace's lock file pins the same dependency versions, so no index is needed.
    std::fs::copy(
        workspace_root().join("Cargo.lock"),
        crate_dir.join("Cargo.lock"),
    )
    .unwrap();
    let target = target_dir().join("third-party");
    cargo(
        &crate_dir,
        &[
            "build",
            "--offline",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    );
    target
        .join("debug")
        .join(format!("lib{}.so", package.replace('-', "_")))
}

/// A copy of this checkout's plugin-api with another version number.
fn api_with_version(work: &Path, version: &str) -> PathBuf {
    let dir = work.join(format!("plugin-api-{version}"));
    copy_dir(&workspace_root().join("plugin-api"), &dir);
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text.replacen(
        "version = \"0.1.0\"",
        &format!("version = \"{version}\""),
        1,
    );
    std::fs::write(&manifest, text).unwrap();
    dir
}

/// A copy of this checkout's plugin-api, same version, where the error crossing the
/// boundary has its two fields the other way round.
fn api_with_other_layout(work: &Path) -> PathBuf {
    let dir = work.join("plugin-api-modified");
    copy_dir(&workspace_root().join("plugin-api"), &dir);
    let abi = dir.join("src/abi.rs");
    let text = std::fs::read_to_string(&abi).unwrap();
    let fields = "    pub code: u32,\n    /// Human-readable text.\n    pub message: RString,";
    assert!(
        text.contains(fields),
        "the fixture's edit no longer applies"
    );
    let swapped = "    pub message: RString,\n    /// The code.\n    pub code: u32,";
    std::fs::write(&abi, text.replacen(fields, swapped, 1)).unwrap();
    dir
}

/// What `hypernet plugins check` and `hypernet run` say of the plugin `name` at `lib`.
fn refusals(env: &Env, name: &str, lib: &Path) -> (String, String) {
    env.manifest(&format!(
        "[[plugin]]\nname = \"{name}\"\npath = {:?}\n[plugin.config]\ngreeting = \"Hi\"\n",
        lib.display().to_string()
    ));
    let check = env.check();
    check.fails();
    let run = env.try_start().err().expect("the host refuses the plugin");
    (check.stdout.clone(), run)
}

#[test]
fn a_plugin_built_outside_the_workspace_loads_with_both_its_services() {
    let _alone = alone();
    let env = Env::new();
    let lib = build_fixture(
        env.path(),
        "hypernet-plugin-external",
        &workspace_root().join("plugin-api"),
    );
    // The manifest of PLUGINS.md, as a reader copies it, with this plugin in place of its
    // `hello`: its model provider answers the tasks.
    let doc = std::fs::read_to_string(workspace_root().join("PLUGINS.md")).unwrap();
    let example = doc
        .split("```toml\n# plugins.toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("PLUGINS.md has a plugins.toml example");
    let hello = "/path/to/hello/target/release/libhypernet_plugin_hello.so";
    assert!(example.contains(hello), "{example}");
    env.manifest(
        &example
            .replace("name = \"hello\"", "name = \"external\"")
            .replace(hello, &lib.display().to_string()),
    );
    let check = env.check();
    assert!(
        check.ok().contains("echo (provider), greeter (subsystem)"),
        "{}",
        check.stdout
    );
    let _host = env.start();
    let external = env.plugin_status("external");
    assert_eq!(external["version"], "2.3.4");
    assert_eq!(
        external["kinds"],
        serde_json::json!(["provider", "subsystem"])
    );
    let greet = env
        .call("external:greeter", "greet", r#"{"name":"swarm"}"#)
        .json();
    assert_eq!(
        greet,
        serde_json::json!({"text": "Hello, swarm!", "times": 1})
    );
    let ambiguous = env.call("external", "greet", "");
    assert!(
        ambiguous
            .fails()
            .contains("address one as `external:<service>`")
    );
    let echo = env.call("external:echo", "describe", "").json();
    assert_eq!(echo["models"], serde_json::json!(["echo/"]));
    let filed = env.run(&["task", "add", "Say hello", "--json"]).json();
    let id = filed["id"].as_str().unwrap().to_owned();
    let done = hypernet_integration::eventually("the task to finish", || {
        let task = env.run(&["task", "show", &id, "--json"]).json();
        ["completed", "failed"]
            .contains(&task["status"].as_str().unwrap())
            .then_some(task)
    });
    assert_eq!(done["status"], "completed", "{done}");
}

#[test]
fn plugin_api_versions_decide_compatibility() {
    let _alone = alone();
    let env = Env::new();
    // Built against a newer minor of the same series: loads.
    let newer = api_with_version(env.path(), "0.1.7");
    let ok_lib = build_fixture(env.path(), "hypernet-plugin-patchlevel", &newer);
    // Built against an incompatible major: refused.
    let major = api_with_version(env.path(), "1.0.0");
    let bad_lib = build_fixture(env.path(), "hypernet-plugin-mismatch", &major);

    env.manifest(&format!(
        "[[plugin]]\nname = \"patchlevel\"\npath = {:?}\n[plugin.config]\ngreeting = \"Hi\"\n",
        ok_lib.display().to_string()
    ));
    let check = env.check();
    check.ok();
    let host = env.start();
    assert_eq!(env.plugin_status("patchlevel")["api_version"], "0.1.7");
    drop(host);

    env.manifest(&format!(
        "[[plugin]]\nname = \"mismatch\"\npath = {:?}\n[plugin.config]\ngreeting = \"Hi\"\n",
        bad_lib.display().to_string()
    ));
    let check = env.check();
    let err = check.fails();
    let expected = "was built against hypernet-plugin-api 1.0.0, but this host provides hypernet-plugin-api 0.1.0";
    assert!(
        err.contains("plugin `mismatch`") || check.stdout.contains("plugin `mismatch`"),
        "{err}"
    );
    assert!(check.stdout.contains(expected), "{}", check.stdout);
    let run = env.try_start().err().expect("the host refuses the plugin");
    assert!(
        run.contains("plugin `mismatch`") && run.contains(expected),
        "{run}"
    );

    // Another 0.x minor is another major: refused the same way, both versions named.
    let minor = api_with_version(env.path(), "0.2.0");
    let lib = build_fixture(env.path(), "hypernet-plugin-minor", &minor);
    let expected = "was built against hypernet-plugin-api 0.2.0, but this host provides hypernet-plugin-api 0.1.0";
    let (check, run) = refusals(&env, "minor", &lib);
    assert!(check.contains(expected), "{check}");
    assert!(run.contains(expected), "{run}");

    // The same version with its types changed: the first difference, not a layout dump.
    let modified = api_with_other_layout(env.path());
    let lib = build_fixture(env.path(), "hypernet-plugin-modified", &modified);
    let (check, run) = refusals(&env, "modified", &lib);
    for text in [&check, &run] {
        assert!(
            text.contains("plugin `modified`")
                && text.contains("whose types differ from this host's")
                && text.contains(
                    "The first difference: unexpected field (expected field_name:code, found field_name:message)"
                ),
            "{text}"
        );
        assert!(!text.contains("--- Type Layout ---"), "{text}");
    }
}
