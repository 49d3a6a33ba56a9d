//! Batched execution through the real binary and the real `provider-anthropic` plugin
//! against the loopback mock LLM server, which answers as a model that follows the batched
//! prompt's instructions (or, to test the fallback, one that ignores them): simple docs
//! tasks filed together reach the server as one call and complete with their own answers
//! and shares that add up to the call's; an answer that cannot be split leads to single
//! calls with no attempt spent; a complex task keeps its own call; batching off sends
//! single calls. The built-in simulated model answers a batched prompt in its format too.

use crate::util::{MOCK_KEYS, file_many as file_together};
use hypernet_integration::mock_llm::{MockLlm, Recorded, Reply, default_reply};
use hypernet_integration::{Env, eventually, workspace_root};
use serde_json::{Value, json};

const MODEL: &str = "anthropic/claude-haiku-4-5";
const MESSAGES: &str = "/v1/messages";
/// What the mock reports a batched call used.
const BATCH_USAGE: (u64, u64) = (1_200, 90);

/// The user message of a recorded Anthropic request.
fn prompt(r: &Recorded) -> String {
    let content = &r.json()["messages"][0]["content"];
    match content {
        Value::String(s) => s.clone(),
        blocks => blocks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect(),
    }
}

/// The task ids a batched prompt lists, in order.
fn listed(prompt: &str) -> Vec<String> {
    prompt
        .split("<task id=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(id, _)| id.to_owned()))
        .collect()
}

/// An Anthropic answer of `text`, streamed when the request asks for it.
fn answer(r: &Recorded, text: &str, usage: (u64, u64)) -> Reply {
    if r.json()["stream"] == true {
        Reply::anthropic_stream_text(&[text], usage.0, usage.1)
    } else {
        Reply::anthropic_text(text, usage.0, usage.1)
    }
}

/// A mock model: a batched prompt is answered in its format when `follows` (else with one
/// plain paragraph), any other prompt plainly.
fn model(follows: bool) -> MockLlm {
    MockLlm::start_with(move |r| {
        if r.method != "POST" || r.path != MESSAGES {
            return default_reply(r);
        }
        let prompt = prompt(r);
        let ids = listed(&prompt);
        if ids.is_empty() {
            let title = prompt.lines().next().unwrap_or_default().to_owned();
            return answer(r, &format!("Single answer to {title}"), (400, 30));
        }
        let text = if follows {
            ids.iter()
                .map(|id| format!("<answer task=\"{id}\">\nAnswer for {id}\n</answer>\n"))
                .collect()
        } else {
            "I have completed all of the tasks above.".to_owned()
        };
        answer(r, &text, BATCH_USAGE)
    })
}

fn world(mock: &MockLlm, extra: &str) -> Env {
    Env::on_mock_providers(
        mock,
        MODEL,
        &format!("[coordinator]\ndecompose = false\n[personal_time]\nenabled = false\n{extra}"),
    )
}

fn docs(title: &str) -> Value {
    json!({ "title": title, "tags": ["docs"] })
}

/// Waits until every task in `ids` is completed; the tasks.
fn completed(env: &Env, ids: &[String]) -> Vec<Value> {
    ids.iter()
        .map(|id| {
            eventually(&format!("{id} to complete"), || {
                let t = env.api(&format!("/api/tasks/{id}"), None).1;
                (t["status"] == "completed").then_some(t)
            })
        })
        .collect()
}

fn calls(mock: &MockLlm) -> Vec<String> {
    mock.requests_to(MESSAGES).iter().map(prompt).collect()
}

fn sum(tasks: &[Value], field: &str) -> u64 {
    tasks
        .iter()
        .map(|t| t["result"][field].as_u64().unwrap())
        .sum()
}

#[test]
fn simple_docs_tasks_filed_together_share_one_call_and_its_cost() {
    let mock = model(true);
    let env = world(&mock, "");
    let host = env.start_with_env(&MOCK_KEYS);
    let ids = file_together(
        &env,
        json!([
            docs("Fix the typo in the intro"),
            docs("Add the missing link"),
            docs("Reword the summary")
        ]),
    );
    let tasks = completed(&env, &ids);
    let calls = calls(&mock);
    assert_eq!(
        calls.len(),
        1,
        "one call for the three: {calls:#?}\n{}",
        host.log()
    );
    assert_eq!(listed(&calls[0]), ids, "each task once, by id");
    for (task, id) in tasks.iter().zip(&ids) {
        assert_eq!(task["result"]["text"], format!("Answer for {id}"), "{task}");
        assert_eq!(task["attempts"], 1, "{task}");
        assert!(
            task["result"]["input_tokens"].as_u64().unwrap() > 0,
            "{task}"
        );
    }
    assert_eq!(sum(&tasks, "input_tokens"), BATCH_USAGE.0);
    assert_eq!(sum(&tasks, "output_tokens"), BATCH_USAGE.1);
    // The call's price ($1 / $5 per million) split to the micro-dollar.
    let call_cost = BATCH_USAGE.0 + 5 * BATCH_USAGE.1;
    assert_eq!(sum(&tasks, "cost_micros"), call_cost);
    // The budget's view is refreshed apart from the tasks'.
    eventually("the call counted once at its cost", || {
        let budget = env.api("/api/budget", None).1;
        let usage = &budget["per_model"][MODEL];
        ((usage["calls"].as_u64(), usage["cost_micros"].as_u64()) == (Some(1), Some(call_cost)))
            .then_some(())
    });
}

#[test]
fn an_answer_that_cannot_be_split_leads_to_single_calls_with_no_attempt_spent() {
    let mock = model(false);
    let env = world(&mock, "");
    let host = env.start_with_env(&MOCK_KEYS);
    let ids = file_together(
        &env,
        json!([docs("Tidy the glossary"), docs("Sort the index")]),
    );
    let tasks = completed(&env, &ids);
    let calls = calls(&mock);
    assert_eq!(
        calls.len(),
        3,
        "the batched call, then one each: {calls:#?}\n{}",
        host.log()
    );
    assert_eq!(listed(&calls[0]), ids);
    assert!(
        calls[1..].iter().all(|c| listed(c).is_empty()),
        "{calls:#?}"
    );
    for task in &tasks {
        let title = task["title"].as_str().unwrap();
        assert_eq!(task["result"]["text"], format!("Single answer to {title}"));
        assert_eq!(task["attempts"], 1, "the batched call spent none: {task}");
    }
    // The unsplit call's tokens were spent, and charged (the budget's view is refreshed
    // apart from the tasks').
    let charged = BATCH_USAGE.0 + 2 * 400;
    eventually("every call's input tokens charged", || {
        let budget = env.api("/api/budget", None).1;
        (budget["per_model"][MODEL]["input_tokens"].as_u64() == Some(charged)).then_some(())
    });
}

#[test]
fn a_complex_task_keeps_its_own_call() {
    let mock = model(true);
    // One worker that holds no reservation: everything ready is weighed at once.
    let env = world(
        &mock,
        "[scheduler]\nreserve = false\n[conversation]\nenabled = false\n",
    );
    let _host = env.start_with_env(&MOCK_KEYS);
    let complex =
        json!({ "title": "Restructure the docs", "tags": ["docs"], "complexity": "complex" });
    let ids = file_together(
        &env,
        json!([docs("Fix a heading"), docs("Fix a caption"), complex]),
    );
    let tasks = completed(&env, &ids);
    let calls = calls(&mock);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert_eq!(listed(&calls[0]), ids[..2]);
    assert!(listed(&calls[1]).is_empty() && calls[1].starts_with("Restructure the docs"));
    assert_eq!(
        tasks[2]["result"]["text"],
        "Single answer to Restructure the docs"
    );
}

#[test]
fn batching_off_sends_single_calls() {
    let mock = model(true);
    let env = world(&mock, "[batching]\nenabled = false\n");
    let _host = env.start_with_env(&MOCK_KEYS);
    let ids = file_together(&env, json!([docs("Fix a heading"), docs("Fix a caption")]));
    completed(&env, &ids);
    let calls = calls(&mock);
    assert_eq!(calls.len(), 2, "{calls:#?}");
    assert!(calls.iter().all(|c| listed(c).is_empty()), "{calls:#?}");
}

#[test]
fn the_built_in_simulated_model_answers_docs_tasks_filed_together_in_one_call() {
    let env = Env::new();
    let manifest =
        std::fs::read_to_string(workspace_root().join("plugins.toml")).expect("plugins.toml");
    env.manifest(&manifest);
    env.config("standing = []\n[personal_time]\nenabled = false\n");
    let host = env.start();
    let titles = [
        "Fix the typo in the intro",
        "Add the missing link",
        "Reword the summary",
    ];
    let ids = file_together(&env, json!(titles.map(docs)));
    let tasks = completed(&env, &ids);
    for (task, title) in tasks.iter().zip(titles) {
        let text = task["result"]["text"].as_str().unwrap();
        assert!(
            text.starts_with("SIMULATED answer") && text.ends_with(&format!("to: {title}")),
            "{task}"
        );
    }
    let workers: std::collections::BTreeSet<&str> = tasks
        .iter()
        .map(|t| t["worker"].as_str().unwrap())
        .collect();
    assert_eq!(workers.len(), 1, "one worker took the three: {tasks:?}");
    let log = host.log();
    assert_eq!(log.matches("batched call started").count(), 1, "{log}");
}
