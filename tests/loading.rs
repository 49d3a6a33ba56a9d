//! Loading every first-party plugin, toggling plugins, what a plugin says it offers, and
//! durable plugin storage.

use hypernet_integration::{Env, eventually, workspace_root};
use serde_json::Value;

const ALL: &str = r#"
[[plugin]]
name = "provider-sim"
capabilities = ["log"]
[plugin.config]
latency_ms = 5

[[plugin]]
name = "example"
capabilities = ["kv", "events", "log"]
"#;

fn plugin<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} not listed in {list}"))
}

#[test]
fn the_repository_manifest_loads_every_first_party_plugin() {
    let env = Env::new();
    let manifest = workspace_root().join("plugins.toml");
    std::fs::copy(&manifest, env.path().join("plugins.toml")).unwrap();
    let check = env.check();
    let out = check.ok();
    assert!(
        out.contains("provider-sim") && out.contains("example"),
        "{out}"
    );
    assert!(!out.contains("ERROR"), "{out}");
    for name in ["provider-anthropic", "provider-openai", "provider-lmstudio"] {
        let row = out
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_default();
        assert!(row.ends_with("ok (disabled)"), "{name} is checked: {out}");
    }

    let host = env.start();
    let list = env.run(&["plugins", "list", "--json"]).json();
    for name in [
        "provider-sim",
        "example",
        "reputation",
        "governance",
        "economy",
        "herald",
    ] {
        let p = plugin(&list, name);
        assert_eq!(p["state"], "loaded", "{p}");
        assert_eq!(p["version"], "0.1.0");
        assert!(p["path"].as_str().unwrap().ends_with(".so"));
    }
    assert_eq!(
        plugin(&list, "provider-sim")["kinds"],
        serde_json::json!(["provider"])
    );
    assert_eq!(
        plugin(&list, "example")["kinds"],
        serde_json::json!(["subsystem"])
    );
    let table = env.run(&["plugins", "list"]);
    let table = table.ok();
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("example") && l.contains("subsystem") && l.contains("loaded"))
    );
    // Plugin logs reach the host log under the plugin's name.
    host.wait_for_log("example counter started");
    assert_eq!(host.stop(), Some(0));
}

#[test]
fn the_simulated_provider_answers_through_the_host() {
    let env = Env::new();
    env.manifest(ALL);
    let _host = env.start();
    let request = r#"{"model":"sim/small","messages":[{"role":"user","content":[{"type":"text","text":"Plan the release"}]}],"max_tokens":50}"#;
    let prepared = env.call("provider-sim", "prepare", request).json();
    let outcome = &prepared["Ok"];
    assert_eq!(outcome["mode"], "simulated", "{prepared}");
    assert_eq!(outcome["delay_ms"], 5);
    let completion = &outcome["outcome"]["Ok"];
    assert_eq!(completion["simulated"], true);
    assert!(
        completion["text"]
            .as_str()
            .unwrap()
            .starts_with("SIMULATED")
    );
    assert!(
        completion["text"]
            .as_str()
            .unwrap()
            .ends_with("Plan the release")
    );
    let info = env.call("provider-sim", "describe", "").json();
    assert_eq!(info["models"], serde_json::json!(["sim/"]));
}

#[test]
fn a_disabled_plugin_is_not_loaded() {
    let env = Env::new();
    env.manifest(&ALL.replace("name = \"example\"", "name = \"example\"\nenabled = false"));
    let _host = env.start();
    let list = env.run(&["plugins", "list", "--json"]).json();
    let example = plugin(&list, "example");
    assert_eq!(example["state"], "disabled");
    assert_eq!(
        example["path"],
        Value::Null,
        "a disabled plugin's library is not even opened"
    );
    let call = env.call("example", "counts", "");
    assert!(
        call.fails().contains("plugin `example` is disabled"),
        "{}",
        call.stderr
    );
    assert_eq!(plugin(&list, "provider-sim")["state"], "loaded");
}

#[test]
fn plugins_are_disabled_and_enabled_without_restart() {
    let env = Env::new();
    env.manifest(ALL);
    let host = env.start();
    let count = |kind: &str| {
        env.call("example", "count", &format!("{{\"kind\":\"{kind}\"}}"))
            .json()["count"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        env.run(&["plugins", "disable", "example"]).ok().trim(),
        "example: disabled"
    );
    let call = env.call("example", "counts", "");
    assert!(call.fails().contains("disabled"));
    // Events while it is disabled wait in the log and are delivered when it comes back.
    env.run(&["plugins", "disable", "provider-sim"]).ok();
    env.run(&["plugins", "enable", "provider-sim"]).ok();
    let list = env.run(&["plugins", "list"]).ok().to_owned();
    let row = list.lines().find(|l| l.starts_with("example")).unwrap();
    assert!(row.contains(" behind"), "{list}");
    let status = env.run(&["plugins", "enable", "example", "--json"]).json();
    assert_eq!(status["state"], "loaded");
    // Its own `plugin.disabled`, published once it had stopped, and provider-sim's.
    eventually("the events of while it was disabled to be counted", || {
        (count("plugin.disabled") == 2).then_some(())
    });
    // And live ones as before.
    env.run(&["plugins", "disable", "provider-sim"]).ok();
    eventually("the new disable event to be counted", || {
        (count("plugin.disabled") == 3).then_some(())
    });
    let list = env.run(&["plugins", "list"]).ok().to_owned();
    let row = list.lines().find(|l| l.starts_with("example")).unwrap();
    assert!(row.contains("up to date"), "{list}");
    assert!(host.log().contains("plugin disabled"));
}

#[test]
fn a_plugin_says_what_it_offers_and_an_unknown_query_names_the_known_ones() {
    let env = Env::new();
    env.manifest(ALL);
    let _host = env.start();

    let text = env.run(&["plugins", "describe", "example"]).ok().to_owned();
    assert!(
        text.starts_with("counter (subsystem, at `example`)"),
        "{text}"
    );
    for line in [
        "    count  The count of one event kind.",
        "      args: {\"kind\":\"string\"}",
        "    example.milestone  Every `milestone_every` events counted.",
        "    example_event_count (tier 0)",
    ] {
        assert!(text.contains(line), "{line:?} in:\n{text}");
    }
    let json = env
        .run(&["plugins", "describe", "example", "--json"])
        .json();
    let service = &json["services"][0];
    assert_eq!(service["declared"], true);
    let queries: Vec<&str> = service["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(queries, ["counts", "count", "add", "reset"]);
    assert_eq!(service["tools"][0]["name"], "example_event_count");

    let sim = env
        .run(&["plugins", "describe", "provider-sim"])
        .ok()
        .to_owned();
    assert!(
        sim.contains("(provider, at `provider-sim`)") && sim.contains("  models: sim/"),
        "{sim}"
    );

    let wrong = env.call("example", "cuont", "");
    assert!(
        wrong
            .fails()
            .contains("unknown query `cuont`; it answers: counts, count, add, reset"),
        "{}",
        wrong.stderr
    );
    env.run(&["plugins", "disable", "example"]).ok();
    let stopped = env.run(&["plugins", "describe", "example"]);
    assert!(stopped.fails().contains("disabled"), "{}", stopped.stderr);
}

#[test]
fn plugin_storage_survives_restart_and_crash() {
    let env = Env::new();
    env.manifest(ALL);
    let host = env.start();
    let added = env
        .call("example", "add", r#"{"kind":"manual","by":41}"#)
        .json();
    assert_eq!(added["count"], 41);
    assert_eq!(host.stop(), Some(0));

    let host = env.start();
    let again = env.call("example", "add", r#"{"kind":"manual"}"#).json();
    assert_eq!(again["count"], 42, "the count was read back from the store");
    // A write acknowledged before a kill -9 is not lost either.
    host.kill9();
    let _host = env.start();
    let after_crash = env.call("example", "count", r#"{"kind":"manual"}"#).json();
    assert_eq!(after_crash["count"], 42);
}

#[test]
fn cli_without_a_running_host_says_so() {
    let env = Env::new();
    let run = env.run(&["plugins", "list"]);
    let err = run.fails();
    assert!(
        err.contains("no hypernet host is running for data directory"),
        "{err}"
    );
}
