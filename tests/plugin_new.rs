//! `hypernet plugin new`: the crate it writes for each kind builds outside the workspace,
//! passes its own tests and loads into the real host from its manifest entry — the
//! subsystem answers its query and counts an event, a task routed to the provider's model
//! completes with its answer, the channel delivers a message to a loopback receiver — and
//! what it refuses (a folder in use, a bad name, a folder without the plugin API) it
//! refuses by name, writing nothing.

use crate::util::{send_message, settled, wait_for};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::turn::alone;
use hypernet_integration::{Env, eventually, target_dir, workspace_root};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The kinds, and the name each plugin gets.
const KINDS: [(&str, &str); 3] = [
    ("subsystem", "tally"),
    ("provider", "parrot"),
    ("channel", "relay"),
];

/// The URL the channel's manifest entry is written with.
const PLACEHOLDER_URL: &str = "https://example.org/hypernet/inbox";

/// Runs cargo offline in `dir` with `args`, building into `target`; its output (both
/// streams), panicking with it on failure.
fn cargo(dir: &Path, args: &[&str], target: &Path) -> String {
    let out = Command::new(env!("CARGO"))
        .args(args)
        .arg("--offline")
        .arg("--target-dir")
        .arg(target)
        .current_dir(dir)
        .output()
        .expect("cargo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{text}",
        dir.display()
    );
    text
}

/// `hypernet plugin new NAME --kind KIND --dir DIR --api-path <this checkout's plugin-api>`.
fn plugin_new(env: &Env, name: &str, kind: &str, dir: &Path) -> String {
    let api = workspace_root().join("plugin-api");
    env.run(&[
        "plugin",
        "new",
        name,
        "--kind",
        kind,
        "--dir",
        dir.to_str().unwrap(),
        "--api-path",
        api.to_str().unwrap(),
    ])
    .ok()
    .to_owned()
}

/// The number of tests a `cargo test` output reports passed.
fn passed(output: &str) -> usize {
    output
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

#[test]
fn each_kind_builds_passes_its_tests_and_works_in_the_host() {
    let _alone = alone();
    let env = Env::new();
    // The folder the third-party crates build into: the dependencies, the same for every
    // plugin crate built from the workspace's lock file, are built once.
    let target = target_dir().join("third-party");
    let mut manifest = String::new();
    for (kind, name) in KINDS {
        let dir = env.path().join(name);
        let wrote = plugin_new(&env, name, kind, &dir);
        assert!(
            wrote.contains(&format!("Wrote the {kind} plugin `{name}`")),
            "{wrote}"
        );
        // The workspace's lock file pins the same dependency versions: no index is needed.
        std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        cargo(&dir, &["build"], &target);
        let tests = cargo(&dir, &["test"], &target);
        assert!(passed(&tests) >= 3, "{kind}: {tests}");

        // The entry names the library `cargo build --release` writes; this build is the
        // debug one, in the shared folder.
        let entry = std::fs::read_to_string(dir.join("plugins.toml")).unwrap();
        let release: PathBuf = dir.canonicalize().unwrap().join("target/release");
        let library = format!(
            "path = \"{}/libhypernet_plugin_{name}.so\"",
            release.display()
        );
        assert!(entry.contains(&library), "{kind}: {entry}");
        let debug = target.join("debug").display().to_string();
        manifest.push_str(&entry.replace(&release.display().to_string(), &debug));
        manifest.push('\n');
    }

    let receiver = MockLlm::start_with(|_| Reply::json(200, json!({ "id": "in-1" })));
    assert!(manifest.contains(PLACEHOLDER_URL), "{manifest}");
    env.manifest(&manifest.replace(PLACEHOLDER_URL, &format!("{}/inbox", receiver.url())));
    env.config(
        "standing = []\n\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"parrot/small\"\n\
         [[person]]\nname = \"ada\"\nchannels = { relay = \"ada-ops\" }\n\
         receives = [\"questions\", \"approvals\", \"failures\", \"alerts\"]\n",
    );
    let check = env.check();
    for service in ["tally (subsystem)", "parrot (provider)", "relay (channel)"] {
        assert!(check.ok().contains(service), "{}", check.stdout);
    }
    let host = env.start();

    // The subsystem answers its query...
    let count = env.call("tally", "count", "").json();
    assert_eq!(count, json!({ "kind": "task.created", "count": 0 }));
    let described = env.run(&["plugins", "describe", "tally"]).ok().to_owned();
    assert!(
        described.contains("    count  How many events"),
        "{described}"
    );
    let unknown = env.call("tally", "cuont", "");
    assert!(
        unknown.fails().contains("it answers: count"),
        "{}",
        unknown.stderr
    );

    // ...the provider answers a task routed to its model...
    let filed = env.run(&["task", "add", "Say hello", "--json"]).json();
    let id = filed["id"].as_str().unwrap();
    let task = wait_for(&env, id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let text = task["result"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("parrot heard: ") && text.contains("Say hello"),
        "{text}"
    );
    assert_eq!(task["result"]["model"], "parrot/small", "{task}");

    // ...and the subsystem counted the task's creation.
    eventually("tally to count the task", || {
        let count = env.call("tally", "count", "").json();
        (count["count"] == 1).then_some(())
    });

    // The channel delivers a message to a person over the host's HTTP.
    let message = send_message(
        &env,
        &json!({ "to": "ada", "channel": "relay", "subject": "Greeting", "body": "Hello from the swarm" }),
    );
    let sent = settled(&env, &message);
    assert_eq!(sent["status"], "sent", "{sent}\n{}", host.log());
    assert_eq!(sent["deliveries"][0]["handles"], json!(["in-1"]), "{sent}");
    let posts = receiver.requests_to("/inbox");
    assert_eq!(posts.len(), 1, "{posts:?}");
    let body = posts[0].json();
    assert_eq!(body["id"], message.as_str());
    assert_eq!(body["to"], "ada-ops");
    assert_eq!(body["subject"], "Greeting");
    assert_eq!(body["text"], "Hello from the swarm");
    assert_eq!(posts[0].header("idempotency-key"), Some(message.as_str()));
}

#[test]
fn plugin_new_refuses_by_name_and_defaults_to_this_checkout() {
    let env = Env::new();
    let refused = |args: &[&str]| env.run(args).fails().to_owned();

    let dir = env.path().join("bad");
    let dir_arg = dir.to_str().unwrap();
    let err = refused(&["plugin", "new", "Bad_Name", "--dir", dir_arg]);
    assert!(
        err.contains("plugin name `Bad_Name` must be lower-case letters, digits and `-`"),
        "{err}"
    );
    let err = refused(&["plugin", "new", "2fa", "--dir", dir_arg]);
    assert!(
        err.contains("plugin name `2fa` must start with a lower-case letter"),
        "{err}"
    );
    let err = refused(&["plugin", "new", "host", "--dir", dir_arg]);
    assert!(err.contains("plugin name `host` is reserved"), "{err}");
    let root = workspace_root();
    let err = refused(&[
        "plugin",
        "new",
        "good",
        "--dir",
        dir_arg,
        "--api-path",
        root.to_str().unwrap(),
    ]);
    assert!(
        err.contains(&format!(
            "{} is not the hypernet-plugin-api crate",
            root.join("Cargo.toml").display()
        )),
        "{err}"
    );
    assert!(!dir.exists(), "a refused command wrote {}", dir.display());

    let kind = env.run(&["plugin", "new", "good", "--kind", "tool"]);
    assert_eq!(kind.code, Some(2), "{kind:?}");
    assert!(
        kind.stderr.contains("subsystem, provider, channel"),
        "{}",
        kind.stderr
    );

    // With no --dir and no --api-*: ./NAME, a subsystem, this checkout's plugin-api.
    let wrote = env.run(&["plugin", "new", "hello"]).ok().to_owned();
    let hello = env.path().join("hello");
    let cargo_toml = std::fs::read_to_string(hello.join("Cargo.toml")).unwrap();
    let api = root.join("plugin-api").canonicalize().unwrap();
    assert!(
        cargo_toml.contains(&format!(
            "hypernet-plugin-api = {{ path = \"{}\" }}",
            api.display()
        )),
        "{cargo_toml}"
    );
    assert!(wrote.contains(&api.display().to_string()), "{wrote}");
    let lib_rs = std::fs::read_to_string(hello.join("src/lib.rs")).unwrap();
    assert!(
        lib_rs.contains("register_subsystem!(Counter, \"hello\")"),
        "{lib_rs}"
    );

    // A folder in use is left as it is.
    let err = refused(&["plugin", "new", "hello"]);
    assert!(
        err.contains("hello exists and is not empty: give another --dir, or remove it"),
        "{err}"
    );
    let again = std::fs::read_to_string(hello.join("Cargo.toml")).unwrap();
    assert_eq!(again, cargo_toml);
    let notes = env.path().join("notes");
    std::fs::create_dir(&notes).unwrap();
    std::fs::write(notes.join("todo.txt"), "keep").unwrap();
    let err = refused(&["plugin", "new", "notes", "--kind", "channel"]);
    assert!(err.contains("notes exists and is not empty"), "{err}");
    let left: Vec<_> = std::fs::read_dir(&notes).unwrap().collect();
    assert_eq!(left.len(), 1, "only todo.txt");
}
