//! `GET /api/events`: the WebSocket stream of host events, against the real binary and
//! provider-sim: a task's lifecycle in order, kind filters, `?after=` resumption and the
//! token requirement; and, with provider-openai against the loopback mock LLM, a streamed
//! answer's text as `task.output` deltas.

use crate::util::SIM;
use futures_util::StreamExt;
use hypernet_integration::mock_llm::{MockLlm, Reply};
use hypernet_integration::{Env, eventually};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The running host's `ws://` base address.
fn ws_base(env: &Env) -> String {
    format!("ws://{}", env.api_addr())
}

/// Connects with the token in the `Authorization` header.
async fn connect(env: &Env, query: &str) -> Socket {
    let mut request = format!("{}/api/events{query}", ws_base(env))
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", env.token()).parse().expect("header"),
    );
    connect_async(request).await.expect("connect").0
}

/// The next event, or `None` when nothing arrives within `wait`.
async fn next_event(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let frame = tokio::time::timeout(wait, socket.next()).await.ok()??;
        match frame.expect("frame") {
            Message::Text(text) => return Some(serde_json::from_str(&text).expect("JSON event")),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// Whether nothing more arrives for a while.
async fn stays_quiet(socket: &mut Socket) -> bool {
    next_event(socket, Duration::from_millis(300))
        .await
        .is_none()
}

/// Events until the task's `task.completed` (inclusive).
async fn until_completed(socket: &mut Socket, task: &Value) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(socket, Duration::from_secs(20))
            .await
            .unwrap_or_else(|| panic!("no task.completed; saw {seen:?}"));
        let done = event["kind"] == "task.completed" && event["payload"]["id"] == *task;
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn ids(events: &[Value]) -> Vec<u64> {
    events
        .iter()
        .map(|e| e["id"].as_u64().expect("id"))
        .collect()
}

fn file(env: &Env, title: &str) -> Value {
    let (code, body) = env.api("/api/tasks", Some(&json!({ "title": title })));
    assert_eq!(code, 200, "{body}");
    body["id"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_streams_in_order_filters_by_kind_and_resumes_after_an_id() {
    let env = Env::new();
    env.manifest(SIM);
    let host = env.start();
    let mut all = connect(&env, "").await;
    let mut tasks_only = connect(&env, "?kinds=task.,budget.").await;
    let mut plugins_only = connect(&env, "?kinds=plugin.").await;

    let task = file(&env, "Stream me");
    let everything = until_completed(&mut all, &task).await;
    let filtered = until_completed(&mut tasks_only, &task).await;

    let mine: Vec<&Value> = filtered
        .iter()
        .filter(|e| e["payload"]["id"] == task)
        .collect();
    assert_eq!(
        mine[0]["kind"],
        "task.created",
        "{filtered:?}\n{}",
        host.log()
    );
    assert_eq!(mine.last().unwrap()["kind"], "task.completed");
    for event in &filtered {
        let kind = event["kind"].as_str().unwrap();
        assert!(
            kind.starts_with("task.") || kind.starts_with("budget."),
            "{kind}"
        );
        assert_eq!(event["source"], "host");
        assert!(event["at_ms"].as_u64().unwrap() > 0);
        assert!(event["payload"].is_object());
    }
    let in_order = ids(&filtered);
    assert!(in_order.windows(2).all(|w| w[0] < w[1]), "{in_order:?}");
    let unfiltered_ids = ids(&everything);
    assert!(
        in_order.iter().all(|id| unfiltered_ids.contains(id)),
        "the filter only drops events"
    );
    assert!(
        stays_quiet(&mut plugins_only).await,
        "no plugin events were published, so a plugin-only stream stays quiet"
    );
    assert!(
        filtered.iter().all(|e| e["kind"] != "task.output"),
        "the simulated provider does not stream, so no output deltas: {filtered:?}"
    );

    // A client that saw only `task.created` reconnects and gets exactly what it missed.
    let created = in_order[0];
    let missed = &filtered[1..];
    let mut resumed = connect(&env, &format!("?kinds=task.,budget.&after={created}")).await;
    let mut replayed = Vec::new();
    while replayed.len() < missed.len() {
        let event = next_event(&mut resumed, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("replay stopped after {replayed:?}"));
        replayed.push(event);
    }
    assert_eq!(ids(&replayed), ids(missed));
    assert_eq!(replayed, missed);
    assert!(stays_quiet(&mut resumed).await, "nothing twice");

    // …and then continues live, with the token in the query string this time.
    let url = format!(
        "{}/api/events?token={}&kinds=task.&after={}",
        ws_base(&env),
        env.token(),
        in_order.last().unwrap()
    );
    let (mut by_query, _) = connect_async(url).await.expect("token in the query");
    let second = file(&env, "Stream me too");
    let live = until_completed(&mut by_query, &second).await;
    assert_eq!(live[0]["kind"], "task.created");
    assert_eq!(live[0]["payload"]["id"], second);
    drop(host);
}

#[tokio::test]
async fn the_stream_needs_the_token() {
    let env = Env::new();
    env.manifest(SIM);
    let _host = env.start();
    let base = ws_base(&env);
    for url in [
        format!("{base}/api/events"),
        format!("{base}/api/events?token=wrong"),
    ] {
        match connect_async(url.as_str()).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 401, "{url}"),
            Err(other) => panic!("{url}: {other}"),
            Ok(_) => panic!("{url} was accepted without the token"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_answer_arrives_as_ordered_deltas_that_add_up_to_the_result() {
    let mock = MockLlm::start();
    // Forty small pieces 15 ms apart, with one larger than a coalesced delta in the middle.
    let long = "lorem ipsum ".repeat(60);
    let mut pieces: Vec<String> = (0..40).map(|i| format!("word{i} ")).collect();
    pieces.insert(20, long);
    let refs: Vec<&str> = pieces.iter().map(String::as_str).collect();
    mock.script(
        "/v1/chat/completions",
        [Reply::openai_stream_text(&refs, 11, 41).paced(Duration::from_millis(15))],
    );
    let env = Env::new();
    let host = env.start_on_openai_mock(&mock);
    let mut output = connect(&env, "?kinds=task.output").await;

    let task = file(&env, "Write at length");
    let done = eventually("the task to finish", || {
        let t = env.api(&format!("/api/tasks/{}", task.as_str()?), None).1;
        matches!(t["status"].as_str(), Some("completed" | "failed")).then_some(t)
    });
    assert_eq!(done["status"], "completed", "{done}\n{}", host.log());
    let text = done["result"]["text"].as_str().expect("result text");
    assert_eq!(text, pieces.concat());

    // Every delta was announced before the task completed.
    let mut deltas = Vec::new();
    let mut joined = String::new();
    while joined.len() < text.len() {
        let event = next_event(&mut output, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("deltas stopped at {joined:?}"));
        joined.push_str(event["payload"]["delta"].as_str().expect("delta"));
        deltas.push(event);
    }
    assert_eq!(joined, text);
    assert!(
        stays_quiet(&mut output).await,
        "nothing after the last delta"
    );
    for (n, event) in deltas.iter().enumerate() {
        assert_eq!(event["kind"], "task.output");
        let payload = &event["payload"];
        assert_eq!(payload["task"], task);
        assert_eq!(payload["worker"], "Coder");
        assert_eq!(payload["model"], "openai/gpt-4o-mini");
        assert_eq!(payload["seq"], n as u64, "contiguous from 0: {deltas:?}");
    }
    let in_order = ids(&deltas);
    assert!(in_order.windows(2).all(|w| w[0] < w[1]), "{in_order:?}");
    assert!(
        deltas.len() >= 2 && deltas.len() < pieces.len() / 2,
        "coalesced, yet shown as it came: {} deltas for {} pieces",
        deltas.len(),
        pieces.len()
    );
}
