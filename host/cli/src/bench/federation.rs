//! The federation scenario: three swarms in this process (each its own scheduler, registry,
//! provider-sim and redb file) joined over one NATS JetStream server.
//!
//! - Throughput: `--tasks` filed at swarm `a` with overflow on, served by the workers of
//!   all three; wall time from the first filing to the last answer at `a` against the ideal
//!   `ceil(N / (3·W))·L`, and the tasks delegated per second of it.
//! - Added latency: tasks filed at `a` one at a time at `--rate` for `--seconds`, a third
//!   for `a` itself and a third each for `b` and `c` by name, while every worker is
//!   otherwise idle. Each task's way there is timed from filing at `a` to its model call
//!   starting (at `a`, or at the peer), its way back from that call starting to
//!   `task.completed` at `a` (the call itself, `--latency-ms`, included on both sides);
//!   what a delegated task adds is its quantile less the same quantile of the local tasks.

use super::BenchOptions;
use super::nats::NatsServer;
use super::subsystems::process_cpu;
use super::swarm::{Swarm, file_tasks};
use anyhow::{Context, Result, bail};
use hypernet_model::tasks::{PlannedTask, TaskId, TaskSpec};
use hypernet_swarm::federation::FederationConfig;
use hypernet_swarm::persist::TaskTables;
use hypernet_swarm::scheduler::CallProbe;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often the swarms publish their status in the bench (the smallest allowed is 100).
const STATUS_EVERY_MS: u64 = 200;

/// How long a status lives without renewal: a stopped swarm's is gone this long after.
const STATUS_TTL_MS: u64 = 5 * STATUS_EVERY_MS;

/// How long a peer may be silent: also how long a swarm of an earlier run on the same
/// server (stopped less than [`STATUS_TTL_MS`] before this run began) stays in the view.
const PEER_TIMEOUT_MS: u64 = 10_000;

/// How long the swarms may take to see one another, and only one another.
const MEET_WITHIN: Duration = Duration::from_millis(PEER_TIMEOUT_MS + 20_000);

type Row = (String, String, String);

/// Model calls started at one swarm while recording is on: (its task id there, when).
#[derive(Clone, Default)]
struct Starts {
    on: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(TaskId, Instant)>>>,
}

impl Starts {
    fn probe(&self) -> CallProbe {
        let starts = self.clone();
        Arc::new(move |id| {
            if starts.on.load(Ordering::Relaxed) {
                let at = Instant::now();
                starts.seen.lock().expect("lock").push((id, at));
            }
        })
    }

    fn take(&self) -> Vec<(TaskId, Instant)> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }
}

/// One of the three swarms, with its name and its call starts.
struct Member {
    name: String,
    swarm: Swarm,
    starts: Starts,
}

/// Runs the scenario; its rows for the results table.
pub(super) async fn scenario(o: &BenchOptions) -> Result<Vec<Row>> {
    let (server, url) = match &o.nats_url {
        Some(url) => (None, url.clone()),
        None => {
            let server = NatsServer::start()?;
            let url = server.url.clone();
            (Some(server), url)
        }
    };
    // Names of this run only: a server given by URL may hold an earlier run's messages.
    let run = format!("{:x}", hypernet_model::clock::now_ms() % 0xff_ffff);
    tracing::warn!(
        url = %url,
        workers_per_swarm = o.workers,
        latency_ms = o.latency_ms,
        "bench: federation: starting swarms a, b and c"
    );
    let mut members = Vec::new();
    for letter in ["a", "b", "c"] {
        let name = format!("bench-{letter}-{run}");
        let starts = Starts::default();
        let federation = FederationConfig {
            enabled: true,
            swarm: name.clone(),
            urls: vec![url.clone()],
            overflow: true,
            status_every_ms: STATUS_EVERY_MS,
            status_ttl_ms: STATUS_TTL_MS,
            peer_timeout_ms: PEER_TIMEOUT_MS,
            ..FederationConfig::default()
        };
        federation
            .validate()
            .map_err(|e| anyhow::anyhow!("the bench's [federation] for {name}: {e}"))?;
        let swarm =
            Swarm::start_federated(o.workers, o.latency_ms, Some(starts.probe()), federation)
                .await
                .with_context(|| format!("starting swarm {name}"))?;
        members.push(Member {
            name,
            swarm,
            starts,
        });
    }
    let outcome = measure(o, &members, &url, server.as_ref()).await;
    for m in members {
        m.swarm.stop().await;
    }
    match server {
        Some(server) => drop(server),
        // Their statuses expire before this returns, so a run that follows on the same
        // server does not see these swarms.
        None => tokio::time::sleep(Duration::from_millis(STATUS_TTL_MS)).await,
    }
    outcome
}

async fn measure(
    o: &BenchOptions,
    members: &[Member],
    url: &str,
    server: Option<&NatsServer>,
) -> Result<Vec<Row>> {
    meet(members, url).await?;
    let mut rows = throughput(o, members, server).await?;
    rows.extend(added_latency(o, members).await?);
    Ok(rows)
}

/// Waits until each swarm sees the other two and no other swarm (overflow would send
/// tasks to any swarm it sees).
async fn meet(members: &[Member], url: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let mut views = Vec::new();
        for m in members {
            let mut peers: Vec<String> = m
                .swarm
                .scheduler
                .federation()
                .await
                .peers
                .into_iter()
                .map(|p| p.swarm)
                .collect();
            peers.sort();
            views.push(peers);
        }
        let met = members.iter().zip(&views).all(|(m, peers)| {
            let mut others: Vec<&str> = members
                .iter()
                .filter(|o| o.name != m.name)
                .map(|o| o.name.as_str())
                .collect();
            others.sort();
            *peers == others
        });
        if met {
            tracing::warn!(after = ?started.elapsed(), "bench: federation: the swarms see one another");
            return Ok(());
        }
        if started.elapsed() > MEET_WITHIN {
            let seen: Vec<String> = members
                .iter()
                .zip(&views)
                .map(|(m, peers)| format!("{} sees {peers:?}", m.name))
                .collect();
            bail!(
                "the three swarms did not see one another, and only one another, within \
                 {MEET_WITHIN:?} over NATS at {url} ({}); is JetStream enabled on that server?",
                seen.join("; ")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Calls finished (completed or failed) at `swarm` since it started.
fn finished(swarm: &Swarm) -> u64 {
    swarm
        .scheduler
        .read_snapshot(|s| s.counts.completed_since_start + s.counts.failed_since_start)
}

fn failed(swarm: &Swarm) -> u64 {
    swarm
        .scheduler
        .read_snapshot(|s| s.counts.failed_since_start)
}

/// Waits until `n` more tasks than `from` have finished at the origin, telling the
/// progress every second.
async fn wait_answered(members: &[Member], from: u64, n: u64, what: &str) {
    let origin = &members[0].swarm;
    let mut told = Instant::now();
    while finished(origin) < from + n {
        tokio::time::sleep(Duration::from_millis(1)).await;
        if told.elapsed() >= Duration::from_secs(1) {
            told = Instant::now();
            let ran: Vec<String> = members[1..]
                .iter()
                .map(|m| format!("{} {}", m.name, finished(&m.swarm)))
                .collect();
            tracing::warn!(
                answered = finished(origin) - from,
                of = n,
                ran_by_peers = %ran.join(", "),
                "bench: federation: {what}"
            );
        }
    }
}

/// CPU used meanwhile: (this process, the NATS server when started here).
struct CpuClock(Duration, Option<Duration>);

impl CpuClock {
    fn now(server: Option<&NatsServer>) -> CpuClock {
        CpuClock(process_cpu(), server.and_then(NatsServer::cpu))
    }

    /// What was used since `self`, against what `wall` on every core offers.
    fn since(&self, server: Option<&NatsServer>, wall: Duration) -> String {
        let now = CpuClock::now(server);
        let hosts = now.0.saturating_sub(self.0).as_secs_f64();
        let nats = match (now.1, self.1) {
            (Some(b), Some(a)) => b.saturating_sub(a).as_secs_f64(),
            _ => 0.0,
        };
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let busy = 100.0 * (hosts + nats) / (wall.as_secs_f64() * cores as f64).max(1e-9);
        let nats = match server {
            Some(_) => format!(" + nats-server {nats:.2} s"),
            None => String::new(),
        };
        format!("CPU: swarms {hosts:.2} s{nats} = {busy:.0}% of {cores} cores")
    }
}

/// One throughput run, measured.
struct Run {
    wall: Duration,
    /// Tasks each peer ran for the origin.
    by_peer: Vec<u64>,
    failed: u64,
    cpu: String,
}

impl Run {
    fn delegated(&self) -> u64 {
        self.by_peer.iter().sum()
    }

    fn per_second(&self) -> f64 {
        self.delegated() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

async fn throughput(
    o: &BenchOptions,
    members: &[Member],
    server: Option<&NatsServer>,
) -> Result<Vec<Row>> {
    let n = o.tasks;
    let workers = o.workers.max(1);
    let per_filing = o.filing_batch.unwrap_or(workers).max(1);
    let ideal = Duration::from_millis(n.div_ceil(workers * members.len()) as u64 * o.latency_ms);
    let mut runs = Vec::new();
    for run in 0..o.runs.max(1) {
        tracing::warn!(
            tasks = n,
            per_filing,
            run = run + 1,
            of = o.runs.max(1),
            "bench: federation: throughput (filed at a, overflow to b and c)"
        );
        runs.push(throughput_once(n, per_filing, members, server).await?);
    }
    runs.sort_by_key(|r| r.wall);
    let median = &runs[runs.len() / 2];
    let ratio = |d: Duration| d.as_secs_f64() / ideal.as_secs_f64().max(1e-9);
    let mut rates: Vec<f64> = runs.iter().map(Run::per_second).collect();
    rates.sort_by(f64::total_cmp);
    let failed: u64 = runs.iter().map(|r| r.failed).sum();
    let split = format!(
        "a ran {}, b {}, c {}",
        n as u64 - median.delegated(),
        median.by_peer[0],
        median.by_peer[1]
    );
    Ok(vec![
        (
            format!(
                "federation: {n} tasks filed at a ({per_filing} per filing, overflow on), 3 swarms x {workers} workers, {} ms calls, median of {}",
                o.latency_ms,
                runs.len()
            ),
            format!(
                "wall {:.3} s = {:.2} x ideal {:.3} s (runs {:.2}-{:.2} x; {split}; {}; failed {failed})",
                median.wall.as_secs_f64(),
                ratio(median.wall),
                ideal.as_secs_f64(),
                ratio(runs[0].wall),
                ratio(runs[runs.len() - 1].wall),
                median.cpu,
            ),
            "ideal = ceil(N / 3W) x latency".into(),
        ),
        (
            "federation: tasks delegated per second (delegated / wall), same runs".into(),
            format!(
                "{:.0} tasks/s (runs {:.0}-{:.0}; {} delegated)",
                rates[rates.len() / 2],
                rates[0],
                rates[rates.len() - 1],
                median.delegated()
            ),
            ">= 2,000 tasks/s".into(),
        ),
    ])
}

/// Files `n` tasks at the origin and waits for every answer there.
async fn throughput_once(
    n: usize,
    per_filing: usize,
    members: &[Member],
    server: Option<&NatsServer>,
) -> Result<Run> {
    let origin = &members[0].swarm;
    let (answered, failed_before) = (finished(origin), failed(origin));
    let ran_before: Vec<u64> = members[1..].iter().map(|m| finished(&m.swarm)).collect();
    let cpu = CpuClock::now(server);
    let started = Instant::now();
    let filer = {
        let scheduler = origin.scheduler.clone();
        tokio::spawn(async move { file_tasks(&scheduler, n, "federation", per_filing).await })
    };
    wait_answered(members, answered, n as u64, "throughput").await;
    filer.await??;
    let wall = started.elapsed();
    Ok(Run {
        wall,
        cpu: cpu.since(server, wall),
        by_peer: members[1..]
            .iter()
            .zip(ran_before)
            .map(|(m, before)| finished(&m.swarm) - before)
            .collect(),
        failed: failed(origin) - failed_before,
    })
}

/// Quantiles of a set of durations.
struct Spread(Vec<Duration>);

impl Spread {
    fn new(mut samples: Vec<Duration>) -> Spread {
        samples.sort();
        Spread(samples)
    }

    fn at(&self, q: f64) -> Duration {
        let i = ((self.0.len() as f64 * q) as usize).min(self.0.len().saturating_sub(1));
        self.0.get(i).copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// `delegated` less `local` at quantile `q`, signed, in ms.
fn added(delegated: &Spread, local: &Spread, q: f64) -> String {
    let d = delegated.at(q).as_secs_f64() - local.at(q).as_secs_f64();
    format!("{:+.2} ms", d * 1000.0)
}

async fn added_latency(o: &BenchOptions, members: &[Member]) -> Result<Vec<Row>> {
    let n = (o.rate * o.seconds) as usize;
    tracing::warn!(
        rate = o.rate,
        seconds = o.seconds,
        "bench: federation: added latency (a third each for a, b and c, filed at a)"
    );
    let origin = &members[0].swarm;
    let before = finished(origin);
    let failed_before = failed(origin);
    for m in members {
        m.starts.take();
        m.starts.on.store(true, Ordering::Relaxed);
    }
    // `task.completed` at the origin, as it is announced.
    let completed: Arc<Mutex<HashMap<TaskId, Instant>>> = Arc::default();
    let follower = {
        let mut events = origin.registry.subscribe();
        let completed = completed.clone();
        tokio::spawn(async move {
            use tokio::sync::broadcast::error::RecvError;
            loop {
                match events.recv().await {
                    Ok(e) if e.kind == "task.completed" => {
                        let at = Instant::now();
                        if let Some(id) = e
                            .payload
                            .get("id")
                            .and_then(|v| serde_json::from_value::<TaskId>(v.clone()).ok())
                        {
                            completed.lock().expect("lock").insert(id, at);
                        }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "bench: federation: completions missed")
                    }
                    Err(RecvError::Closed) => return,
                }
            }
        })
    };
    // Filed at the origin: (id there, which swarm runs it, when the filing was sent).
    let filed: Arc<Mutex<Vec<(TaskId, usize, Instant)>>> = Arc::default();
    let interval = Duration::from_secs_f64(1.0 / o.rate.max(1) as f64);
    let start = tokio::time::Instant::now();
    let mut filings = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let target = i % members.len();
        let spec = TaskSpec {
            title: format!("federation latency task {i}"),
            swarm: (target > 0).then(|| members[target].name.clone()),
            ..TaskSpec::default()
        };
        let sent = Instant::now();
        let (filed, scheduler) = (filed.clone(), origin.scheduler.clone());
        filings.push(tokio::spawn(async move {
            let f = scheduler
                .file(vec![PlannedTask { key: None, spec }], "bench")
                .await?;
            filed.lock().expect("lock").push((f[0].id, target, sent));
            anyhow::Ok(())
        }));
    }
    for f in filings {
        f.await??;
    }
    wait_answered(members, before, n as u64, "added latency").await;
    // The completions reach the follower through the bus after the scheduler has counted
    // them: let it catch up (a failed task never completes, hence the limit).
    let deadline = Instant::now() + Duration::from_secs(10);
    while completed.lock().expect("lock").len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for m in members {
        m.starts.on.store(false, Ordering::Relaxed);
    }
    follower.abort();
    let failures = failed(origin) - failed_before;
    // Each call start, under the task's id at the origin.
    let mut started: HashMap<TaskId, Instant> = members[0].starts.take().into_iter().collect();
    for m in &members[1..] {
        for (id, at) in m.starts.take() {
            let task = m
                .swarm
                .store
                .task(id)
                .with_context(|| format!("reading {id} at {}", m.name))?;
            if let Some(remote) = task.and_then(|t| t.remote) {
                started.insert(remote.task, at);
            }
        }
    }
    let completed = std::mem::take(&mut *completed.lock().expect("lock"));
    let filed = std::mem::take(&mut *filed.lock().expect("lock"));
    let (mut there, mut back) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
    for (id, target, sent) in filed {
        let kind = usize::from(target > 0);
        let Some(&call) = started.get(&id) else {
            continue;
        };
        there[kind].push(call.saturating_duration_since(sent));
        if let Some(done) = completed.get(&id) {
            back[kind].push(done.saturating_duration_since(call));
        }
    }
    let [there_local, there_fed] = there.map(Spread::new);
    let [back_local, back_fed] = back.map(Spread::new);
    let figures = |fed: &Spread, local: &Spread| {
        format!(
            "added p50 {}, p99 {} (delegated p50 {}, p99 {}; local p50 {}, p99 {})",
            added(fed, local, 0.5),
            added(fed, local, 0.99),
            ms(fed.at(0.5)),
            ms(fed.at(0.99)),
            ms(local.at(0.5)),
            ms(local.at(0.99)),
        )
    };
    Ok(vec![
        (
            format!(
                "federation: added latency on the way there (filed at a -> call started at the peer, vs at a), {} tasks/s, {} delegated / {} local samples{}",
                o.rate,
                there_fed.0.len(),
                there_local.0.len(),
                if failures > 0 {
                    format!(", {failures} failed")
                } else {
                    String::new()
                }
            ),
            figures(&there_fed, &there_local),
            "added p50 <= 2 ms".into(),
        ),
        (
            format!(
                "federation: added latency on the way back (call started -> completed at a, {} ms call included on both sides), {} / {} samples",
                o.latency_ms,
                back_fed.0.len(),
                back_local.0.len()
            ),
            figures(&back_fed, &back_local),
            "added p50 <= 2 ms".into(),
        ),
    ])
}
