//! Secrets stay secret: after a run with known fake API keys — tasks that call tools, a
//! provider that refuses the key and quotes it back in its error, a budget change, a plugin
//! command — neither key nor the API token appears in the host's log, in any API answer,
//! in the audit log or in what the CLI prints.

use crate::util::CHAT;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

const OPENAI_KEY: &str = "sk-leak-canary-openai-7f3a9c21";
const ANTHROPIC_KEY: &str = "sk-ant-leak-canary-5be0d4f8";

fn run_task(env: &Env, title: &str) -> Value {
    let (status, body) = env.api(
        "/api/tasks",
        Some(&json!({"title": title, "max_attempts": 1})),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("an id").to_owned();
    eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    })
}

#[test]
fn no_key_or_token_appears_in_logs_answers_audit_entries_or_errors() {
    let mock = MockLlm::start();
    mock.script(
        CHAT,
        [
            Reply::openai_tool_call(
                "write_file",
                json!({"path": "notes.md", "content": "nothing secret here"}),
                10,
                10,
            ),
            Reply::openai_text("Noted.", 10, 10),
            // OpenAI quotes the refused key back in its message.
            Reply::openai_error(
                401,
                "invalid_request_error",
                "invalid_api_key",
                &format!("Incorrect API key provided: {OPENAI_KEY}. You can find your API key at the dashboard."),
            ),
        ],
    );
    let env = Env::on_mock_providers(
        &mock,
        "openai/gpt-4o-mini",
        "[http]\nstream = false\nmax_retries = 0\n[personal_time]\nenabled = false\n",
    );
    let host = env.start_with_env(&[
        ("HN_TEST_OPENAI_KEY", OPENAI_KEY),
        ("HN_TEST_ANTHROPIC_KEY", ANTHROPIC_KEY),
    ]);
    let done = run_task(&env, "Take a note");
    assert_eq!(done["status"], "completed", "{done}\n{}", host.log());
    let refused = run_task(&env, "Try again");
    assert_eq!(refused["status"], "failed", "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("Incorrect API key provided"),
        "the error still says what happened: {error}"
    );
    // The mock did receive the key: it was really used.
    let sent = mock.requests_to(CHAT)[0]
        .header("authorization")
        .map(str::to_owned);
    assert_eq!(
        sent.as_deref(),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    let (code, _) = env.api("/api/budget", Some(&json!({"daily_limit_usd": 3.0})));
    assert_eq!(code, 200);
    let (code, _) = env.api(
        "/api/messages",
        Some(&json!({"to": "ops", "body": "a note for people"})),
    );
    assert_eq!(code, 200);

    let token = env.token();
    let secrets = [OPENAI_KEY, ANTHROPIC_KEY, token.as_str()];
    let mut seen: Vec<(String, String)> = Vec::new();
    for path in [
        "/api/status",
        "/api/summary",
        "/api/tasks?limit=1000",
        "/api/tasks/T-1",
        "/api/tasks/T-2",
        "/api/failures",
        "/api/history",
        "/api/workers",
        "/api/workers/Coder",
        "/api/budget",
        "/api/plugins",
        "/api/plugins/provider-openai",
        "/api/messages",
        "/api/audit?limit=1000",
        "/api/audit/verify",
        "/api/keys",
        "/api/approvals",
        "/api/openapi.json",
    ] {
        let (code, body) = env.api(path, None);
        assert_eq!(code, 200, "{path}: {body}");
        seen.push((path.to_owned(), body.to_string()));
    }
    for args in [
        vec!["task", "show", "T-2"],
        vec!["failures"],
        vec!["status"],
        vec!["audit", "list"],
        vec!["plugins", "list"],
    ] {
        let run = env.run(&args);
        seen.push((args.join(" "), format!("{}{}", run.ok(), run.stderr)));
    }
    host.stop();
    let verified = env.run(&["audit", "verify", "--offline"]);
    seen.push((
        "audit verify --offline".into(),
        format!("{}{}", verified.ok(), verified.stderr),
    ));
    seen.push(("the host log".into(), host_log(&env)));
    for (what, text) in &seen {
        for secret in secrets {
            assert!(!text.contains(secret), "{what} shows a secret:\n{text}");
        }
    }
    let audit = &seen
        .iter()
        .find(|(w, _)| w.starts_with("/api/audit?"))
        .unwrap()
        .1;
    assert!(
        audit.contains("budget_change") && audit.contains("tool_call"),
        "{audit}"
    );
}

/// Every log file the host wrote in the test's folder.
fn host_log(env: &Env) -> String {
    let mut all = String::new();
    for entry in std::fs::read_dir(env.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "log") {
            all.push_str(&std::fs::read_to_string(path).unwrap());
        }
    }
    assert!(all.contains("host ready"), "the host logged: {all}");
    all
}
