//! The real provider plugins (`provider-openai`, `provider-anthropic`) through the real
//! binary against the loopback mock LLM server: request shape and key header, the result
//! and usage of a task, retries on 429 with `retry-after`, keys kept out of the API and the
//! log, a missing key failing only its own provider, and the fallback chain taking over
//! from a provider that stays down or cannot be reached.

use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::time::Duration;

const OPENAI_KEY: &str = "sk-mock-openai-4f1c9e2ab7";
const ANTHROPIC_KEY: &str = "sk-ant-mock-93b0d7e5c1";

fn world(mock: &MockLlm, model: &str) -> Env {
    Env::on_mock_providers(mock, model, "[http]\nretry_base_ms = 50\n")
}

fn keys() -> [(&'static str, &'static str); 2] {
    [
        ("HN_TEST_OPENAI_KEY", OPENAI_KEY),
        ("HN_TEST_ANTHROPIC_KEY", ANTHROPIC_KEY),
    ]
}

/// Files one task and waits for it to finish; returns the task.
fn run_task(env: &Env) -> Value {
    let (status, body) = env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [{ "title": "Say hello" }] })),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["tasks"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no task id in {body}"))
        .to_owned();
    eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    })
}

#[test]
fn an_openai_task_completes_with_the_mock_text_and_usage() {
    let mock = MockLlm::start();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Hello from the mock");
    assert_eq!(task["result"]["input_tokens"], 11);
    assert_eq!(task["result"]["output_tokens"], 4);
    let calls = mock.requests_to("/v1/chat/completions");
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert_eq!(call.json()["model"], "gpt-4o-mini");
    // `[http] stream` is on by default.
    assert_eq!(call.json()["stream"], true);
}

#[test]
fn an_anthropic_task_sends_the_key_in_x_api_key() {
    let mock = MockLlm::start();
    let env = world(&mock, "anthropic/claude-sonnet-4-5");
    let host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Hello from the mock");
    assert_eq!(task["result"]["input_tokens"], 11);
    assert_eq!(task["result"]["output_tokens"], 4);
    let calls = mock.requests_to("/v1/messages");
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].header("x-api-key"), Some(ANTHROPIC_KEY));
    assert!(calls[0].header("anthropic-version").is_some());
    assert_eq!(calls[0].header("authorization"), None);
    assert_eq!(calls[0].json()["model"], "claude-sonnet-4-5");
}

#[test]
fn keys_appear_neither_in_the_api_nor_in_the_log() {
    let mock = MockLlm::start();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_error(500, "server_error", "internal", "oops")],
    );
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}");
    let (status, plugins) = env.api("/api/plugins", None);
    assert_eq!(status, 200);
    let plugins = plugins.to_string();
    assert!(plugins.contains("provider-openai"), "{plugins}");
    let log = host.log();
    for key in [OPENAI_KEY, ANTHROPIC_KEY] {
        assert!(!plugins.contains(key), "a key in /api/plugins: {plugins}");
        assert!(!log.contains(key), "a key in the log:\n{log}");
    }
    // The retry of the 500 was logged, without the key.
    assert!(log.contains("retrying model call"), "{log}");
}

#[test]
fn a_429_with_retry_after_is_retried_after_the_wait() {
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [
            Reply::openai_error(429, "requests", "rate_limit_exceeded", "Rate limit reached")
                .with_header("retry-after", "1"),
            Reply::openai_stream_text(&["Second ", "time lucky"], 20, 3),
        ],
    );
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Second time lucky");
    assert_eq!(task["result"]["input_tokens"], 20);
    let calls = mock.requests_to("/v1/chat/completions");
    assert_eq!(calls.len(), 2, "{calls:?}");
    let waited = calls[1].received - calls[0].received;
    assert!(waited >= Duration::from_millis(1_000), "{waited:?}");
}

#[test]
fn an_insufficient_quota_429_is_not_retried() {
    let mock = MockLlm::start();
    mock.script("/v1/chat/completions", [Reply::openai_quota_exhausted()]);
    let env = world(&mock, "openai/gpt-4o-mini");
    let _host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_ne!(task["status"], "completed", "{task}");
    // Later attempts of the task may call again, but the executor itself did not retry:
    // the first two requests cannot be within the executor's backoff of each other.
    let calls = mock.requests_to("/v1/chat/completions");
    assert!(!calls.is_empty());
    if calls.len() > 1 {
        assert!(calls[1].received - calls[0].received >= Duration::from_millis(1_000));
    }
}

#[test]
fn the_models_are_listed_at_start_up() {
    let mock = MockLlm::start();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    host.wait_for_log("models listed");
    let listings = mock.requests_to("/v1/models");
    assert!(!listings.is_empty(), "{:?}", mock.requests());
    assert!(host.log().contains("gpt-4o-mini"));
}

#[test]
fn a_missing_key_fails_only_its_provider() {
    let mock = MockLlm::start();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&[("HN_TEST_ANTHROPIC_KEY", ANTHROPIC_KEY)]);
    let openai = env.plugin_status("provider-openai");
    assert_eq!(openai["state"], "failed", "{openai}");
    assert!(
        openai.to_string().contains("HN_TEST_OPENAI_KEY"),
        "the reason names the variable: {openai}"
    );
    assert_eq!(env.plugin_status("provider-anthropic")["state"], "loaded");
    drop(host);
}

/// provider-sim and provider-openai (at `openai_base_url`), a worker on
/// `openai/gpt-4o-mini` and `sim/default` as the fallback.
fn with_fallback(openai_base_url: &str) -> Env {
    let env = Env::new();
    env.manifest(&format!(
        r#"[[plugin]]
name = "provider-sim"
capabilities = ["log"]

[[plugin]]
name = "provider-openai"
capabilities = ["log"]
[plugin.config]
base_url = "{openai_base_url}"
api_key_env = "HN_TEST_OPENAI_KEY"
"#
    ));
    env.config(
        "standing = []\n[http]\nretry_base_ms = 20\nmax_retries = 1\n\n[router]\nfallback = [\"sim/default\"]\n\n[[worker]]\nname = \"Coder\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\n",
    );
    env
}

#[test]
fn a_provider_that_stays_down_falls_back_along_the_chain() {
    let mock = MockLlm::start();
    let down = || Reply::openai_error(503, "server_error", "unavailable", "upstream is down");
    mock.script("/v1/chat/completions", [down(), down(), down()]);
    let env = with_fallback(&mock.openai_base_url());
    let host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["model"], "sim/default", "{task}");
    let reason = task["route_reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("fallback after openai/gpt-4o-mini"),
        "the reason is recorded: {task}"
    );
    assert_eq!(task["result"]["simulated"], true);
    assert_eq!(
        mock.requests_to("/v1/chat/completions").len(),
        2,
        "one try and one retry before falling back"
    );
}

#[test]
fn an_unreachable_base_url_falls_back_and_a_malformed_one_is_refused() {
    // Nothing listens on the discard port of loopback: every connection is refused.
    let env = with_fallback("http://127.0.0.1:9/v1");
    let host = env.start_with_env(&keys());
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["model"], "sim/default", "{task}");
    drop(host);

    let env = with_fallback("localhost:1234/v1");
    let check = env.check();
    let out = check.fails();
    assert!(
        out.contains("base_url") && out.contains("localhost:1234/v1"),
        "the field and value are named: {out}"
    );
}

#[test]
fn cancelling_a_task_stops_its_call_and_frees_the_provider_slot() {
    let mock = MockLlm::start();
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_text("too late", 5, 5).after(Duration::from_secs(60))],
    );
    let env = world(&mock, "openai/gpt-4o-mini");
    // One request at a time to the provider, and two workers to contend for it.
    env.config(
        "standing = []\n[http.max_concurrent_for]\nprovider-openai = 1\n\n[[worker]]\nname = \"A\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\n\n[[worker]]\nname = \"B\"\naccount = \"2.1\"\nmodel = \"openai/gpt-4o-mini\"\n",
    );
    let host = env.start_with_env(&keys());
    let (_, filed) = env.api("/api/tasks", Some(&json!({ "title": "Slow one" })));
    let slow = filed["id"].as_str().unwrap().to_owned();
    eventually("the slow call to reach the server", || {
        (!mock.requests_to("/v1/chat/completions").is_empty()).then_some(())
    });
    let (status, body) = env.act(&format!("/api/tasks/{slow}/cancel"));
    assert_eq!(status, 200, "{body}");
    // The next call gets the provider's only slot at once, not after the slow answer.
    let task = run_task(&env);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Hello from the mock");
    assert!(
        host.log().contains("the call was stopped"),
        "{}",
        host.log()
    );
}
