//! The subsystem plugins through the real host and their real libraries: task events feed
//! reputation and the economy, governance weighs votes with reputation (or equally without
//! it), and the herald holds outbound messages back until approved.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// provider-sim, the example plugin (it counts every event kind) and the four subsystems,
/// with `disabled` ones switched off.
fn swarm(disabled: &[&str]) -> Env {
    let env = Env::new();
    let on = |name: &str| !disabled.contains(&name);
    env.manifest(&format!(
        r#"[[plugin]]
name = "provider-sim"
capabilities = ["log"]

[[plugin]]
name = "example"
capabilities = ["kv", "events"]

[[plugin]]
name = "reputation"
enabled = {reputation}
capabilities = ["kv", "events", "clock", "log"]

[[plugin]]
name = "governance"
enabled = {governance}
capabilities = ["kv", "events", "clock", "query", "commands", "log"]
requires = ["reputation"]

[[plugin]]
name = "economy"
enabled = {economy}
capabilities = ["kv", "events", "clock", "log"]

[[plugin]]
name = "herald"
enabled = {herald}
capabilities = ["kv", "events", "clock", "log"]
"#,
        reputation = on("reputation"),
        governance = on("governance"),
        economy = on("economy"),
        herald = on("herald"),
    ));
    env.config("standing = []\n[[worker]]\nname = \"Trace\"\naccount = \"2.1\"\n");
    env
}

fn call(env: &Env, plugin: &str, query: &str, args: Value) -> Value {
    env.call(plugin, query, &args.to_string()).json()
}

/// Files a task and waits until it completed.
fn complete_a_task(env: &Env, title: &str, tags: &[&str]) -> String {
    let (status, body) = env.api("/api/tasks", Some(&json!({ "title": title, "tags": tags })));
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("task id").to_owned();
    eventually("the task to complete", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        (t["status"] == "completed").then_some(())
    });
    id
}

fn event_count(env: &Env, kind: &str) -> u64 {
    call(env, "example", "count", json!({ "kind": kind }))["count"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn a_completed_task_earns_reputation_in_its_domain() {
    let env = swarm(&[]);
    let _host = env.start();
    let id = complete_a_task(&env, "Write the changelog", &["docs", "communication"]);
    let scores = eventually("the reputation entry", || {
        let s = call(&env, "reputation", "scores", json!({ "entity": "Trace" }));
        s["domains"]["communication"].is_number().then_some(s)
    });
    // One system entry of 70 for a completed task, in the first known domain among its tags.
    assert_eq!(scores["domains"], json!({ "communication": 70.0 }), "{scores}");
    assert_eq!(scores["overall"], 70.0);
    let trail = call(&env, "reputation", "entries", json!({ "entity": "Trace" }));
    let evidence = trail["entries"][0]["evidence"].as_str().unwrap_or_default();
    assert!(evidence.contains(&id), "{trail}");
}

#[test]
fn a_completed_task_becomes_an_economy_contribution_that_survives_a_restart() {
    let env = swarm(&[]);
    let host = env.start();
    let id = complete_a_task(&env, "Write the changelog", &["communication"]);
    let ledger = eventually("the AI contribution", || {
        let l = call(&env, "economy", "ledger", json!({ "kind": "ai" }));
        (l["count"] == 1).then_some(l)
    });
    let entry = &ledger["entries"][0];
    assert_eq!(entry["contributor"], "Trace", "{ledger}");
    assert_eq!(entry["task"], id.as_str(), "{ledger}");
    assert!(entry["tokens"].as_u64().unwrap() > 0, "{ledger}");
    assert_eq!(host.stop(), Some(0));

    let _host = env.start();
    let again = call(&env, "economy", "ledger", json!({ "kind": "ai" }));
    assert_eq!(again["entries"], ledger["entries"], "the ledger survives a restart");
}

#[test]
fn a_held_message_is_not_announced_until_released() {
    let env = swarm(&[]);
    let _host = env.start();
    let review = call(
        &env,
        "herald",
        "submit_outbound",
        json!({ "to": "ana", "channel": "email", "body": "Weekly report", "sender": "Trace" }),
    );
    assert_eq!(review["state"], "pending", "{review}");
    let id = review["id"].as_str().unwrap().to_owned();
    let held = call(
        &env,
        "herald",
        "hold",
        json!({ "id": id, "reviewer": "Herald", "reason": "needs numbers" }),
    );
    assert_eq!(held["state"], "held");
    assert_eq!(event_count(&env, "herald.outbound_approved"), 0, "nothing went out");
    let refused = env.call(
        "herald",
        "approve",
        &json!({ "id": id, "reviewer": "Herald" }).to_string(),
    );
    assert!(refused.fails().contains("cannot move from `held` to `approved`"));
    let released = call(
        &env,
        "herald",
        "release",
        json!({ "id": id, "reviewer": "Herald" }),
    );
    assert_eq!(released["state"], "released");
    eventually("the approval to be announced", || {
        (event_count(&env, "herald.outbound_approved") == 1).then_some(())
    });
}
