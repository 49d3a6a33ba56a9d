//! Status and summary routes: what the swarm is doing now and totals over every task.

use super::openapi::refusals::StoreFailed;
use super::{ApiError, AppState, blocking};
use axum::Json;
use axum::extract::State;
use hypernet_swarm::persist::TaskTables;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the swarm is doing now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Status {
    /// Tasks the scheduler holds (unfinished, plus failed ones awaiting retry) by status.
    pub tasks: BTreeMap<String, u64>,
    /// Finished tasks by status (`completed`, `failed`, `cancelled`), every one stored.
    pub finished: BTreeMap<String, u64>,
    /// Workers, and how many hold a task.
    pub workers: WorkerCounts,
    /// Plugins, and how many are loaded.
    pub plugins: PluginCounts,
    /// Store transactions written since the host started.
    pub batches_written: u64,
    /// Time since the host started, in ms.
    pub uptime_ms: u64,
    /// The failure ladder's circuit breaker: while open, no paid call starts.
    pub breaker: hypernet_swarm::scheduler::ladder::BreakerView,
    /// The boot sequences of new instances still to run in the background (absent when
    /// none is left).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot: Option<hypernet_swarm::scheduler::core::boot_hooks::BootView>,
    /// Tasks in providers' batch APIs: how many wait to be submitted, and the batches
    /// submitted and not yet ended (absent unless `[batch_api] enabled`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_api: Option<hypernet_swarm::scheduler::batch_api::book::BatchApiView>,
}

/// Worker occupancy, for [`Status`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkerCounts {
    /// All workers.
    pub total: usize,
    /// Workers holding a task.
    pub busy: usize,
}

/// Plugin counts, for [`Status`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginCounts {
    /// Plugins in the manifest.
    pub total: usize,
    /// Plugins running.
    pub loaded: usize,
    /// Plugins not running, by configuration or by request.
    pub disabled: usize,
    /// Plugins not running because they panicked or failed to start.
    pub failed: usize,
}

/// Show what the swarm is doing now: held tasks by status, busy workers, loaded plugins.
#[utoipa::path(
    get,
    path = "/api/status",
    tag = "host",
    operation_id = "status",
    responses((status = 200, description = "Counts now", body = Status)),
)]
pub(super) async fn status(State(state): State<AppState>) -> Json<Status> {
    // Read in place: a copy of the snapshot would copy every worker's view.
    let (counts, batches, started_ms, breaker, boot, batch_api) =
        state.scheduler.read_snapshot(|s| {
            (
                s.counts.clone(),
                s.batches,
                s.started_ms,
                s.breaker.clone(),
                s.boot.clone(),
                s.batch_api.clone(),
            )
        });
    let plugins = state.registry.state_counts();
    Json(Status {
        tasks: counts.by_status,
        finished: counts.finished,
        workers: WorkerCounts {
            total: counts.workers,
            busy: counts.busy_workers,
        },
        plugins: PluginCounts {
            total: state.registry.manifest().plugins.len(),
            loaded: plugins.loaded,
            disabled: plugins.disabled,
            failed: plugins.failed,
        },
        batches_written: batches,
        uptime_ms: hypernet_model::clock::now_ms().saturating_sub(started_ms),
        breaker,
        boot,
        batch_api,
    })
}

/// Totals over every stored task.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct Summary {
    /// Tasks by status.
    pub by_status: BTreeMap<String, u64>,
    /// Completed tasks by model.
    pub by_model: BTreeMap<String, u64>,
    /// Input plus output tokens of completed tasks.
    pub tokens: u64,
    /// Cost of completed tasks in micro-dollars.
    pub cost_micros: u64,
    /// All tasks.
    pub total: u64,
}

/// Show totals over every stored task: by status, by model, tokens and cost.
#[utoipa::path(
    get,
    path = "/api/summary",
    tag = "host",
    operation_id = "summary",
    responses(
        (status = 200, description = "The totals", body = Summary),
        StoreFailed,
    ),
)]
pub(super) async fn summary(State(state): State<AppState>) -> Result<Json<Summary>, ApiError> {
    let store = state.registry.store().clone();
    let summary = blocking(move || {
        let mut s = Summary::default();
        store.for_each_task(|t| {
            s.total += 1;
            *s.by_status.entry(t.status.to_string()).or_default() += 1;
            if let Some(r) = &t.result {
                *s.by_model.entry(r.model.clone()).or_default() += 1;
                s.tokens += r.input_tokens + r.output_tokens;
                s.cost_micros += r.cost_micros;
            }
        })?;
        Ok::<_, hypernet_store::StoreError>(s)
    })
    .await?;
    Ok(Json(summary))
}
