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
    assert_eq!(
        scores["domains"],
        json!({ "communication": 70.0 }),
        "{scores}"
    );
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
    assert_eq!(
        again["entries"], ledger["entries"],
        "the ledger survives a restart"
    );
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
    assert_eq!(
        event_count(&env, "herald.outbound_approved"),
        0,
        "nothing went out"
    );
    // Releasing what was never held makes no sense and stays refused.
    let fresh = call(
        &env,
        "herald",
        "submit_outbound",
        json!({ "to": "ana", "channel": "email", "body": "Other news", "sender": "Trace" }),
    );
    let refused = env.call(
        "herald",
        "release",
        &json!({ "id": fresh["id"], "reviewer": "Herald" }).to_string(),
    );
    assert!(
        refused
            .fails()
            .contains("cannot move from `pending` to `released`")
    );
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

/// Files a code_change proposal, opens its voting at once and has `voter` approve it;
/// returns the vote.
fn vote_on_a_code_change(env: &Env, voter: &str) -> Value {
    let proposal = call(
        env,
        "governance",
        "submit",
        json!({ "type": "code_change", "title": "Adopt the new parser", "author": "Keystone" }),
    );
    let id = proposal["id"].as_str().expect("proposal id").to_owned();
    call(
        env,
        "governance",
        "open_voting",
        json!({ "id": id, "force": true }),
    );
    call(
        env,
        "governance",
        "vote",
        json!({ "id": id, "voter": voter, "choice": "approve" }),
    )
}

#[test]
fn votes_are_weighted_by_reputation_and_equal_without_it() {
    let env = swarm(&[]);
    let _host = env.start();
    call(
        &env,
        "reputation",
        "record",
        json!({ "entity": "Ana", "domain": "code", "score": 80, "source": "system" }),
    );
    // code_change weighs the domains code (80) and architecture (none, counts 0):
    // average 40 → 0.5 + 40/100 × 1.5 = 1.1.
    let vote = vote_on_a_code_change(&env, "Ana");
    assert_eq!(vote["weight_milli"], 1100, "{vote}");
    assert_eq!(vote["weight_source"], "reputation");

    env.run(&["plugins", "disable", "reputation"]).ok();
    let vote = vote_on_a_code_change(&env, "Ana");
    assert_eq!(vote["weight_milli"], 1000, "{vote}");
    assert_eq!(vote["weight_source"], "equal");
}

#[test]
fn governance_runs_without_reputation_and_enacts_a_budget_change() {
    let env = swarm(&["reputation", "economy", "herald"]);
    let _host = env.start();
    let proposal = call(
        &env,
        "governance",
        "submit",
        json!({
            "type": "resource_allocation",
            "title": "More room for research",
            "author": "Keystone",
            "budget": { "daily_limit_usd": 40.0 },
        }),
    );
    let id = proposal["id"].as_str().unwrap().to_owned();
    call(
        &env,
        "governance",
        "open_voting",
        json!({ "id": id, "force": true }),
    );
    for voter in ["Ana", "Ben", "Cy"] {
        let v = call(
            &env,
            "governance",
            "vote",
            json!({ "id": id, "voter": voter, "choice": "approve" }),
        );
        assert_eq!(v["weight_source"], "equal", "{v}");
    }
    let decided = call(
        &env,
        "governance",
        "decide",
        json!({ "id": id, "force": true }),
    );
    assert_eq!(decided["tally"]["passed"], true, "{decided}");
    call(&env, "governance", "enact", json!({ "id": id }));
    let budget = env.run(&["budget", "--json"]).json();
    assert_eq!(budget["daily_limit_micros"], 40_000_000, "{budget}");
}

#[test]
fn a_hundred_entries_filed_at_once_add_up_exactly() {
    let env = swarm(&["governance", "economy", "herald"]);
    let _host = env.start();
    std::thread::scope(|s| {
        for i in 0..100 {
            let env = &env;
            s.spawn(move || {
                // Half peer reviews of 90, half self-assessments of 40.
                let (score, source, reviewer) = if i % 2 == 0 {
                    (90, "peer", json!("Ben"))
                } else {
                    (40, "self", Value::Null)
                };
                let (status, body) = env.api(
                    "/api/plugins/reputation/query/record",
                    Some(&json!({
                        "entity": "Ana", "domain": "code", "score": score,
                        "source": source, "reviewer": reviewer,
                    })),
                );
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    let entity = call(&env, "reputation", "entity", json!({ "entity": "Ana" }));
    assert_eq!(entity["entries"], 100, "{entity}");
    // (50·90·1.0 + 50·40·0.3) / (50·1.0 + 50·0.3) = 5100 / 65 = 78.46… → 78.5
    assert_eq!(entity["domains"]["code"], 78.5, "{entity}");
}

fn send(env: &Env, tags: &[&str]) -> Value {
    let (status, body) = env.api(
        "/api/messages",
        Some(&json!({ "to": "ana", "body": "Weekly report", "sender": "Trace", "tags": tags })),
    );
    assert_eq!(status, 200, "{body}");
    body
}

#[test]
fn the_herald_gates_messages_to_people_and_without_it_they_go_out_directly() {
    let env = swarm(&[]);
    let host = env.start();
    let held = send(&env, &[]);
    assert_eq!(held["status"], "held", "{held}");
    let review = held["review"].as_str().unwrap().to_owned();
    assert_eq!(
        env.api("/api/messages", None).1["items"][0]["status"],
        "held"
    );
    assert_eq!(
        event_count(&env, "message.sent"),
        0,
        "a held message is not sent"
    );
    call(
        &env,
        "herald",
        "approve",
        json!({ "id": review, "reviewer": "Herald" }),
    );
    eventually("the approved message to go out", || {
        let all = env.api("/api/messages", None).1;
        (all["items"][0]["status"] == "sent").then_some(())
    });
    assert!(host.log().contains("message sent"));
    assert_eq!(event_count(&env, "message.sent"), 1);

    env.run(&["plugins", "disable", "herald"]).ok();
    let direct = send(&env, &[]);
    assert_eq!(
        direct["status"], "sent",
        "no herald: straight out: {direct}"
    );
    assert_eq!(direct["review"], Value::Null);
}

#[test]
fn a_held_review_can_be_approved_and_an_escalated_one_released() {
    let env = swarm(&["governance", "economy"]);
    let _host = env.start();
    let submit = |body: &str| {
        let review = call(
            &env,
            "herald",
            "submit_outbound",
            json!({ "to": "ana", "channel": "email", "body": body, "sender": "Trace" }),
        );
        review["id"].as_str().unwrap().to_owned()
    };
    let held = submit("Numbers later");
    call(
        &env,
        "herald",
        "hold",
        json!({ "id": held, "reviewer": "Herald", "reason": "needs numbers" }),
    );
    let approved = call(
        &env,
        "herald",
        "approve",
        json!({ "id": held, "reviewer": "Herald" }),
    );
    assert_eq!(approved["state"], "approved", "{approved}");
    let escalated = submit("Sensitive");
    call(
        &env,
        "herald",
        "escalate",
        json!({ "id": escalated, "reason": "names a person" }),
    );
    let released = call(
        &env,
        "herald",
        "release",
        json!({ "id": escalated, "reviewer": "Keystone" }),
    );
    assert_eq!(released["state"], "released", "{released}");
    eventually("both to be announced", || {
        (event_count(&env, "herald.outbound_approved") == 2).then_some(())
    });
}

#[test]
fn any_source_type_is_recorded_and_weighs_half() {
    let env = swarm(&["governance", "economy", "herald"]);
    let _host = env.start();
    let (status, body) = env.api(
        "/api/plugins/reputation/query/record",
        Some(&json!({ "entity": "Ana", "domain": "code", "score": 90, "source": "audit" })),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["source"], "audit");
    call(
        &env,
        "reputation",
        "record",
        json!({ "entity": "Ana", "domain": "code", "score": 60, "source": "system" }),
    );
    // (90·0.5 + 60·0.8) / (0.5 + 0.8) = 93 / 1.3 = 71.54 → 71.5
    let scores = call(&env, "reputation", "scores", json!({ "entity": "Ana" }));
    assert_eq!(scores["domains"]["code"], 71.5, "{scores}");
}

#[test]
fn a_check_of_an_undefined_limit_is_allowed_with_a_warning() {
    let env = swarm(&["economy", "herald"]);
    let host = env.start();
    let (status, body) = env.api(
        "/api/plugins/governance/query/check_limit",
        Some(&json!({ "name": "max_gpu_hours", "value": 7 })),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["level"], "ok", "{body}");
    assert_eq!(body["defined"], false);
    assert!(
        body["warning"]
            .as_str()
            .unwrap()
            .starts_with("no limit `max_gpu_hours` is defined"),
        "{body}"
    );
    host.wait_for_log("check of an undefined limit; allowed");
    let known = call(
        &env,
        "governance",
        "check_limit",
        json!({ "name": "max_task_queue_depth", "value": 200 }),
    );
    assert_eq!(known["level"], "warning", "{known}");
}

#[test]
fn economy_and_governance_refuse_unknown_fields_by_name() {
    let env = swarm(&["herald"]);
    let _host = env.start();
    let (status, body) = env.api(
        "/api/plugins/economy/query/record_ai",
        Some(&json!({ "worker": "Trace", "tokens": 100, "qualty": 1.5 })),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string().contains("unknown field `qualty`"),
        "{body}"
    );
    let ledger = call(&env, "economy", "ledger", json!({ "kind": "ai" }));
    assert_eq!(ledger["count"], 0, "nothing recorded: {ledger}");
    let refused = env.call(
        "governance",
        "submit",
        &json!({ "type": "code_change", "title": "t", "author": "Ana", "bodyy": "x" }).to_string(),
    );
    assert!(
        refused.fails().contains("`submit`: unknown field `bodyy`"),
        "{}",
        refused.stderr
    );
}
