//! Events reach every subscribing plugin at least once, whatever the crashes, and the
//! first-party plugins record each task outcome exactly once.

use crate::util::SIM;
use hypernet_integration::{Env, within};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const TASKS: usize = 240;
const WORKERS: usize = 8;

fn manifest() -> String {
    let sim = SIM.replace("latency_ms = 0", "latency_ms = 20\njitter_ms = 40");
    format!(
        "{sim}
[[plugin]]
name = \"reputation\"
capabilities = [\"kv\", \"events\", \"clock\", \"log\"]
[[plugin]]
name = \"economy\"
capabilities = [\"kv\", \"events\", \"clock\", \"log\"]
[[plugin]]
name = \"example\"
capabilities = [\"kv\", \"events\", \"log\"]
"
    )
}

fn config() -> String {
    let workers: String = (0..WORKERS)
        .map(|i| {
            format!(
                "[[worker]]\nname = \"W{i}\"\naccount = \"2.{}\"\n",
                i % 6 + 1
            )
        })
        .collect();
    format!("standing = []\n[personal_time]\nenabled = false\n{workers}")
}

fn tasks(env: &Env) -> Vec<Value> {
    env.api("/api/tasks?limit=1000", None).1["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn finished(tasks: &[Value]) -> usize {
    tasks
        .iter()
        .filter(|t| ["completed", "failed"].contains(&t["status"].as_str().unwrap_or_default()))
        .count()
}

/// Every subscriber's `(behind, dropped)` summed, from `plugins list --json`.
fn delivery(env: &Env) -> (u64, u64) {
    let list = env.run(&["plugins", "list", "--json"]).json();
    let mut sums = (0, 0);
    for plugin in list["items"].as_array().into_iter().flatten() {
        for d in plugin["deliveries"].as_array().into_iter().flatten() {
            sums.0 += d["behind"].as_u64().unwrap_or(0);
            sums.1 += d["dropped"].as_u64().unwrap_or(0);
        }
    }
    sums
}

#[test]
fn every_task_outcome_reaches_the_subsystems_once_across_kill_9() {
    let env = Env::new();
    env.manifest(&manifest());
    env.config(&config());
    let mut host = env.start();
    let filed: Vec<Value> = (0..TASKS)
        .map(|i| json!({ "title": format!("delivered {i}") }))
        .collect();
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": filed })));
    assert_eq!(status, 200, "{body}");

    // Kill the host in the middle of the work, again and again.
    let mut killed_mid_run = 0;
    for round in 0..5u64 {
        std::thread::sleep(Duration::from_millis(250 + 120 * round));
        if finished(&tasks(&env)) < TASKS {
            killed_mid_run += 1;
        }
        host.kill9();
        host = env.start();
    }
    assert!(killed_mid_run >= 2, "the kills must hit running work");
    let all = within(120, "every task to finish", || {
        let all = tasks(&env);
        (finished(&all) == TASKS).then_some(all)
    });
    within(30, "every event to be delivered", || {
        (delivery(&env) == (0, 0)).then_some(())
    });

    let completed: BTreeSet<String> = all
        .iter()
        .filter(|t| t["status"] == "completed")
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!completed.is_empty());

    // Economy: one contribution per completed task, none twice.
    let ledger = env.call("economy", "ledger", r#"{"kind":"ai"}"#).json();
    let mut contributions: BTreeMap<String, usize> = BTreeMap::new();
    for entry in ledger["entries"].as_array().unwrap() {
        let task = entry["task"].as_str().unwrap_or_default();
        *contributions.entry(task.to_owned()).or_default() += 1;
    }
    assert!(contributions.values().all(|&n| n == 1), "{contributions:?}");
    let contributed: BTreeSet<String> = contributions.into_keys().collect();
    assert_eq!(
        contributed, completed,
        "no completed task without its contribution"
    );

    // Reputation: one system entry per task outcome, none twice.
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for w in 0..WORKERS {
        let entries = env
            .call("reputation", "entries", &format!(r#"{{"entity":"W{w}"}}"#))
            .json();
        for e in entries["entries"].as_array().into_iter().flatten() {
            if e["source"] == "system" {
                let task = e["task"].as_str().unwrap_or_default().to_owned();
                *outcomes.entry(task).or_default() += 1;
            }
        }
    }
    assert!(outcomes.values().all(|&n| n == 1), "{outcomes:?}");
    for id in &completed {
        assert!(outcomes.contains_key(id), "no reputation entry for {id}");
    }

    // The example plugin counted each completion once.
    let counted = env
        .call("example", "count", r#"{"kind":"task.completed"}"#)
        .json();
    assert_eq!(counted["count"], completed.len(), "{counted}");
    drop(host);
}
