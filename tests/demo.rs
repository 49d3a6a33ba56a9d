//! The built-in `plugins.toml` on no configuration: its simulated model's script makes the
//! swarm show every feature — a refusal handed on, the tool loop on the real workspace
//! tools, a question a person answers, a message held for approval, a signal, streamed
//! text and simulated 503s retried by the host — without a warning in the log.

use crate::util::wait_for;
use futures_util::StreamExt;
use hypernet_integration::{Env, eventually, workspace_root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The repository's `plugins.toml` (the one built into the binary), its simulated model a
/// little faster and failing often, so the retries show (with seed 42 its second call fails).
fn demo_manifest() -> String {
    let text =
        std::fs::read_to_string(workspace_root().join("plugins.toml")).expect("plugins.toml");
    for key in ["latency_ms = 200", "jitter_ms = 300", "failure_rate = 0.05"] {
        assert!(text.contains(key), "plugins.toml no longer sets {key}");
    }
    text.replace("latency_ms = 200", "latency_ms = 300")
        .replace("jitter_ms = 300", "jitter_ms = 0")
        .replace("failure_rate = 0.05", "failure_rate = 0.25")
}

/// Every event of the kinds asked for, until `stop` says enough.
async fn events(
    (addr, token): (String, String),
    kinds: &str,
    rx: tokio::sync::oneshot::Receiver<()>,
) -> Vec<Value> {
    let mut request = format!("ws://{addr}/api/events?kinds={kinds}")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let mut socket = connect_async(request).await.expect("connect").0;
    let mut seen = Vec::new();
    let mut rx = rx;
    loop {
        tokio::select! {
            _ = &mut rx => return seen,
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => seen.push(serde_json::from_str(&text).expect("JSON")),
                Some(Ok(Message::Close(_))) | None => return seen,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the event stream broke: {e}"),
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_simulated_model_shows_every_feature_without_a_warning() {
    let env = Env::new();
    env.manifest(&demo_manifest());
    env.config("standing = []\n[http]\nretry_base_ms = 20\nretry_max_ms = 200\nmax_retries = 8\n[personal_time]\nenabled = false\n");
    let host = env.start_with_env(&[("HYPERNET_LOG", "info")]);
    let (stop, rx) = tokio::sync::oneshot::channel();
    let kinds = "task.output,task.signal,task.rejected";
    // On its own thread: the rest of the test blocks on the CLI and the API.
    let watch = tokio::spawn(events((env.api_addr(), env.token()), kinds, rx));
    let done = {
        // The first round deals six scenarios; the refused task is dealt a seventh.
        let titles = [
            "Fix the login form",
            "Write the changelog",
            "Plan the launch",
            "Review the API",
            "Sort the backlog",
            "Tidy the docs",
        ];
        let ids: Vec<String> = titles.iter().map(|t| crate::util::file(&env, t)).collect();

        let asked = eventually("a question to a person", || {
            let list = env.api("/api/tasks?status=needs_input", None).1;
            let items = list["items"].as_array()?.clone();
            items
                .iter()
                .find(|t| {
                    t["clarifications"]
                        .as_array()
                        .is_some_and(|c| !c.is_empty())
                })
                .cloned()
        });
        let question = asked["clarifications"][0]["question"].as_str().unwrap();
        assert!(question.starts_with("Who is \""), "{asked}");
        let asked = asked["id"].as_str().unwrap().to_owned();
        env.run(&["task", "answer", &asked, "for its users"]).ok();

        let approval = eventually("a message held for approval", || {
            let list = env.run(&["approvals", "list", "--json"]).json();
            list["items"].as_array()?.first().cloned()
        });
        assert_eq!(approval["tool"], "send_message", "{approval}");
        let id = approval["id"].as_str().unwrap();
        assert!(
            env.run(&["approvals", "approve", id])
                .ok()
                .contains("approved")
        );

        let done: BTreeMap<String, Value> = ids
            .iter()
            .map(|id| (id.clone(), wait_for(&env, id, &["completed", "failed"])))
            .collect();
        for (id, task) in &done {
            assert_eq!(task["status"], "completed", "{id}: {task}\n{}", host.log());
            let refusals = task["rejected_by"].as_array().map_or(0, Vec::len) as u64;
            assert_eq!(
                task["attempts"].as_u64().unwrap(),
                1 + refusals,
                "a simulated 503 spends no attempt (a refusal gives its own back): {task}"
            );
            assert!(
                task["result"]["text"]
                    .as_str()
                    .unwrap()
                    .starts_with("SIMULATED"),
                "{task}"
            );
        }
        let text = |id: &str| done[id]["result"]["text"].as_str().unwrap().to_owned();
        assert!(
            text(&asked).ends_with("I was told: for its users"),
            "{}",
            text(&asked)
        );
        let approved = approval["task"].as_str().unwrap();
        assert!(
            text(approved).contains("I was told: Approved by"),
            "{}",
            text(approved)
        );
        let tooled: Vec<&Value> = done
            .values()
            .filter(|t| {
                t["result"]["text"]
                    .as_str()
                    .unwrap()
                    .contains("`write_file`: wrote")
            })
            .collect();
        assert!(!tooled.is_empty(), "a task used its tools: {done:?}");
        for task in tooled {
            let worker = task["worker"].as_str().unwrap();
            let notes = env
                .data_dir()
                .join("workspaces")
                .join(worker.to_lowercase())
                .join("notes");
            assert!(
                std::fs::read_dir(&notes).is_ok_and(|mut d| d.next().is_some()),
                "the note is in {}",
                notes.display()
            );
        }
        assert!(
            done.values().any(|t| t["result"]["signals"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["type"] == "low_confidence"))),
            "a signal on a result: {done:?}"
        );
        done
    };
    // The last deltas are announced before their tasks complete; let them arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    let seen = watch.await.expect("the watcher");
    assert!(
        seen.iter().any(|e| e["kind"] == "task.rejected"),
        "a refusal was handed on: {seen:?}"
    );
    // Each streamed call's deltas, from its `seq` 0; a task's calls stream one by one.
    let mut calls: Vec<(&str, String)> = Vec::new();
    for e in seen.iter().filter(|e| e["kind"] == "task.output") {
        let (task, delta) = (
            e["payload"]["task"].as_str().unwrap(),
            e["payload"]["delta"].as_str().unwrap(),
        );
        match calls.iter_mut().rev().find(|(t, _)| *t == task) {
            Some((_, text)) if e["payload"]["seq"] != 0 => text.push_str(delta),
            _ => calls.push((task, delta.to_owned())),
        }
    }
    assert!(
        calls.iter().all(|(_, text)| text.starts_with("SIMULATED")),
        "{calls:#?}"
    );
    assert!(
        calls
            .iter()
            .any(|(task, text)| done[*task]["result"]["text"] == *text),
        "an answer streamed as it was written: {calls:#?}"
    );

    let log = host.log();
    assert!(log.contains("retrying simulated model call"), "{log}");
    assert!(log.contains("tool called"), "{log}");
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}
