//! The approval queue through the real binary, the real provider plugin and the loopback
//! mock LLM: a worker's shell call is held, not run; the request survives a restart; once
//! approved from the CLI it runs exactly once, its output goes back to the waiting task,
//! which completes; a denial reaches the worker with its reason; every step is on the audit
//! chain, which still verifies.

use crate::util::{CHAT, OPENAI_KEY, wait_for};
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// One worker, `Coder`, at tier 3 with the `shell` grant; `echo` is the one program allowed.
fn world(mock: &MockLlm) -> Env {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-openai\"\ncapabilities = [\"log\"]\n[plugin.config]\nbase_url = \"{}\"\napi_key_env = \"HN_TEST_OPENAI_KEY\"\n",
        mock.openai_base_url()
    ));
    env.config(
        "standing = []\n\
         [http]\nstream = false\n\
         [personal_time]\nenabled = false\n\
         [tools]\nshell_allow = [\"echo\"]\n\
         [[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\ntier = 3\ngrants = [\"shell\"]\n",
    );
    env
}

fn file(env: &Env, title: &str) -> String {
    let (status, body) = env.api(
        "/api/tasks",
        Some(&json!({"title": title, "max_attempts": 1})),
    );
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().expect("an id").to_owned()
}

/// The last user or tool message of the `n`th request to the mock.
fn last_message(mock: &MockLlm, n: usize) -> String {
    let calls = mock.requests_to(CHAT);
    let messages = calls[n].json()["messages"].as_array().unwrap().clone();
    messages.last().unwrap()["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn audit_kinds(env: &Env) -> Vec<(String, Value)> {
    let page = env.api("/api/audit?limit=1000", None).1;
    page["items"]
        .as_array()
        .expect("audit entries")
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["detail"].clone()))
        .collect()
}

#[test]
fn an_approved_shell_call_runs_once_after_a_restart_and_the_task_completes() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_tool_call("shell", json!({"argv": ["echo", "hello", "world"]}), 10, 10),
            Reply::openai_text("The shell said hello world.", 10, 10),
        ],
    );
    let env = world(&mock);
    let host = env.start_with_env(&OPENAI_KEY);
    let id = file(&env, "Greet the shell");
    let task = wait_for(&env, &id, &["needs_input", "completed", "failed"]);
    assert_eq!(task["status"], "needs_input", "{task}\n{}", host.log());
    assert_eq!(task["clarifications"][0]["approval"], "AQ-0001");
    // The hold costs no attempt, and `max_attempts` stays what was filed.
    assert_eq!(
        (&task["attempts"], &task["max_attempts"]),
        (&json!(0), &json!(1))
    );
    let pending = env
        .run(&["approvals", "list", "--status", "pending", "--json"])
        .json();
    assert_eq!(pending["total"], 1, "{pending}");
    let request = &pending["items"][0];
    assert_eq!(request["id"], "AQ-0001");
    assert_eq!(request["task"], id);
    assert_eq!(request["tool"], "shell");
    assert_eq!(request["args"], json!({"argv": ["echo", "hello", "world"]}));
    let expires = request["expires_ms"].as_u64().unwrap() - request["created_ms"].as_u64().unwrap();
    assert_eq!(expires, 24 * 3600 * 1000, "24 h by default");
    // Answering is not how an approval is given.
    let refused = env.run(&["task", "answer", &id, "yes"]);
    assert!(
        refused
            .fails()
            .contains("waits on approval request AQ-0001"),
        "{}",
        refused.stderr
    );

    // The request and the waiting task survive a restart; nothing ran meanwhile.
    host.stop();
    let host = env.start_with_env(&OPENAI_KEY);
    assert_eq!(
        wait_for(&env, &id, &["needs_input"])["status"],
        "needs_input"
    );
    let shown = env.run(&["approvals", "show", "AQ-0001"]).ok().to_owned();
    assert!(
        shown.contains("status:") && shown.contains("pending"),
        "{shown}"
    );
    assert_eq!(mock.requests_to(CHAT).len(), 1);

    let approved = env.run(&["approvals", "approve", "AQ-0001"]);
    assert_eq!(approved.ok().trim(), "AQ-0001: approved (ran: ok)");
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "The shell said hello world.");
    assert_eq!(
        (&task["attempts"], &task["max_attempts"]),
        (&json!(1), &json!(1))
    );
    let told = last_message(&mock, 1);
    assert!(
        told.ends_with(
            "Answer: Approved by person; it ran once and returned:\nexit code 0\n--- stdout ---\nhello world\n"
        ),
        "{told}"
    );
    let twice = env.run(&["approvals", "approve", "AQ-0001"]);
    assert!(
        twice.fails().contains("AQ-0001 is already approved"),
        "{}",
        twice.stderr
    );
    let record = env.api("/api/approvals/AQ-0001", None).1;
    assert_eq!(record["execution"]["state"], "done");
    assert_eq!(
        record["execution"]["output"],
        "exit code 0\n--- stdout ---\nhello world\n"
    );

    // Held, requested, approved, ran: all on the chain, which verifies.
    let entries = eventually("the approval's run on the audit log", || {
        let entries = audit_kinds(&env);
        entries
            .iter()
            .any(|(k, d)| k == "approval" && d["event"] == "ran")
            .then_some(entries)
    });
    let held = entries
        .iter()
        .find(|(k, d)| k == "tool_denied" && d["tool"] == "shell")
        .expect("the held call");
    assert_eq!(held.1["outcome"], "held_for_approval");
    let events: Vec<&str> = entries
        .iter()
        .filter(|(k, _)| k == "approval")
        .filter_map(|(_, d)| d["event"].as_str())
        .collect();
    for event in ["requested", "approved", "ran"] {
        assert!(events.contains(&event), "{event} missing from {events:?}");
    }
    let ran = entries
        .iter()
        .find(|(k, d)| k == "tool_call" && d["tool"] == "shell")
        .expect("the approved run, audited as a tool call");
    assert_eq!(ran.1["outcome"], "ok");
    let verified = env.run(&["audit", "verify"]);
    assert!(
        verified.ok().starts_with("audit chain ok"),
        "{}",
        verified.stdout
    );
}

#[test]
fn a_denied_call_never_runs_and_the_worker_hears_why() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_tool_call("shell", json!({"argv": ["echo", "secret plans"]}), 10, 10),
            Reply::openai_text("Understood, I will not.", 10, 10),
        ],
    );
    let env = world(&mock);
    let host = env.start_with_env(&OPENAI_KEY);
    let id = file(&env, "Try the shell");
    wait_for(&env, &id, &["needs_input"]);
    let denied = env.run(&["approvals", "deny", "AQ-0001", "--reason", "not today"]);
    assert_eq!(denied.ok().trim(), "AQ-0001: rejected");
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let told = last_message(&mock, 1);
    assert!(
        told.ends_with("Answer: Refused by person: not today"),
        "{told}"
    );
    let record = env.api("/api/approvals/AQ-0001", None).1;
    assert_eq!(record["status"], "rejected");
    assert!(record.get("execution").is_none(), "it never ran: {record}");
    let (code, body) = env.api("/api/approvals/AQ-0001/approve", Some(&json!({})));
    assert_eq!(code, 409, "{body}");
    assert_eq!(body["error"]["code"], "illegal_transition");
    assert_eq!(env.api("/api/approvals/AQ-0099", None).0, 404);
    assert_eq!(env.api("/api/approvals/T-1", None).0, 400);
}

#[test]
fn a_message_to_a_person_leaves_only_once_approved() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_tool_call(
                "send_message",
                json!({"to": "ada", "body": "The build is green."}),
                10,
                10,
            ),
            Reply::openai_text("Told Ada.", 10, 10),
        ],
    );
    let env = world(&mock);
    let host = env.start_with_env(&OPENAI_KEY);
    let id = file(&env, "Tell Ada about the build");
    wait_for(&env, &id, &["needs_input"]);
    let sent_to_ada = |env: &Env| -> Vec<Value> {
        env.api("/api/messages", None).1["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["to"] == "ada")
            .cloned()
            .collect()
    };
    assert!(
        sent_to_ada(&env).is_empty(),
        "nothing leaves before the approval"
    );
    let request = env.api("/api/approvals/AQ-0001", None).1;
    assert_eq!(request["tool"], "send_message", "{request}");
    env.run(&["approvals", "approve", "AQ-0001"]).ok();
    let task = wait_for(&env, &id, &["completed", "failed"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let sent = sent_to_ada(&env);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["body"], "The build is green.");
    assert_eq!(sent[0]["sender"], "Coder");
    assert_eq!(sent[0]["status"], "sent");
    let told = last_message(&mock, 1);
    let report = format!("message {} to ada: sent", sent[0]["id"].as_str().unwrap());
    assert!(told.ends_with(&report), "{told}");
}
