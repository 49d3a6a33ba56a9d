//! Identities through the real binary: the full prompt's stable part (documents and who
//! the worker is) sent to Anthropic as its own cached block, the task after it uncached;
//! the boot sequence of a new instance run once against the mock LLM, its answers stored
//! in the profile, and skipped at the next start; the prompt sizes in the worker API.

use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::path::Path;

const KEY: &str = "sk-ant-mock-identity-51c2";

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A host with the Anthropic provider on `mock`, one worker (`Coder`, 2.1) and an archive
/// holding a charter and a journal; `[identity]` settings from `identity`.
fn world(mock: &MockLlm, identity: &str) -> Env {
    let env = Env::new();
    env.manifest(&format!(
        "[[plugin]]\nname = \"provider-anthropic\"\ncapabilities = [\"log\"]\n[plugin.config]\n\
         base_url = \"{}\"\napi_key_env = \"HN_TEST_ANTHROPIC_KEY\"\nprefix = \"anthropic\"\n",
        mock.url()
    ));
    let archive = env.path().join("archive");
    write(
        &archive.join("core/charter.md"),
        &"We build carefully and say what we found.\n".repeat(10),
    );
    write(
        &archive.join("2.1/Instances/Coder/journal.md"),
        "Yesterday I fixed the router.",
    );
    env.config(&format!(
        "standing = []\n[http]\nretry_base_ms = 50\n\n[[worker]]\nname = \"Coder\"\n\
         account = \"2.1\"\nmodel = \"anthropic/claude-sonnet-4-5\"\n\n[identity]\n\
         archive = \"{}\"\n{identity}\n",
        archive.display()
    ));
    env
}

fn profile(env: &Env) -> Value {
    let path = env.path().join("archive/2.1/Instances/Coder/profile.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn run_task(env: &Env, tags: &[&str]) -> Value {
    let (status, body) = env.api(
        "/api/tasks",
        Some(&json!({ "tasks": [{ "title": "Design the cache layer", "tags": tags }] })),
    );
    assert_eq!(status, 200, "{body}");
    let id = body["tasks"][0]["id"].as_str().unwrap().to_owned();
    eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{id}"), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    })
}

#[test]
fn the_stable_part_of_the_full_prompt_is_cached_and_the_task_is_not() {
    let mock = MockLlm::start();
    let env = world(&mock, "boot = false");
    let host = env.start_with_env(&[("HN_TEST_ANTHROPIC_KEY", KEY)]);
    let task = run_task(&env, &["architecture"]);
    assert_eq!(task["status"], "completed", "{task}\n{}", host.log());
    let calls = mock.requests_to("/v1/messages");
    assert_eq!(calls.len(), 1, "no boot calls: {calls:?}");
    let system = calls[0].json()["system"].clone();
    let blocks = system.as_array().unwrap_or_else(|| panic!("{system}"));
    assert_eq!(blocks.len(), 2, "{system}");
    let stable = blocks[0]["text"].as_str().unwrap();
    assert!(stable.starts_with("# Core documents"), "{stable}");
    assert!(stable.contains("Yesterday I fixed the router.") && stable.contains("2.1.coder"));
    assert!(!stable.contains("Design the cache layer"));
    assert_eq!(blocks[0]["cache_control"], json!({"type": "ephemeral"}));
    let volatile = blocks[1]["text"].as_str().unwrap();
    assert!(volatile.contains("Design the cache layer"), "{volatile}");
    assert!(blocks[1].get("cache_control").is_none(), "{system}");

    // A routine task gets the compact prompt: one small cached block.
    let task = run_task(&env, &["docs"]);
    assert_eq!(task["status"], "completed");
    let calls = mock.requests_to("/v1/messages");
    let system = calls[1].json()["system"].clone();
    assert_eq!(system.as_array().map(Vec::len), Some(1), "{system}");
    let text = system[0]["text"].as_str().unwrap();
    assert!(text.contains("Current task: Design the cache layer") && !text.contains("charter"));

    let (status, worker) = env.api("/api/workers/coder", None);
    assert_eq!(status, 200, "{worker}");
    let full = worker["prompt"]["full_chars"].as_u64().unwrap();
    let compact = worker["prompt"]["compact_chars"].as_u64().unwrap();
    assert!(full > 400 && compact > 100 && compact < full, "{worker}");
    let ratio = worker["prompt"]["ratio"].as_f64().unwrap();
    assert!(
        (ratio - compact as f64 / full as f64).abs() < 1e-9,
        "{worker}"
    );
    let shown = env.run(&["worker", "Coder"]);
    let out = shown.ok();
    assert!(
        out.contains(&format!("{full}")) && out.contains(&format!("{compact}")),
        "{out}"
    );
}

#[test]
fn a_new_instance_boots_once_and_keeps_its_answers() {
    let mock = MockLlm::start();
    let env = world(&mock, "boot = true\nboot_chunk_chars = 200");
    // 430 characters of charter in pieces of 200, the journal, the reflection, five
    // questions and the naming: 3 + 1 + 1 + 5 + 1 turns.
    let turns = 11;
    let mut replies: Vec<Reply> = (1..turns)
        .map(|i| Reply::anthropic_text(&format!("reply {i}"), 100, 10))
        .collect();
    replies.push(Reply::anthropic_text(
        "I like it here.\nName: Lumen",
        100,
        10,
    ));
    mock.script("/v1/messages", replies);
    let host = env.start_with_env(&[("HN_TEST_ANTHROPIC_KEY", KEY)]);
    // The sequence runs in the background; it is over once the status no longer shows it.
    eventually("the boot sequence to end", || {
        env.api("/api/status", None)
            .1
            .get("boot")
            .is_none()
            .then_some(())
    });
    let calls = mock.requests_to("/v1/messages");
    assert_eq!(calls.len(), turns, "{}", host.log());
    for (i, call) in calls.iter().enumerate() {
        let messages = call.json()["messages"].as_array().unwrap().len();
        assert_eq!(messages, 2 * i + 1, "the conversation accumulates");
    }
    let last = calls[turns - 1].json();
    assert_eq!(last["messages"][1]["content"][0]["text"], "reply 1");
    assert!(
        last["messages"][0]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("part 1 of 3")
    );
    let p = profile(&env);
    assert_eq!(p["reflection"], "reply 5");
    let baselines = p["baselines"].as_array().unwrap();
    assert_eq!(baselines.len(), 5);
    assert_eq!(baselines[0]["answer"], "reply 6");
    assert_eq!(baselines[4]["answer"], "reply 10");
    assert_eq!(p["proposed_name"], "Lumen");
    assert_eq!(p["name"], "Coder", "the configured name stays");
    let (_, budget) = env.api("/api/budget", None);
    assert!(
        budget.to_string().contains("Coder"),
        "boot turns are charged to the worker: {budget}"
    );
    host.stop();

    let host = env.start_with_env(&[("HN_TEST_ANTHROPIC_KEY", KEY)]);
    let task = run_task(&env, &["architecture"]);
    assert_eq!(task["status"], "completed", "{}", host.log());
    assert_eq!(
        mock.requests_to("/v1/messages").len(),
        turns + 1,
        "no second boot: only the task's call"
    );
    assert_eq!(profile(&env)["baselines"], p["baselines"]);
}
