//! Messages between workers through the real binary, with provider-openai against the
//! loopback mock LLM: a worker writes to another with `send_message`, the message is in the
//! recipient's next prompt (marked as outside data) and turns read; the reply (`reply_to`)
//! marks it responded and joins its thread; a broadcast reaches every other worker; an
//! unknown address keeps its message `sent`; none is held for a person's approval; the API,
//! `hypernet messages` and the event stream show them, and a restart keeps them.

use crate::util::{CHAT, MOCK_KEYS, wait_for};
use futures_util::StreamExt;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

/// Three workers on the mock, each taking the tasks tagged with its one capability.
fn world(mock: &MockLlm) -> Env {
    let env = Env::on_mock_providers(mock, "openai/gpt-4o-mini", "");
    let worker = |name: &str, capability: &str| {
        format!(
            "[[worker]]\nname = \"{name}\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ncapabilities = [\"{capability}\"]\n"
        )
    };
    env.config(&format!(
        "standing = []\n[http]\nstream = false\n[personal_time]\nenabled = false\n{}{}{}",
        worker("Coder", "code"),
        worker("Reviewer", "review"),
        worker("Tester", "test"),
    ));
    env
}

fn send(args: Value) -> Reply {
    Reply::openai_tool_call("send_message", args, 10, 5)
}

/// Files a task with one tag and waits for it to complete.
fn run_task(env: &Env, title: &str, tag: &str) -> Value {
    let (status, body) = env.api("/api/tasks", Some(&json!({"title": title, "tags": [tag]})));
    assert_eq!(status, 200, "{body}");
    let task = wait_for(env, body["id"].as_str().unwrap(), &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}");
    task
}

/// The system prompt of a recorded chat request.
fn system(request: &Value) -> String {
    request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn message(env: &Env, id: &str) -> Value {
    let (status, body) = env.api(&format!("/api/bus/{id}"), None);
    assert_eq!(status, 200, "{body}");
    body
}

/// The kinds of the retained events whose kind starts with `message.worker_`.
fn bus_events(env: &Env) -> Vec<String> {
    let url = format!(
        "ws://{}/api/events?after=0&kinds=message.worker_&token={}",
        env.api_addr(),
        env.token()
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut socket = connect_async(url).await.expect("connect").0;
        let mut kinds = Vec::new();
        while let Ok(Some(frame)) =
            tokio::time::timeout(Duration::from_millis(500), socket.next()).await
        {
            if let Message::Text(text) = frame.expect("frame") {
                let event: Value = serde_json::from_str(&text).unwrap();
                kinds.push(event["kind"].as_str().unwrap().to_owned());
            }
        }
        kinds
    })
}

#[test]
fn workers_write_read_and_answer_each_other_across_a_restart() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            // Coder: to one worker (any case), to all, to an address nobody answers to.
            send(json!({"to": "reviewer", "body": "Please review the parser."})),
            send(json!({"to": "*", "body": "Standup at noon."})),
            send(json!({"to": "2.1.nobody", "body": "Anyone there?"})),
            Reply::openai_text("Parser written.", 10, 5),
            // Reviewer answers the first.
            send(json!({"reply_to": "WM-000001", "body": "Looks good."})),
            Reply::openai_text("Reviewed.", 10, 5),
            // Tester, after the restart.
            Reply::openai_text("Tested.", 10, 5),
        ],
    );
    let env = world(&mock);
    let host = env.start_with_env(&MOCK_KEYS);
    run_task(&env, "Write the parser", "code");
    let calls = mock.requests_to(CHAT);
    assert_eq!(calls.len(), 4, "{}", host.log());
    let told = calls[1].json()["messages"].to_string();
    assert!(
        told.contains("message WM-000001 to Reviewer: delivered (thread WM-000001)"),
        "not held for approval: {told}"
    );
    assert!(
        !system(&calls[0].json()).contains("# Messages from other workers"),
        "nothing to read yet"
    );
    let first = message(&env, "WM-000001");
    assert_eq!(
        (
            &first["from"],
            &first["to"],
            &first["recipient"],
            &first["status"],
            &first["thread"]
        ),
        (
            &json!("Coder"),
            &json!("reviewer"),
            &json!("Reviewer"),
            &json!("delivered"),
            &json!("WM-000001")
        )
    );
    // The broadcast: one message per other worker, one thread.
    for (id, to) in [("WM-000002", "Reviewer"), ("WM-000003", "Tester")] {
        let m = message(&env, id);
        assert_eq!(
            (&m["recipient"], &m["thread"], &m["status"]),
            (&json!(to), &json!("WM-000002"), &json!("delivered")),
            "{m}"
        );
    }
    let lost = message(&env, "WM-000004");
    assert_eq!(
        (&lost["status"], &lost["recipient"]),
        (&json!("sent"), &Value::Null)
    );

    run_task(&env, "Review the parser", "review");
    let calls = mock.requests_to(CHAT);
    let prompt = system(&calls[4].json());
    assert!(prompt.contains("# Messages from other workers"), "{prompt}");
    assert!(
        prompt.contains("WM-000001 from Coder (thread WM-000001); to answer, call send_message with reply_to \"WM-000001\":\n<<external source=\"message:Coder\">>\n[Data from outside the swarm"),
        "{prompt}"
    );
    assert!(prompt.contains("Please review the parser.") && prompt.contains("Standup at noon."));
    assert!(!prompt.contains("Anyone there?"));
    let reply = message(&env, "WM-000005");
    assert_eq!(
        (
            &reply["from"],
            &reply["recipient"],
            &reply["thread"],
            &reply["reply_to"],
            &reply["status"]
        ),
        (
            &json!("Reviewer"),
            &json!("Coder"),
            &json!("WM-000001"),
            &json!("WM-000001"),
            &json!("delivered")
        )
    );
    assert_eq!(message(&env, "WM-000001")["status"], "responded");
    assert_eq!(message(&env, "WM-000002")["status"], "read");
    assert_eq!(
        message(&env, "WM-000003")["status"],
        "delivered",
        "Tester has not worked yet"
    );

    let kinds = bus_events(&env);
    let count = |kind: &str| kinds.iter().filter(|k| *k == kind).count();
    assert_eq!(count("message.worker_sent"), 5, "{kinds:?}");
    assert_eq!(count("message.worker_read"), 2, "{kinds:?}");
    assert_eq!(count("message.worker_responded"), 1, "{kinds:?}");

    // The API filters, and the CLI shows the thread.
    let (_, sent) = env.api("/api/bus?status=sent", None);
    assert_eq!(sent["total"], 1, "{sent}");
    let (_, thread) = env.api("/api/bus?thread=WM-000001", None);
    let ids: Vec<&str> = thread["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["WM-000005", "WM-000001"], "newest first");
    let (_, tester) = env.api("/api/bus?worker=tester&limit=1", None);
    assert_eq!(
        (&tester["total"], &tester["items"][0]["id"]),
        (&json!(1), &json!("WM-000003"))
    );
    let (status, bad) = env.api("/api/bus?thread=T-1", None);
    assert_eq!(status, 400, "{bad}");
    let (status, _) = env.api("/api/bus/WM-000099", None);
    assert_eq!(status, 404);
    let table = env
        .run(&["messages", "--thread", "WM-000001"])
        .ok()
        .to_owned();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("ID") && lines[0].ends_with("BODY"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("WM-000005  Reviewer  Coder     WM-000001  delivered"),
        "{table}"
    );
    assert!(
        lines[2].contains("responded") && lines[2].ends_with("Please review the parser."),
        "{table}"
    );
    let listed = env
        .run(&["messages", "--worker", "Tester", "--json"])
        .json();
    assert_eq!(listed["items"][0]["id"], "WM-000003");

    // A restart keeps every message, and the unread one reaches Tester's next prompt.
    host.stop();
    let _host = env.start_with_env(&MOCK_KEYS);
    assert_eq!(message(&env, "WM-000001")["status"], "responded");
    assert_eq!(message(&env, "WM-000003")["status"], "delivered");
    run_task(&env, "Test the parser", "test");
    let prompt = system(&mock.requests_to(CHAT)[6].json());
    assert!(
        prompt.contains("WM-000003 from Coder (thread WM-000002)")
            && prompt.contains("Standup at noon."),
        "{prompt}"
    );
    eventually("the broadcast to be read", || {
        (message(&env, "WM-000003")["status"] == "read").then_some(())
    });
}
