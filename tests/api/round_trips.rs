//! Health, plugins, messages and the budget: each route's answer and its refusals.

use super::*;

#[test]
fn plugins_messages_budget_and_health_round_trip() {
    let api = Api::start(
        &format!("{SIM}{EXAMPLE}"),
        &format!("standing = []\n{SOLO}"),
    );
    let health = ok(
        &api.send("GET", "/api/health", Auth::Anonymous, ""),
        "health",
    );
    let info: Value = serde_json::from_str(
        &std::fs::read_to_string(api.env.data_dir().join("host.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(health["ok"], true, "{health}");
    assert_eq!(health["pid"], info["pid"], "{health}");
    assert!(!health["version"].as_str().unwrap_or_default().is_empty());

    plugins_are_listed_toggled_and_queried(&api);
    messages_are_sent_at_once_and_listed(&api);
    budget_limits_change_at_run_time(&api);
    api.assert_no_secret_in_log();
}

fn plugins_are_listed_toggled_and_queried(api: &Api) {
    let plugins = api.get("/api/plugins");
    let names: BTreeSet<&str> = items(&plugins)
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["provider-sim", "example"]));
    let first = api.get("/api/plugins?limit=1");
    let second = api.get("/api/plugins?offset=1&limit=1");
    assert_eq!((&first["total"], &second["total"]), (&json!(2), &json!(2)));
    assert_ne!(items(&first)[0]["name"], items(&second)[0]["name"]);
    let example = api.get("/api/plugins/example");
    assert_eq!(
        (&example["name"], &example["state"], &example["kinds"]),
        (&json!("example"), &json!("loaded"), &json!(["subsystem"])),
        "{example}"
    );
    assert_eq!(example["capabilities"], json!(["kv", "events", "log"]));
    assert!(
        example["path"].as_str().unwrap().ends_with(".so"),
        "{example}"
    );
    let counts = api.post("/api/plugins/example/query/counts", json!({}));
    assert!(
        counts["total"].is_u64() && counts["by_kind"].is_object(),
        "{counts}"
    );
    let no_args = api.send("POST", "/api/plugins/example/query/counts", Auth::Token, "");
    let no_args = ok(&no_args, "a query without a body");
    assert!(
        no_args["total"].is_u64(),
        "no body is no arguments: {no_args}"
    );
    let added = api.post(
        "/api/plugins/example/query/add",
        json!({ "kind": "manual", "by": 2 }),
    );
    assert_eq!(added, json!({ "kind": "manual", "count": 2 }));
    let manual = || {
        api.post(
            "/api/plugins/example/query/count",
            json!({ "kind": "manual" }),
        )
    };
    assert_eq!(manual()["count"], 2);
    api.invalid("/api/plugins/example/query/count", Some("{}"))
        .mentions(&["`count` needs"]);
    api.invalid("/api/plugins/example/query/count", Some("{\"kind\":"))
        .mentions(&["not JSON"]);
    let query = |name: &str| format!("/api/plugins/example/query/{name}");
    api.refused("POST", &query("nope"), Auth::Token, "", NOT_FOUND)
        .mentions(&["unknown query `nope`"]);

    let disabled = api.act("/api/plugins/example/disable");
    assert_eq!(disabled["state"], "disabled", "{disabled}");
    assert_eq!(api.get("/api/plugins/example")["state"], "disabled");
    assert_eq!(
        api.get("/api/status")["plugins"],
        json!({ "total": 2, "loaded": 1, "disabled": 1, "failed": 0 })
    );
    api.refused("POST", &query("counts"), Auth::Token, "", (409, "disabled"))
        .mentions(&["plugin `example` is disabled; enable it first"]);
    let again = api.act("/api/plugins/example/disable");
    assert_eq!(again["state"], "disabled", "disabling twice is harmless");
    let enabled = api.act("/api/plugins/example/enable");
    assert_eq!(enabled["state"], "loaded", "{enabled}");
    assert_eq!(manual()["count"], 2, "kept in its store across the restart");
    for (method, path) in [
        ("GET", "/api/plugins/nope"),
        ("POST", "/api/plugins/nope/enable"),
        ("POST", "/api/plugins/nope/disable"),
        ("POST", "/api/plugins/nope/query/counts"),
    ] {
        api.refused(method, path, Auth::Token, "", NOT_FOUND)
            .mentions(&["no plugin named `nope`"]);
    }
}

/// Without the herald a message is sent at once; the list shows each with its fate.
fn messages_are_sent_at_once_and_listed(api: &Api) {
    let none = api.get("/api/messages");
    assert_eq!((items(&none).len(), &none["total"]), (0, &json!(0)));
    let sent = api.post(
        "/api/messages",
        json!({ "to": "ops", "body": "Deploy finished", "tags": ["deploy"] }),
    );
    assert_eq!(
        (&sent["id"], &sent["to"], &sent["body"], &sent["tags"]),
        (
            &json!("M-000001"),
            &json!("ops"),
            &json!("Deploy finished"),
            &json!(["deploy"])
        ),
        "{sent}"
    );
    assert_eq!(
        (&sent["channel"], &sent["sender"], &sent["status"]),
        (&json!("auto"), &json!("host"), &json!("sent")),
        "defaults, and no herald to hold it: {sent}"
    );
    assert_eq!(
        (
            &sent["deliveries"][0]["channel"],
            &sent["deliveries"][0]["status"]
        ),
        (&json!("log"), &json!("sent")),
        "`ops` is no configured person: the log is the one channel: {sent}"
    );
    assert!(
        sent["sent_ms"].is_u64() && sent["review"].is_null(),
        "{sent}"
    );
    let second = api.post(
        "/api/messages",
        json!({ "to": "alice", "body": "Hello", "sender": "Solo" }),
    );
    assert_eq!(
        (&second["id"], &second["sender"]),
        (&json!("M-000002"), &json!("Solo"))
    );
    let all = api.get("/api/messages");
    assert_eq!(all["total"], 2);
    let page = |q: &str| api.get(&format!("/api/messages?{q}"))["items"][0]["id"].clone();
    let (a, b) = (page("limit=1"), page("offset=1&limit=1"));
    assert_eq!(
        BTreeSet::from([a.as_str().unwrap(), b.as_str().unwrap()]),
        BTreeSet::from(["M-000001", "M-000002"])
    );
    api.invalid(
        "/api/messages",
        Some(r#"{"to": "ops", "body": "x", "colour": 1}"#),
    )
    .mentions(&["unknown field `colour`"]);
    api.invalid("/api/messages", Some(r#"{"to": "ops"}"#))
        .mentions(&["missing field `body`"]);
    api.invalid("/api/messages", Some(r#"{"to": "ops", "body": 7}"#))
        .mentions(&["body: invalid type"]);
    assert_eq!(
        api.get("/api/messages")["total"],
        2,
        "nothing refused was kept"
    );
}

/// Limits change at run time; each refusal names the field.
fn budget_limits_change_at_run_time(api: &Api) {
    let budget = api.get("/api/budget");
    for key in [
        "daily_limit_micros",
        "session_limit_micros",
        "spent_today_micros",
        "spent_session_micros",
        "reserved_micros",
        "reservations",
        "next_reset_ms",
        "paused",
        "per_model",
        "per_worker",
    ] {
        assert!(budget.get(key).is_some(), "budget lacks `{key}`: {budget}");
    }
    assert!(budget["daily_limit_micros"].is_null() && budget["paused"] == false);
    let set = api.post("/api/budget", json!({ "daily_limit_usd": 5.0 }));
    assert_eq!(
        (&set["daily_limit_micros"], &set["session_limit_micros"]),
        (&json!(5_000_000), &Value::Null)
    );
    let set = api.post("/api/budget", json!({ "session_limit_usd": 0.5 }));
    assert_eq!(
        (&set["daily_limit_micros"], &set["session_limit_micros"]),
        (&json!(5_000_000), &json!(500_000)),
        "a limit not named is kept"
    );
    assert_eq!(api.get("/api/budget")["session_limit_micros"], 500_000);
    for (body, words) in [
        (
            "{}",
            &["give `daily_limit_usd`, `session_limit_usd` or both"][..],
        ),
        (r#"{"daily_limit_usd": -1}"#, &["`daily_limit_usd`", "-1"]),
        (
            r#"{"weekly_limit_usd": 1}"#,
            &["unknown field `weekly_limit_usd`"],
        ),
        (
            r#"{"daily_limit_usd": "five"}"#,
            &["daily_limit_usd: invalid type"],
        ),
    ] {
        api.invalid("/api/budget", Some(body)).mentions(words);
    }
    assert_eq!(api.get("/api/budget")["daily_limit_micros"], 5_000_000);
}
