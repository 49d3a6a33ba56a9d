//! `http`: the cost of the host's HTTP call path against a loopback server in this
//! process answering OpenAI-shaped chat completions, through the real `provider-lmstudio`
//! plugin library (any OpenAI-compatible server; no key needed).
//!
//! - The raw `reqwest` round trip (send, read the body), median of sequential calls.
//! - The same call through the host's production path ([`call::run`]): the plugin prepares
//!   the request on its own thread, the [`HttpExecutor`] takes a slot and sends it, the
//!   plugin parses the answer. The difference of the medians is the host's overhead.
//! - 1,000 concurrent streamed calls through the same path: errors and wall time.

use anyhow::{Context, Result, ensure};
use axum::body::{Body, Bytes};
use axum::response::Response;
use hypernet_engine::{Manifest, Registry, RegistryOptions};
use hypernet_llm::{HttpConfig, HttpExecutor};
use hypernet_model::tasks::TaskResult;
use hypernet_swarm::scheduler::call::{self, CallSpec, ProviderMap};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEQUENTIAL: usize = 2_000;
const CONCURRENT: usize = 1_000;
const PROVIDER: &str = "provider-lmstudio";

const JSON_ANSWER: &str = r#"{"id":"chatcmpl-bench","object":"chat.completion","created":1760000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Benchmarks measure what they measure."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":7,"total_tokens":31}}"#;

const STREAM_ANSWER: &str = concat!(
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Streamed \"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"answer.\"},\"finish_reason\":null}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":24,\"completion_tokens\":2,\"total_tokens\":26}}\n\n",
    "data: [DONE]\n\n",
);

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
    serve_openai(axum::routing::post(answer)).await
}

/// Serves an OpenAI-compatible API on a free loopback port: `chat` answers
/// `/v1/chat/completions`, and `/v1/models` lists `bench-model`.
pub(super) async fn serve_openai(chat: axum::routing::MethodRouter) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the loopback server")?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new()
        .route("/v1/chat/completions", chat)
        .route(
            "/v1/models",
            axum::routing::get(|| async {
                axum::Json(json!({ "object": "list", "data": [{ "id": "bench-model", "object": "model" }] }))
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(hypernet_api::no_delay(listener), app).await {
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

/// The real call path of a running host: a registry with `provider-lmstudio` pointed at
/// the loopback server, the providers it serves, one executor.
struct Path {
    registry: Arc<Registry>,
    providers: Arc<ProviderMap>,
    exec: HttpExecutor,
    _dir: tempfile::TempDir,
}

impl Path {
    async fn start(addr: SocketAddr, stream: bool) -> Result<Path> {
        let dir = tempfile::tempdir().context("temporary data directory")?;
        let manifest = Manifest::parse(
            &format!(
                "[[plugin]]\nname = \"provider-lmstudio\"\n[plugin.config]\nbase_url = \"http://{addr}/v1\"\n"
            ),
            "bench manifest",
            std::path::Path::new("."),
        )?;
        let store = hypernet_swarm::persist::open_store(&dir.path().join("hypernet.redb"))?;
        let registry = Registry::start(manifest, store, RegistryOptions::default())?;
        let config = HttpConfig {
            max_concurrent_for: [(PROVIDER.to_owned(), CONCURRENT)].into(),
            stream,
            ..HttpConfig::default()
        };
        let exec = HttpExecutor::new(&config).context("building the HTTP client")?;
        let providers = Arc::new(ProviderMap::discover(&registry, &exec).await);
        ensure!(
            providers
                .listed_models(PROVIDER)
                .is_some_and(|m| !m.is_empty()),
            "provider-lmstudio did not list the server's models"
        );
        Ok(Path {
            registry,
            providers,
            exec,
            _dir: dir,
        })
    }

    async fn call(&self, spec: &CallSpec) -> Result<TaskResult> {
        call::run(
            self.registry.clone(),
            self.providers.clone(),
            self.exec.clone(),
            spec.clone(),
            None,
            Duration::from_secs(30),
            None,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Runs the scenario; rows of (measure, result, target).
pub(super) async fn scenario() -> Result<Vec<(String, String, String)>> {
    let addr = serve().await?;
    let url = format!("http://{addr}/v1/chat/completions");
    let spec = CallSpec {
        model: "lmstudio/bench-model".into(),
        system: "You are a careful worker.".into(),
        prompt: "Summarise the state of the task graph.".into(),
        max_tokens: 256,
        ..CallSpec::default()
    };
    let path = Path::start(addr, false).await?;
    let template = json!({
        "model": "bench-model",
        "messages": [
            { "role": "system", "content": spec.system },
            { "role": "user", "content": spec.prompt },
        ],
        "max_tokens": spec.max_tokens,
    })
    .to_string();

    // (a) raw reqwest, with the body the provider sends.
    hypernet_llm::tls::install();
    let raw = reqwest::Client::new();
    let mut raw_samples = Vec::with_capacity(SEQUENTIAL);
    let mut host_samples = Vec::with_capacity(SEQUENTIAL);
    for i in 0..SEQUENTIAL * 11 / 10 {
        // Interleaved so that both see the same machine conditions; the first tenth warms up.
        let started = Instant::now();
        let text = raw
            .post(&url)
            .header("content-type", "application/json")
            .body(template.clone())
            .send()
            .await
            .context("raw round trip")?
            .text()
            .await?;
        let raw_time = started.elapsed();
        ensure!(text.contains("chatcmpl-bench"), "unexpected raw answer");
        let started = Instant::now();
        let r = path.call(&spec).await?;
        let host_time = started.elapsed();
        ensure!(r.output_tokens == 7, "unexpected parsed answer");
        if i >= SEQUENTIAL / 10 {
            raw_samples.push(raw_time);
            host_samples.push(host_time);
        }
    }
    let (raw_median, host_median) = (median(raw_samples), median(host_samples));
    let overhead = host_median.saturating_sub(raw_median);

    path.registry.shutdown();

    // (c) concurrent streamed calls.
    let path = Arc::new(Path::start(addr, true).await?);
    let started = Instant::now();
    let calls = (0..CONCURRENT).map(|_| {
        let (path, spec) = (path.clone(), spec.clone());
        tokio::spawn(async move { path.call(&spec).await })
    });
    let results = futures_util::future::join_all(calls).await;
    let wall = started.elapsed();
    let mut errors = 0;
    for r in results {
        match r {
            Ok(Ok(c)) if c.text == "Streamed answer." && c.output_tokens == 2 => {}
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
            "http: host path (plugin prepare, slot, send, plugin parse), median".into(),
            micros(host_median),
            "-".into(),
        ),
        (
            "http: host overhead (median difference; real provider-lmstudio plugin)".into(),
            micros(overhead),
            "≤ 200 µs".into(),
        ),
        (
            format!("http: {CONCURRENT} concurrent streamed calls through one host"),
            format!("errors = {errors}, wall {:.0} ms", wall.as_secs_f64() * 1e3),
            "errors = 0".into(),
        ),
    ])
}
