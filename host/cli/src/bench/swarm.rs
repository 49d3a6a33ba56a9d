//! Scenarios that run the scheduler in this process.

use super::BenchOptions;
use anyhow::{Context, Result};
use hypernet_engine::{Manifest, Registry, RegistryOptions};
use hypernet_model::tasks::PlannedTask;
use hypernet_model::tasks::{TaskId, TaskSpec};
use hypernet_swarm::config::{HostConfig, SchedulerConfig};
use hypernet_swarm::scheduler::{CallProbe, Scheduler};
use hypernet_swarm::workers::WorkerConfig;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A scheduler with `workers` workers and provider-sim at `latency_ms`, on a fresh store.
pub(super) struct Swarm {
    pub scheduler: Scheduler,
    pub registry: Arc<Registry>,
    pub outbox: hypernet_swarm::outbox::Outbox,
    pub channels: hypernet_swarm::channels::Channels,
    /// The store (the benchmarks read finished tasks from it).
    pub store: hypernet_store::Store,
    federation: Option<hypernet_federation::Service>,
    dir: tempfile::TempDir,
}

impl Swarm {
    pub(super) async fn start(
        workers: usize,
        latency_ms: u64,
        probe: Option<CallProbe>,
        offer_tools: bool,
    ) -> Result<Swarm> {
        Self::start_with(workers, latency_ms, probe, offer_tools, "").await
    }

    /// [`Swarm::start`] with more plugins: `plugins` is added to the manifest.
    pub(super) async fn start_with(
        workers: usize,
        latency_ms: u64,
        probe: Option<CallProbe>,
        offer_tools: bool,
        plugins: &str,
    ) -> Result<Swarm> {
        let federation = hypernet_swarm::federation::FederationConfig::default();
        Self::launch(workers, latency_ms, probe, offer_tools, plugins, federation).await
    }

    /// [`Swarm::start`] joined to a federation by `federation` (enabled).
    pub(super) async fn start_federated(
        workers: usize,
        latency_ms: u64,
        probe: Option<CallProbe>,
        federation: hypernet_swarm::federation::FederationConfig,
    ) -> Result<Swarm> {
        Self::launch(workers, latency_ms, probe, false, "", federation).await
    }

    async fn launch(
        workers: usize,
        latency_ms: u64,
        probe: Option<CallProbe>,
        offer_tools: bool,
        plugins: &str,
        federation: hypernet_swarm::federation::FederationConfig,
    ) -> Result<Swarm> {
        let manifest = format!(
            "[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nlatency_ms = {latency_ms}\noutput_tokens = 16\n{plugins}"
        );
        let config = HostConfig {
            scheduler: SchedulerConfig::default(),
            workers: Self::workers(workers),
            standing: Vec::new(),
            swarm_limits: hypernet_swarm::coordinator::autoscale::SwarmLimits::unlimited(),
            tools: hypernet_swarm::tools::ToolsConfig {
                enabled: offer_tools,
                ..Default::default()
            },
            // The runs measure a fixed amount of work: no personal tasks are added to it.
            personal_time: hypernet_swarm::workers::personal::PersonalTimeConfig {
                enabled: false,
                ..Default::default()
            },
            federation,
            ..HostConfig::default()
        };
        Self::run(&manifest, &config, probe).await
    }

    /// `n` bench workers (`bench-0`, …) with no capabilities, on the scheduler's default
    /// model.
    pub(super) fn workers(n: usize) -> Vec<WorkerConfig> {
        (0..n)
            .map(|i| WorkerConfig {
                name: format!("bench-{i}"),
                account: "2.1".into(),
                address: String::new(),
                role: String::new(),
                capabilities: Vec::new(),
                model: None,
                tier: Default::default(),
                grants: Vec::new(),
            })
            .collect()
    }

    /// A swarm of the plugins of `manifest` (TOML) and `config`, on a fresh store.
    pub(super) async fn run(
        manifest: &str,
        config: &HostConfig,
        probe: Option<CallProbe>,
    ) -> Result<Swarm> {
        let dir = tempfile::tempdir().context("temporary data directory")?;
        let manifest = Manifest::parse(manifest, "bench manifest", Path::new("."))?;
        let store = hypernet_swarm::persist::open_store(&dir.path().join("hypernet.redb"))?;
        let crate::compose::Host {
            registry,
            scheduler,
            outbox,
            channels,
            federation,
        } = crate::compose::compose(crate::compose::Inputs {
            config,
            manifest,
            store: store.clone(),
            audit: None,
            registry: RegistryOptions::default(),
            probe,
        })
        .await?;
        Ok(Swarm {
            scheduler,
            registry,
            outbox,
            channels,
            store,
            federation,
            dir,
        })
    }

    /// Waits until `n` calls have finished (completed or failed) since the start.
    pub(super) async fn wait_finished(&self, n: usize) {
        loop {
            let c = self.scheduler.snapshot().counts;
            if (c.completed_since_start + c.failed_since_start) as usize >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops the swarm; returns its data directory (removed when dropped).
    pub(super) async fn stop(self) -> tempfile::TempDir {
        self.scheduler.shutdown(Duration::from_secs(5)).await;
        if let Some(federation) = &self.federation {
            federation.stop();
        }
        self.registry.shutdown();
        self.dir
    }
}

/// Files `n` distinct tasks named after `tag`, `batch` per durable commit.
pub(super) async fn file_tasks(
    scheduler: &Scheduler,
    n: usize,
    tag: &str,
    batch: usize,
) -> Result<()> {
    let batch = batch.max(1);
    for chunk_start in (0..n).step_by(batch) {
        let planned = (chunk_start..n.min(chunk_start + batch))
            .map(|i| PlannedTask {
                key: None,
                spec: TaskSpec {
                    title: format!("{tag} task {i}"),
                    ..TaskSpec::default()
                },
            })
            .collect();
        scheduler.file(planned, "bench").await?;
    }
    Ok(())
}

/// How the measured calls run, for the row's label.
fn calls_kind(o: &BenchOptions) -> &'static str {
    if o.offer_tools {
        " (tool loop, default tools offered)"
    } else {
        " (single-turn)"
    }
}

pub(super) async fn concurrency(o: &BenchOptions) -> Result<(String, String, String)> {
    tracing::warn!(
        tasks = o.tasks,
        workers = o.workers,
        latency_ms = o.latency_ms,
        runs = o.runs,
        "bench: concurrency"
    );
    let per_filing = o.filing_batch.unwrap_or(o.workers).max(1);
    let rounds = o.tasks.div_ceil(o.workers.max(1)) as u64;
    let ideal = Duration::from_millis(rounds * o.latency_ms)
        .as_secs_f64()
        .max(1e-9);
    let mut walls = Vec::new();
    let mut running = Vec::new();
    for _ in 0..o.runs.max(1) {
        let (wall, run) = concurrency_once(o, per_filing).await?;
        walls.push(wall.as_secs_f64() / ideal);
        running.push(run.as_secs_f64() / ideal);
    }
    let spread = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (wall, wall_min, wall_max) = spread(&mut walls);
    let (run, _, _) = spread(&mut running);
    Ok((
        format!(
            "concurrency: {} tasks ({per_filing} per filing), {} workers, {} ms calls{}, median of {}",
            o.tasks,
            o.workers,
            o.latency_ms,
            calls_kind(o),
            walls.len()
        ),
        format!(
            "wall {wall:.3} x ideal {ideal:.3} s (runs {wall_min:.3}-{wall_max:.3}; first call to last answer {run:.3} x)"
        ),
        "<= 1.05 x ideal".into(),
    ))
}

/// One concurrency run on a fresh swarm: (first filing to last answer, first call to last
/// answer).
async fn concurrency_once(o: &BenchOptions, per_filing: usize) -> Result<(Duration, Duration)> {
    let first_call: Arc<std::sync::OnceLock<Instant>> = Arc::default();
    let probe: CallProbe = {
        let first_call = first_call.clone();
        Arc::new(move |_| {
            first_call.get_or_init(Instant::now);
        })
    };
    let swarm = Swarm::start(o.workers, o.latency_ms, Some(probe), o.offer_tools).await?;
    let started = Instant::now();
    // Filings follow one another while the first calls run, as a planner's would.
    let filer = {
        let (scheduler, n) = (swarm.scheduler.clone(), o.tasks);
        tokio::spawn(async move { file_tasks(&scheduler, n, "concurrency", per_filing).await })
    };
    swarm.wait_finished(o.tasks).await;
    filer.await??;
    let wall = started.elapsed();
    let running = first_call.get().map(|t| t.elapsed()).unwrap_or(wall);
    swarm.stop().await;
    Ok((wall, running))
}

pub(super) async fn throughput(o: &BenchOptions) -> Result<(String, String, String)> {
    let n = o.throughput_tasks;
    tracing::warn!(tasks = n, "bench: throughput");
    let swarm = Swarm::start(64, 0, None, o.offer_tools).await?;
    let started = Instant::now();
    // Filing runs alongside the work, as it would with people filing tasks.
    let filer = {
        let scheduler = swarm.scheduler.clone();
        tokio::spawn(async move { file_tasks(&scheduler, n, "throughput", 1000).await })
    };
    swarm.wait_finished(n).await;
    filer.await??;
    let wall = started.elapsed();
    let batches = swarm.scheduler.snapshot().batches;
    swarm.stop().await;
    Ok((
        format!(
            "throughput: {n} tasks, zero-latency provider{}, durable",
            calls_kind(o)
        ),
        format!(
            "{:.0} tasks/s ({batches} commits)",
            n as f64 / wall.as_secs_f64()
        ),
        ">= 10,000 tasks/s".into(),
    ))
}

pub(super) async fn latency(o: &BenchOptions) -> Result<Vec<(String, String, String)>> {
    let n = (o.rate * o.seconds) as usize;
    tracing::warn!(
        rate = o.rate,
        seconds = o.seconds,
        "bench: scheduling latency"
    );
    let filed: Arc<Mutex<HashMap<TaskId, Instant>>> = Arc::default();
    let started: Arc<Mutex<HashMap<TaskId, Instant>>> = Arc::default();
    let probe: CallProbe = {
        let started = started.clone();
        Arc::new(move |id| {
            started.lock().expect("lock").insert(id, Instant::now());
        })
    };
    let swarm = Swarm::start(64, 0, Some(probe), o.offer_tools).await?;
    let interval = Duration::from_secs_f64(1.0 / o.rate.max(1) as f64);
    let start = tokio::time::Instant::now();
    for i in 0..n {
        tokio::time::sleep_until(start + interval * i as u32).await;
        let spec = TaskSpec {
            title: format!("latency task {i}"),
            ..TaskSpec::default()
        };
        let sent = Instant::now();
        // The id is known only from the answer; the send time is recorded under it then.
        let filed_map = filed.clone();
        let scheduler = swarm.scheduler.clone();
        tokio::spawn(async move {
            if let Ok(f) = scheduler
                .file(vec![PlannedTask { key: None, spec }], "bench")
                .await
            {
                filed_map.lock().expect("lock").insert(f[0].id, sent);
            }
        });
    }
    swarm.wait_finished(n).await;
    swarm.stop().await;
    let filed = std::mem::take(&mut *filed.lock().expect("lock"));
    let started = std::mem::take(&mut *started.lock().expect("lock"));
    let mut samples: Vec<Duration> = filed
        .iter()
        .filter_map(|(id, at)| started.get(id).map(|s| s.saturating_duration_since(*at)))
        .collect();
    samples.sort();
    let pick = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    Ok(vec![(
        format!(
            "scheduling latency at {} tasks/s (filed -> call started, {} samples)",
            o.rate,
            samples.len()
        ),
        format!(
            "p50 {}, p99 {}, max {}",
            ms(pick(0.5)),
            ms(pick(0.99)),
            ms(pick(1.0))
        ),
        "p99 <= 5 ms".into(),
    )])
}
