//! The executor against a real loopback server scripted per test, with a minimal
//! OpenAI-shaped provider called directly.

use super::*;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::Response;
use futures_util::StreamExt;
use hypernet_plugin_api::PluginError;
use hypernet_plugin_api::provider::{
    CompletionBuilder, Message, Prepared, ProviderInfo, SseEvent, StreamBatch, StreamDelta, Usage,
};
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Chat-completions JSON and chunks, nothing more.
pub(crate) struct MiniOpenAi;

impl Provider for MiniOpenAi {
    type Config = Value;

    fn start(_config: Value, _host: hypernet_plugin_api::Host) -> Result<Self, PluginError> {
        Ok(MiniOpenAi)
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec!["mini/".into()],
            local: false,
            simulated: false,
        }
    }

    fn prepare(&mut self, _request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        Err(ProviderError::BadRequest {
            message: "the tests build their requests".into(),
        })
    }

    fn parse_response(
        &mut self,
        _request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        let v: Value =
            serde_json::from_str(&response.body).map_err(|e| ProviderError::Malformed {
                message: e.to_string(),
            })?;
        let mut b = CompletionBuilder::new(v["model"].as_str().unwrap_or_default());
        b.push(StreamDelta::Text {
            text: v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap_or_default()
                .into(),
        });
        b.push(usage(&v["usage"]));
        b.finish()
    }

    fn parse_stream_event(&mut self, event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        if event.data == "[DONE]" {
            return Ok(Vec::new());
        }
        let v: Value = serde_json::from_str(&event.data).map_err(|e| ProviderError::Malformed {
            message: e.to_string(),
        })?;
        if v.get("error").is_some() {
            return Err(ProviderError::Overloaded {
                message: v["error"]["message"].as_str().unwrap_or_default().into(),
                retry_after_ms: None,
            });
        }
        let mut out = Vec::new();
        if let Some(text) = v["choices"][0]["delta"]["content"].as_str() {
            out.push(StreamDelta::Text { text: text.into() });
        }
        if v["usage"].is_object() {
            out.push(usage(&v["usage"]));
        }
        Ok(out)
    }
}

fn usage(v: &Value) -> StreamDelta {
    StreamDelta::Usage {
        usage: Usage {
            input_tokens: v["prompt_tokens"].as_u64().unwrap_or(0),
            output_tokens: v["completion_tokens"].as_u64().unwrap_or(0),
            ..Usage::default()
        },
    }
}

/// One scripted answer.
enum Reply {
    Json(&'static str),
    Status(u16, Vec<(&'static str, String)>, &'static str),
    Sse(Vec<&'static str>),
    /// These events, then a cut connection.
    SseThenCut(Vec<&'static str>),
    /// These events, then silence.
    SseThenStall(Vec<&'static str>),
    Slow(Duration),
    CutMidBody,
}

fn ok_json() -> Reply {
    Reply::Json(
        r#"{"id":"chatcmpl-1","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#,
    )
}

#[derive(Default)]
struct Server {
    script: Mutex<VecDeque<Reply>>,
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    /// Delay of the default answer (when the script is empty).
    default_delay_ms: AtomicUsize,
}

struct InFlight(Arc<Server>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(server: Arc<Server>) -> Response {
    server.requests.fetch_add(1, Ordering::SeqCst);
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let _guard = InFlight(server.clone());
    let reply = server.script.lock().unwrap().pop_front();
    let reply = match reply {
        Some(r) => r,
        None => {
            let ms = server.default_delay_ms.load(Ordering::SeqCst) as u64;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ok_json()
        }
    };
    let builder = Response::builder();
    match reply {
        Reply::Json(body) => builder
            .header("content-type", "application/json")
            .body(Body::from(body)),
        Reply::Status(status, headers, body) => {
            let mut b = builder.status(StatusCode::from_u16(status).unwrap());
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from(body))
        }
        Reply::Sse(chunks) => {
            let stream = futures_util::stream::iter(chunks).then(|c| async move {
                tokio::time::sleep(Duration::from_millis(2)).await;
                Ok::<_, std::io::Error>(Bytes::from(c))
            });
            builder
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
        }
        Reply::SseThenCut(chunks) => {
            let stream = futures_util::stream::iter(chunks.into_iter().map(Some).chain([None]))
                .then(|c| async move {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    c.map(Bytes::from)
                        .ok_or_else(|| std::io::Error::other("connection cut"))
                });
            builder
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
        }
        Reply::SseThenStall(chunks) => {
            let stream = futures_util::stream::iter(chunks.into_iter().map(Some).chain([None]))
                .then(|c| async move {
                    match c {
                        Some(c) => Ok::<_, std::io::Error>(Bytes::from(c)),
                        None => {
                            tokio::time::sleep(Duration::from_secs(30)).await;
                            Ok(Bytes::new())
                        }
                    }
                });
            builder
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(stream))
        }
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            return handle_default();
        }
        Reply::CutMidBody => {
            // The pause lets the head and the partial body reach the client before the cut.
            let stream = futures_util::stream::iter([true, false]).then(|first| async move {
                if first {
                    Ok(Bytes::from_static(b"{\"choices\":["))
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Err(std::io::Error::other("connection cut"))
                }
            });
            builder
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
        }
    }
    .unwrap()
}

fn handle_default() -> Response {
    let Reply::Json(body) = ok_json() else {
        unreachable!()
    };
    Response::new(Body::from(body))
}

async fn serve(script: Vec<Reply>) -> (SocketAddr, Arc<Server>) {
    let server = Arc::new(Server {
        script: Mutex::new(script.into()),
        ..Server::default()
    });
    let state = server.clone();
    let app = axum::Router::new().fallback(move || handle(state.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, server)
}

fn config() -> HttpConfig {
    HttpConfig {
        retry_base_ms: 1,
        retry_max_ms: 5_000,
        request_timeout_ms: 5_000,
        ..HttpConfig::default()
    }
}

fn request(stream: bool) -> CompletionRequest {
    let mut r = CompletionRequest::new("gpt-4o-mini", vec![Message::user("hi")]);
    r.stream = stream;
    r
}

fn http(addr: SocketAddr) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("http://{addr}/v1/chat/completions"),
        headers: vec![("authorization".into(), "Bearer sk-test".into())],
        body: "{}".into(),
    }
}

async fn call(
    config: &HttpConfig,
    addr: SocketAddr,
    stream: bool,
) -> Result<Completion, CallError> {
    let exec = HttpExecutor::new(config).unwrap();
    let ops = LocalProvider::new(MiniOpenAi);
    exec.complete("mini", &ops, &request(stream), &http(addr), None)
        .await
}

#[tokio::test]
async fn plain_json_is_parsed() {
    let (addr, server) = serve(vec![ok_json()]).await;
    let c = call(&config(), addr, false).await.unwrap();
    assert_eq!(c.text, "Hello there");
    assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (12, 3));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (addr, server) = serve(vec![
        Reply::Status(429, vec![("retry-after-ms", "300".into())], "slow down"),
        ok_json(),
    ])
    .await;
    let started = Instant::now();
    let c = call(&config(), addr, false).await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(c.text, "Hello there");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_000), "{elapsed:?}");
}

#[tokio::test]
async fn overloaded_and_server_errors_are_retried() {
    let (addr, server) = serve(vec![
        Reply::Status(529, vec![], "overloaded"),
        Reply::Status(500, vec![], "oops"),
        Reply::Status(502, vec![], "bad gateway"),
        ok_json(),
    ])
    .await;
    let c = call(&config(), addr, false).await.unwrap();
    assert_eq!(c.text, "Hello there");
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn gives_up_after_max_retries_within_the_backoff_ceilings() {
    let script = (0..10)
        .map(|_| Reply::Status(503, vec![], "unavailable"))
        .collect();
    let (addr, server) = serve(script).await;
    let config = HttpConfig {
        max_retries: 3,
        retry_base_ms: 40,
        ..config()
    };
    let started = Instant::now();
    let e = call(&config, addr, false).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            e,
            CallError::Provider(ProviderError::Server { status: 503, .. })
        ),
        "{e:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    // Full jitter waits below 40 + 80 + 160 ms in total.
    assert!(elapsed < Duration::from_millis(280 + 500), "{elapsed:?}");
}

#[tokio::test]
async fn non_retryable_errors_return_at_once() {
    let (addr, server) = serve(vec![
        Reply::Status(
            401,
            vec![],
            r#"{"error":{"message":"Incorrect API key","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        ),
        ok_json(),
    ])
    .await;
    let e = call(&config(), addr, false).await.unwrap_err();
    match e {
        CallError::Provider(ProviderError::Auth { message }) => {
            assert!(message.contains("Incorrect API key"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_is_not_waited() {
    let (addr, server) = serve(vec![
        Reply::Status(429, vec![("retry-after", "60".into())], "later"),
        ok_json(),
    ])
    .await;
    let config = HttpConfig {
        retry_max_ms: 1_000,
        ..config()
    };
    let started = Instant::now();
    let e = call(&config, addr, false).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(
        e,
        CallError::Provider(ProviderError::RateLimited {
            message: "later".into(),
            retry_after_ms: Some(60_000)
        })
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_retry_after_date_is_honoured() {
    let when = std::time::SystemTime::now() + Duration::from_secs(2);
    let (addr, server) = serve(vec![
        Reply::Status(503, vec![], "unavailable"),
        Reply::Status(
            429,
            vec![("retry-after", httpdate::fmt_http_date(when))],
            "later",
        ),
        ok_json(),
    ])
    .await;
    let started = Instant::now();
    call(&config(), addr, false).await.unwrap();
    // The date has a one-second resolution.
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

const STREAM: [&str; 6] = [
    "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
    ": keep-alive\r\n\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel",
    "lo\"}}]}\r\n",
    "\r\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"}}]}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n",
    "data: [DONE]\n\n",
];

#[tokio::test]
async fn a_stream_split_anywhere_is_folded() {
    let (addr, server) = serve(vec![Reply::Sse(STREAM.to_vec())]).await;
    let c = call(&config(), addr, true).await.unwrap();
    assert_eq!(c.text, "Hello world");
    assert_eq!((c.usage.input_tokens, c.usage.output_tokens), (9, 2));
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_error_event_before_any_text_is_retried_from_scratch() {
    let (addr, server) = serve(vec![
        Reply::Sse(vec!["data: {\"error\":{\"message\":\"Overloaded\"}}\n\n"]),
        Reply::Sse(STREAM.to_vec()),
    ])
    .await;
    let c = call(&config(), addr, true).await.unwrap();
    assert_eq!(c.text, "Hello world");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_error_event_after_text_ends_the_call() {
    let (addr, server) = serve(vec![
        Reply::Sse(vec![
            STREAM[1],
            STREAM[2],
            "\ndata: {\"error\":{\"message\":\"Overloaded\"}}\n\n",
        ]),
        Reply::Sse(STREAM.to_vec()),
    ])
    .await;
    let e = call(&config(), addr, true).await.unwrap_err();
    assert!(
        matches!(e, CallError::Provider(ProviderError::Overloaded { .. })),
        "{e:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stream_cut_after_text_is_a_network_error_not_retried() {
    let (addr, server) = serve(vec![
        Reply::SseThenCut(vec![STREAM[0], STREAM[1], STREAM[2], STREAM[3]]),
        Reply::Sse(STREAM.to_vec()),
    ])
    .await;
    let e = call(&config(), addr, true).await.unwrap_err();
    assert!(
        matches!(e, CallError::Provider(ProviderError::Network { .. })),
        "{e:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stream_cut_before_any_text_is_retried() {
    let (addr, server) = serve(vec![
        Reply::SseThenCut(vec![STREAM[0]]),
        Reply::Sse(STREAM.to_vec()),
    ])
    .await;
    assert_eq!(
        call(&config(), addr, true).await.unwrap().text,
        "Hello world"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

/// Keeps every piece of text until told to let it out, and asks for that `hold` after the
/// first piece it holds.
struct Holding {
    hold: Duration,
    held: String,
    since: Option<Instant>,
    out: Vec<(String, Instant)>,
}

impl Holding {
    fn new(hold: Duration) -> Self {
        Holding {
            hold,
            held: String::new(),
            since: None,
            out: Vec::new(),
        }
    }
}

impl TextSink for Holding {
    fn text(&mut self, text: &str, now: Instant) {
        self.since.get_or_insert(now);
        self.held.push_str(text);
    }

    fn due(&self) -> Option<Instant> {
        self.since.map(|since| since + self.hold)
    }

    fn flush(&mut self, now: Instant) {
        self.since = None;
        if !self.held.is_empty() {
            self.out.push((std::mem::take(&mut self.held), now));
        }
    }
}

async fn call_into(
    config: &HttpConfig,
    addr: SocketAddr,
    stream: bool,
    sink: &mut Holding,
) -> Result<Completion, CallError> {
    let exec = HttpExecutor::new(config).unwrap();
    let ops = LocalProvider::new(MiniOpenAi);
    exec.complete("mini", &ops, &request(stream), &http(addr), Some(sink))
        .await
}

#[tokio::test]
async fn a_stalled_stream_times_out_after_letting_out_the_held_text() {
    // The text event completes with the blank line that opens STREAM[3].
    let (addr, server) = serve(vec![Reply::SseThenStall(STREAM[..4].to_vec())]).await;
    let config = HttpConfig {
        request_timeout_ms: 300,
        ..config()
    };
    let mut sink = Holding::new(Duration::from_millis(30));
    let started = Instant::now();
    let e = call_into(&config, addr, true, &mut sink).await.unwrap_err();
    let ended = Instant::now();
    assert!(ended - started < Duration::from_secs(3));
    assert!(
        matches!(&e, CallError::Provider(ProviderError::Network { message }) if message.contains("stalled")),
        "{e:?}"
    );
    // Text had arrived, so the call was not replayed.
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    // The held text went out while the stream was quiet, long before it was given up on.
    let texts: Vec<&str> = sink.out.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts.concat(), "Hello world", "{texts:?}");
    let (_, first_out) = sink.out[0];
    assert!(
        first_out < ended - Duration::from_millis(150),
        "let out {:?} after the start, the stall at {:?}",
        first_out - started,
        ended - started
    );
}

#[tokio::test]
async fn streamed_text_reaches_the_sink_and_is_let_out_at_the_end() {
    let (addr, _server) = serve(vec![Reply::Sse(STREAM.to_vec())]).await;
    let mut sink = Holding::new(Duration::from_secs(60));
    let c = call_into(&config(), addr, true, &mut sink).await.unwrap();
    let texts: Vec<&str> = sink.out.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(texts, [c.text.as_str()], "one piece, at the end");
}

#[tokio::test]
async fn a_json_answer_is_not_streamed_text() {
    let (addr, _server) = serve(vec![ok_json()]).await;
    let mut sink = Holding::new(Duration::ZERO);
    let c = call_into(&config(), addr, true, &mut sink).await.unwrap();
    assert_eq!(c.text, "Hello there");
    assert!(sink.out.is_empty(), "a JSON answer is not streamed");
}

#[tokio::test]
async fn the_concurrency_limit_is_never_exceeded() {
    let (addr, server) = serve(Vec::new()).await;
    server.default_delay_ms.store(20, Ordering::SeqCst);
    let config = HttpConfig {
        max_concurrent: 100,
        max_concurrent_for: [("mini".to_owned(), 4)].into(),
        ..config()
    };
    let exec = HttpExecutor::new(&config).unwrap();
    let ops = Arc::new(LocalProvider::new(MiniOpenAi));
    let calls = (0..100).map(|_| {
        let (exec, ops) = (exec.clone(), ops.clone());
        tokio::spawn(async move {
            exec.complete("mini", &*ops, &request(false), &http(addr), None)
                .await
        })
    });
    for c in futures_util::future::join_all(calls).await {
        assert_eq!(c.unwrap().unwrap().text, "Hello there");
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 100);
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 4);
    assert_eq!(exec.limits().available("mini"), 4);
}

#[tokio::test]
async fn a_slow_server_times_out_as_a_network_error() {
    let (addr, server) = serve(vec![Reply::Slow(Duration::from_secs(3))]).await;
    let config = HttpConfig {
        request_timeout_ms: 200,
        max_retries: 0,
        ..config()
    };
    let started = Instant::now();
    let e = call(&config, addr, false).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1_500));
    assert!(
        matches!(&e, CallError::Provider(ProviderError::Network { message }) if message.contains("no response")),
        "{e:?}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let (addr, server) = serve(vec![Reply::Slow(Duration::from_secs(3)), ok_json()]).await;
    let config = HttpConfig {
        request_timeout_ms: 200,
        ..config()
    };
    assert_eq!(
        call(&config, addr, false).await.unwrap().text,
        "Hello there"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_a_network_error() {
    let (addr, _server) = serve(vec![Reply::CutMidBody]).await;
    let config = HttpConfig {
        max_retries: 0,
        ..config()
    };
    let e = call(&config, addr, false).await.unwrap_err();
    assert!(
        matches!(&e, CallError::Provider(ProviderError::Network { message }) if message.contains("body")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = HttpConfig {
        max_retries: 1,
        ..config()
    };
    let e = call(&config, addr, false).await.unwrap_err();
    assert!(
        matches!(&e, CallError::Provider(ProviderError::Network { message }) if message.contains("connect")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_cancelled_call_releases_its_slot() {
    let (addr, server) = serve(vec![Reply::Slow(Duration::from_secs(30))]).await;
    let config = HttpConfig {
        max_concurrent: 1,
        ..config()
    };
    let exec = HttpExecutor::new(&config).unwrap();
    let ops = Arc::new(LocalProvider::new(MiniOpenAi));
    let task = {
        let (exec, ops) = (exec.clone(), ops.clone());
        tokio::spawn(async move {
            exec.complete("mini", &*ops, &request(false), &http(addr), None)
                .await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.requests.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "the request never arrived");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(exec.limits().available("mini"), 0);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_eq!(exec.limits().available("mini"), 1);
    // The slot is usable: the next call goes through at once.
    let c = tokio::time::timeout(
        Duration::from_secs(2),
        exec.complete("mini", &*ops, &request(false), &http(addr), None),
    )
    .await
    .expect("the slot was not released")
    .unwrap();
    assert_eq!(c.text, "Hello there");
}

#[tokio::test]
async fn send_once_does_not_retry() {
    let (addr, server) = serve(vec![Reply::Status(503, vec![], "down"), ok_json()]).await;
    let exec = HttpExecutor::new(&config()).unwrap();
    let r = exec
        .send_once(&http(addr), Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Whether a callsite logs is cached process-wide, and another test's thread can register
/// a callsite as silent at the moment this test installs its subscriber. So the test runs
/// alone, in a child process of this same test binary.
#[test]
fn retries_are_logged_with_their_fields_and_never_the_key() {
    const ALONE: &str = "HYPERNET_LLM_LOG_TEST_ALONE";
    let name = "tests::retries_are_logged_with_their_fields_and_never_the_key";
    if std::env::var_os(ALONE).is_some() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(retries_are_logged());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--test-threads=1"])
        .env(ALONE, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn retries_are_logged() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (addr, _server) = serve(vec![
        Reply::Status(529, vec![("retry-after-ms", "10".into())], "overloaded"),
        ok_json(),
    ])
    .await;
    call(&config(), addr, false).await.unwrap();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("retrying model call"), "{log}");
    for field in ["provider=\"mini\"", "attempt=1", "status=529", "wait_ms=10"] {
        assert!(log.contains(field), "{field} missing from {log}");
    }
    assert!(!log.contains("sk-test"), "the key was logged: {log}");
    assert!(!log.contains("authorization"), "a header was logged: {log}");
}

/// [`LocalProvider`] that records the size of every batch of events it is handed.
struct Counting {
    inner: LocalProvider<MiniOpenAi>,
    batches: Mutex<Vec<usize>>,
}

impl ProviderOps for Counting {
    async fn parse_response(
        &self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Result<Completion, ProviderError>, String> {
        self.inner.parse_response(request, response).await
    }

    async fn parse_stream_text(&self, text: &str) -> Result<StreamBatch, String> {
        self.batches.lock().unwrap().push(sse::events(text).len());
        self.inner.parse_stream_text(text).await
    }

    async fn classify_error(&self, response: &HttpResponse) -> Result<ProviderError, String> {
        self.inner.classify_error(response).await
    }
}

#[tokio::test]
async fn stream_events_reach_the_provider_in_few_batches() {
    // 40 words, each event written on its own a few milliseconds apart (Reply::Sse).
    let words: Vec<String> = (0..40).map(|i| format!("w{i} ")).collect();
    let mut chunks: Vec<&'static str> = words
        .iter()
        .map(|w| {
            let event = format!(
                "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{w}\"}}}}]}}\n\n"
            );
            &*Box::leak(event.into_boxed_str())
        })
        .collect();
    chunks.push("data: [DONE]\n\n");
    let (addr, _server) = serve(vec![Reply::Sse(chunks)]).await;
    let exec = HttpExecutor::new(&config()).unwrap();
    let ops = Counting {
        inner: LocalProvider::new(MiniOpenAi),
        batches: Mutex::new(Vec::new()),
    };
    let mut sink = Holding::new(Duration::from_millis(1));
    let c = exec
        .complete("mini", &ops, &request(true), &http(addr), Some(&mut sink))
        .await
        .unwrap();
    assert_eq!(c.text, words.concat());
    let batches = ops.batches.into_inner().unwrap();
    assert_eq!(
        batches.iter().sum::<usize>(),
        41,
        "every event parsed once: {batches:?}"
    );
    let shown: String = sink.out.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        shown + &sink.held,
        c.text,
        "the sink saw all the text, in order"
    );
    assert!(
        batches.len() <= 41 / 4,
        "one provider call per event or close to it: {batches:?}"
    );
}
