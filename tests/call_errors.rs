//! Errors that cannot succeed, through the real binary against the mock LLM: a refused key,
//! a bad request, a prompt too long and a spent quota fail the task at once with the
//! provider's message; exhausted credits suspend the route, so a local worker routed to
//! that paid model goes to the fallback instead; a refusal passed on as text fails too.

use crate::util::{CHAT, MOCK_KEYS, SIM, file, wait_for};
use hypernet_integration::Env;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use serde_json::Value;

/// Files `title` and waits for it to end; the task.
fn run(env: &Env, title: &str) -> Value {
    let id = file(env, title);
    wait_for(env, &id, &["completed", "failed"])
}

#[test]
fn refused_requests_fail_at_once_with_the_providers_message() {
    let mock = MockLlm::start();
    let env = Env::new();
    let _host = env.start_on_openai_mock(&mock);
    let cases = [
        (
            Reply::openai_error(
                401,
                "invalid_request_error",
                "invalid_api_key",
                "Incorrect API key provided",
            ),
            "authentication failed: Incorrect API key provided",
        ),
        (
            Reply::openai_error(
                400,
                "invalid_request_error",
                "invalid_value",
                "Invalid value for 'temperature'",
            ),
            "bad request: Invalid value for 'temperature'",
        ),
        (
            Reply::openai_error(
                404,
                "invalid_request_error",
                "model_not_found",
                "The model does not exist",
            ),
            "bad request: The model does not exist",
        ),
        (
            Reply::openai_error(
                400,
                "invalid_request_error",
                "context_length_exceeded",
                "This model's maximum context length is 128000 tokens",
            ),
            "context too long: This model's maximum context length is 128000 tokens",
        ),
        // Last: a spent quota also suspends the worker.
        (
            Reply::openai_quota_exhausted(),
            "credits exhausted: You exceeded your current quota",
        ),
    ];
    for (i, (reply, message)) in cases.into_iter().enumerate() {
        mock.script(CHAT, [reply]);
        let task = run(&env, &format!("Refused request {i}"));
        assert_eq!(task["status"], "failed", "{task}");
        assert_eq!(task["attempts"], 1, "not attempted again: {task}");
        assert!(task["retry_at_ms"].is_null(), "no retry planned: {task}");
        let error = task["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{message} in {task}");
        assert_eq!(mock.requests_to(CHAT).len(), i + 1, "one request each");
    }
}

#[test]
fn exhausted_credits_suspend_the_route_and_the_fallback_takes_the_rest() {
    let mock = MockLlm::start();
    let env = Env::on_mock_providers(
        &mock,
        "sim/default",
        "[router]\ndefault_model = \"anthropic/claude-sonnet-4-5\"\nfallback = [\"sim/default\"]\n",
    );
    // provider-sim as well, serving the local worker's fallback.
    let manifest = std::fs::read_to_string(env.path().join("plugins.toml")).unwrap();
    env.manifest(&format!("{manifest}\n{SIM}"));
    mock.script(
        "/v1/messages",
        [Reply::anthropic_error(
            402,
            "billing_error",
            "Your credit balance is too low",
        )],
    );
    let _host = env.start_with_env(&MOCK_KEYS);

    let first = run(&env, "Routed to the paid model");
    assert_eq!(first["status"], "failed", "{first}");
    assert_eq!(first["model"], "anthropic/claude-sonnet-4-5", "{first}");
    assert!(
        first["error"]
            .as_str()
            .unwrap_or_default()
            .contains("Your credit balance is too low"),
        "{first}"
    );

    let second = run(&env, "Routed elsewhere meanwhile");
    assert_eq!(second["status"], "completed", "{second}");
    assert_eq!(second["model"], "sim/default", "{second}");
    assert_eq!(
        second["route_reason"],
        "fallback after anthropic/claude-sonnet-4-5: route suspended (credits exhausted)"
    );
    assert_eq!(
        mock.requests_to("/v1/messages").len(),
        1,
        "the suspended route is not called again"
    );
}

#[test]
fn a_refusal_passed_on_as_text_is_a_failure() {
    let mock = MockLlm::start();
    let env = Env::new();
    let _host = env.start_on_openai_mock(&mock);
    mock.script(
        CHAT,
        [Reply::openai_text(
            "Insufficient balance: please add credits to continue.",
            5,
            9,
        )],
    );
    let (status, body) = env.api(
        "/api/tasks",
        Some(&serde_json::json!({"title": "Answer for real", "max_attempts": 1})),
    );
    assert_eq!(status, 200, "{body}");
    let task = wait_for(&env, body["id"].as_str().unwrap(), &["completed", "failed"]);
    assert_eq!(task["status"], "failed", "{task}");
    assert!(
        task["error"]
            .as_str()
            .unwrap_or_default()
            .starts_with("output looks like an error: Insufficient balance"),
        "{task}"
    );
}
