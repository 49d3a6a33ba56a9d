//! The swarm end to end: concurrency, dependencies, crash recovery, shutdown and standing
//! priorities, through the real binary, the real provider-sim library and a real redb file.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn sim_manifest(env: &Env, sim_config: &str) {
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\n{sim_config}\n"
    ));
}

fn workers(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[worker]]\nname = \"W{i}\"\naccount = \"2.{}\"\n",
                i % 6 + 1
            )
        })
        .collect()
}

fn file(env: &Env, tasks: Value) -> Value {
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(status, 200, "{body}");
    body
}

fn task(env: &Env, id: &str) -> Value {
    env.api(&format!("/api/tasks/{id}"), None).1
}

fn all_tasks(env: &Env) -> Vec<Value> {
    env.api("/api/tasks?limit=1000", None).1["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn count(env: &Env, status: &str) -> usize {
    all_tasks(env)
        .iter()
        .filter(|t| t["status"] == status)
        .count()
}

#[test]
fn calls_run_concurrently_so_a_round_costs_the_slowest_call() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 600");
    env.config(&format!("standing = []\n{}", workers(4)));
    let _host = env.start();
    let tasks: Vec<Value> = (0..12)
        .map(|i| json!({ "title": format!("task {i}") }))
        .collect();
    let started = Instant::now();
    file(&env, json!(tasks));
    eventually("12 completed tasks", || {
        (count(&env, "completed") == 12).then_some(())
    });
    let wall = started.elapsed();
    // Ideal: ceil(12 / 4) rounds x 600 ms = 1.8 s; one call at a time would be 7.2 s.
    assert!(wall >= Duration::from_millis(1_800), "{wall:?}");
    assert!(
        wall < Duration::from_millis(4_000),
        "calls were not concurrent: {wall:?}"
    );
    let workers = env.api("/api/workers", None).1;
    let done: Vec<u64> = workers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["stats"]["tasks_done"].as_u64().unwrap())
        .collect();
    assert_eq!(done, [3, 3, 3, 3], "work spread over every worker");
}

#[test]
fn dependencies_order_the_work_and_a_failed_one_blocks_with_a_reason() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 50");
    env.config(&format!("standing = []\n{}", workers(3)));
    let _host = env.start();
    let plan = file(
        &env,
        json!([
            { "key": "test", "title": "Test", "depends_on": ["build"] },
            { "key": "build", "title": "Build", "depends_on": ["design"] },
            { "key": "design", "title": "Design" },
        ]),
    );
    let ids: Vec<String> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    eventually("the plan to complete", || {
        (task(&env, &ids[0])["status"] == "completed").then_some(())
    });
    let started = |id: &str| task(&env, id)["started_ms"].as_u64().unwrap();
    let finished = |id: &str| task(&env, id)["finished_ms"].as_u64().unwrap();
    assert!(
        started(&ids[1]) >= finished(&ids[2]),
        "build waited for design"
    );
    assert!(
        started(&ids[0]) >= finished(&ids[1]),
        "test waited for build"
    );

    let cycle = env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [
        { "key": "a", "title": "A", "depends_on": ["b"] },
        { "key": "b", "title": "B", "depends_on": ["a"] },
    ] })),
    );
    assert_eq!(cycle.0, 400);
    assert_eq!(cycle.1["error"]["message"], "dependency cycle: a -> b -> a");

    let dup = env.api("/api/tasks", Some(&json!({ "title": "design" })));
    assert_eq!(
        dup.1["created"], true,
        "a completed task is not a duplicate"
    );
}

#[test]
fn a_failed_dependency_leaves_dependents_blocked_and_visible() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 10\nfailure_rate = 1.0");
    env.config(&format!(
        "standing = []\n[scheduler]\nmax_attempts = 2\nretry_backoff_ms = 100\n[http]\nmax_retries = 0\n{}",
        workers(2)
    ));
    let _host = env.start();
    let plan = file(
        &env,
        json!([
            { "key": "a", "title": "Fetch data" },
            { "key": "b", "title": "Analyse data", "depends_on": ["a"] },
        ]),
    );
    let a = plan["tasks"][0]["id"].as_str().unwrap().to_owned();
    let b = plan["tasks"][1]["id"].as_str().unwrap().to_owned();
    let failed = eventually("a to fail for good", || {
        let t = task(&env, &a);
        (t["status"] == "failed" && t["retry_at_ms"].is_null()).then_some(t)
    });
    assert_eq!(failed["attempts"], 2, "retried automatically once");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("simulated failure"),
        "{failed}"
    );
    let blocked = eventually("b's reason to name the failure", || {
        let t = task(&env, &b);
        t["blocked_reason"]
            .as_str()
            .is_some_and(|r| r.contains("failed"))
            .then_some(t)
    });
    assert_eq!(blocked["status"], "blocked");
    assert!(
        blocked["blocked_reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("dependency {a} failed: "))
    );
    let failures = env.api("/api/failures", None).1;
    assert_eq!(failures["items"][0]["id"], a.as_str());
}

#[test]
fn kill_9_loses_nothing_and_runs_nothing_twice() {
    let env = Env::new();
    sim_manifest(
        &env,
        "latency_ms = 1500\noutput_tokens = 7\ninput_tokens = 3",
    );
    env.config(&format!("standing = []\n{}", workers(2)));
    let host = env.start();
    let tasks: Vec<Value> = (0..6)
        .map(|i| json!({ "title": format!("job {i}") }))
        .collect();
    file(&env, json!(tasks));
    eventually("two completed and two running", || {
        (count(&env, "completed") == 2 && count(&env, "running") == 2).then_some(())
    });
    let before = all_tasks(&env);
    host.kill9();

    let _host = env.start();
    let after = all_tasks(&env);
    assert_eq!(after.len(), 6, "no filed task lost");
    for t in &before {
        let now = after.iter().find(|a| a["id"] == t["id"]).unwrap();
        match t["status"].as_str().unwrap() {
            "completed" => assert_eq!(now["result"], t["result"], "completed results kept"),
            // Running, or assigned as a busy worker's reserved next task.
            "running" | "assigned" => assert!(
                ["ready", "assigned", "running"].contains(&now["status"].as_str().unwrap()),
                "interrupted work is re-queued: {now}"
            ),
            _ => {}
        }
    }
    eventually("every task completed", || {
        (count(&env, "completed") == 6).then_some(())
    });
    let done = all_tasks(&env);
    let was_in_flight = |t: &Value| {
        before.iter().any(|b| {
            b["id"] == t["id"] && ["assigned", "running"].contains(&b["status"].as_str().unwrap())
        })
    };
    assert_eq!(
        before.iter().filter(|t| t["status"] == "running").count(),
        2
    );
    for t in &done {
        let expected = if was_in_flight(t) { 2 } else { 1 };
        assert_eq!(
            t["attempts"], expected,
            "interrupted tasks count their attempt and run again once; others once: {t}"
        );
    }
    // Nothing charged twice: worker token totals equal the sum of the results.
    let results: u64 = done
        .iter()
        .map(|t| {
            t["result"]["input_tokens"].as_u64().unwrap()
                + t["result"]["output_tokens"].as_u64().unwrap()
        })
        .sum();
    let workers = env.api("/api/workers", None).1;
    let charged: u64 = workers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["stats"]["tokens"].as_u64().unwrap())
        .sum();
    assert_eq!((results, charged), (60, 60));
}

#[test]
fn graceful_shutdown_lets_calls_in_flight_finish() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 1500");
    env.config(&format!("standing = []\n{}", workers(2)));
    let host = env.start();
    file(
        &env,
        json!([{ "title": "one" }, { "title": "two" }, { "title": "three" }]),
    );
    eventually("two running, the third reserved", || {
        (count(&env, "running") == 2 && count(&env, "assigned") == 1).then_some(())
    });
    assert_eq!(host.stop(), Some(0));
    let host = env.start();
    let tasks = all_tasks(&env);
    let (done, rest): (Vec<&Value>, Vec<&Value>) =
        tasks.iter().partition(|t| t["status"] == "completed");
    assert_eq!(done.len(), 2, "{tasks:?}");
    assert!(done.iter().all(|t| t["attempts"] == 1), "{tasks:?}");
    // The reservation was taken back unstarted (no attempt spent) and runs after the
    // restart, as its first attempt.
    assert_eq!(rest.len(), 1, "{tasks:?}");
    eventually("the third to complete after the restart", || {
        (count(&env, "completed") == 3).then_some(())
    });
    assert_eq!(task(&env, rest[0]["id"].as_str().unwrap())["attempts"], 1);
    drop(host);
}

#[test]
fn standing_priorities_respect_their_cooldown_across_restarts() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 10");
    env.config(&format!(
        "[[standing]]\ntitle = \"Review the week\"\ncooldown_secs = 3600\n{}",
        workers(1)
    ));
    let host = env.start();
    eventually("the standing task to complete", || {
        (count(&env, "completed") == 1).then_some(())
    });
    assert_eq!(all_tasks(&env)[0]["filed_by"], "standing");
    assert_eq!(host.stop(), Some(0));
    let host = env.start();
    // Give the idle scheduler a chance to (wrongly) file it again.
    file(&env, json!([{ "title": "unrelated" }]));
    eventually("the unrelated task", || {
        (count(&env, "completed") == 2).then_some(())
    });
    let titles: Vec<String> = all_tasks(&env)
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        titles.iter().filter(|t| *t == "Review the week").count(),
        1,
        "{titles:?}"
    );
    drop(host);
}

#[test]
fn bad_host_config_is_refused_with_the_key_named() {
    let env = Env::new();
    sim_manifest(&env, "");
    env.config("[scheduler]\nmax_attemps = 2\n");
    let err = env.try_start().err().expect("refused");
    assert!(
        err.contains("hypernet.toml") && err.contains("unknown field `max_attemps`"),
        "{err}"
    );
}

#[test]
fn an_origin_files_one_task_ever_long_after_it_finished_and_across_a_restart() {
    let env = Env::new();
    sim_manifest(&env, "latency_ms = 0");
    env.config(&format!(
        "standing = []\n[personal_time]\nenabled = false\n{}",
        workers(2)
    ));
    let from = |title: &str, origin: &str| json!([{ "title": title, "origin": origin }]);
    let host = env.start();
    let first = file(&env, from("Paint the wall", "channel:test:1"))["tasks"][0].clone();
    assert_eq!(first["created"], true, "{first}");
    // Many tasks after it, so it is long finished and out of the scheduler's memory.
    let routine: Vec<Value> = (0..40)
        .map(|i| json!({ "title": format!("routine {i}") }))
        .collect();
    file(&env, Value::Array(routine));
    eventually("every task to complete", || {
        (count(&env, "completed") == 41).then_some(())
    });
    let again = file(&env, from("Paint the fence", "channel:test:1"))["tasks"][0].clone();
    assert_eq!(again["id"], first["id"], "{again}");
    assert_eq!(again["created"], false);
    assert_eq!(host.stop(), Some(0));

    let host = env.start();
    let after = file(&env, from("Paint the gate", "channel:test:1"))["tasks"][0].clone();
    assert_eq!(after["id"], first["id"], "after a restart: {after}");
    assert_eq!(after["created"], false);
    let other = file(&env, from("Paint the gate", "channel:test:2"))["tasks"][0].clone();
    assert_eq!(other["created"], true, "another origin: {other}");
    drop(host);
}
