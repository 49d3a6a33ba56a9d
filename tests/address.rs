//! Hypernet addresses through the real binary: `hypernet address check` prints what an
//! address parses to or why it is not one; workers' addresses follow the same rules (a
//! configured one that breaks them stops the host, a derived one keeps to letters and
//! digits).

use hypernet_integration::Env;
use serde_json::json;

#[test]
fn check_prints_what_an_address_parses_to() {
    let env = Env::new();
    let out = env
        .run(&["address", "check", "2.1.trace:notes.md:intro"])
        .ok()
        .to_owned();
    for line in [
        "valid      yes",
        "parts      2 1 trace",
        "category   2 (AI Entities)",
        "depth      3",
        "owner      2.1",
        "parent     2.1.trace:notes.md",
        "instance   no",
        "resource   notes.md",
        "section    intro",
    ] {
        assert!(out.contains(line), "{line:?} in:\n{out}");
    }
    let instance = env
        .run(&["address", "check", "0.7.1.00042", "--json"])
        .json();
    assert_eq!(instance["valid"], true, "{instance}");
    let parsed = &instance["parsed"];
    assert_eq!(parsed["instance"], true);
    assert_eq!(parsed["definition"], true);
    assert_eq!(
        parsed["owner"],
        json!(null),
        "system definitions have no owner"
    );
    assert_eq!(parsed["parent"], "0.7.1");
    assert_eq!(parsed["parts"], json!(["0", "7", "1", "00042"]));
}

#[test]
fn warnings_pass_and_errors_fail_naming_each_rule() {
    let env = Env::new();
    let future = env.run(&["address", "check", "1.1.1.1.42"]).ok().to_owned();
    assert!(
        future.contains(
            "warning    instance number `42` is not zero-padded to 5 digits (convention: 00042)"
        ),
        "{future}"
    );
    let ahead = env.run(&["address", "check", "7.1", "--json"]).json();
    assert_eq!(ahead["valid"], true);
    assert_eq!(
        ahead["warnings"],
        json!(["category 7 is in the future expansion range (5+)"])
    );

    let bad = env.run(&["address", "check", "x.trace-2"]);
    let err = bad.fails();
    assert!(
        err.contains("`x.trace-2` is not a valid Hypernet address")
            && err.contains("unknown category `x` (known: 0 to 4)")
            && err.contains("part 1 `trace-2` has characters other than ASCII letters and digits"),
        "{err}"
    );
    assert!(bad.stdout.contains("valid      no"), "{}", bad.stdout);
    let broken = env.run(&["address", "check", "2..1"]);
    assert!(
        broken.fails().contains("`2..1`: part 1 is empty"),
        "{}",
        broken.stderr
    );
    assert!(
        env.run(&["address", "check", "2"])
            .fails()
            .contains("too shallow: 1 part, at least 2 for category 2")
    );
}

fn provider_sim(env: &Env) {
    env.manifest("[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n");
}

#[test]
fn a_worker_address_off_the_rules_stops_the_host_and_a_derived_one_keeps_to_the_grammar() {
    let env = Env::new();
    provider_sim(&env);
    env.config(
        "standing = []\n[[worker]]\nname = \"Trace\"\naccount = \"2.1\"\naddress = \"2.1.trace_x\"\n",
    );
    let err = env.try_start().err().expect("the host refuses the config");
    assert!(
        err.contains("worker `Trace`: `address` `2.1.trace_x` is not a valid Hypernet address")
            && err.contains("part 2 `trace_x`"),
        "{err}"
    );

    env.config("standing = []\n[[worker]]\nname = \"Keel-2\"\naccount = \"2.3\"\n");
    let _host = env.start();
    let workers = env.run(&["workers", "--json"]).json();
    let text = workers.to_string();
    assert!(text.contains("\"2.3.keel2\""), "{workers}");
}
