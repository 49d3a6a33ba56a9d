//! `http`: the cost of the host's HTTP call path against a loopback server in this
//! process answering OpenAI-shaped chat completions.
//!
//! - The raw `reqwest` round trip (send, read the body), median of sequential calls.
//! - The same call through the host's path: the provider prepares the request, the
//!   [`HttpExecutor`] takes a slot and sends it, the provider parses the answer. The
//!   difference of the medians is the host's overhead. The provider is a minimal
//!   OpenAI-wire implementation in this module, called in-process (no plugin actor hop).
//! - 1,000 concurrent streamed calls through one executor: errors and wall time.

use crate::http::{HttpConfig, HttpExecutor, LocalProvider};
use anyhow::{Context, Result, ensure};
use axum::body::{Body, Bytes};
use axum::response::Response;
use hypernet_plugin_api::provider::{
    Completion, CompletionBuilder, CompletionRequest, HttpRequest, HttpResponse, Message, Prepared,
    Provider, ProviderError, ProviderInfo, SseEvent, StreamDelta, Usage,
};
use hypernet_plugin_api::{Host, PluginError};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEQUENTIAL: usize = 2_000;
const CONCURRENT: usize = 1_000;
const PROVIDER: &str = "bench-openai";

const JSON_ANSWER: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1760000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Benchmarks measure what they measure."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31}}"#;

const STREAM_ANSWER: &str = concat!(
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Streamed \"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"answer.\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":2,\"total_tokens\":26}}\n\n",
    "data: [DONE]\n\n",
);

/// The OpenAI chat-completions wire, just enough for the benchmark.
struct BenchOpenAi {
    url: String,
}

impl Provider for BenchOpenAi {
    type Config = Value;

    fn start(_config: Value, _host: Host) -> Result<Self, PluginError> {
        Err(PluginError::failed("built directly by the benchmark"))
    }

    fn describe(&self) -> ProviderInfo {
        ProviderInfo {
            models: vec!["bench/".into()],
            local: false,
            simulated: false,
        }
    }

    fn prepare(&mut self, request: &CompletionRequest) -> Result<Prepared, ProviderError> {
        let mut messages = Vec::with_capacity(request.messages.len() + 1);
        if let Some(system) = &request.system {
            messages.push(json!({ "role": "system", "content": system }));
        }
        for m in &request.messages {
            messages.push(json!({ "role": "user", "content": m.text() }));
        }
        let mut body = json!({
            "model": request.model,
            "messages": messages,
            "max_completion_tokens": request.max_tokens,
        });
        if request.stream {
            body["stream"] = json!(true);
            body["stream_options"] = json!({ "include_usage": true });
        }
        Ok(Prepared::Http {
            request: HttpRequest {
                method: "POST".into(),
                url: self.url.clone(),
                headers: vec![
                    ("authorization".into(), "Bearer sk-bench".into()),
                    ("content-type".into(), "application/json".into()),
                ],
                body: body.to_string(),
            },
        })
    }

    fn parse_response(
        &mut self,
        request: &CompletionRequest,
        response: &HttpResponse,
    ) -> Result<Completion, ProviderError> {
        let v: Value = serde_json::from_str(&response.body).map_err(|e| malformed(&e))?;
        let mut b = CompletionBuilder::new(v["model"].as_str().unwrap_or(&request.model));
        if let Some(text) = v["choices"][0]["message"]["content"].as_str() {
            b.push(StreamDelta::Text { text: text.into() });
        }
        b.push(usage(&v["usage"]));
        b.finish()
    }

    fn parse_stream_event(&mut self, event: &SseEvent) -> Result<Vec<StreamDelta>, ProviderError> {
        if event.data == "[DONE]" {
            return Ok(Vec::new());
        }
        let v: Value = serde_json::from_str(&event.data).map_err(|e| malformed(&e))?;
        let mut out = Vec::new();
        if let Some(model) = v["model"].as_str() {
            out.push(StreamDelta::Model {
                model: model.into(),
            });
        }
        if let Some(text) = v["choices"][0]["delta"]["content"].as_str() {
            out.push(StreamDelta::Text { text: text.into() });
        }
        if v["usage"].is_object() {
            out.push(usage(&v["usage"]));
        }
        Ok(out)
    }
}

fn malformed(e: &serde_json::Error) -> ProviderError {
    ProviderError::Malformed {
        message: e.to_string(),
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

async fn answer(body: Bytes) -> Response {
    let stream = serde_json::from_slice::<Value>(&body).is_ok_and(|v| v["stream"] == true);
    let (content_type, body) = if stream {
        ("text/event-stream", STREAM_ANSWER)
    } else {
        ("application/json", JSON_ANSWER)
    };
    Response::builder()
        .header("content-type", content_type)
        .body(Body::from(body))
        .expect("a valid response")
}

async fn serve() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the loopback server")?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(answer));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "benchmark server stopped");
        }
    });
    Ok(addr)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn micros(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// One call through the host's path.
async fn host_call(
    exec: &HttpExecutor,
    provider: &LocalProvider<BenchOpenAi>,
    request: &CompletionRequest,
) -> Result<Completion> {
    let prepared = provider
        .0
        .lock()
        .map_err(|_| anyhow::anyhow!("provider lock poisoned"))?
        .prepare(request)?;
    let Prepared::Http { request: http } = prepared else {
        anyhow::bail!("the benchmark provider prepared no HTTP request");
    };
    Ok(exec.complete(PROVIDER, provider, request, &http).await?)
}

/// Runs the scenario; rows of (measure, result, target).
pub(super) async fn scenario() -> Result<Vec<(String, String, String)>> {
    let addr = serve().await?;
    let url = format!("http://{addr}/v1/chat/completions");
    let config = HttpConfig {
        max_concurrent_for: [(PROVIDER.to_owned(), CONCURRENT)].into(),
        ..HttpConfig::default()
    };
    let exec = HttpExecutor::new(&config).context("building the HTTP client")?;
    let provider = Arc::new(LocalProvider::new(BenchOpenAi { url: url.clone() }));
    let mut request = CompletionRequest::new(
        "gpt-4o-mini",
        vec![Message::user("Summarise the state of the task graph.")],
    );
    request.system = Some("You are a careful worker.".into());

    // (a) raw reqwest, with the same body the provider prepares.
    let Prepared::Http { request: template } = provider
        .0
        .lock()
        .map_err(|_| anyhow::anyhow!("provider lock poisoned"))?
        .prepare(&request)?
    else {
        anyhow::bail!("the benchmark provider prepared no HTTP request");
    };
    let raw = reqwest::Client::new();
    let mut raw_samples = Vec::with_capacity(SEQUENTIAL);
    let mut host_samples = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL * 11 / 10 {
        // Interleaved so that both see the same machine conditions; the first tenth warms up.
        let started = Instant::now();
        let text = raw
            .post(&url)
            .header("authorization", "Bearer sk-bench")
            .header("content-type", "application/json")
            .body(template.body.clone())
            .send()
            .await
            .context("raw round trip")?
            .text()
            .await?;
        let raw_time = started.elapsed();
        ensure!(text.contains("chatcmpl-bench"), "unexpected raw answer");
        let started = Instant::now();
        let c = host_call(&exec, &provider, &request).await?;
        let host_time = started.elapsed();
        ensure!(c.usage.output_tokens == 7, "unexpected parsed answer");
        if i >= SEQUENTIAL / 10 {
            raw_samples.push(raw_time);
            host_samples.push(host_time);
        }
    }
    let (raw_median, host_median) = (median(raw_samples), median(host_samples));
    let overhead = host_median.saturating_sub(raw_median);

    // (c) concurrent streamed calls.
    request.stream = true;
    let started = Instant::now();
    let calls = (0..CONCURRENT).map(|_| {
        let (exec, provider, request) = (exec.clone(), provider.clone(), request.clone());
        tokio::spawn(async move { host_call(&exec, &provider, &request).await })
    });
    let results = futures_util::future::join_all(calls).await;
    let wall = started.elapsed();
    let mut errors = 0;
    for r in results {
        match r {
            Ok(Ok(c)) if c.text == "Streamed answer." && c.usage.output_tokens == 2 => {}
            Ok(Ok(c)) => {
                errors += 1;
                tracing::warn!(text = %c.text, "unexpected streamed answer");
            }
            Ok(Err(e)) => {
                errors += 1;
                tracing::warn!(error = %e, "streamed call failed");
            }
            Err(e) => {
                errors += 1;
                tracing::warn!(error = %e, "streamed call panicked");
            }
        }
    }
    Ok(vec![
        (
            format!("http: raw reqwest round trip, median of {SEQUENTIAL}"),
            micros(raw_median),
            "-".into(),
        ),
        (
            "http: host path (prepare, slot, send, parse), median".into(),
            micros(host_median),
            "-".into(),
        ),
        (
            "http: host overhead (median difference; in-process provider)".into(),
            micros(overhead),
            "≤ 200 µs".into(),
        ),
        (
            format!("http: {CONCURRENT} concurrent streamed calls, one executor"),
            format!("errors = {errors}, wall {:.0} ms", wall.as_secs_f64() * 1e3),
            "errors = 0".into(),
        ),
    ])
}
