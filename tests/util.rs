//! What several test modules share: manifests, the mock's keys and path, and waiting for a
//! task's status through the API. The harness itself is the `hypernet_integration` library.

use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};

/// provider-sim answering at once.
pub const SIM: &str = "[[plugin]]\nname = \"provider-sim\"\ncapabilities = [\"log\"]\n[plugin.config]\nlatency_ms = 0\n";

/// The path of OpenAI's chat completions at the mock.
pub const CHAT: &str = "/v1/chat/completions";

/// The key provider-openai reads when it talks to the mock (for [`Env::start_with_env`]).
pub const OPENAI_KEY: [(&str, &str); 1] = [("HN_TEST_OPENAI_KEY", "sk-mock")];

/// The keys of both providers of [`Env::on_mock_providers`] (for [`Env::start_with_env`]).
pub const MOCK_KEYS: [(&str, &str); 2] = [
    ("HN_TEST_OPENAI_KEY", "sk-mock"),
    ("HN_TEST_ANTHROPIC_KEY", "sk-ant-mock"),
];

/// Files a task titled `title` through the API; its id.
pub fn file(env: &Env, title: &str) -> String {
    let (status, body) = env.api("/api/tasks", Some(&json!({"title": title})));
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().expect("an id").to_owned()
}

/// Files `tasks` (a JSON array) in one request, one durable batch; their ids.
pub fn file_many(env: &Env, tasks: Value) -> Vec<String> {
    let (status, body) = env.api("/api/tasks", Some(&json!({ "tasks": tasks })));
    assert_eq!(status, 200, "{body}");
    body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Waits until the task `id` has one of `statuses`; the task.
pub fn wait_for(env: &Env, id: &str, statuses: &[&str]) -> Value {
    eventually(&format!("{id} to be {statuses:?}"), || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        statuses
            .contains(&t["status"].as_str().unwrap_or_default())
            .then_some(t)
    })
}

/// Files a message through the API (`POST /api/messages` with `body`); its id.
pub fn send_message(env: &Env, body: &Value) -> String {
    let (status, m) = env.api("/api/messages", Some(body));
    assert_eq!(status, 200, "{m}");
    m["id"].as_str().expect("a message id").to_owned()
}

/// Waits until the message `id` is `sent` or `failed` (every delivery made or given up);
/// the message.
pub fn settled(env: &Env, id: &str) -> Value {
    eventually(&format!("message {id} to settle"), || {
        let page = env.api("/api/messages?limit=1000", None).1;
        page["items"]
            .as_array()?
            .iter()
            .find(|m| {
                m["id"] == id
                    && ["sent", "failed"].contains(&m["status"].as_str().unwrap_or_default())
            })
            .cloned()
    })
}
