//! `api`: the HTTP API of a host running in this process (real plugin registry with the
//! `provider-sim` library, real scheduler, real redb file), served on a loopback port and
//! driven by a load generator with a runtime and a thread of its own ([`load`]), so that
//! the server keeps the host's runtime and the generator does not compete for its workers.
//! Each row states the CPU the host and the generator used while measuring.
//!
//! - `GET /api/status` and `POST /api/tasks` (distinct titles, bearer token): N keep-alive
//!   HTTP/1.1 connections, each sending its next request when the previous answer is read,
//!   for a fixed time after a warm-up; requests per second, p50/p99 latency, and errors
//!   (any answer other than 2xx). Filing is durable: each answer comes after the task's
//!   commit, and the store is counted afterwards to prove it.
//! - `GET /api/events` ([`events`]): WebSocket clients follow the stream of a quiet host
//!   while events are published on its bus at a steady rate; each client counts what it
//!   receives and checks that the ids are contiguous.

mod events;
mod load;

use super::BenchOptions;
use super::swarm::Swarm;
use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use http_body_util::Full;
use hyper::Request;
use hypernet_api::AppState;
use hypernet_swarm::persist::TaskTables;
use load::{MakeRequest, Measured, drive, ms, quantile};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

type Row = (String, String, String);

const TOKEN: &str = "bench-token";

/// Workers of the host under load: tasks filed through the API are worked on meanwhile,
/// by a provider answering after this many milliseconds.
const WORKERS: usize = 64;
const WORKER_LATENCY_MS: u64 = 50;

/// A host serving its API on a loopback port.
struct Host {
    swarm: Swarm,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Host {
    async fn start(workers: usize) -> Result<Host> {
        let swarm = Swarm::start(workers, WORKER_LATENCY_MS, None, false).await?;
        let store = swarm.registry.store().clone();
        let keys = store.path().with_file_name("keys");
        let audit = hypernet_swarm::audit::Audit::open(store, &keys)?;
        let state = AppState {
            registry: swarm.registry.clone(),
            token: Arc::from(TOKEN),
            scheduler: swarm.scheduler.clone(),
            outbox: swarm.outbox.clone(),
            channels: swarm.channels.clone(),
            audit,
        };
        let app = hypernet_api::router(state, &hypernet_swarm::config::ApiConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the API to a loopback port")?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(hypernet_api::no_delay(listener), app).await {
                tracing::error!(error = %e, "benchmark API server stopped");
            }
        });
        Ok(Host {
            swarm,
            addr,
            server,
        })
    }

    async fn stop(self) {
        self.server.abort();
        self.swarm.stop().await;
    }
}

/// The figures of one request type as a row.
fn request_row(what: String, mut m: Measured, measure: Duration, target: &str) -> Row {
    m.latencies.sort_unstable();
    let rate = m.ok as f64 / measure.as_secs_f64();
    let mut result = format!(
        "{rate:.0} req/s, p50 {}, p99 {}, errors {}",
        ms(quantile(&m.latencies, 0.5)),
        ms(quantile(&m.latencies, 0.99)),
        m.errors
    );
    if let Some(first) = &m.first_error {
        result.push_str(&format!(" (first: {first})"));
    }
    if let Some(cpu) = &m.cpu {
        result.push_str(&format!("; {}", cpu.describe(rate, "a request")));
    }
    (what, result, target.into())
}

fn get(addr: SocketAddr, path: &'static str) -> MakeRequest {
    Arc::new(move |_, _| {
        Request::get(path)
            .header("host", addr.to_string())
            .body(Full::default())
            .expect("a valid request")
    })
}

fn file_task(addr: SocketAddr) -> MakeRequest {
    Arc::new(move |conn, seq| {
        let body = json!({ "title": format!("api bench task {conn}-{seq}") }).to_string();
        Request::post("/api/tasks")
            .header("host", addr.to_string())
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("a valid request")
    })
}

/// The split of the machine, for the rows.
fn split(connections: usize) -> String {
    let server = tokio::runtime::Handle::current().metrics().num_workers();
    format!("{connections} connections; server {server} runtime workers, generator 1 thread")
}

/// Runs the scenario; rows of (measure, result, target).
pub(super) async fn scenario(o: &BenchOptions) -> Result<Vec<Row>> {
    let measure = Duration::try_from_secs_f64(o.api_seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--api-seconds {} is not a duration", o.api_seconds))?;
    let connections = o.api_connections.max(1);
    let mut rows = Vec::new();

    let host = Host::start(WORKERS).await?;
    tracing::warn!(
        connections,
        seconds = o.api_seconds,
        "bench: api GET /api/status"
    );
    let status = drive(
        host.addr,
        connections,
        measure,
        get(host.addr, "/api/status"),
    )
    .await?;
    rows.push(request_row(
        format!("api: GET /api/status ({})", split(connections)),
        status,
        measure,
        ">= 20,000 req/s, 0 errors",
    ));

    tracing::warn!(
        connections,
        seconds = o.api_seconds,
        "bench: api POST /api/tasks"
    );
    let filed = drive(host.addr, connections, measure, file_task(host.addr)).await?;
    let batches = host.swarm.scheduler.snapshot().batches;
    let store = host.swarm.registry.store().clone();
    let stored = tokio::task::spawn_blocking(move || {
        let mut n = 0u64;
        store.for_each_task(|_| n += 1).map(|()| n)
    })
    .await
    .context("counting the stored tasks")?
    .context("counting the stored tasks")?;
    if stored < filed.ok_total {
        bail!(
            "{} filings were answered 2xx but only {stored} tasks are stored",
            filed.ok_total
        );
    }
    let filed_total = filed.ok_total;
    let mut row = request_row(
        format!(
            "api: POST /api/tasks, durable ({}; {WORKERS} workers busy meanwhile)",
            split(connections)
        ),
        filed,
        measure,
        ">= 5,000 req/s, 0 errors",
    );
    row.1.push_str(&format!(
        "; {filed_total} filed, all stored; {batches} commits of filings and answers together"
    ));
    rows.push(row);
    host.stop().await;

    rows.push(events::fan_out(o, measure).await?);
    Ok(rows)
}
