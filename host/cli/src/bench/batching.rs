//! `batching`: 100 short docs tasks filed together, run by the real scheduler twice against
//! the same provider (provider-sim serving a paid model, priced like Claude Haiku 4: $1 in,
//! $5 out per million tokens, each answer 120 tokens, input counted as characters / 4):
//! once with `[batching]` off, once on. Reports the calls, input and output tokens and the
//! cost each way, and what batching saved.

use super::BenchOptions;
use super::swarm::Swarm;
use anyhow::{Result, ensure};
use hypernet_model::tasks::{PlannedTask, TaskSpec};
use hypernet_swarm::budget::{BudgetConfig, Price, Usage};
use hypernet_swarm::config::{HostConfig, SchedulerConfig};
use hypernet_swarm::scheduler::batching::BatchingConfig;
use std::time::Duration;

const TASKS: usize = 100;
const WORKERS: usize = 4;
const MODEL: &str = "bench/docs";

/// The tasks: short, routine documentation edits.
fn tasks() -> Vec<PlannedTask> {
    const EDITS: [&str; 5] = [
        "Rewrite the first paragraph so it says in one sentence what the page covers.",
        "Fix the broken link to the configuration reference.",
        "Add a one-line example of the command the page describes.",
        "Replace the passive sentences of the summary with active ones.",
        "Add the missing default value to the table of options.",
    ];
    (0..TASKS)
        .map(|i| PlannedTask {
            key: None,
            spec: TaskSpec {
                title: format!("Docs page {i}: {}", EDITS[i % EDITS.len()]),
                description: format!("The page is docs/guide/page-{i}.md."),
                tags: vec!["docs".into()],
                ..TaskSpec::default()
            },
        })
        .collect()
}

/// Runs the tasks on a fresh swarm with batching `on`; what the model's calls used.
async fn run(o: &BenchOptions, on: bool) -> Result<Usage> {
    let manifest = format!(
        "[[plugin]]\nname = \"provider-sim\"\n[plugin.config]\nlatency_ms = {}\noutput_tokens = 120\nmodels = [\"bench/\"]\nlocal = false\n",
        o.latency_ms
    );
    let config = HostConfig {
        scheduler: SchedulerConfig {
            default_model: MODEL.into(),
            ..SchedulerConfig::default()
        },
        workers: Swarm::workers(WORKERS),
        standing: Vec::new(),
        // Single-turn calls both ways: a batched call offers no tools.
        tools: hypernet_swarm::tools::ToolsConfig {
            enabled: false,
            ..Default::default()
        },
        personal_time: hypernet_swarm::workers::personal::PersonalTimeConfig {
            enabled: false,
            ..Default::default()
        },
        budget: BudgetConfig {
            prices: [("bench/".to_owned(), Price::new(1.0, 5.0))].into(),
            ..BudgetConfig::default()
        },
        batching: BatchingConfig {
            enabled: on,
            ..BatchingConfig::default()
        },
        ..HostConfig::default()
    };
    let swarm = Swarm::run(&manifest, &config, None).await?;
    swarm.scheduler.file(tasks(), "bench").await?;
    swarm.wait_finished(TASKS).await;
    // The snapshot is refreshed before the loop sleeps: wait for the last worker to be free.
    while swarm.scheduler.read_snapshot(|s| s.counts.busy_workers) > 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (done, usage) = swarm.scheduler.read_snapshot(|s| {
        (
            s.counts.completed_since_start,
            s.budget.per_model.get(MODEL).cloned().unwrap_or_default(),
        )
    });
    swarm.stop().await;
    ensure!(
        done as usize == TASKS,
        "batching {}: {done} of {TASKS} tasks completed",
        if on { "on" } else { "off" }
    );
    Ok(usage)
}

/// `after` against `before`, as a signed percentage.
fn change(before: u64, after: u64) -> String {
    let pct = (after as f64 - before as f64) / (before.max(1) as f64) * 100.0;
    format!("{pct:+.1}%")
}

/// Runs the scenario; rows of (measure, result, target).
pub(super) async fn scenario(o: &BenchOptions) -> Result<Vec<(String, String, String)>> {
    tracing::warn!(tasks = TASKS, workers = WORKERS, "bench: batching");
    let off = run(o, false).await?;
    let on = run(o, true).await?;
    let label = |what: &str| {
        format!("batching: {what} ({TASKS} short docs tasks filed together, {WORKERS} workers)")
    };
    let row = |what: &str, off: u64, on: u64, target: &str| {
        (
            label(what),
            format!("off {off}, on {on} ({})", change(off, on)),
            target.to_owned(),
        )
    };
    let usd = |m: u64| m as f64 / 1e6;
    Ok(vec![
        row("model calls", off.calls, on.calls, "fewer"),
        row("input tokens", off.input_tokens, on.input_tokens, "fewer"),
        row(
            "output tokens",
            off.output_tokens,
            on.output_tokens,
            "about the same",
        ),
        (
            label("cost at $1 / $5 per Mtok"),
            format!(
                "off ${:.4}, on ${:.4}: {:.1}% saved",
                usd(off.cost_micros),
                usd(on.cost_micros),
                (off.cost_micros as f64 - on.cost_micros as f64) / off.cost_micros.max(1) as f64
                    * 100.0
            ),
            "> 0% saved".into(),
        ),
    ])
}
