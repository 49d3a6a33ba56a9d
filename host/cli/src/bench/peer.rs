//! `peer`: the workload the Python agent frameworks are measured on, run by a real
//! `hypernet run` process: one-call tasks, a fixed number at a time, against a loopback
//! OpenAI-compatible server answering after a fixed latency, through the real
//! `provider-lmstudio` plugin. Four runs, each a fresh host: the provider alone and with the
//! four subsystem plugins, each with plain and with streamed answers.

use super::BenchOptions;
use super::child::{ChildHost, MemoryMap, ProcStats};
use super::subsystems::SUBSYSTEMS;
use anyhow::{Context, Result, ensure};
use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Words of every answer: one content event each when streamed.
const ANSWER_WORDS: usize = 40;
/// Milliseconds over which a streamed answer's events are spread (one write each
/// millisecond), at the end of the latency.
const STREAM_SPAN_MS: u64 = 20;

/// The loopback server: answers each chat completion after `latency`, plain or streamed
/// as the request asks.
struct Server {
    latency: Duration,
    calls: AtomicUsize,
}

fn answer_text() -> String {
    (0..ANSWER_WORDS).map(|i| format!("word{i} ")).collect()
}

fn plain_answer() -> String {
    json!({
        "id": "chatcmpl-peer",
        "object": "chat.completion",
        "created": 1_760_000_000,
        "model": "bench-model",
        "choices": [{
            "index": 0,
            "message": { "role": "assistant", "content": answer_text() },
            "finish_reason": "stop",
        }],
        "usage": { "prompt_tokens": 60, "completion_tokens": ANSWER_WORDS, "total_tokens": 60 + ANSWER_WORDS },
    })
    .to_string()
}

/// The streamed answer in writes of about equal size, one a millisecond: the role, one event
/// per word, the finish, the usage and `[DONE]`.
fn streamed_writes() -> Vec<Bytes> {
    let chunk = |delta: Value, finish: Value| {
        let event = json!({
            "id": "chatcmpl-peer",
            "object": "chat.completion.chunk",
            "created": 1_760_000_000,
            "model": "bench-model",
            "choices": [{ "index": 0, "delta": delta, "finish_reason": finish }],
        });
        format!("data: {event}\n\n")
    };
    let mut events = vec![chunk(
        json!({ "role": "assistant", "content": "" }),
        Value::Null,
    )];
    events.extend(
        (0..ANSWER_WORDS).map(|i| chunk(json!({ "content": format!("word{i} ") }), Value::Null)),
    );
    events.push(chunk(json!({}), json!("stop")));
    let usage = json!({
        "id": "chatcmpl-peer",
        "object": "chat.completion.chunk",
        "choices": [],
        "usage": { "prompt_tokens": 60, "completion_tokens": ANSWER_WORDS, "total_tokens": 60 + ANSWER_WORDS },
    });
    events.push(format!("data: {usage}\n\ndata: [DONE]\n\n"));
    let per_write = events.len().div_ceil(STREAM_SPAN_MS as usize);
    events
        .chunks(per_write)
        .map(|c| Bytes::from(c.concat()))
        .collect()
}

async fn answer(server: Arc<Server>, body: Bytes) -> Response {
    server.calls.fetch_add(1, Ordering::Relaxed);
    let stream = serde_json::from_slice::<Value>(&body).is_ok_and(|v| v["stream"] == true);
    if !stream {
        tokio::time::sleep(server.latency).await;
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(plain_answer()))
            .expect("a valid response");
    }
    // Each write at its own instant from the start, so that the timer's rounding does not
    // add up over the writes.
    let start = tokio::time::Instant::now();
    let span = Duration::from_millis(STREAM_SPAN_MS).min(server.latency);
    let writes = streamed_writes();
    let gap = span / writes.len() as u32;
    let first = server.latency - span;
    let body = futures_util::stream::unfold(
        (writes.into_iter(), first),
        move |(mut writes, at)| async move {
            let next = writes.next()?;
            tokio::time::sleep_until(start + at + gap).await;
            Some((Ok::<_, std::io::Error>(next), (writes, at + gap)))
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(body))
        .expect("a valid response")
}

async fn serve(latency: Duration) -> Result<(SocketAddr, Arc<Server>)> {
    let server = Arc::new(Server {
        latency,
        calls: AtomicUsize::new(0),
    });
    let state = server.clone();
    let chat = axum::routing::post(move |body: Bytes| answer(state.clone(), body));
    Ok((super::http::serve_openai(chat).await?, server))
}

/// The host's settings for the workload: `workers` workers on the loopback model, one call
/// per task (no tools, plans, boot turns, personal time or standing priorities).
fn config(workers: usize, stream: bool) -> String {
    let mut text = format!(
        "standing = []\n\
         [scheduler]\ndefault_model = \"lmstudio/bench-model\"\n\
         [http]\nmax_concurrent = {workers}\nstream = {stream}\n\
         [tools]\nenabled = false\n\
         [conversation]\nenabled = false\n\
         [coordinator]\ndecompose = false\n\
         [personal_time]\nenabled = false\n\
         [identity]\nboot = false\n\
         [swarm_limits]\n\
         max_concurrent_workers = {{ soft = {workers}, hard = {workers} }}\n\
         max_task_queue_depth = {{ soft = 1000000, hard = 1000000 }}\n"
    );
    for i in 1..=workers {
        let _ = write!(text, "[[worker]]\nname = \"Peer{i}\"\n");
    }
    text
}

fn manifest(addr: SocketAddr, subsystems: bool) -> String {
    let mut text = format!(
        "[[plugin]]\nname = \"provider-lmstudio\"\ncapabilities = [\"log\"]\n\
         [plugin.config]\nbase_url = \"http://{addr}/v1\"\n"
    );
    if subsystems {
        text.push_str(SUBSYSTEMS);
    }
    text
}

/// One run's figures.
struct Run {
    ready: ProcStats,
    ready_map: MemoryMap,
    end_map: MemoryMap,
    end: ProcStats,
    cpu: Duration,
    wall: Duration,
}

async fn run_once(
    o: &BenchOptions,
    addr: SocketAddr,
    server: &Server,
    subsystems: bool,
    stream: bool,
) -> Result<Run> {
    let dir = tempfile::tempdir().context("temporary directory")?;
    let host = ChildHost::start(
        dir.path(),
        &manifest(addr, subsystems),
        &config(o.peer_concurrency, stream),
    )
    .await?;
    // Ready: started, plugins loaded, the first status answered; then a moment to settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ready = host.stats()?;
    let ready_map = host.memory_map()?;
    let calls_before = server.calls.load(Ordering::Relaxed);
    let started = Instant::now();
    host.file(o.peer_tasks, "peer", o.peer_tasks).await?;
    host.wait_idle(Duration::from_secs(600)).await?;
    let wall = started.elapsed();
    let after = host.stats()?;
    let calls = server.calls.load(Ordering::Relaxed) - calls_before;
    let completed = host.count("completed").await?;
    ensure!(
        completed == o.peer_tasks && calls == o.peer_tasks,
        "{completed} of {} tasks completed with {calls} calls (host log: {})",
        o.peer_tasks,
        dir.path().join("host.log").display()
    );
    // The subsystems handle the last events after the last task: let them, then take the
    // high-water mark.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut end = host.stats()?;
    // The kernel updates the high-water mark lazily: it can read below an earlier reading
    // of the resident set. The peak is the highest of everything read.
    end.peak_kib = [
        ready.rss_kib,
        ready.peak_kib,
        after.rss_kib,
        after.peak_kib,
        end.rss_kib,
    ]
    .into_iter()
    .fold(end.peak_kib, u64::max);
    let end_map = host.memory_map()?;
    host.stop()?;
    Ok(Run {
        ready,
        ready_map,
        end_map,
        end,
        cpu: after.cpu.saturating_sub(ready.cpu),
        wall,
    })
}

/// The median, lowest and highest of `values` (not empty).
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// `median` alone for one run, else with the range of the runs.
fn with_range(values: &[f64], unit: &str, decimals: usize) -> String {
    let (median, low, high) = spread(values);
    if values.len() == 1 {
        format!("{median:.decimals$} {unit}")
    } else {
        format!("{median:.decimals$} {unit} ({low:.decimals$}-{high:.decimals$})")
    }
}

/// The four kinds of run: (with the subsystems, streamed).
const KINDS: [(bool, bool); 4] = [(false, false), (false, true), (true, false), (true, true)];

fn describe(subsystems: bool, stream: bool) -> String {
    format!(
        "{}, {}",
        if subsystems {
            "with the four subsystems"
        } else {
            "provider only"
        },
        if stream { "streamed" } else { "plain" }
    )
}

/// Runs the scenario; rows of (measure, result, target). Each round runs the four kinds one
/// after another, so that a plain and a streamed run share the machine's conditions; with
/// `--runs` rounds the medians are reported, with the range (the peak: the highest).
pub(super) async fn scenario(o: &BenchOptions) -> Result<Vec<(String, String, String)>> {
    let latency = Duration::from_millis(o.latency_ms);
    let (addr, server) = serve(latency).await?;
    let ideal = latency.as_secs_f64() * o.peer_tasks.div_ceil(o.peer_concurrency) as f64;
    let rounds = o.runs.max(1);
    // By kind: (peak MiB, ready MiB, CPU ms a call, wall s) of each round.
    let mut figures: [Vec<[f64; 4]>; 4] = Default::default();
    for round in 1..=rounds {
        for (kind, &(subsystems, stream)) in KINDS.iter().enumerate() {
            let what = describe(subsystems, stream);
            tracing::warn!(run = %what, round, of = rounds, tasks = o.peer_tasks, "bench: peer");
            let r = run_once(o, addr, &server, subsystems, stream).await?;
            tracing::warn!(at_ready = %r.ready_map.summary(), after = %r.end_map.summary(), "bench: peer memory");
            figures[kind].push([
                r.end.peak_kib as f64 / 1024.0,
                r.ready.rss_kib as f64 / 1024.0,
                r.cpu.as_secs_f64() * 1e3 / o.peer_tasks as f64,
                r.wall.as_secs_f64(),
            ]);
        }
    }
    let column = |kind: usize, i: usize| figures[kind].iter().map(|f| f[i]).collect::<Vec<_>>();
    let runs = if rounds == 1 {
        String::new()
    } else {
        format!(", median of {rounds}")
    };
    let mut rows = Vec::new();
    for (kind, &(subsystems, stream)) in KINDS.iter().enumerate() {
        let peak = spread(&column(kind, 0)).2;
        rows.push((
            format!(
                "peer: {} one-call tasks, {} at a time, {} ms, {}{runs}",
                o.peer_tasks,
                o.peer_concurrency,
                o.latency_ms,
                describe(subsystems, stream)
            ),
            format!(
                "peak RSS {peak:.1} MiB, at ready {}; host CPU a call {}; wall {}, ideal {ideal:.2} s",
                with_range(&column(kind, 1), "MiB", 1),
                with_range(&column(kind, 2), "ms", 3),
                with_range(&column(kind, 3), "s", 2),
            ),
            if subsystems { "peak <= 30 MiB" } else { "peak <= 23 MiB" }.into(),
        ));
    }
    for (plain, what) in [(0, "provider only"), (2, "with the four subsystems")] {
        // Each round's difference, so that a round's conditions cancel out.
        let added: Vec<f64> = column(plain + 1, 2)
            .iter()
            .zip(column(plain, 2))
            .map(|(streamed, plain)| streamed - plain)
            .collect();
        let (median, low, high) = spread(&added);
        rows.push((
            format!("peer: host CPU a streamed call adds over a plain one, {what}{runs}"),
            if rounds == 1 {
                format!("{median:+.3} ms")
            } else {
                format!("{median:+.3} ms ({low:+.3} to {high:+.3})")
            },
            "<= 0.2 ms".into(),
        ));
    }
    Ok(rows)
}
