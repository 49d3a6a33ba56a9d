//! The CLI's output into a pipe whose reader has gone away (`hypernet ... | head` once `head`
//! has what it wants): every command ends quietly with exit 0, never with a panic.

use crate::util::{SIM, file, wait_for};
use hypernet_integration::Env;

#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    let env = Env::new();
    env.manifest(&format!(
        "{SIM}[[plugin]]\nname = \"example\"\ncapabilities = [\"kv\", \"events\", \"log\"]\n"
    ));
    env.config("standing = []\n[[worker]]\nname = \"Solo\"\naccount = \"2.1\"\n");
    let _host = env.start();
    let id = file(&env, "Printed");
    wait_for(&env, &id, &["completed"]);
    let manifest = env.path().join("plugins.toml");
    let manifest = manifest.to_str().expect("a UTF-8 path");
    let commands: &[&[&str]] = &[
        &["status"],
        &["summary"],
        &["workers"],
        &["worker", "Solo"],
        &["budget"],
        &["failures"],
        &["history"],
        &["task", "list"],
        &["task", "show", &id],
        &["task", "add", "Piped"],
        &["plugins", "list"],
        &["plugins", "check", "--manifest", manifest],
        &["plugin", "call", "example", "counts"],
        &["approvals", "list"],
        &["audit", "list"],
        &["audit", "verify"],
        &["keys", "list"],
        &["dashboard"],
        &["address", "check", "2.1.trace"],
    ];
    for command in commands {
        let mut runs = vec![command.to_vec()];
        // `plugin call` prints JSON either way.
        if command[0] != "plugin" {
            runs.push(command.iter().copied().chain(["--json"]).collect());
        }
        // The watch stops at its first view that nobody reads.
        if command == &["status"] {
            runs.push(vec!["status", "--watch", "--interval", "0.1"]);
        }
        for args in runs {
            let run = env.run_into_closed_pipe(&args);
            assert_eq!(
                run.code,
                Some(0),
                "hypernet {args:?} into a closed pipe: {}",
                run.stderr
            );
            assert_eq!(run.stderr, "", "hypernet {args:?} says nothing");
        }
    }
}
