//! The task commands of the CLI (`task add|list|show|cancel|retry`, `status` (also
//! `--watch`), `summary`, `workers`, `worker`, `failures`, `history`) against a real host
//! and provider-sim.
//!
//! The default host config files three standing-priority tasks when the queue is empty, so
//! the tests find their own tasks by id or title rather than counting everything.

use crate::util::SIM;
use hypernet_integration::{Env, eventually};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;
use std::time::Duration;

/// A host whose every model call succeeds at once.
fn succeeding() -> Env {
    let env = Env::new();
    env.manifest(SIM);
    env
}

/// A host whose every model call fails (not retried), and whose tasks get one attempt.
fn failing() -> Env {
    let env = Env::new();
    env.manifest(&format!("{SIM}failure_rate = 1.0\n"));
    std::fs::write(
        env.path().join("hypernet.toml"),
        "[scheduler]\nmax_attempts = 1\n[http]\nmax_retries = 0\n",
    )
    .unwrap();
    env
}

/// `task add ARGS` in human form; returns the id from `filed T-<n>`.
fn add(env: &Env, args: &[&str]) -> String {
    let mut argv = vec!["task", "add"];
    argv.extend_from_slice(args);
    let run = env.run(&argv);
    let out = run.ok().trim();
    let id = out
        .strip_prefix("filed ")
        .unwrap_or_else(|| panic!("unexpected answer to task add: {out:?}"));
    assert!(id.starts_with("T-"), "{out}");
    id.to_owned()
}

fn show(env: &Env, id: &str) -> Value {
    env.run(&["task", "show", id, "--json"]).json()
}

/// Waits until task `id` has `status`; returns it.
fn wait_for(env: &Env, id: &str, status: &str) -> Value {
    eventually(&format!("{id} to be {status}"), || {
        let task = show(env, id);
        (task["status"] == status).then_some(task)
    })
}

fn ids(list: &Value) -> Vec<&str> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

/// The value of a `key: value` line.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{key}:` line in\n{text}"))
}

/// Whether `text` is RFC 3339 UTC with milliseconds and shows the time of day of `ms`.
fn is_rfc3339_of(text: &str, ms: u64) -> bool {
    let b = text.as_bytes();
    let shape = b.len() == 24
        && [4, 7].iter().all(|&i| b[i] == b'-')
        && b[10] == b'T'
        && [13, 16].iter().all(|&i| b[i] == b':')
        && b[19] == b'.'
        && b[23] == b'Z'
        && text
            .char_indices()
            .all(|(i, c)| [4, 7, 10, 13, 16, 19, 23].contains(&i) || c.is_ascii_digit());
    let secs = ms / 1000;
    let time_of_day = format!(
        "{:02}:{:02}:{:02}.{:03}Z",
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
        ms % 1000
    );
    shape && text.ends_with(&time_of_day) && text.starts_with("20")
}

#[test]
fn a_filed_task_completes_and_shows_up_everywhere() {
    let env = succeeding();
    let _host = env.start();
    let id = add(
        &env,
        &[
            "Document the task commands",
            "--description",
            "Cover both output modes.",
            "--priority",
            "high",
            "--tags",
            "docs,cli",
            "--complexity",
            "simple",
            "--max-attempts",
            "4",
        ],
    );

    let task = wait_for(&env, &id, "completed");
    assert_eq!(task["max_attempts"], 4);
    let zero = env.run(&["task", "add", "Never even once", "--max-attempts", "0"]);
    // A usage error (exit 2), before anything reaches the host.
    assert_eq!(zero.code, Some(2), "{}", zero.stderr);
    assert!(
        zero.stderr.contains("'--max-attempts <N>'") && zero.stderr.contains("0 is not in 1.."),
        "{}",
        zero.stderr
    );
    // Nothing has failed: the list says so rather than printing its header alone.
    assert_eq!(env.run(&["failures"]).ok().trim(), "no failed tasks");
    assert_eq!(task["title"], "Document the task commands");
    assert_eq!(task["description"], "Cover both output modes.");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["tags"], serde_json::json!(["docs", "cli"]));
    assert_eq!(task["complexity"], "simple");
    assert_eq!(task["filed_by"], "person");
    assert_eq!(task["attempts"], 1);
    assert_eq!(task["result"]["model"], "sim/default");
    assert_eq!(task["result"]["simulated"], true);
    let worker = task["worker"].as_str().expect("a worker did it").to_owned();

    // --json is the API's JSON, pretty-printed.
    let raw = env.run(&["task", "show", &id, "--json"]);
    assert!(raw.ok().starts_with("{\n  \""), "{}", raw.stdout);

    // Human form: key: value lines, times in RFC 3339 UTC, the answer last.
    let text = env.run(&["task", "show", &id]);
    let text = text.ok();
    assert_eq!(field(text, "id"), id);
    assert_eq!(field(text, "title"), "Document the task commands");
    assert_eq!(field(text, "status"), "completed");
    assert_eq!(field(text, "priority"), "high");
    assert_eq!(field(text, "tags"), "docs, cli");
    assert_eq!(field(text, "depends_on"), "-");
    assert_eq!(field(text, "worker"), worker);
    assert_eq!(field(text, "attempts"), "1/4");
    assert_eq!(field(text, "model"), "sim/default (simulated)");
    assert!(!text.contains("blocked_reason:") && !text.contains("error:"));
    for (key, ms) in [
        ("created", &task["created_ms"]),
        ("started", &task["started_ms"]),
        ("finished", &task["finished_ms"]),
    ] {
        let shown = field(text, key);
        assert!(is_rfc3339_of(shown, ms.as_u64().unwrap()), "{key}: {shown}");
    }
    let answer = text.split_once("\nresult:\n").expect("a result section").1;
    assert!(
        answer.contains("SIMULATED") && answer.contains("Document the task commands"),
        "{text}"
    );

    // Listings.
    let completed = env
        .run(&["task", "list", "--status", "completed", "--json"])
        .json();
    assert!(ids(&completed).contains(&id.as_str()), "{completed}");
    assert!(
        completed["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "completed")
    );
    let ready = env
        .run(&["task", "list", "--status", "ready", "--json"])
        .json();
    assert!(!ids(&ready).contains(&id.as_str()));
    let one = env.run(&["task", "list", "--limit", "1", "--json"]).json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1, "{one}");
    assert!(one["total"].as_u64().unwrap() >= 1, "{one}");
    let table = env.run(&["task", "list", "--status", "completed"]);
    let table = table.ok();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["ID", "STATUS", "PRIORITY", "WORKER", "ATTEMPTS", "TITLE"]
    );
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} is not listed:\n{table}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        cells,
        [
            id.as_str(),
            "completed",
            "high",
            &worker,
            "1/4",
            "Document",
            "the",
            "task",
            "commands"
        ]
    );
    let bad = env.run(&["task", "list", "--status", "done"]);
    assert_ne!(bad.code, Some(0));
    assert!(
        bad.stderr.contains("unknown status `done`"),
        "{}",
        bad.stderr
    );

    // A finished task can be neither cancelled nor retried; the host says why.
    let err = env.run(&["task", "cancel", &id]);
    let err = err.fails();
    assert!(
        err.contains(&format!("{id}: a completed task cannot become cancelled")),
        "{err}"
    );
    assert_eq!(show(&env, &id)["status"], "completed");
    let err = env.run(&["task", "retry", &id]);
    assert!(
        err.fails().contains("cannot become ready"),
        "{}",
        err.stderr
    );
    let err = env.run(&["task", "show", "T-999999"]);
    assert!(err.fails().contains("no task T-999999"), "{}", err.stderr);

    // History: the finished task with its finishing time.
    let history = env.run(&["history", "--json"]).json();
    assert!(ids(&history).contains(&id.as_str()), "{history}");
    let history = env.run(&["history"]);
    let history = history.ok();
    let header: Vec<&str> = history.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "STATUS", "WORKER", "FINISHED", "TITLE"]);
    let row = history
        .lines()
        .find(|l| l.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{id} is not in the history:\n{history}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1..3], ["completed", worker.as_str()]);
    assert!(
        is_rfc3339_of(cells[3], task["finished_ms"].as_u64().unwrap()),
        "{row}"
    );
    let latest = env.run(&["history", "--limit", "1", "--json"]).json();
    assert_eq!(latest["items"].as_array().unwrap().len(), 1, "{latest}");

    // Summary: totals over every stored task, the cost in dollars from micro-dollars.
    let summary = env.run(&["summary", "--json"]).json();
    let total = summary["total"].as_u64().unwrap();
    let completed = summary["by_status"]["completed"].as_u64().unwrap();
    assert!(total >= completed && completed >= 1, "{summary}");
    assert!(summary["by_model"]["sim/default"].as_u64().unwrap() >= 1);
    let tokens = &task["result"];
    let own = tokens["input_tokens"].as_u64().unwrap() + tokens["output_tokens"].as_u64().unwrap();
    assert!(summary["tokens"].as_u64().unwrap() >= own, "{summary}");
    let summary_text = env.run(&["summary"]);
    let summary_text = summary_text.ok();
    let micros = summary["cost_micros"].as_u64().unwrap();
    assert_eq!(
        field(summary_text, "cost"),
        format!("${}.{:06}", micros / 1_000_000, micros % 1_000_000)
    );
    assert!(
        field(summary_text, "by_model").contains("sim/default"),
        "{summary_text}"
    );

    // Status: workers, plugins and uptime of this host.
    let status = env.run(&["status", "--json"]).json();
    assert_eq!(status["workers"]["total"], 4, "{status}");
    assert_eq!(status["plugins"]["total"], 1);
    assert_eq!(status["plugins"]["loaded"], 1);
    assert!(status["tasks"].is_object());
    assert!(status["batches_written"].as_u64().unwrap() >= 1);
    assert!(status["uptime_ms"].as_u64().is_some());
    let status_text = env.run(&["status"]);
    let status_text = status_text.ok();
    assert!(
        field(status_text, "workers").ends_with(" busy of 4"),
        "{status_text}"
    );
    assert_eq!(field(status_text, "plugins"), "1 loaded");
}

#[test]
fn dependencies_are_checked_and_followed() {
    let env = succeeding();
    let _host = env.start();

    let err = env.run(&[
        "task",
        "add",
        "Depends on nothing real",
        "--depends-on",
        "T-99999",
    ]);
    assert!(
        err.fails().contains("`depends_on`: no task T-99999"),
        "{}",
        err.stderr
    );
    let all = env.run(&["task", "list", "--json"]).json();
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["title"] != "Depends on nothing real"),
        "a refused task was filed: {all}"
    );
    let err = env.run(&["task", "add", "Bad id", "--depends-on", "T-x"]);
    assert_eq!(err.code, Some(2), "{}", err.stderr);
    assert!(
        err.stderr.contains("`T-x` is not a task id"),
        "{}",
        err.stderr
    );
    let err = env.run(&["task", "add", "Bad priority", "--priority", "urgent"]);
    assert_eq!(err.code, Some(2), "{}", err.stderr);
    assert!(err.stderr.contains("`critical`"), "{}", err.stderr);

    let first = add(&env, &["Lay the foundation"]);
    let second = add(&env, &["Build the walls", "--depends-on", &first]);
    let third = add(
        &env,
        &[
            "Put on the roof",
            "--depends-on",
            &format!("{first},{second}"),
        ],
    );
    let done = wait_for(&env, &third, "completed");
    assert_eq!(done["depends_on"], serde_json::json!([first, second]));
    let second = wait_for(&env, &second, "completed");
    let first = wait_for(&env, &first, "completed");
    // Each ran only after what it depends on had finished.
    let ms = |t: &Value, key: &str| t[key].as_u64().unwrap_or_else(|| panic!("{key}: {t}"));
    assert!(ms(&second, "started_ms") >= ms(&first, "finished_ms"));
    assert!(ms(&done, "started_ms") >= ms(&second, "finished_ms"));
    let text = env.run(&["task", "show", done["id"].as_str().unwrap()]);
    assert_eq!(
        field(text.ok(), "depends_on"),
        format!(
            "{}, {}",
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        )
    );
}

#[test]
fn workers_show_their_work() {
    let env = succeeding();
    let _host = env.start();
    let mine: Vec<String> = (0..6)
        .map(|i| add(&env, &[&format!("Chore number {i}")]))
        .collect();
    for id in &mine {
        wait_for(&env, id, "completed");
    }
    // Every completed task counts once for one worker.
    let workers = eventually("worker counters to catch up", || {
        let completed = env.run(&["summary", "--json"]).json()["by_status"]["completed"]
            .as_u64()
            .unwrap();
        let workers = env.run(&["workers", "--json"]).json();
        let done: u64 = workers["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["stats"]["tasks_done"].as_u64().unwrap())
            .sum();
        let idle = workers["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|w| w["current_task"].is_null());
        (done == completed && completed >= 6 && idle).then_some(workers)
    });
    let list = workers["items"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Trace", "Keystone", "Herald", "Librarian"]);
    assert!(
        list.iter()
            .any(|w| w["stats"]["tasks_done"].as_u64() > Some(0))
    );

    let table = env.run(&["workers"]);
    let table = table.ok();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "ADDRESS", "ROLE", "MODEL", "STATE", "CURRENT", "DONE", "FAILED", "TOKENS"
        ]
    );
    for w in list {
        let name = w["name"].as_str().unwrap();
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is not listed:\n{table}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        let stats = &w["stats"];
        assert_eq!(
            cells,
            [
                name.to_owned(),
                w["address"].as_str().unwrap().to_owned(),
                w["role"].as_str().unwrap().to_owned(),
                "sim/default".to_owned(),
                "idle".to_owned(),
                "-".to_owned(),
                stats["tasks_done"].to_string(),
                stats["tasks_failed"].to_string(),
                stats["tokens"].to_string(),
            ]
        );
    }

    // One worker, by name in any case or by address.
    let trace = env.run(&["worker", "trace", "--json"]).json();
    assert_eq!(trace["name"], "Trace");
    assert_eq!(trace["address"], "2.1.trace");
    assert_eq!(trace["role"], "architect");
    assert_eq!(trace["stats"], list[0]["stats"]);
    let herald = env.run(&["worker", "2.3.herald", "--json"]).json();
    assert_eq!(herald["name"], "Herald");
    let busiest = list
        .iter()
        .max_by_key(|w| w["stats"]["tasks_done"].as_u64())
        .unwrap();
    let text = env.run(&["worker", busiest["name"].as_str().unwrap()]);
    let text = text.ok();
    assert_eq!(field(text, "name"), busiest["name"].as_str().unwrap());
    assert_eq!(field(text, "address"), busiest["address"].as_str().unwrap());
    assert_eq!(field(text, "role"), busiest["role"].as_str().unwrap());
    assert_eq!(
        field(text, "tasks_done"),
        busiest["stats"]["tasks_done"].to_string()
    );
    assert_eq!(field(text, "current_task"), "-");
    assert!(
        is_rfc3339_of(
            field(text, "last_active"),
            busiest["stats"]["last_active_ms"].as_u64().unwrap()
        ),
        "{text}"
    );
    let err = env.run(&["worker", "Nobody"]);
    assert!(
        err.fails().contains("no worker named `Nobody`"),
        "{}",
        err.stderr
    );
}

#[test]
fn failures_duplicates_cancel_and_retry() {
    let env = failing();
    let _host = env.start();
    let flaky = add(&env, &["Call the flaky service"]);
    let failed = wait_for(&env, &flaky, "failed");
    let error = failed["error"].as_str().expect("an error").to_owned();
    assert!(!error.is_empty());
    assert_eq!(failed["attempts"], 1);
    assert_eq!(failed["max_attempts"], 1);
    let text = env.run(&["task", "show", &flaky]);
    assert_eq!(field(text.ok(), "attempts"), "1/1");
    assert!(field(text.ok(), "error").starts_with(error.lines().next().unwrap()));

    // failures: the failed task with its error.
    let failures = env.run(&["failures", "--json"]).json();
    assert!(ids(&failures).contains(&flaky.as_str()), "{failures}");
    assert!(
        failures["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "failed")
    );
    let table = env.run(&["failures"]);
    let table = table.ok();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "ATTEMPTS", "ERROR", "TITLE"]);
    let row = table
        .lines()
        .find(|l| l.starts_with(&format!("{flaky} ")))
        .unwrap_or_else(|| panic!("{flaky} is not listed:\n{table}"));
    let first_word = error.split_whitespace().next().unwrap();
    assert!(
        row.contains(" 1/1 ")
            && row.contains(first_word)
            && row.ends_with("Call the flaky service"),
        "{row}"
    );
    let one = env.run(&["failures", "--limit", "1", "--json"]).json();
    assert_eq!(one["items"].as_array().unwrap().len(), 1, "{one}");
    assert!(one["total"].as_u64().unwrap() >= 1, "{one}");

    // A task waiting on the failed one stays blocked, with the reason shown.
    let waiting = add(&env, &["Use the flaky result", "--depends-on", &flaky]);
    let blocked = eventually("the dependent to be blocked by the failure", || {
        let t = show(&env, &waiting);
        (t["status"] == "blocked"
            && t["blocked_reason"]
                .as_str()
                .is_some_and(|r| r.contains(&format!("dependency {flaky} failed"))))
        .then_some(t)
    });
    let text = env.run(&["task", "show", &waiting]);
    assert_eq!(field(text.ok(), "status"), "blocked");
    assert_eq!(
        field(text.ok(), "blocked_reason"),
        blocked["blocked_reason"].as_str().unwrap()
    );

    // Filing it again returns the unfinished task instead of a copy.
    let again = env
        .run(&[
            "task",
            "add",
            "Use the flaky result",
            "--depends-on",
            &flaky,
            "--json",
        ])
        .json();
    assert_eq!(again["id"], waiting.as_str(), "{again}");
    assert_eq!(again["created"], false, "{again}");
    let again = env.run(&["task", "add", "Use the flaky result"]);
    assert_eq!(
        again.ok().trim(),
        format!("{waiting} already exists (duplicate of an unfinished task)")
    );

    // Cancel the blocked task: it waits for nothing any more. Retried by hand, it waits for
    // its dependency again, and says so; then it is cancelled for good.
    let out = env.run(&["task", "cancel", &waiting]);
    assert_eq!(out.ok().trim(), format!("{waiting}: cancelled"));
    let cancelled = show(&env, &waiting);
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["blocked_reason"], serde_json::Value::Null);
    let out = env.run(&["task", "retry", &waiting]);
    assert_eq!(
        out.ok().trim(),
        format!(
            "{waiting}: blocked ({})",
            blocked["blocked_reason"].as_str().unwrap()
        )
    );
    env.run(&["task", "cancel", &waiting]).ok();
    let history = env.run(&["history", "--json"]).json();
    let entry = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == waiting.as_str())
        .unwrap_or_else(|| panic!("{waiting} is not in the history: {history}"));
    assert_eq!(entry["status"], "cancelled");

    // Retry the failed one: queued again with one more attempt, and it fails again.
    let out = env.run(&["task", "retry", &flaky]);
    assert!(
        out.ok().starts_with(&format!("{flaky}: ready")),
        "{}",
        out.stdout
    );
    let again = eventually("the retried task to fail again", || {
        let t = show(&env, &flaky);
        (t["status"] == "failed" && t["attempts"] == 2).then_some(t)
    });
    assert_eq!(again["max_attempts"], 2);
    let retried = env.run(&["task", "retry", &flaky, "--json"]).json();
    assert_eq!(retried["id"], flaky.as_str(), "{retried}");
    eventually("the second retry to fail too", || {
        (show(&env, &flaky)["attempts"] == 3).then_some(())
    });

    // No call succeeded: nothing by model, no tokens, but failures counted.
    let summary = env.run(&["summary", "--json"]).json();
    assert!(
        summary["by_status"]["failed"].as_u64().unwrap() >= 1,
        "{summary}"
    );
    assert_eq!(summary["by_status"]["cancelled"], 1, "{summary}");
    assert_eq!(summary["by_model"], serde_json::json!({}), "{summary}");
    assert_eq!(summary["tokens"], 0);
    let workers = env.run(&["workers", "--json"]).json();
    let failed_attempts: u64 = workers["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["stats"]["tasks_failed"].as_u64().unwrap())
        .sum();
    assert!(failed_attempts >= 2, "{workers}");
}

#[test]
fn every_task_command_explains_when_no_host_runs() {
    let env = succeeding();
    for args in [
        &["task", "add", "Nobody will do this"][..],
        &["task", "list"],
        &["task", "show", "T-1"],
        &["task", "cancel", "T-1"],
        &["task", "retry", "T-1"],
        &["status"],
        &["summary", "--json"],
        &["workers"],
        &["worker", "Trace"],
        &["failures"],
        &["history"],
    ] {
        let run = env.run(args);
        let err = run.fails();
        assert!(
            err.contains("no hypernet host is running for data directory"),
            "{args:?}: {err}"
        );
    }
}

/// The lines a child writes to `out`, read on their own thread.
fn lines_of(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// The next view `status --watch` printed to a pipe: its lines up to the blank line that
/// comes before the following view.
fn next_view(lines: &mpsc::Receiver<String>) -> String {
    let mut view = Vec::new();
    loop {
        match lines.recv_timeout(Duration::from_secs(10)) {
            Ok(line) if line.is_empty() => return view.join("\n"),
            Ok(line) => view.push(line),
            Err(e) => panic!("no complete view ({e}); so far: {view:?}"),
        }
    }
}

/// Views until one satisfies `want`.
fn view_where(lines: &mpsc::Receiver<String>, want: impl Fn(&str) -> bool) -> String {
    for _ in 0..100 {
        let view = next_view(lines);
        if want(&view) {
            return view;
        }
    }
    panic!("no such view in a hundred refreshes");
}

#[test]
fn status_watch_refreshes_outlives_its_host_and_stops_on_ctrl_c() {
    let env = succeeding();
    let host = env.start();
    let mut watch = env.spawn(&["status", "--watch", "--interval", "0.2"]);
    let lines = lines_of(watch.stdout.take().expect("piped"));

    // Stdout is a pipe: every view in full, after a blank line, no terminal codes.
    let first = next_view(&lines);
    let second = next_view(&lines);
    for view in [&first, &second] {
        assert!(!view.contains('\x1b'), "{view:?}");
        assert!(field(view, "workers").ends_with(" busy of 4"), "{view}");
        assert_eq!(field(view, "plugins"), "1 loaded");
        for shown in ["busy", "uptime"] {
            assert!(!field(view, shown).is_empty(), "{view}");
        }
    }
    let refreshed = |view: &str| field(view, "refreshed").to_owned();
    let (at1, at2) = (refreshed(&first), refreshed(&second));
    assert!(at1.ends_with("(every 0.2s; Ctrl-C stops)"), "{at1}");
    assert!(at1.starts_with("20") && at1 < at2, "{at1} then {at2}");

    // The host goes away: the view says so and the watch goes on…
    assert_eq!(host.stop(), Some(0));
    let gone = view_where(&lines, |v| v.contains("host not reachable: "));
    assert!(!gone.contains("workers:"), "{gone}");
    assert!(watch.try_wait().expect("wait").is_none(), "the watch ended");
    // …and finds the host again when it is back.
    let _host = env.start();
    view_where(&lines, |v| v.contains("workers:"));

    unsafe {
        libc::kill(watch.id() as i32, libc::SIGINT);
    }
    let status = watch.wait().expect("the watch ends");
    let mut stderr = String::new();
    let _ = watch
        .stderr
        .take()
        .map(|mut e| e.read_to_string(&mut stderr));
    assert!(status.success(), "{status:?}: {stderr}");
}
