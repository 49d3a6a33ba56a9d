//! Deferrable tasks through the providers' batch APIs, with the real binary and the real
//! `provider-anthropic` / `provider-openai` libraries against a loopback server replaying
//! the documented batch wire formats (Anthropic Message Batches; OpenAI Files + Batch):
//! deferrable tasks submitted as one batch, polled, their answers applied at half price;
//! a host killed mid-batch polling the same batch after its restart; an errored request or
//! an expired batch falling back to a normal call; other tasks called normally.

use crate::util::file_many as file;
use hypernet_integration::mock_llm::{MockLlm, Recorded, Reply, default_reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const OPENAI_KEY: &str = "sk-mock-openai-4f1c9e2ab7";
const ANTHROPIC_KEY: &str = "sk-ant-mock-93b0d7e5c1";

fn keys() -> [(&'static str, &'static str); 2] {
    [
        ("HN_TEST_OPENAI_KEY", OPENAI_KEY),
        ("HN_TEST_ANTHROPIC_KEY", ANTHROPIC_KEY),
    ]
}

/// How an ended batch answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    /// Every request succeeded.
    Succeeded,
    /// The first request (by custom id) errored, the others succeeded.
    FirstErrored,
    /// The batch expired with no results (OpenAI `expired`, no files).
    Expired,
}

/// The batch side of the loopback server: batches created (by id, their custom ids),
/// ended once `release` is set.
struct Batches {
    created: Mutex<BTreeMap<String, Vec<String>>>,
    /// Uploaded files' custom ids (OpenAI), by file id.
    files: Mutex<BTreeMap<String, Vec<String>>>,
    release: AtomicBool,
    ending: Ending,
}

/// The answer text of a batched request.
fn batched_text(custom_id: &str) -> String {
    format!("Batched answer to {custom_id}")
}

impl Batches {
    fn new(ending: Ending) -> Arc<Batches> {
        Arc::new(Batches {
            created: Mutex::default(),
            files: Mutex::default(),
            release: AtomicBool::new(false),
            ending,
        })
    }

    fn created(&self) -> BTreeMap<String, Vec<String>> {
        self.created.lock().unwrap().clone()
    }

    /// The custom ids of batch `id` (none for an unknown batch).
    fn custom_ids(&self, id: &str) -> Vec<String> {
        self.created().remove(id).unwrap_or_default()
    }

    /// The batches created, once there is one.
    fn first_created(&self) -> BTreeMap<String, Vec<String>> {
        eventually("the batch to be created", || {
            let c = self.created();
            (!c.is_empty()).then_some(c)
        })
    }

    /// A loopback server answering as this batch side (and as the mock otherwise).
    fn serve(self: &Arc<Batches>) -> MockLlm {
        let b = Arc::clone(self);
        MockLlm::start_with(move |r| b.answer(r))
    }

    fn answer(&self, r: &Recorded) -> Reply {
        let host = r.header("host").unwrap_or("127.0.0.1").to_owned();
        let ended = self.release.load(Ordering::SeqCst);
        let path = r.path.as_str();
        match (r.method.as_str(), path) {
            // Anthropic Message Batches.
            ("POST", "/v1/messages/batches") => {
                let ids: Vec<String> = r.json()["requests"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|e| e["custom_id"].as_str().unwrap_or("").to_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                let mut created = self.created.lock().unwrap();
                let id = format!("msgbatch_{}", created.len() + 1);
                created.insert(id.clone(), ids.clone());
                Reply::json(200, anthropic_batch(&id, "in_progress", None, ids.len()))
            }
            ("GET", p) if p.starts_with("/v1/messages/batches/") && p.ends_with("/results") => {
                let id = p
                    .trim_start_matches("/v1/messages/batches/")
                    .trim_end_matches("/results");
                let ids = self.custom_ids(id);
                let lines: Vec<String> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, cid)| {
                        let result = if i == 0 && self.ending == Ending::FirstErrored {
                            json!({"type": "errored", "error": {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}}})
                        } else {
                            json!({"type": "succeeded", "message": {"id": "msg_01Batch", "type": "message", "role": "assistant",
                                "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": batched_text(cid)}],
                                "stop_reason": "end_turn", "stop_sequence": null,
                                "usage": {"input_tokens": 100, "output_tokens": 50}}})
                        };
                        json!({"custom_id": cid, "result": result}).to_string()
                    })
                    .collect();
                Reply::Full {
                    status: 200,
                    headers: vec![],
                    content_type: "application/binary".into(),
                    body: lines.join("\n") + "\n",
                }
            }
            ("GET", p) if p.starts_with("/v1/messages/batches/") => {
                let id = p.trim_start_matches("/v1/messages/batches/");
                let n = self.created.lock().unwrap().get(id).map_or(0, Vec::len);
                if ended {
                    let url = format!("http://{host}/v1/messages/batches/{id}/results");
                    Reply::json(200, anthropic_batch(id, "ended", Some(url), n))
                } else {
                    Reply::json(200, anthropic_batch(id, "in_progress", None, n))
                }
            }
            // OpenAI Files and Batch.
            ("POST", "/v1/files") => {
                let ids: Vec<String> = r
                    .body
                    .lines()
                    .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                    .filter_map(|l| l["custom_id"].as_str().map(str::to_owned))
                    .collect();
                assert!(
                    r.body.contains("name=\"purpose\"\r\n\r\nbatch\r\n"),
                    "{}",
                    r.body
                );
                let mut files = self.files.lock().unwrap();
                let id = format!("file-in{}", files.len() + 1);
                files.insert(id.clone(), ids);
                Reply::json(
                    200,
                    json!({"id": id, "object": "file", "bytes": r.body.len(), "created_at": 1_711_471_533, "filename": "batch.jsonl", "purpose": "batch"}),
                )
            }
            ("POST", "/v1/batches") => {
                let body = r.json();
                assert_eq!(body["endpoint"], "/v1/chat/completions");
                assert_eq!(body["completion_window"], "24h");
                let file = body["input_file_id"].as_str().unwrap_or("").to_owned();
                let ids = self
                    .files
                    .lock()
                    .unwrap()
                    .get(&file)
                    .cloned()
                    .unwrap_or_default();
                let mut created = self.created.lock().unwrap();
                let id = format!("batch_{}", created.len() + 1);
                created.insert(id.clone(), ids);
                Reply::json(200, openai_batch(&id, "validating", None))
            }
            ("GET", p) if p.starts_with("/v1/batches/") => {
                let id = p.trim_start_matches("/v1/batches/");
                match (ended, self.ending) {
                    (false, _) => Reply::json(200, openai_batch(id, "in_progress", None)),
                    (true, Ending::Expired) => Reply::json(200, openai_batch(id, "expired", None)),
                    (true, _) => Reply::json(
                        200,
                        openai_batch(id, "completed", Some(&format!("file-out-{id}"))),
                    ),
                }
            }
            ("GET", p) if p.starts_with("/v1/files/file-out-") => {
                let id = p
                    .trim_start_matches("/v1/files/file-out-")
                    .trim_end_matches("/content");
                let ids = self.custom_ids(id);
                let lines: Vec<String> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, cid)| {
                        if i == 0 && self.ending == Ending::FirstErrored {
                            json!({"id": "batch_req_1", "custom_id": cid, "response": null,
                                "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
                        } else {
                            json!({"id": "batch_req_2", "custom_id": cid, "response": {"status_code": 200, "request_id": "req_1",
                                "body": {"id": "chatcmpl-batch", "object": "chat.completion", "created": 1_711_652_795,
                                    "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "message": {"role": "assistant",
                                    "content": batched_text(cid)}, "logprobs": null, "finish_reason": "stop"}],
                                    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150}}}, "error": null})
                        }
                        .to_string()
                    })
                    .collect();
                Reply::Full {
                    status: 200,
                    headers: vec![],
                    content_type: "application/octet-stream".into(),
                    body: lines.join("\n") + "\n",
                }
            }
            _ => default_reply(r),
        }
    }
}

fn anthropic_batch(id: &str, status: &str, results_url: Option<String>, n: usize) -> Value {
    let ended = status == "ended";
    json!({"id": id, "type": "message_batch", "processing_status": status,
        "request_counts": {"processing": if ended { 0 } else { n }, "succeeded": if ended { n } else { 0 },
            "errored": 0, "canceled": 0, "expired": 0},
        "ended_at": null, "created_at": "2024-09-24T18:37:24.100435Z", "expires_at": "2024-09-25T18:37:24.100435Z",
        "archived_at": null, "cancel_initiated_at": null, "results_url": results_url})
}

fn openai_batch(id: &str, status: &str, output: Option<&str>) -> Value {
    json!({"id": id, "object": "batch", "endpoint": "/v1/chat/completions", "errors": null,
        "input_file_id": "file-in1", "completion_window": "24h", "status": status,
        "output_file_id": output, "error_file_id": null, "created_at": 1_711_471_533,
        "request_counts": {"total": 2, "completed": 0, "failed": 0}, "metadata": null})
}

/// A host on the loopback server with `[batch_api]` on: one worker on `model`, and
/// prices that make every call cost something.
fn world(mock: &MockLlm, model: &str) -> Env {
    Env::on_mock_providers(
        mock,
        model,
        "[http]\nretry_base_ms = 50\n\
         [batch_api]\nenabled = true\ncollect_ms = 300\npoll_ms = 200\n\
         [budget.prices]\n\"anthropic/claude-sonnet-4-5\" = { input_per_mtok = 3.0, output_per_mtok = 15.0 }\n\
         \"openai/gpt-4o-mini\" = { input_per_mtok = 3.0, output_per_mtok = 15.0 }\n",
    )
}

fn task(env: &Env, id: &str) -> Value {
    env.api(&format!("/api/tasks/{id}"), None).1
}

fn finished(env: &Env, id: &str) -> Value {
    eventually(&format!("{id} to finish"), || {
        let t = task(env, id);
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    })
}

/// The custom ids a task's attempts would carry.
fn custom_id(id: &str, attempt: u32) -> String {
    format!("{id}-{attempt}")
}

/// Full price of 100 tokens in and 50 out at $3 / $15 per million: 1050 micro-dollars.
const FULL_MICROS: u64 = 1050;

#[test]
fn deferrable_tasks_go_out_as_one_anthropic_batch_and_are_charged_half_price() {
    let batches = Batches::new(Ending::Succeeded);
    let mock = batches.serve();
    let env = world(&mock, "anthropic/claude-sonnet-4-5");
    let host = env.start_with_env(&keys());
    let ids = file(
        &env,
        json!([
            { "title": "Summarise the week", "deferrable": true },
            { "title": "Draft the newsletter", "deferrable": true },
            { "title": "Answer the customer now" },
        ]),
    );
    // The task not filed as deferrable is a normal call.
    let normal = finished(&env, &ids[2]);
    assert_eq!(normal["status"], "completed", "{normal}\n{}", host.log());
    assert_eq!(normal["result"]["text"], "Hello from the mock");
    assert!(normal.get("batch").is_none(), "{normal}");
    let created = batches.first_created();
    let expected: BTreeSet<String> = [custom_id(&ids[0], 1), custom_id(&ids[1], 1)].into();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(
        created["msgbatch_1"]
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        expected
    );
    let create = &mock.requests_to("/v1/messages/batches")[0];
    assert_eq!(create.header("x-api-key"), Some(ANTHROPIC_KEY));
    let params = &create.json()["requests"][0]["params"];
    assert_eq!(params["model"], "claude-sonnet-4-5");
    assert!(
        params.get("tools").is_none() && params.get("stream").is_none(),
        "{params}"
    );
    // Until it ends, the tasks show the batch, and so does the status.
    let waiting = eventually("the batch id on the task", || {
        let t = task(&env, &ids[0]);
        (t["batch"]["state"] == "submitted").then_some(t)
    });
    assert_eq!(waiting["status"], "running");
    assert_eq!(waiting["batch"]["id"], "msgbatch_1");
    assert_eq!(waiting["batch"]["provider"], "provider-anthropic");
    let status = env.api("/api/status", None).1;
    assert_eq!(
        status["batch_api"]["batches"][0]["id"], "msgbatch_1",
        "{status}"
    );
    let shown = env.run(&["status"]);
    assert!(
        shown
            .ok()
            .contains("msgbatch_1 (provider-anthropic, 2 tasks)"),
        "{}",
        shown.ok()
    );
    batches.release.store(true, Ordering::SeqCst);
    for (i, id) in ids[..2].iter().enumerate() {
        let t = finished(&env, id);
        assert_eq!(t["status"], "completed", "{t}\n{}", host.log());
        assert_eq!(t["result"]["text"], batched_text(&custom_id(&ids[i], 1)));
        assert_eq!(t["result"]["input_tokens"], 100);
        assert_eq!(t["result"]["output_tokens"], 50);
        assert_eq!(t["result"]["cost_micros"], FULL_MICROS / 2, "{t}");
        assert_eq!(t["attempts"], 1);
    }
    // The normal call went to /v1/messages once; the batched tasks never did.
    assert_eq!(mock.requests_to("/v1/messages").len(), 1);
    assert_eq!(
        normal["result"]["cost_micros"],
        11 * 3 + 4 * 15,
        "full price: {normal}"
    );
    let log = host.log();
    assert!(
        log.contains("batch submitted") && log.contains("batch ended"),
        "{log}"
    );
}

#[test]
fn a_task_added_deferrable_on_the_command_line_goes_out_in_a_batch() {
    let batches = Batches::new(Ending::Succeeded);
    let mock = batches.serve();
    let env = world(&mock, "anthropic/claude-sonnet-4-5");
    let _host = env.start_with_env(&keys());
    let added = env.run(&["task", "add", "Summarise the month", "--deferrable"]);
    let id = added.ok().trim().trim_start_matches("filed ").to_owned();
    let shown = env.run(&["task", "show", &id, "--json"]).json();
    assert_eq!(shown["deferrable"], true, "{shown}");
    let created = batches.first_created();
    assert_eq!(created["msgbatch_1"], [custom_id(&id, 1)]);
    batches.release.store(true, Ordering::SeqCst);
    let t = finished(&env, &id);
    assert_eq!(t["result"]["cost_micros"], FULL_MICROS / 2, "{t}");
    assert!(mock.requests_to("/v1/messages").is_empty());
}

#[test]
fn a_host_killed_mid_batch_polls_the_same_batch_after_its_restart() {
    let batches = Batches::new(Ending::Succeeded);
    let mock = batches.serve();
    let env = world(&mock, "anthropic/claude-sonnet-4-5");
    let host = env.start_with_env(&keys());
    let ids = file(
        &env,
        json!([
            { "title": "Index the archive", "deferrable": true },
            { "title": "Tag the old reports", "deferrable": true },
        ]),
    );
    eventually("the batch to be stored", || {
        ids.iter()
            .all(|id| task(&env, id)["batch"]["state"] == "submitted")
            .then_some(())
    });
    host.kill9();
    let polls_before = mock.requests_to("/v1/messages/batches/msgbatch_1").len();
    let host = env.start_with_env(&keys());
    eventually("the stored batch to be polled again", || {
        (mock.requests_to("/v1/messages/batches/msgbatch_1").len() > polls_before).then_some(())
    });
    let t = task(&env, &ids[0]);
    assert_eq!(t["status"], "running", "{t}\n{}", host.log());
    assert_eq!(t["batch"]["id"], "msgbatch_1");
    batches.release.store(true, Ordering::SeqCst);
    for id in &ids {
        let t = finished(&env, id);
        assert_eq!(t["status"], "completed", "{t}\n{}", host.log());
        assert_eq!(t["result"]["text"], batched_text(&custom_id(id, 1)));
        assert_eq!(t["attempts"], 1, "{t}");
    }
    assert_eq!(
        batches.created().len(),
        1,
        "no second batch: {:?}",
        batches.created()
    );
    assert_eq!(mock.requests_to("/v1/messages/batches").len(), 1);
    assert!(mock.requests_to("/v1/messages").is_empty());
}

#[test]
fn an_errored_openai_batch_request_falls_back_to_a_normal_call() {
    let batches = Batches::new(Ending::FirstErrored);
    let mock = batches.serve();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    let ids = file(
        &env,
        json!([
            { "title": "Classify the tickets", "deferrable": true },
            { "title": "Translate the FAQ", "deferrable": true },
        ]),
    );
    let created = batches.first_created();
    assert_eq!(created.len(), 1);
    let upload = &mock.requests_to("/v1/files")[0];
    assert_eq!(
        upload.header("authorization"),
        Some(format!("Bearer {OPENAI_KEY}").as_str())
    );
    assert!(
        upload
            .header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    batches.release.store(true, Ordering::SeqCst);
    let first = &created["batch_1"][0];
    for id in &ids {
        let t = finished(&env, id);
        assert_eq!(t["status"], "completed", "{t}\n{}", host.log());
        if &custom_id(id, 1) == first {
            // The errored one ran as a normal call, its batch attempt not counted.
            assert_eq!(t["result"]["text"], "Hello from the mock", "{t}");
            assert_eq!(t["batch"]["state"], "fell_back", "{t}");
            assert!(
                t["batch"]["reason"]
                    .as_str()
                    .unwrap()
                    .contains("completion window expired"),
                "{t}"
            );
            assert_eq!(t["attempts"], 2);
            assert_eq!(t["max_attempts"], 4);
        } else {
            assert_eq!(t["result"]["text"], batched_text(&custom_id(id, 1)));
            assert_eq!(t["result"]["cost_micros"], FULL_MICROS / 2);
        }
    }
    assert_eq!(mock.requests_to("/v1/chat/completions").len(), 1);
}

#[test]
fn an_expired_openai_batch_falls_back_to_normal_calls() {
    let batches = Batches::new(Ending::Expired);
    let mock = batches.serve();
    let env = world(&mock, "openai/gpt-4o-mini");
    let host = env.start_with_env(&keys());
    let ids = file(
        &env,
        json!([
            { "title": "Check the links", "priority": "low", "deferrable": true },
            { "title": "Spell-check the manual", "deferrable": true },
        ]),
    );
    eventually("the batch to be created", || {
        (!batches.created().is_empty()).then_some(())
    });
    batches.release.store(true, Ordering::SeqCst);
    for id in &ids {
        let t = finished(&env, id);
        assert_eq!(t["status"], "completed", "{t}\n{}", host.log());
        assert_eq!(t["result"]["text"], "Hello from the mock");
        assert_eq!(t["batch"]["state"], "fell_back");
        assert_eq!(
            t["result"]["cost_micros"],
            11 * 3 + 4 * 15,
            "full price: {t}"
        );
    }
    assert_eq!(mock.requests_to("/v1/chat/completions").len(), 2);
    assert_eq!(
        batches.created().len(),
        1,
        "the fallback is not batched again"
    );
}
