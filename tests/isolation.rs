//! A panicking or slow plugin never takes the host or the other plugins down.

use hypernet_integration::{Env, eventually};
use serde_json::json;
use std::process::Command;

const MANIFEST: &str = r#"
[[plugin]]
name = "example"
capabilities = ["kv", "events", "log"]

[[plugin]]
name = "faulty"
capabilities = ["log", "tasks"]
"#;

#[test]
fn a_panic_in_a_query_marks_only_that_plugin_failed() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let mut host = env.start();
    let call = env.call("faulty", "panic", "");
    let err = call.fails();
    assert!(
        err.contains("panicked in panic: faulty plugin panics on request"),
        "{err}"
    );
    let faulty = eventually("faulty to be failed", || {
        let s = env.plugin_status("faulty");
        (s["state"] == "failed").then_some(s)
    });
    assert!(
        faulty["reason"]
            .as_str()
            .unwrap()
            .contains("faulty plugin panics on request")
    );
    assert!(host.is_running());
    // The others keep working, and the failure was an event they saw.
    let counted = eventually("the failure event", || {
        let c = env
            .call("example", "count", r#"{"kind":"plugin.failed"}"#)
            .json();
        (c["count"] == 1).then_some(c)
    });
    assert_eq!(counted["kind"], "plugin.failed");
    let refused = env.call("faulty", "echo", "1");
    assert!(refused.fails().contains("plugin `faulty` has failed"));
    // It can be started again.
    env.run(&["plugins", "enable", "faulty"]).ok();
    assert_eq!(
        env.run(&["plugin", "call", "faulty", "echo", "[1,2]"])
            .json(),
        serde_json::json!([1, 2])
    );
    assert!(host.log().contains("plugin panicked; marked failed"));
}

#[test]
fn a_panic_while_handling_an_event_is_contained() {
    let env = Env::new();
    env.manifest(&format!(
        "{MANIFEST}[plugin.config]\npanic_on_event = \"task.created\"\n"
    ));
    let mut host = env.start();
    // File a task through the API: the event reaches both plugins.
    let (status, body) = env.api("/api/tasks", Some(&json!({ "title": "boom" })));
    assert_eq!(status, 200, "{body}");
    eventually("faulty to fail on the event", || {
        (env.plugin_status("faulty")["state"] == "failed").then_some(())
    });
    assert!(host.is_running());
    let c = env
        .call("example", "count", r#"{"kind":"task.created"}"#)
        .json();
    assert_eq!(c["count"], 1);
}

/// Starts the host with faulty's `config` line, which makes faulty fail while starting;
/// checks faulty alone is failed with `reason` and the host runs. Returns the host's log.
fn failed_alone_at_start(config: &str, reason: &str) -> String {
    let env = Env::new();
    env.manifest(&format!("{MANIFEST}[plugin.config]\n{config}\n"));
    let mut host = env.start();
    let faulty = env.plugin_status("faulty");
    assert_eq!(faulty["state"], "failed");
    assert!(
        faulty["reason"].as_str().unwrap().contains(reason),
        "{faulty}"
    );
    assert_eq!(env.plugin_status("example")["state"], "loaded");
    assert!(host.is_running());
    host.log()
}

#[test]
fn a_panic_while_starting_leaves_the_host_running() {
    failed_alone_at_start("panic_on_start = true", "panics in start");
}

#[test]
fn a_plugin_that_cannot_start_is_failed_alone_with_its_reason() {
    let log = failed_alone_at_start(
        "fail_start = \"environment variable FAULTY_KEY is not set\"",
        "FAULTY_KEY is not set",
    );
    assert!(log.contains("FAULTY_KEY is not set"));
}

#[test]
fn a_slow_plugin_does_not_stall_the_others() {
    let env = Env::new();
    env.manifest(MANIFEST);
    let _host = env.start();
    let data = env.data_dir();
    let bin = hypernet_integration::hypernet_bin();
    // Block faulty's thread for a long time...
    let mut slow = Command::new(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["plugin", "call", "faulty", "sleep", r#"{"ms":20000}"#])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    // ...while example and the host answer at once.
    for _ in 0..5 {
        env.call("example", "counts", "").ok();
        env.run(&["plugins", "list"]).ok();
    }
    assert!(
        slow.try_wait().unwrap().is_none(),
        "the slow call is still in progress"
    );
    let _ = slow.kill();
    let _ = slow.wait();
}
