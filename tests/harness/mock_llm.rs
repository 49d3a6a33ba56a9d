//! A loopback mock of the LLM APIs the provider plugins speak, for integration tests:
//! Anthropic `POST /v1/messages`, OpenAI `POST /v1/chat/completions` and `GET /v1/models`
//! (answered in Anthropic's shape when the request carries `anthropic-version`), as JSON
//! or server-sent events, following the documented wire formats.
//!
//! Each path has a script of [`Reply`]s consumed in order; when a path's script is empty
//! the mock answers a plain success (streamed when the request body asks for `stream`).
//! Every request is recorded (method, path, headers, body) for assertions.
//!
//! ```no_run
//! use hypernet_integration::mock_llm::{MockLlm, Reply};
//! let mock = MockLlm::start();
//! mock.script("/v1/chat/completions", [Reply::openai_error(429, "requests", "rate_limit_exceeded", "slow down").with_header("retry-after", "1"), Reply::openai_text("hi", 5, 1)]);
//! // ... point a provider at mock.openai_base_url() ...
//! assert_eq!(mock.requests().len(), 0);
//! ```

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request the mock received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, without the `?` (empty when there is none).
    pub query: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body text.
    pub body: String,
    /// When it arrived.
    pub received: Instant,
}

impl Recorded {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::first_header(&self.headers, name)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A whole response.
    Full {
        /// Status code.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// `content-type`.
        content_type: String,
        /// Body.
        body: String,
    },
    /// A 200 `text/event-stream` body sent as these chunks, `gap` apart.
    Sse {
        /// Raw chunks (cut anywhere).
        chunks: Vec<String>,
        /// Pause before each chunk.
        gap: Duration,
        /// Extra headers.
        headers: Vec<(String, String)>,
    },
    /// Waits, then answers.
    Delayed(Duration, Box<Reply>),
    /// Sends the headers and `partial` of the body with `status`, then breaks the
    /// connection.
    DropMidBody {
        /// Status code.
        status: u16,
        /// `content-type`.
        content_type: String,
        /// What arrives before the cut.
        partial: String,
    },
}

impl Reply {
    /// A JSON response.
    pub fn json(status: u16, body: Value) -> Reply {
        Reply::Full {
            status,
            headers: Vec::new(),
            content_type: "application/json".into(),
            body: body.to_string(),
        }
    }

    /// The same reply with one more header.
    pub fn with_header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Full {
                status,
                mut headers,
                content_type,
                body,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Full {
                    status,
                    headers,
                    content_type,
                    body,
                }
            }
            Reply::Sse {
                chunks,
                gap,
                mut headers,
            } => {
                headers.push((name.into(), value.into()));
                Reply::Sse {
                    chunks,
                    gap,
                    headers,
                }
            }
            Reply::Delayed(delay, inner) => {
                Reply::Delayed(delay, Box::new(inner.with_header(name, value)))
            }
            other @ Reply::DropMidBody { .. } => other,
        }
    }

    /// This reply after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }

    /// An event stream of these chunks.
    pub fn sse(chunks: Vec<String>) -> Reply {
        Reply::Sse {
            chunks,
            gap: Duration::from_millis(1),
            headers: Vec::new(),
        }
    }

    /// The same event stream with `gap` before each chunk (other replies are unchanged).
    pub fn paced(self, gap: Duration) -> Reply {
        match self {
            Reply::Sse {
                chunks, headers, ..
            } => Reply::Sse {
                chunks,
                gap,
                headers,
            },
            Reply::Delayed(delay, inner) => Reply::Delayed(delay, Box::new(inner.paced(gap))),
            other => other,
        }
    }

    /// A connection that breaks after `partial` of a 200 JSON body.
    pub fn drop_mid_body(partial: &str) -> Reply {
        Reply::DropMidBody {
            status: 200,
            content_type: "application/json".into(),
            partial: partial.into(),
        }
    }

    // Anthropic Messages.

    /// A Messages response with one text block.
    pub fn anthropic_text(text: &str, input_tokens: u64, output_tokens: u64) -> Reply {
        Reply::anthropic_cached_text(text, input_tokens, output_tokens, 0, 0)
    }

    /// A Messages response with one text block whose prompt was partly read from
    /// (`cache_read`) or written to (`cache_write`) the prompt cache; `input_tokens` are
    /// the uncached rest, as Anthropic counts them.
    pub fn anthropic_cached_text(
        text: &str,
        input_tokens: u64,
        output_tokens: u64,
        cache_read: u64,
        cache_write: u64,
    ) -> Reply {
        Reply::json(
            200,
            json!({
                "id": "msg_01MockMockMockMockMock", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{ "type": "text", "text": text }],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens,
                           "cache_creation_input_tokens": cache_write,
                           "cache_read_input_tokens": cache_read }
            }),
        )
        .with_header("request-id", "req_mock")
    }

    /// A Messages response calling one tool.
    pub fn anthropic_tool_use(
        name: &str,
        input: Value,
        input_tokens: u64,
        output_tokens: u64,
    ) -> Reply {
        Reply::json(
            200,
            json!({
                "id": "msg_01MockTool", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [
                    { "type": "text", "text": "Let me check." },
                    { "type": "tool_use", "id": "toolu_01Mock", "name": name, "input": input }
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": { "input_tokens": input_tokens, "output_tokens": output_tokens }
            }),
        )
    }

    /// A streamed Messages response: the text in `pieces`, then the usage.
    pub fn anthropic_stream_text(pieces: &[&str], input_tokens: u64, output_tokens: u64) -> Reply {
        let mut events = vec![
            anthropic_event(
                "message_start",
                json!({"type": "message_start", "message": {
                "id": "msg_01MockStream", "type": "message", "role": "assistant", "content": [],
                "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
            ),
            anthropic_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            ),
            anthropic_event("ping", json!({"type": "ping"})),
        ];
        for piece in pieces {
            events.push(anthropic_event(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "index": 0, "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.extend(anthropic_end(0, "end_turn", output_tokens));
        Reply::sse(events)
    }

    /// A streamed Messages response calling one tool, its arguments in `fragments`.
    pub fn anthropic_stream_tool_use(
        name: &str,
        fragments: &[&str],
        input_tokens: u64,
        output_tokens: u64,
    ) -> Reply {
        let mut events = vec![
            anthropic_event(
                "message_start",
                json!({"type": "message_start", "message": {
                "id": "msg_01MockStreamTool", "type": "message", "role": "assistant", "content": [],
                "model": "claude-sonnet-4-5-20250929", "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": input_tokens, "output_tokens": 1}}}),
            ),
            anthropic_event(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_01Mock", "name": name, "input": {},
                "caller": {"type": "direct"}}}),
            ),
            anthropic_event(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": ""}}),
            ),
        ];
        for f in fragments {
            events.push(anthropic_event(
                "content_block_delta",
                json!({"type": "content_block_delta",
                "index": 0, "delta": {"type": "input_json_delta", "partial_json": f}}),
            ));
        }
        events.extend(anthropic_end(0, "tool_use", output_tokens));
        Reply::sse(events)
    }

    /// An Anthropic error (`{"type":"error","error":{type,message},"request_id"}`).
    pub fn anthropic_error(status: u16, error_type: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"type": "error", "error": {"type": error_type, "message": message},
                   "request_id": "req_mock"}),
        )
    }

    // OpenAI Chat Completions.

    /// A chat completion with text.
    pub fn openai_text(text: &str, prompt_tokens: u64, completion_tokens: u64) -> Reply {
        Reply::openai_cached_text(text, prompt_tokens, completion_tokens, 0)
    }

    /// A chat completion with text whose prompt had `cached_tokens` read from the prompt
    /// cache; `prompt_tokens` counts them too, as OpenAI does.
    pub fn openai_cached_text(
        text: &str,
        prompt_tokens: u64,
        completion_tokens: u64,
        cached_tokens: u64,
    ) -> Reply {
        Reply::json(
            200,
            json!({
                "id": "chatcmpl-mock", "object": "chat.completion", "created": 1_760_000_000,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": text,
                    "refusal": null, "annotations": [] }, "logprobs": null, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                    "prompt_tokens_details": { "cached_tokens": cached_tokens },
                    "completion_tokens_details": { "reasoning_tokens": 0 } },
                "service_tier": "default", "system_fingerprint": "fp_mock"
            }),
        )
        .with_header("x-request-id", "req_mock")
    }

    /// A chat completion calling one tool.
    pub fn openai_tool_call(
        name: &str,
        arguments: Value,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Reply {
        Reply::json(
            200,
            json!({
                "id": "chatcmpl-mocktool", "object": "chat.completion", "created": 1_760_000_000,
                "model": "gpt-4o-mini-2024-07-18",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": null,
                    "tool_calls": [{ "id": "call_mock", "type": "function",
                        "function": { "name": name, "arguments": arguments.to_string() } }] },
                    "logprobs": null, "finish_reason": "tool_calls" }],
                "usage": { "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens }
            }),
        )
    }

    /// A streamed chat completion: the text in `pieces`, a finish chunk, a usage chunk
    /// (as with `include_usage`) and `[DONE]`.
    pub fn openai_stream_text(
        pieces: &[&str],
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Reply {
        let mut chunks = vec![openai_chunk(
            json!({"role": "assistant", "content": ""}),
            None,
        )];
        for piece in pieces {
            chunks.push(openai_chunk(json!({"content": piece}), None));
        }
        chunks.extend(openai_end("stop", prompt_tokens, completion_tokens));
        Reply::sse(chunks)
    }

    /// A streamed chat completion calling one tool, its arguments in `fragments`.
    pub fn openai_stream_tool_call(
        name: &str,
        fragments: &[&str],
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Reply {
        let mut chunks = vec![openai_chunk(
            json!({"role": "assistant", "content": null,
            "tool_calls": [{"index": 0, "id": "call_mock", "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        )];
        for f in fragments {
            chunks.push(openai_chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}),
                None,
            ));
        }
        chunks.extend(openai_end("tool_calls", prompt_tokens, completion_tokens));
        Reply::sse(chunks)
    }

    /// An OpenAI error (`{"error":{message,type,param,code}}`).
    pub fn openai_error(status: u16, error_type: &str, code: &str, message: &str) -> Reply {
        Reply::json(
            status,
            json!({"error": {"message": message, "type": error_type, "param": null, "code": code}}),
        )
    }

    /// OpenAI's 429 `insufficient_quota`: credits exhausted, not a rate limit.
    pub fn openai_quota_exhausted() -> Reply {
        Reply::openai_error(
            429,
            "insufficient_quota",
            "insufficient_quota",
            "You exceeded your current quota",
        )
    }

    /// `GET /v1/models` in OpenAI's shape.
    pub fn openai_models(ids: &[&str]) -> Reply {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "system"}))
            .collect();
        Reply::json(200, json!({"object": "list", "data": data}))
    }

    /// `GET /v1/models` in Anthropic's shape.
    pub fn anthropic_models(ids: &[&str]) -> Reply {
        let data: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "model", "id": id, "display_name": id, "created_at": "2025-09-29T00:00:00Z"}))
            .collect();
        Reply::json(
            200,
            json!({"data": data, "has_more": false, "first_id": ids.first(), "last_id": ids.last()}),
        )
    }
}

fn anthropic_event(name: &str, data: Value) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

fn anthropic_end(index: u32, stop_reason: &str, output_tokens: u64) -> Vec<String> {
    vec![
        anthropic_event(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ),
        anthropic_event(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": null},
            "usage": {"output_tokens": output_tokens}}),
        ),
        anthropic_event("message_stop", json!({"type": "message_stop"})),
    ]
}

fn openai_chunk(delta: Value, finish_reason: Option<&str>) -> String {
    let data = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_mock",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish_reason}]});
    format!("data: {data}\n\n")
}

fn openai_end(finish_reason: &str, prompt_tokens: u64, completion_tokens: u64) -> Vec<String> {
    let usage = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1_760_000_000,
        "model": "gpt-4o-mini-2024-07-18", "choices": [],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}});
    vec![
        openai_chunk(json!({}), Some(finish_reason)),
        format!("data: {usage}\n\n"),
        "data: [DONE]\n\n".into(),
    ]
}

/// The answer to a request no script covers.
type DefaultReply = Box<dyn Fn(&Recorded) -> Reply + Send + Sync>;

#[derive(Default)]
struct State {
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    requests: Mutex<Vec<Recorded>>,
    /// Replaces the LLM answers for another service's wire format.
    default: Option<DefaultReply>,
}

/// The running mock; stops when dropped.
pub struct MockLlm {
    addr: SocketAddr,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MockLlm {
    /// Starts the mock on a free loopback port, on its own thread and runtime.
    pub fn start() -> MockLlm {
        MockLlm::serve(State::default())
    }

    /// Starts a mock of another service: requests no script covers are answered by
    /// `default` (which may keep state of its own, e.g. a queue of updates to hand out).
    pub fn start_with(default: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> MockLlm {
        MockLlm::serve(State {
            default: Some(Box::new(default)),
            ..State::default()
        })
    }

    fn serve(state: State) -> MockLlm {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app_state = state.clone();
        std::thread::Builder::new()
            .name("mock-llm".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("mock runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                    // As the real APIs do: each streamed event is sent when written, not
                    // held until the one before is acknowledged.
                    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
                        let _ = tcp.set_nodelay(true);
                    });
                    let app = axum::Router::new().fallback(
                        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                            handle(app_state.clone(), method, uri, headers, body)
                        },
                    );
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })
            .expect("mock thread");
        MockLlm {
            addr,
            state,
            stop: Some(stop),
        }
    }

    /// `http://127.0.0.1:<port>`: Anthropic's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:<port>/v1`: OpenAI's base URL.
    pub fn openai_base_url(&self) -> String {
        format!("{}/v1", self.url())
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Appends replies to the script of `path` (e.g. `/v1/messages`).
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .scripts
            .lock()
            .unwrap()
            .entry(path.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The requests to `path`.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for MockLlm {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The LLM mock's answer to a request with no script: a plain success of the API the path
/// belongs to, 404 elsewhere.
pub fn default_reply(recorded: &Recorded) -> Reply {
    let stream = recorded.json()["stream"] == true;
    match (recorded.method.as_str(), recorded.path.as_str()) {
        ("POST", "/v1/messages") if stream => {
            Reply::anthropic_stream_text(&["Hello ", "from the mock"], 11, 4)
        }
        ("POST", "/v1/messages") => Reply::anthropic_text("Hello from the mock", 11, 4),
        ("POST", "/v1/chat/completions") if stream => {
            Reply::openai_stream_text(&["Hello ", "from the mock"], 11, 4)
        }
        ("POST", "/v1/chat/completions") => Reply::openai_text("Hello from the mock", 11, 4),
        ("GET", "/v1/models") if recorded.header("anthropic-version").is_some() => {
            Reply::anthropic_models(&["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805"])
        }
        ("GET", "/v1/models") => Reply::openai_models(&["gpt-4o-mini", "gpt-4o"]),
        _ => Reply::json(
            404,
            json!({"error": {"message": format!("no route {}", recorded.path), "type": "invalid_request_error", "param": null, "code": null}}),
        ),
    }
}

async fn handle(
    state: Arc<State>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
        received: Instant::now(),
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let scripted = state
        .scripts
        .lock()
        .unwrap()
        .get_mut(&recorded.path)
        .and_then(VecDeque::pop_front);
    let reply = scripted.unwrap_or_else(|| match &state.default {
        Some(default) => default(&recorded),
        None => default_reply(&recorded),
    });
    respond(reply).await
}

async fn respond(mut reply: Reply) -> Response {
    while let Reply::Delayed(delay, inner) = reply {
        tokio::time::sleep(delay).await;
        reply = *inner;
    }
    let response = match reply {
        Reply::Full {
            status,
            headers,
            content_type,
            body,
        } => {
            let mut b = Response::builder()
                .status(StatusCode::from_u16(status).expect("status"))
                .header("content-type", content_type);
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from(body))
        }
        Reply::Sse {
            chunks,
            gap,
            headers,
        } => {
            let stream = futures_util::stream::iter(chunks).then(move |c| async move {
                tokio::time::sleep(gap).await;
                Ok::<_, std::io::Error>(Bytes::from(c))
            });
            let mut b = Response::builder()
                .header("content-type", "text/event-stream")
                .header("cache-control", "no-cache");
            for (k, v) in headers {
                b = b.header(k, v);
            }
            b.body(Body::from_stream(stream))
        }
        Reply::DropMidBody {
            status,
            content_type,
            partial,
        } => {
            // The pause lets the head and the partial body reach the client before the cut.
            let stream =
                futures_util::stream::iter([Some(partial), None]).then(|piece| async move {
                    match piece {
                        Some(partial) => Ok(Bytes::from(partial)),
                        None => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Err(std::io::Error::other("connection cut by the mock"))
                        }
                    }
                });
            Response::builder()
                .status(StatusCode::from_u16(status).expect("status"))
                .header("content-type", content_type)
                .body(Body::from_stream(stream))
        }
        Reply::Delayed(..) => unreachable!("unwrapped above"),
    };
    response.expect("a valid mock response")
}
