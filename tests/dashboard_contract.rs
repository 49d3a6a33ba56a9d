//! The dashboard against the API contract it is written for, served by a small loopback
//! stand-in (the page's own files, as the host serves them): paged listings, the graph
//! route, hourly worker figures, budget history, the approval queue, the messages between
//! workers, and a stream carrying
//! `task.output`.
//! The host grows into this contract; the page must use all of it without a fault.
//! The test has the machine alone ([`alone`]): a browser is a dozen processes.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hypernet_integration::browser::Browser;
use hypernet_integration::turn::alone;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const INDEX: &str = include_str!("../host/api/assets/dashboard/index.html");
const APP_JS: &str = include_str!("../host/api/assets/dashboard/app.js");
const APP_CSS: &str = include_str!("../host/api/assets/dashboard/app.css");
const POLICY: &str = "default-src 'self'; connect-src 'self' ws:; script-src 'self'; style-src 'self'; img-src 'self' data:";
const TOKEN: &str = "contract-token";
const HOUR: u64 = 3_600_000;

/// What the stand-in holds and what it was asked.
#[derive(Default)]
struct Contract {
    tasks: Vec<Value>,
    requests: Vec<String>,
}

type Shared = Arc<Mutex<Contract>>;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// 600 tasks, newest last: 500 completed, then failed, cancelled, ready, blocked, running
/// and pending ones; T-595 waits on T-590, which waits on T-500.
fn tasks() -> Vec<Value> {
    let now = now_ms();
    (1..=600u64)
        .map(|n| {
            let status = match n {
                1..=500 => "completed",
                501..=520 => "failed",
                521..=540 => "cancelled",
                541..=580 => "ready",
                581..=590 => "blocked",
                591..=596 => "running",
                _ => "pending",
            };
            let depends_on = match n {
                595 => json!(["T-590"]),
                590 => json!(["T-500"]),
                _ => json!([]),
            };
            let finished = matches!(status, "completed" | "failed" | "cancelled");
            let priority = ["low", "normal", "high", "critical"][(n % 4) as usize];
            json!({
                "id": format!("T-{n}"),
                "title": format!("Contract task {n}"),
                "description": "",
                "priority": priority,
                "tags": ["contract"],
                "status": status,
                "worker": if status == "running" { json!("Trace") } else { Value::Null },
                "model": "sim/default",
                "attempts": 1,
                "max_attempts": 3,
                "error": if status == "failed" { json!("server error 503") } else { Value::Null },
                "result": if status == "completed" {
                    json!({"text": "done", "model": "sim/default", "input_tokens": 10, "output_tokens": 20, "cost_micros": 30})
                } else { Value::Null },
                "depends_on": depends_on,
                "created_ms": now - (600 - n) * 1000,
                "started_ms": now - (600 - n) * 900,
                "finished_ms": if finished { json!(now - (600 - n) * 800) } else { Value::Null },
            })
        })
        .collect()
}

fn page(items: Vec<Value>, q: &HashMap<String, String>) -> Value {
    let offset: usize = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|v| v.parse().ok()).unwrap_or(100);
    let total = items.len();
    let items: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    json!({ "items": items, "total": total, "offset": offset, "limit": limit })
}

fn note(state: &Shared, line: String) {
    state.lock().unwrap().requests.push(line);
}

async fn list_tasks(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let mut query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    query.sort();
    note(&state, format!("/api/tasks?{}", query.join("&")));
    let wanted: Vec<String> = q
        .get("status")
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let mut items: Vec<Value> = state
        .lock()
        .unwrap()
        .tasks
        .iter()
        .filter(|t| wanted.is_empty() || wanted.iter().any(|s| t["status"] == s.as_str()))
        .cloned()
        .collect();
    items.reverse();
    Json(page(items, &q))
}

fn find(state: &Shared, id: &str) -> Option<Value> {
    state
        .lock()
        .unwrap()
        .tasks
        .iter()
        .find(|t| t["id"] == id)
        .cloned()
}

async fn show_task(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match find(&state, &id) {
        Some(task) => Json(task).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"code": "not_found", "message": format!("no task {id}")}})),
        )
            .into_response(),
    }
}

/// The graph carries a node the page cannot know from its tasks, to show it was used.
async fn graph(State(state): State<Shared>, Path(id): Path<String>) -> Json<Value> {
    note(&state, format!("/api/tasks/{id}/graph"));
    Json(json!({
        "task": id,
        "nodes": [
            {"id": "T-900", "title": "Known only to the graph", "status": "completed", "worker": null, "depends_on": []},
            {"id": id, "title": "The selected task", "status": "blocked", "worker": null, "depends_on": ["T-900"]},
        ],
        "edges": [{"from": "T-900", "to": id}],
    }))
}

fn worker(name: &str, busy: bool) -> Value {
    json!({
        "name": name, "address": format!("2.1.{}", name.to_lowercase()), "role": "engineer",
        "model": "sim/default", "current_task": if busy { json!("T-591") } else { Value::Null },
        "next_task": null,
        "stats": {"tasks_done": 40, "tasks_failed": 4, "tokens": 12000, "cost_micros": 4500, "last_active_ms": now_ms()},
    })
}

async fn show_worker(Path(name): Path<String>) -> Json<Value> {
    let this_hour = now_ms() / HOUR * HOUR;
    let hourly: Vec<Value> = (0..24u64)
        .map(|i| json!({"hour_ms": this_hour - (23 - i) * HOUR, "completed": i % 5, "failed": i % 2, "tokens": i * 100, "cost_micros": i * 10}))
        .collect();
    let mut w = worker(&name, name == "Trace");
    w["hourly"] = json!(hourly);
    Json(w)
}

async fn events(upgrade: WebSocketUpgrade, Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("token").map(String::as_str) != Some(TOKEN) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    upgrade.on_upgrade(stream)
}

async fn stream(mut socket: WebSocket) {
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at = now_ms();
    let events = [
        json!({"id": 1, "kind": "task.created", "source": "host", "at_ms": at,
               "payload": {"id": "T-601", "title": "Arrived by event", "priority": "high", "tags": ["x"], "depends_on": [], "filed_by": "person"}}),
        json!({"id": 2, "kind": "task.output", "source": "host", "at_ms": at,
               "payload": {"task": "T-591", "worker": "Trace", "delta": "Streaming words "}}),
        json!({"id": 3, "kind": "task.output", "source": "host", "at_ms": at,
               "payload": {"task": "T-591", "worker": "Trace", "delta": "from the model"}}),
        json!({"id": 4, "kind": "task.running", "source": "host", "at_ms": at,
               "payload": {"id": "T-601", "from": "ready", "status": "running", "title": "Arrived by event", "tags": ["x"], "worker": "Keystone", "model": "sim/default", "attempt": 1}}),
    ];
    for event in events {
        if socket
            .send(Message::Text(event.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
    }
    while let Some(Ok(_)) = socket.recv().await {}
}

/// One request waiting on a person, and one approved and run.
fn approvals() -> Vec<Value> {
    let now = now_ms();
    vec![
        json!({
            "id": "AQ-0002", "task": "T-597", "worker": "Trace", "tool": "shell",
            "args": {"argv": ["make", "release"], "cwd": "x".repeat(400)},
            "reason": "`shell` needs a person's approval", "status": "pending",
            "created_ms": now - 60_000, "expires_ms": now + 20 * HOUR,
        }),
        json!({
            "id": "AQ-0001", "task": "T-590", "worker": "Keystone", "tool": "shell",
            "args": {"argv": ["echo", "hi"]}, "reason": "`shell` needs a person's approval",
            "status": "approved", "created_ms": now - 2 * HOUR, "expires_ms": now + 22 * HOUR,
            "decided_ms": now - HOUR, "decided_by": "person",
            "execution": {"state": "done", "ok": true, "output": "exit code 0\n"},
        }),
    ]
}

async fn list_approvals(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let mut query: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    query.sort();
    note(&state, format!("/api/approvals?{}", query.join("&")));
    let items = approvals()
        .into_iter()
        .filter(|a| q.get("status").is_none_or(|s| a["status"] == s.as_str()))
        .collect();
    Json(page(items, &q))
}

/// A page of messages between workers: a reply in the thread of a responded message, and
/// one nobody answers to.
fn worker_messages(q: &HashMap<String, String>) -> Value {
    let now = now_ms();
    let message = |id: &str, from: &str, to: &str, recipient: Value, thread: &str, status: &str| {
        json!({
            "id": id, "from": from, "to": to, "recipient": recipient, "thread": thread,
            "reply_to": if id == thread { Value::Null } else { json!(thread) },
            "body": format!("{id}: {}", "word ".repeat(60)), "status": status,
            "created_ms": now - 90_000, "updated_ms": now - 60_000,
        })
    };
    page(
        vec![
            message(
                "WM-000003",
                "Keystone",
                "2.1.nobody",
                Value::Null,
                "WM-000003",
                "sent",
            ),
            message(
                "WM-000002",
                "Trace",
                "Keystone",
                json!("Keystone"),
                "WM-000001",
                "read",
            ),
            message(
                "WM-000001",
                "Keystone",
                "trace",
                json!("Trace"),
                "WM-000001",
                "responded",
            ),
        ],
        q,
    )
}

/// Every decision is refused: the request was decided elsewhere meanwhile.
async fn decide(Path((id, _action)): Path<(String, String)>) -> Response {
    (
        StatusCode::CONFLICT,
        Json(json!({"error": {"code": "illegal_transition", "message": format!("{id} is already approved")}})),
    )
        .into_response()
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, kind), (CONTENT_SECURITY_POLICY, POLICY)],
        body,
    )
        .into_response()
}

fn stand_in(state: Shared) -> Router {
    let budget = json!({
        "daily_limit_micros": 20_000_000u64, "session_limit_micros": 5_000_000u64,
        "spent_today_micros": 6_000_000u64, "spent_session_micros": 1_000_000u64, "reserved_micros": 500_000u64,
        "paused": false, "next_reset_ms": now_ms() + 6 * HOUR,
        "per_model": {"anthropic/claude-sonnet-4-5": {"calls": 12, "input_tokens": 9000, "output_tokens": 3000, "cost_micros": 6_000_000u64}},
        "per_worker": {},
    });
    let cost = json!({
        "days": [{"date": "2026-11-23", "spent_micros": 6_000_000u64, "calls": 12, "per_category": {"work": 5_000_000u64, "identity": 1_000_000u64}, "saved_micros": 700_000}],
        "per_model": {}, "per_worker": {},
        "categories": [
            {"category": "identity", "today_micros": 1_000_000u64, "period_micros": 1_000_000u64, "target_micros": 500_000u64, "within_target": false},
            {"category": "work", "today_micros": 5_000_000u64, "period_micros": 5_000_000u64, "target_micros": 6_000_000u64, "within_target": true},
            {"category": "personal", "today_micros": 0, "period_micros": 0, "target_micros": null, "within_target": null},
            {"category": "boot", "today_micros": 0, "period_micros": 0, "target_micros": null, "within_target": null}
        ],
        "savings": [
            {"kind": "compact_prompts", "today_micros": 0, "period_micros": 0},
            {"kind": "caching", "today_micros": 900_000, "period_micros": 900_000},
            {"kind": "local_routing", "today_micros": 0, "period_micros": 0},
            {"kind": "batching", "today_micros": -200_000, "period_micros": -200_000},
            {"kind": "batch_api", "today_micros": 0, "period_micros": 0}
        ],
        "projection": {"today_micros": 6_000_000u64, "end_of_day_micros": 8_000_000u64, "month_to_date_micros": 30_000_000u64,
                       "end_of_month_micros": 90_000_000u64, "daily_limit_micros": 20_000_000u64, "within_limit": true},
        "headroom_target_micros": null,
    });
    let days: Vec<Value> = (0..14)
        .map(|d| json!({"day": format!("2026-11-{:02}", 10 + d), "cost_micros": (d + 1) * 1_500_000, "tokens": d * 1000, "tasks": d}))
        .collect();
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX) }))
        .route("/assets/app.js", get(|| async { asset("text/javascript", APP_JS) }))
        .route("/assets/app.css", get(|| async { asset("text/css", APP_CSS) }))
        .route("/api/health", get(|| async { Json(json!({"ok": true, "pid": 4242})) }))
        // Not in the contract, but served by every host: totals over all stored tasks.
        .route(
            "/api/summary",
            get(|| async {
                Json(json!({"by_status": {"completed": 500, "failed": 20, "cancelled": 20, "ready": 40, "blocked": 10, "running": 6, "pending": 4}}))
            }),
        )
        .route("/api/tasks", get(list_tasks).post(|| async { Json(json!({"id": "T-602", "created": true})) }))
        .route("/api/tasks/{id}", get(show_task))
        .route("/api/tasks/{id}/graph", get(graph))
        .route(
            "/api/status",
            get(|| async {
                Json(json!({
                    "tasks": {"completed": 500, "failed": 20, "cancelled": 20, "ready": 40, "blocked": 10, "running": 6, "pending": 4},
                    "workers": {"total": 2, "busy": 1}, "plugins": {"total": 1, "loaded": 1}, "uptime_ms": 90_000,
                }))
            }),
        )
        .route(
            "/api/workers",
            get(|| async { Json(json!({"items": [worker("Trace", true), worker("Keystone", false)], "total": 2, "offset": 0, "limit": 100})) }),
        )
        .route("/api/workers/{name}", get(show_worker))
        .route(
            "/api/plugins",
            get(|| async {
                Json(json!({"items": [{"name": "reputation", "version": "0.1.0", "state": "loaded", "kinds": ["subsystem"]}], "total": 1, "offset": 0, "limit": 100}))
            }),
        )
        .route("/api/plugins/{name}/{action}", post(|| async { Json(json!({})) }))
        .route("/api/budget", get(move || async move { Json(budget) }))
        .route("/api/budget/history", get(move || async move { Json(json!({ "days": days })) }))
        .route("/api/cost", get(move || async move { Json(cost) }))
        .route(
            "/api/failures",
            get(|State(state): State<Shared>, Query(q): Query<HashMap<String, String>>| async move {
                let mut failed: Vec<Value> =
                    state.lock().unwrap().tasks.iter().filter(|t| t["status"] == "failed").cloned().collect();
                failed.reverse();
                Json(page(failed, &q))
            }),
        )
        .route("/api/approvals", get(list_approvals))
        .route(
            "/api/bus",
            get(|Query(q): Query<HashMap<String, String>>| async move { Json(worker_messages(&q)) }),
        )
        .route("/api/approvals/{id}/{action}", post(decide))
        .route("/api/events", get(events))
        .with_state(state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_uses_the_whole_contract_without_a_fault() {
    let _alone = alone();
    let state: Shared = Arc::new(Mutex::new(Contract {
        tasks: tasks(),
        requests: Vec::new(),
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let app = stand_in(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let browser = Browser::launch().await;
    browser
        .open(&format!("http://{addr}/#token={TOKEN}"))
        .await
        .expect("open");
    browser
        .expect(
            "document.body.dataset.ready === '1' && document.body.dataset.live === '1'",
            Duration::from_secs(15),
            "live",
        )
        .await;

    // Counts come from the host's figures, beyond what is loaded: the finished column
    // counts 500 completed, 20 failed and 20 cancelled tasks.
    let count =
        |column: &str| format!("document.querySelector('.col-{column} .count').textContent");
    browser
        .expect(
            &format!("{} === '540'", count("finished")),
            Duration::from_secs(5),
            "540 finished",
        )
        .await;
    browser
        .expect(
            &format!("{} === '40'", count("ready")),
            Duration::from_secs(5),
            "40 ready",
        )
        .await;
    // Events: a task filed and started, and model output streaming to its worker's card.
    browser
        .expect(
            "document.querySelector('.col-running .task-row[data-task=\"T-601\"]') !== null",
            Duration::from_secs(5),
            "T-601 running",
        )
        .await;
    browser
        .expect(
            "document.querySelector('.worker[data-worker=\"Trace\"] .live')?.textContent.includes('from the model')",
            Duration::from_secs(5),
            "streamed output on the worker",
        )
        .await;
    // Hourly figures from the host: 24 bars of completed tasks, some with failures.
    let bars: usize = browser
        .eval("document.querySelectorAll('.worker[data-worker=\"Trace\"] .bar-ok').length")
        .await
        .unwrap();
    assert!(bars >= 15, "{bars} hourly bars");
    // Budget history: one bar per day, and the limit line.
    browser
        .expect(
            "document.querySelectorAll('#budget svg.history rect').length === 14",
            Duration::from_secs(5),
            "14 days",
        )
        .await;
    // Today's spend by category against the targets (one over), the month, the savings.
    browser
        .expect(
            "document.querySelector('#budget .cost-categories .badge.bad')?.textContent === 'identity $1.00 / $0.500' \
             && document.querySelector('#budget .cost-month')?.textContent === 'month $30.00 · ~$90.00 by its end' \
             && document.querySelector('#budget .cost-savings')?.textContent === 'saved today: caching $0.900 · batching -$0.200'",
            Duration::from_secs(5),
            "the cost lines",
        )
        .await;
    // The selected task's graph is the host's.
    browser
        .click(".task-row[data-task=\"T-595\"]")
        .await
        .unwrap();
    browser
        .expect(
            "document.querySelector('#detail [data-node=\"T-900\"]') !== null",
            Duration::from_secs(5),
            "the host's graph",
        )
        .await;
    // The running task shows its streamed output.
    browser
        .click(".task-row[data-task=\"T-591\"]")
        .await
        .unwrap();
    browser
        .expect(
            "document.querySelector('#detail .output.live')?.textContent === 'Streaming words from the model'",
            Duration::from_secs(5),
            "streamed output in the detail",
        )
        .await;
    // Scrolling the finished column to its end asks for the next page of its statuses.
    browser
        .eval::<f64>("document.querySelector('.col-finished .col-body').scrollTop = 1e9")
        .await
        .unwrap();
    let paged = || {
        state.lock().unwrap().requests.iter().any(|r| {
            r.contains("status=completed,failed,cancelled")
                && r.contains("offset=")
                && !r.contains("offset=0")
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !paged() {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            state.lock().unwrap().requests
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The approval queue: the pending request with its arguments cut short, the decided one.
    browser
        .expect(
            "document.querySelector('#approvals .pending [data-approval=\"AQ-0002\"] .args')?.textContent.endsWith('…') \
             && document.querySelector('#approvals .decided [data-approval=\"AQ-0001\"]')?.textContent.includes('ran ok') \
             && document.querySelector('#approvals-note').textContent === '1 pending'",
            Duration::from_secs(5),
            "the approval queue",
        )
        .await;
    // The bus panel: each message with its sender and recipient (or the address written),
    // the thread of a reply, and the text cut short.
    browser
        .expect(
            "document.querySelector('#bus [data-message=\"WM-000003\"] .who')?.textContent === 'Keystone → 2.1.nobody' \
             && document.querySelector('#bus [data-message=\"WM-000002\"] .note')?.textContent.startsWith('thread WM-000001 · ') \
             && document.querySelector('#bus [data-message=\"WM-000001\"] .body')?.textContent.endsWith('…') \
             && document.querySelector('#bus-note').textContent === '3'",
            Duration::from_secs(5),
            "the worker messages",
        )
        .await;
    let problems = browser.problems();
    assert!(problems.is_empty(), "{problems:?}");
    // A refused decision (last: the 409 is on the page's log) is shown in the panel.
    browser
        .click("#approvals [data-approval=\"AQ-0002\"] button[data-action=\"approve\"]")
        .await
        .unwrap();
    browser
        .expect(
            "document.querySelector('#approvals .refusal')?.textContent === 'Approve AQ-0002: AQ-0002 is already approved'",
            Duration::from_secs(5),
            "the host's refusal",
        )
        .await;
    browser.close().await;
    server.abort();
}
