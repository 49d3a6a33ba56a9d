//! The coordinator end to end: ephemeral workers spawned when work piles up, conflicts
//! among running tasks, decomposition through the API, and the queue-depth limit.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

fn sim_manifest(env: &Env, latency_ms: u64) {
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\nlatency_ms = {latency_ms}\n"
    ));
}

fn items(env: &Env, path: &str) -> Vec<Value> {
    let (status, body) = env.api(path, None);
    assert_eq!(status, 200, "{path}: {body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn ephemeral_workers_appear_finish_tasks_and_running_tasks_show_conflicts() {
    let env = Env::new();
    sim_manifest(&env, 300);
    env.config(
        "standing = []\n[[worker]]\nname = \"Solo\"\n\
         [autoscale]\nenabled = true\nsoft_cap = 2\nhard_cap = 4\nspawn_cooldown_secs = 0\n",
    );
    let _host = env.start();
    let tasks: Vec<Value> = (0..12)
        .map(|i| json!({ "title": format!("invoice {i}"), "tags": ["billing"] }))
        .collect();
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(status, 200, "{body}");
    let sparks = eventually("two ephemeral workers", || {
        let workers = items(&env, "/api/workers");
        let sparks: Vec<Value> = workers
            .into_iter()
            .filter(|w| w["ephemeral"] == true)
            .collect();
        (sparks.len() == 2).then_some(sparks)
    });
    let mut names: Vec<&str> = sparks.iter().map(|w| w["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["Spark-1", "Spark-2"]);
    let conflict = eventually("a resource contention", || {
        items(&env, "/api/conflicts")
            .into_iter()
            .find(|c| c["kind"] == "resource_contention")
    });
    assert_eq!(conflict["severity"], "medium");
    assert_eq!(conflict["tags"], json!(["billing"]));
    eventually("every task completed", || {
        let done = items(&env, "/api/tasks?status=completed&limit=100").len();
        (done == 12).then_some(())
    });
    let by_sparks = items(&env, "/api/tasks?status=completed&limit=100")
        .iter()
        .filter(|t| {
            t["worker"]
                .as_str()
                .is_some_and(|w| w.starts_with("Spark-"))
        })
        .count();
    assert!(
        by_sparks > 0,
        "ephemeral workers finished some of the tasks"
    );
    assert!(
        items(&env, "/api/workers").len() >= 3,
        "not idle long enough to go"
    );
}

#[test]
fn decomposition_on_demand_and_at_filing_shows_in_the_graph() {
    let env = Env::new();
    sim_manifest(&env, 3000);
    env.config("standing = []\n[[worker]]\nname = \"Solo\"\n[scheduler]\nreserve = false\n");
    let _host = env.start();
    // The only worker is busy with the slow task, so the parent stays waiting.
    let (status, filed) = env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [
            { "key": "slow", "title": "slow first" },
            { "title": "Billing engine", "description": "Build it in three phases.",
              "tags": ["code"], "depends_on": ["slow"] },
        ]})),
    );
    assert_eq!(status, 200, "{filed}");
    let parent = filed["tasks"][1]["id"].as_str().unwrap().to_owned();
    let (status, parts) = env.act(&format!("/api/tasks/{parent}/decompose"));
    assert_eq!(status, 200, "{parts}");
    let ids: Vec<String> = parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    let (status, graph) = env.api(&format!("/api/tasks/{parent}/graph"), None);
    assert_eq!(status, 200, "{graph}");
    let titles: Vec<&str> = graph["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    for t in [
        "Plan: Billing engine",
        "Implement: Billing engine",
        "Test: Billing engine",
    ] {
        assert!(titles.contains(&t), "{t} in {titles:?}");
    }
    let edges = graph["edges"].as_array().unwrap();
    let edge = |from: &str, to: &str| {
        edges.iter().any(|e| e["from"] == from && e["to"] == to)
            || edges.iter().any(|e| e["from"] == to && e["to"] == from)
    };
    assert!(
        edge(&ids[0], &ids[1]) && edge(&ids[1], &ids[2]) && edge(&ids[2], &parent),
        "{graph}"
    );
    let (status, again) = env.act(&format!("/api/tasks/{parent}/decompose"));
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{again}"
    );
    // A complex task is split as it is filed.
    let (status, filed) = env.api(
        "/api/tasks",
        Some(&json!({ "title": "User manual", "tags": ["docs"], "complexity": "complex" })),
    );
    assert_eq!(status, 200, "{filed}");
    let id = filed["id"].as_str().unwrap();
    let subtasks = items(&env, &format!("/api/tasks?parent={id}"));
    let mut titles: Vec<&str> = subtasks
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    titles.sort();
    assert_eq!(titles, ["Draft: User manual", "Review: User manual"]);
}

#[test]
fn filing_past_the_queue_depth_hard_limit_is_refused_by_name() {
    let env = Env::new();
    sim_manifest(&env, 3000);
    env.config(
        "standing = []\n[[worker]]\nname = \"Solo\"\n\
         [swarm_limits]\nmax_task_queue_depth = { soft = 1, hard = 3 }\n",
    );
    let _host = env.start();
    let tasks: Vec<Value> = (0..5)
        .map(|i| json!({ "title": format!("t{i}") }))
        .collect();
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "limit_reached");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("max_task_queue_depth")
    );
    let (status, body) = env.api("/api/tasks", Some(&json!({ "title": "one" })));
    assert_eq!(status, 200, "{body}");
}
