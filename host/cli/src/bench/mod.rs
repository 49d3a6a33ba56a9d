//! `hypernet bench`: whole-system figures measured in-process against the real plugin
//! libraries, the real scheduler and a real redb file in a temporary directory.
//!
//! - `concurrency`: N tasks, W workers, provider latency L: wall time from the first filing
//!   to the last answer against the ideal `ceil(N/W)·L`. The tasks are filed one durable
//!   batch after another (W per batch unless told) while the swarm works.
//! - `throughput`: tasks per second end to end with a zero-latency provider, every
//!   transition durable.
//! - `latency`: tasks filed at a steady rate; time from filing (the task is ready at once)
//!   to its model call starting, p50/p99.
//! - `memory`: the peak resident memory of a `hypernet run` process whose store holds N
//!   finished tasks, and the curve of a `hypernet run` process's resident memory as it
//!   works through 1,000 ... 100,000 tasks filed through its API (it should stay flat).
//! - `http`: the host's HTTP call path against an in-process loopback server: overhead over
//!   a raw `reqwest` round trip, and 1,000 concurrent streamed calls.
//! - `api`: the host's HTTP API served on a loopback port and driven by a load generator on
//!   a thread of its own: `GET /api/status` and durable `POST /api/tasks` over keep-alive
//!   HTTP/1.1 connections (req/s, p50/p99, errors), and `/api/events` fanned out to
//!   WebSocket clients at a steady event rate (delivered events/s, loss, id gaps).
//! - `subsystems`: the host CPU per task that the subsystem plugins add: the same run with
//!   and without them, until every plugin has handled every event.
//! - `peer`: the workload the Python agent frameworks are measured on (one-call tasks, 50
//!   at a time, 50 ms, against a loopback OpenAI-compatible server through the real
//!   `provider-lmstudio` plugin) run by a `hypernet run` process, with the provider alone and
//!   with the four subsystem plugins, plain and streamed: peak RSS, RSS at ready, host CPU
//!   a call, wall time.
//! - `batching`: 100 short docs tasks filed together, run with `[batching]` off and on
//!   against the same provider: model calls, input and output tokens, cost, the saving.
//! - `federation` (not part of `all`: it needs a NATS server): three swarms in this
//!   process joined over NATS JetStream; tasks filed at one overflow to the other two
//!   (wall time against the ideal, tasks delegated per second), and the latency a
//!   delegated task adds over a local one.

mod api;
mod batching;
mod child;
mod federation;
mod http;
mod memory;
mod nats;
mod peer;
mod subsystems;
mod swarm;

use anyhow::Result;
use clap::{Args, ValueEnum};

/// Which figures to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// Every scenario but federation.
    All,
    /// Concurrent calls against the ideal wall time.
    Concurrency,
    /// Tasks per second, zero-latency provider.
    Throughput,
    /// Scheduling latency at a steady filing rate.
    Latency,
    /// Peak RSS of a host with many finished tasks stored; RSS as a host works.
    Memory,
    /// Host HTTP call path: overhead over raw reqwest, concurrent streamed calls.
    Http,
    /// The HTTP API under load: status, filings, event stream fan-out.
    Api,
    /// Host CPU per task added by the subsystem plugins.
    Subsystems,
    /// The workload the Python frameworks are measured on, by a `hypernet run` process:
    /// peak RSS, RSS at ready, host CPU a call, wall time.
    Peer,
    /// Three swarms over NATS JetStream: delegated tasks per second, added latency.
    Federation,
    /// 100 short docs tasks with batching off and on: calls, tokens, cost, the saving.
    Batching,
}

/// Options of `hypernet bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchOptions {
    /// What to measure.
    #[arg(long, value_enum, default_value = "all")]
    pub scenario: Scenario,
    /// Concurrency, federation: tasks.
    #[arg(long, default_value_t = 10_000)]
    pub tasks: usize,
    /// Concurrency: workers; federation: workers of each swarm.
    #[arg(long, default_value_t = 500)]
    pub workers: usize,
    /// Concurrency, federation: tasks per filing (one durable batch each; default: the
    /// worker count).
    #[arg(long)]
    pub filing_batch: Option<usize>,
    /// Concurrency, peer: runs (the median is reported, with the range).
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Concurrency, federation, peer: provider latency in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub latency_ms: u64,
    /// Throughput: tasks.
    #[arg(long, default_value_t = 50_000)]
    pub throughput_tasks: usize,
    /// Subsystems: tasks per run.
    #[arg(long, default_value_t = 3_000)]
    pub subsystem_tasks: usize,
    /// Latency, federation's added latency: filing rate per second.
    #[arg(long, default_value_t = 1_000)]
    pub rate: u64,
    /// Latency, federation's added latency: seconds of filing.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Memory: finished tasks stored.
    #[arg(long, default_value_t = 100_000)]
    pub stored: usize,
    /// Memory: tasks processed at the end of the resident-memory curve.
    #[arg(long, default_value_t = 100_000)]
    pub memory_tasks: usize,
    /// Api: seconds measured per figure (after a warm-up of a fifth of that, at most 1 s).
    #[arg(long, default_value_t = 5.0)]
    pub api_seconds: f64,
    /// Api: keep-alive HTTP/1.1 connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub api_connections: usize,
    /// Api: WebSocket clients following the event stream.
    #[arg(long, default_value_t = 100)]
    pub api_clients: usize,
    /// Api: events per second published while they follow.
    #[arg(long, default_value_t = 1_000)]
    pub api_event_rate: u64,
    /// Concurrency, throughput, latency: offer the workers the default tools, so every call
    /// goes through the tool loop (default: single-turn calls, no tools offered).
    #[arg(long)]
    pub offer_tools: bool,
    /// Peer: one-call tasks filed (all at once).
    #[arg(long, default_value_t = 1_000)]
    pub peer_tasks: usize,
    /// Peer: workers, and calls in flight at a time.
    #[arg(long, default_value_t = 50)]
    pub peer_concurrency: usize,
    /// Federation: the NATS server (with JetStream) to use, e.g. `nats://127.0.0.1:4222`
    /// (default: a `nats-server` started for the run on a free loopback port).
    #[arg(long)]
    pub nats_url: Option<String>,
}

/// Runs the chosen scenarios and prints their figures.
pub async fn run(options: BenchOptions) -> Result<()> {
    let all = options.scenario == Scenario::All;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    if all || options.scenario == Scenario::Concurrency {
        rows.push(swarm::concurrency(&options).await?);
    }
    if all || options.scenario == Scenario::Throughput {
        rows.push(swarm::throughput(&options).await?);
    }
    if all || options.scenario == Scenario::Latency {
        rows.extend(swarm::latency(&options).await?);
    }
    if all || options.scenario == Scenario::Memory {
        rows.push(memory::stored_tasks(&options).await?);
        rows.extend(memory::curve(&options).await?);
    }
    if all || options.scenario == Scenario::Http {
        rows.extend(http::scenario().await?);
    }
    if all || options.scenario == Scenario::Api {
        rows.extend(api::scenario(&options).await?);
    }
    if all || options.scenario == Scenario::Subsystems {
        rows.push(subsystems::scenario(&options).await?);
    }
    if all || options.scenario == Scenario::Peer {
        rows.extend(peer::scenario(&options).await?);
    }
    if all || options.scenario == Scenario::Batching {
        rows.extend(batching::scenario(&options).await?);
    }
    if options.scenario == Scenario::Federation {
        rows.extend(federation::scenario(&options).await?);
    }
    let table: Vec<Vec<String>> = rows.into_iter().map(|(a, b, c)| vec![a, b, c]).collect();
    outln!(
        "{}",
        crate::render_table(&["MEASURE", "RESULT", "TARGET"], &table)
    )?;
    Ok(())
}
