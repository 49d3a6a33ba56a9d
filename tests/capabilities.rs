//! A plugin can use only the capabilities its manifest entry grants.

use hypernet_integration::Env;

fn manifest(faulty_capabilities: &str, requires: &str) -> String {
    format!(
        r#"
[[plugin]]
name = "example"
capabilities = ["kv", "events"]

[[plugin]]
name = "faulty"
capabilities = [{faulty_capabilities}]
requires = [{requires}]
"#
    )
}

#[test]
fn ungranted_capabilities_are_refused_with_a_clear_error() {
    let env = Env::new();
    env.manifest(&manifest("", ""));
    let _host = env.start();
    for (query, cap) in [
        ("kv_put", "kv"),
        ("task", "tasks"),
        ("publish", "events"),
        ("command", "commands"),
    ] {
        let run = env.call("faulty", query, r#"{"x":1}"#);
        let err = run.fails();
        assert!(
            err.contains(&format!(
                "plugin `faulty` was not granted the `{cap}` capability"
            )),
            "{query}: {err}"
        );
    }
    let ask = env.call("faulty", "ask", r#"{"plugin":"example","query":"counts"}"#);
    assert!(ask.fails().contains("not granted the `query` capability"));
}

#[test]
fn granted_capabilities_work() {
    let env = Env::new();
    env.manifest(&manifest(
        r#""kv", "tasks", "events", "query""#,
        r#""example""#,
    ));
    let _host = env.start();
    env.call("faulty", "kv_put", r#"{"x":1}"#).ok();
    assert_eq!(
        env.call("faulty", "kv_get", "").json(),
        serde_json::json!({"x": 1})
    );
    let task = env
        .call("faulty", "task", r#"{"title":"filed by a plugin"}"#)
        .json();
    assert_eq!(task["id"], "T-1");
    env.call("faulty", "publish", "{}").ok();
    // Plugin-to-plugin query through the host, to a required plugin.
    let counts = env
        .call(
            "faulty",
            "ask",
            r#"{"plugin":"example","query":"count","args":{"kind":"faulty.poke"}}"#,
        )
        .json();
    assert_eq!(counts["count"], 1, "example saw faulty's event: {counts}");
    let task_count = env
        .call("example", "count", r#"{"kind":"task.created"}"#)
        .json();
    assert_eq!(task_count["count"], 1);
}

#[test]
fn queries_are_limited_to_required_plugins() {
    let env = Env::new();
    env.manifest(&manifest(r#""query""#, ""));
    let _host = env.start();
    let ask = env.call("faulty", "ask", r#"{"plugin":"example","query":"counts"}"#);
    assert!(
        ask.fails()
            .contains("may only query plugins it `requires`; `example` is not among them")
    );
}

#[test]
fn namespaces_keep_plugins_apart() {
    let env = Env::new();
    env.manifest(&manifest(r#""kv""#, ""));
    let _host = env.start();
    env.call("example", "add", r#"{"kind":"k"}"#).ok();
    // faulty reads key "k" in its own namespace: nothing there.
    assert_eq!(
        env.call("faulty", "kv_get", "").json(),
        serde_json::Value::Null
    );
}

#[test]
fn logging_needs_the_log_capability() {
    let env = Env::new();
    env.manifest(&manifest(r#""log""#, ""));
    let host = env.start();
    env.call("faulty", "log", r#""hello""#).ok();
    host.wait_for_log("faulty plugin was asked to log");
    let env2 = Env::new();
    env2.manifest(&manifest("", ""));
    let host2 = env2.start();
    env2.call("faulty", "log", r#""hello""#).ok();
    env2.run(&["plugins", "list"]).ok();
    assert!(!host2.log().contains("faulty plugin was asked to log"));
}

#[test]
fn a_plugin_granted_commands_sets_the_host_budget() {
    let env = Env::new();
    env.manifest(&manifest(r#""commands""#, ""));
    let _host = env.start();
    let view = env
        .call(
            "faulty",
            "command",
            r#"{"name":"budget.set","args":{"daily_limit_usd":12.5}}"#,
        )
        .json();
    assert_eq!(view["daily_limit_micros"], 12_500_000, "{view}");
    let budget = env.run(&["budget", "--json"]).json();
    assert_eq!(budget["daily_limit_micros"], 12_500_000, "{budget}");
    let bad = env.call(
        "faulty",
        "command",
        r#"{"name":"budget.set","args":{"daily_limit_usd":-1}}"#,
    );
    assert!(bad.fails().contains("daily_limit_usd"));
    let unknown = env.call("faulty", "command", r#"{"name":"reboot"}"#);
    assert!(unknown.fails().contains("unknown host command `reboot`"));
}
