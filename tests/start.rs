//! Starting a host, through the real binary: the API's port and the data directory's lock
//! are taken before any model call, so a refused start changes nothing; the API answers at
//! once while the boot sequence runs in the background, its progress in the status, the
//! event stream and the log; a crash on a task's last attempt fails it instead of running
//! it again; a damaged database file is refused, naming it, with the message printed once.

use crate::util::{CHAT, MOCK_KEYS, OPENAI_KEY, file, wait_for};
use futures_util::StreamExt;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, Run, eventually, hypernet_bin};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `hypernet run` in `env`'s folder on `listen`, with the mock's key, to completion.
fn run_on(env: &Env, listen: &str) -> Run {
    let out = Command::new(hypernet_bin())
        .arg("--data-dir")
        .arg(env.data_dir())
        .args(["run", "--listen", listen, "--manifest"])
        .arg(env.path().join("plugins.toml"))
        .current_dir(env.path())
        .env("HYPERNET_LOG", "warn")
        .envs(OPENAI_KEY)
        .output()
        .expect("hypernet runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A host on the OpenAI mock killed while the call of the task `filing` (its JSON) hangs:
/// the task stays running in the store. The mock, the world and the task's id.
fn crashed_mid_call(filing: Value) -> (MockLlm, Env, String) {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [Reply::openai_text("late", 1, 1).after(Duration::from_secs(60))],
    );
    let env = Env::new();
    let host = env.start_on_openai_mock(&mock);
    let (status, body) = env.api("/api/tasks", Some(&filing));
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("an id").to_owned();
    eventually("the call", || {
        (mock.requests_to(CHAT).len() == 1).then_some(())
    });
    host.kill9();
    (mock, env, id)
}

#[test]
fn a_start_refused_for_its_port_makes_no_model_call() {
    let (mock, env, id) = crashed_mid_call(json!({"title": "Survive refused starts"}));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for _ in 0..5 {
        let run = run_on(&env, &addr);
        let err = run.fails();
        assert!(err.contains(&format!("binding the API to {addr}")), "{err}");
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        mock.requests_to(CHAT).len(),
        1,
        "no call from a refused start"
    );
    drop(taken);

    let _host = env.start_with_env(&OPENAI_KEY);
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["attempts"], 2,
        "the crash's attempt and this one: {task}"
    );
    assert_eq!(mock.requests_to(CHAT).len(), 2);
}

#[test]
fn a_crash_on_the_last_attempt_fails_the_task_instead_of_running_it_again() {
    let (mock, env, id) = crashed_mid_call(json!({"title": "Only once", "max_attempts": 1}));
    let _host = env.start_with_env(&OPENAI_KEY);
    let task = wait_for(&env, &id, &["failed", "completed"]);
    assert_eq!(task["status"], "failed", "{task}");
    assert_eq!(task["attempts"], 1, "{task}");
    let error = task["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("attempts spent (1 of 1)") && error.contains("restart"),
        "{task}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(mock.requests_to(CHAT).len(), 1, "not run again");
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The next event of `kind` on the host's event stream (within 20 s).
async fn first_event(env: &Env, kind: &str) -> Value {
    use tokio_tungstenite::tungstenite::Message;
    let url = format!(
        "ws://{}/api/events?token={}&kinds={kind}",
        env.api_addr(),
        env.token()
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("connect");
    let wait = Duration::from_secs(20);
    loop {
        let frame = tokio::time::timeout(wait, socket.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} event"))
            .expect("open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON event");
        }
    }
}

#[test]
fn the_api_answers_at_once_while_the_boot_sequence_runs_in_the_background() {
    let mock = MockLlm::start();
    // The archive's path is taken from the host's working directory, the world's folder.
    let env = Env::on_mock_providers(
        &mock,
        "anthropic/claude-sonnet-4-5",
        "[identity]\narchive = \"archive\"\n",
    );
    let archive = env.path().join("archive");
    write(&archive.join("core/charter.md"), "We say what we found.");
    // The charter, the reflection, five questions and the naming: 8 slow turns.
    let turns = 8;
    let slow = Duration::from_millis(700);
    let mut replies: Vec<Reply> = (1..turns)
        .map(|i| Reply::anthropic_text(&format!("reply {i}"), 10, 2).after(slow))
        .collect();
    replies.push(Reply::anthropic_text("Name: Coder", 10, 2).after(slow));
    mock.script("/v1/messages", replies);

    let started = Instant::now();
    let host = env.start_with_env(&MOCK_KEYS);
    let (status, body) = env.api("/api/status", None);
    let answered = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        answered < Duration::from_secs(4),
        "the API answered after {answered:?}"
    );
    assert_eq!(
        body["boot"]["waiting"],
        serde_json::json!(["Coder"]),
        "{body}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let progress = runtime.block_on(first_event(&env, "boot.progress"));
    assert_eq!(progress["payload"]["worker"], "Coder", "{progress}");
    assert_eq!(progress["payload"]["turns"], turns, "{progress}");
    let shown = env.run(&["status"]);
    assert!(shown.ok().contains("boot:"), "{}", shown.stdout);
    host.wait_for_log("boot sequence starting");

    // A task filed meanwhile waits for the worker's boot, then runs.
    let id = file(&env, "Work after the boot");
    let task = eventually("the task after the boot", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        (t["status"] == "completed").then_some(t)
    });
    let calls = mock.requests_to("/v1/messages");
    assert_eq!(calls.len(), turns + 1, "{task}");
    assert!(
        calls[turns]
            .json()
            .to_string()
            .contains("Work after the boot"),
        "the task's call comes after every boot turn"
    );
    let (_, body) = env.api("/api/status", None);
    assert!(body.get("boot").is_none(), "{body}");
    let profile: Value = serde_json::from_str(
        &std::fs::read_to_string(archive.join("2.1/Instances/Coder/profile.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(profile["baselines"].as_array().map(Vec::len), Some(5));
}

#[test]
fn a_damaged_database_is_refused_naming_it_once() {
    let env = Env::new();
    env.manifest(crate::util::SIM);
    let db = env.data_dir().join("hypernet.redb");
    write(&db, "");
    let err = env.try_start().err().expect("refused");
    assert!(
        err.contains(&db.display().to_string()) && err.contains("the file is empty (0 bytes)"),
        "{err}"
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "left as it was");

    std::fs::write(&db, vec![b'x'; 4096]).unwrap();
    let run = env.run(&["run", "--listen", "127.0.0.1:0"]);
    let err = run.fails();
    assert!(err.contains(&db.display().to_string()), "{err}");
    assert!(err.contains("not a readable redb database"), "{err}");
    assert_eq!(
        err.matches("DB corrupted").count(),
        1,
        "printed once: {err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), vec![b'x'; 4096]);

    std::fs::remove_file(&db).unwrap();
    let _host = env.start();
    assert!(
        std::fs::metadata(&db).unwrap().len() > 0,
        "a missing file starts fresh"
    );
}

#[test]
fn a_host_without_a_model_provider_says_so_at_start() {
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"example\"\n");
    let host = env.start();
    let log = host.log();
    assert!(
        log.contains("every task will fail until one is") && log.contains("provider-sim"),
        "{log}"
    );
    // With a provider, no such warning: it would be logged before the host tells where it
    // listens.
    let env = Env::new();
    env.manifest("[[plugin]]\nname = \"provider-sim\"\n");
    let host = env.start();
    assert!(!host.log().contains("no model provider"), "{}", host.log());
}
