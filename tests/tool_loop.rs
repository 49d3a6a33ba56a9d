//! Execution modes through the real binary and the real provider plugins against the
//! loopback mock LLM: the tool loop feeding results back in both wire formats, the fenced
//! ```tool path, loop detection, and conversation mode (plan, steps, the per-task cap).

use crate::util::MOCK_KEYS;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

fn world(mock: &MockLlm, model: &str, extra: &str) -> Env {
    Env::on_mock_providers(mock, model, &format!("[http]\nstream = false\n{extra}"))
}

/// Files one task (one attempt) and waits for it to finish.
fn run_task(env: &Env, task: Value) -> Value {
    let mut task = task;
    task["max_attempts"] = json!(1);
    let (status, body) = env.api("/api/tasks", Some(&task));
    assert_eq!(status, 200, "{body}");
    let id = body["id"].as_str().expect("an id").to_owned();
    eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    })
}

#[test]
fn openai_tool_results_go_back_as_tool_messages_with_the_call_id() {
    let mock = MockLlm::start();
    let path = "/v1/chat/completions";
    mock.script(
        path,
        [
            Reply::openai_tool_call("task_info", json!({"id": "T-1"}), 100, 10),
            Reply::openai_text("It is running.", 200, 20),
        ],
    );
    let env = world(&mock, "openai/gpt-4o-mini", "");
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(&env, json!({"title": "Inspect yourself"}));
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "It is running.");
    assert_eq!(task["result"]["input_tokens"], 300);
    assert_eq!(task["result"]["output_tokens"], 30);
    let calls = mock.requests_to(path);
    assert_eq!(calls.len(), 2);
    let first = calls[0].json();
    let names: Vec<&str> = first["tools"]
        .as_array()
        .expect("tools offered")
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "append_file",
            "git",
            "list_files",
            "list_tasks",
            "read_file",
            "run_tests",
            "search_files",
            "send_message",
            "task_info",
            "write_file"
        ]
    );
    let messages = calls[1].json()["messages"].as_array().unwrap().clone();
    let n = messages.len();
    assert_eq!(messages[n - 2]["role"], "assistant");
    assert_eq!(messages[n - 2]["tool_calls"][0]["id"], "call_mock");
    assert_eq!(messages[n - 1]["role"], "tool");
    assert_eq!(messages[n - 1]["tool_call_id"], "call_mock");
    let content: Value =
        serde_json::from_str(messages[n - 1]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content["title"], "Inspect yourself");
    assert_eq!(content["status"], "running");
}

#[test]
fn anthropic_tool_results_go_back_as_tool_result_blocks_with_the_call_id() {
    let mock = MockLlm::start();
    let path = "/v1/messages";
    mock.script(
        path,
        [
            Reply::anthropic_tool_use("list_tasks", json!({"status": "running"}), 100, 10),
            Reply::anthropic_text("One task runs.", 200, 20),
        ],
    );
    let env = world(&mock, "anthropic/claude-sonnet-4-5", "");
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(&env, json!({"title": "Count the running tasks"}));
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "One task runs.");
    assert_eq!(task["result"]["output_tokens"], 30);
    let calls = mock.requests_to(path);
    assert_eq!(calls.len(), 2);
    let messages = calls[1].json()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[1]["role"], "assistant");
    assert_eq!(
        messages[1]["content"],
        json!([
            {"type": "text", "text": "Let me check."},
            {"type": "tool_use", "id": "toolu_01Mock", "name": "list_tasks", "input": {"status": "running"}}
        ])
    );
    assert_eq!(messages[2]["role"], "user");
    let result = &messages[2]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_01Mock");
    assert_eq!(result["is_error"], false);
    assert!(
        result["content"]
            .as_str()
            .unwrap()
            .contains("Count the running tasks"),
        "{result}"
    );
    // The task's cost covers both calls (claude-sonnet-4-5: $3 / $15 per million).
    assert_eq!(task["result"]["cost_micros"], 300 * 3 + 30 * 15);
}

#[test]
fn fenced_tool_blocks_run_and_results_come_back_as_a_user_message() {
    let mock = MockLlm::start();
    let path = "/v1/chat/completions";
    mock.script(
        path,
        [
            Reply::openai_text(
                "```tool\n{\"name\": \"list_tasks\", \"args\": {\"status\": \"running\"}}\n```",
                10,
                10,
            ),
            Reply::openai_text("Found it.", 10, 10),
        ],
    );
    let env = world(
        &mock,
        "openai/gpt-4o-mini",
        "[tools]\nfenced_models = [\"openai/\"]\n",
    );
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(&env, json!({"title": "Look around"}));
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(task["result"]["text"], "Found it.");
    let calls = mock.requests_to(path);
    let first = calls[0].json();
    assert!(first.get("tools").is_none(), "no native tools: {first}");
    assert!(
        first["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("```tool")
    );
    let messages = calls[1].json()["messages"].as_array().unwrap().clone();
    let last = messages.last().unwrap();
    assert_eq!(last["role"], "user");
    let text = last["content"].as_str().unwrap();
    assert!(
        text.starts_with("Result of list_tasks {\"status\":\"running\"}:"),
        "{text}"
    );
    assert!(text.contains("Look around"), "{text}");
}

#[test]
fn the_same_call_repeated_fails_the_task_as_a_loop() {
    let mock = MockLlm::start();
    let path = "/v1/chat/completions";
    let same = || Reply::openai_tool_call("task_info", json!({"id": "T-1"}), 10, 10);
    mock.script(
        path,
        [same(), same(), same(), Reply::openai_text("never", 1, 1)],
    );
    let env = world(&mock, "openai/gpt-4o-mini", "");
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(&env, json!({"title": "Spin"}));
    assert_eq!(task["status"], "failed", "{task}\n{}", host.log());
    assert_eq!(
        task["error"],
        r#"loop detected: task_info {"id":"T-1"} called 3 times"#
    );
    assert_eq!(mock.requests_to(path).len(), 3);
    // Every call was charged, the last one too.
    let budget = env.api("/api/budget", None).1;
    assert_eq!(
        budget["per_model"]["openai/gpt-4o-mini"]["calls"], 3,
        "{budget}"
    );
    assert_eq!(budget["reserved_micros"], 0);
}

#[test]
fn a_complex_task_plans_then_runs_each_step_with_the_earlier_results() {
    let mock = MockLlm::start();
    let path = "/v1/chat/completions";
    mock.script(
        path,
        [
            Reply::openai_text("1. Sketch the design\n2. Write it up", 10, 10),
            Reply::openai_text("the sketch", 10, 10),
            Reply::openai_text("the write-up", 10, 10),
        ],
    );
    let env = world(&mock, "openai/gpt-4o-mini", "");
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(
        &env,
        json!({"title": "Design the cache", "complexity": "complex"}),
    );
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    assert_eq!(
        task["result"]["text"],
        "## Step 1: Sketch the design\nthe sketch\n\n## Step 2: Write it up\nthe write-up"
    );
    assert_eq!(task["result"]["input_tokens"], 30);
    let calls = mock.requests_to(path);
    assert_eq!(calls.len(), 3);
    let last_user = |i: usize| {
        let m = calls[i].json()["messages"].as_array().unwrap().clone();
        m.last().unwrap()["content"].as_str().unwrap().to_owned()
    };
    assert!(last_user(0).contains("numbered plan of at most 6 steps"));
    let step2 = last_user(2);
    assert!(step2.contains("## Result of step 1\nthe sketch"), "{step2}");
    assert!(step2.contains("Now do step 2: Write it up."), "{step2}");
}

#[test]
fn the_conversation_cap_stops_it_partial_without_overshooting() {
    let mock = MockLlm::start();
    let path = "/v1/chat/completions";
    mock.script(
        path,
        [
            Reply::openai_text("1. First\n2. Second\n3. Third", 10, 10),
            Reply::openai_text("first done", 1500, 1000),
            Reply::openai_text("never", 10, 10),
        ],
    );
    // After 2,520 tokens, the next call's worst case (1,024 output tokens plus its prompt)
    // cannot fit under 3,500.
    let env = world(
        &mock,
        "openai/gpt-4o-mini",
        "[conversation]\nmax_tokens_per_task = 3500\n",
    );
    let host = env.start_with_env(&MOCK_KEYS);
    let task = run_task(
        &env,
        json!({"title": "Refactor the store", "complexity": "complex"}),
    );
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let text = task["result"]["text"].as_str().unwrap();
    assert!(text.starts_with("## Step 1: First\nfirst done\n\n(Stopped after step 1 of 3: [conversation] max_tokens_per_task = 3500"), "{text}");
    let signal = &task["result"]["signals"][0];
    assert_eq!(signal["type"], "partial_completion");
    assert_eq!(signal["completed"], json!(["First"]));
    assert_eq!(mock.requests_to(path).len(), 2);
    let used = task["result"]["input_tokens"].as_u64().unwrap()
        + task["result"]["output_tokens"].as_u64().unwrap();
    assert_eq!(used, 2520);
    assert!(used <= 3500);
}
