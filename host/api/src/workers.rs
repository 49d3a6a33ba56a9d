//! Worker routes: the list with stats, one worker with its hour-by-hour activity, and
//! workers paused, resumed, added and removed while the host runs.

use super::extract::{self, Query};
use super::openapi::refusals::{BadPage, StoreFailed};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_swarm::persist::TaskTables;
use hypernet_swarm::scheduler::core::roster::RosterChange;
use hypernet_swarm::workers::WorkerConfig;
use hypernet_swarm::workers::WorkerView;
use hypernet_swarm::workers::memory::MemoryEntry;
use hypernet_swarm::workers::personal::PersonalEntry;
use serde::{Deserialize, Serialize};

/// Hours of activity `GET /api/workers/{name}` reports.
const HOURS: u64 = 24;
const HOUR_MS: u64 = 3_600_000;

/// One hour of a worker's finished tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hour {
    /// Start of the hour (ms since the epoch).
    pub hour_ms: u64,
    /// Tasks completed in the hour.
    pub completed: u64,
    /// Tasks that failed in the hour.
    pub failed: u64,
    /// Input plus output tokens of the completed tasks.
    pub tokens: u64,
    /// Their cost in micro-dollars.
    pub cost_micros: u64,
}

/// A worker with its recent activity.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkerDetail {
    /// The worker as listed.
    #[serde(flatten)]
    pub worker: WorkerView,
    /// The last 24 hours, oldest first, one entry per hour.
    pub hourly: Vec<Hour>,
    /// Sizes of its full and compact identity prompts on its model (absent for a worker
    /// that is not configured, such as an ephemeral one).
    pub prompt: Option<hypernet_swarm::identity::PromptSizes>,
    /// What it remembers of its recent tasks, oldest first (its later prompts carry it).
    pub memory: Vec<MemoryEntry>,
}

/// List the workers with their stats and what they hold.
#[utoipa::path(
    get,
    path = "/api/workers",
    tag = "workers",
    operation_id = "list_workers",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the workers", body = Page<WorkerView>),
        BadPage,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<WorkerView>>, ApiError> {
    Ok(Json(Page::slice(state.scheduler.snapshot().workers, page)?))
}

/// Show one worker with its activity hour by hour over the last 24 hours, and the sizes
/// of its full and compact identity prompts.
#[utoipa::path(
    get,
    path = "/api/workers/{name}",
    tag = "workers",
    operation_id = "show_worker",
    params(("name" = String, Path, description = "The worker's name (any case) or address")),
    responses(
        (status = 200, description = "The worker", body = WorkerDetail),
        (status = 404, description = "`not_found`: no such worker", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkerDetail>, ApiError> {
    let worker = find(&state, &name)?;
    let store = state.registry.store().clone();
    let who = worker.name.clone();
    let now = hypernet_model::clock::now_ms();
    let hourly = blocking(move || {
        let mut hours = empty_hours(now);
        store.for_each_task(|t| {
            if t.worker.as_deref() == Some(who.as_str()) {
                count(&mut hours, &t);
            }
        })?;
        Ok::<_, hypernet_store::StoreError>(hours)
    })
    .await?;
    let memory = state
        .scheduler
        .memory(&worker.name)
        .await
        .map(|m| m.entries.into())
        .unwrap_or_default();
    let prompt = state.scheduler.prompt_sizes(&worker.name, &worker.model);
    Ok(Json(WorkerDetail {
        worker,
        hourly,
        prompt,
        memory,
    }))
}

/// The live worker called `name` (any case) or with that address, or a 404.
fn find(state: &AppState, name: &str) -> Result<WorkerView, ApiError> {
    state
        .scheduler
        .snapshot()
        .workers
        .into_iter()
        .find(|w| w.name.eq_ignore_ascii_case(name) || w.address == name)
        .ok_or_else(|| ApiError::not_found(format!("no worker named `{name}`")))
}

/// List what a worker wrote in its personal time, newest first.
#[utoipa::path(
    get,
    path = "/api/workers/{name}/personal",
    tag = "workers",
    operation_id = "worker_personal_log",
    params(
        ("name" = String, Path, description = "The worker's name (any case) or address"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of its personal log", body = Page<PersonalEntry>),
        BadPage,
        (status = 404, description = "`not_found`: no such worker", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn personal(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<PersonalEntry>>, ApiError> {
    let worker = find(&state, &name)?;
    let (offset, limit) = page.resolve()?;
    let store = state.registry.store().clone();
    let filter = hypernet_swarm::scheduler::persist::TaskFilter {
        statuses: vec![hypernet_model::tasks::TaskStatus::Completed],
        tag: Some(hypernet_swarm::workers::personal::TAG.into()),
        worker: Some(worker.name),
        ..Default::default()
    };
    let page = blocking(move || store.tasks(&filter, offset, limit)).await?;
    Ok(Json(Page {
        items: page.tasks.iter().filter_map(PersonalEntry::of).collect(),
        total: page.total,
        offset,
        limit,
    }))
}

/// The last [`HOURS`] hours ending with the one holding `now_ms`, all zero.
fn empty_hours(now_ms: u64) -> Vec<Hour> {
    let current = now_ms / HOUR_MS * HOUR_MS;
    (0..HOURS)
        .rev()
        .map(|back| Hour {
            hour_ms: current.saturating_sub(back * HOUR_MS),
            ..Hour::default()
        })
        .collect()
}

/// Adds a finished task to the hour it finished in, when that hour is listed.
fn count(hours: &mut [Hour], task: &hypernet_model::tasks::Task) {
    let Some(finished) = task.finished_ms else {
        return;
    };
    let start = finished / HOUR_MS * HOUR_MS;
    let Some(hour) = hours.iter_mut().find(|h| h.hour_ms == start) else {
        return;
    };
    match (&task.result, task.status) {
        (Some(r), hypernet_model::tasks::TaskStatus::Completed) => {
            hour.completed += 1;
            hour.tokens += r.input_tokens + r.output_tokens;
            hour.cost_micros += r.cost_micros;
        }
        (_, hypernet_model::tasks::TaskStatus::Failed) => hour.failed += 1,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{Task, TaskResult, TaskStatus};

    #[test]
    fn finished_tasks_land_in_their_hour_and_old_ones_drop_out() {
        let now = 100 * HOUR_MS + 5;
        let mut hours = empty_hours(now);
        assert_eq!(hours.len(), HOURS as usize);
        assert_eq!(hours.last().unwrap().hour_ms, 100 * HOUR_MS);
        let mut done = Task::new(
            hypernet_model::tasks::TaskId(1),
            Default::default(),
            Vec::new(),
            "person",
            3,
            0,
        );
        done.status = TaskStatus::Completed;
        done.finished_ms = Some(100 * HOUR_MS + 1);
        done.result = Some(TaskResult {
            input_tokens: 3,
            output_tokens: 4,
            cost_micros: 9,
            ..TaskResult::default()
        });
        count(&mut hours, &done);
        let mut failed = done.clone();
        failed.status = TaskStatus::Failed;
        failed.result = None;
        failed.finished_ms = Some(99 * HOUR_MS);
        count(&mut hours, &failed);
        failed.finished_ms = Some(10 * HOUR_MS);
        count(&mut hours, &failed);
        let last = &hours[HOURS as usize - 1];
        assert_eq!((last.completed, last.tokens, last.cost_micros), (1, 7, 9));
        assert_eq!(hours[HOURS as usize - 2].failed, 1);
        assert_eq!(hours.iter().map(|h| h.failed).sum::<u64>(), 1);
    }
}

/// A worker to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWorker {
    /// Its name: one word, not taken by a live worker (a configured worker removed
    /// earlier comes back as configured).
    pub name: String,
    /// The model it calls (default: the scheduler's `default_model`); a loaded provider
    /// must serve it.
    #[serde(default)]
    pub model: Option<String>,
    /// What it does.
    #[serde(default)]
    pub role: String,
    /// Capability tags matched against task tags.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Its tool permission tier, 0 (read-only) to 4 (destructive); default 2.
    #[serde(default)]
    #[schema(value_type = u8, minimum = 0, maximum = 4)]
    pub tier: hypernet_model::tier::Tier,
}

/// Add a worker while the host runs; it is kept across restarts until removed.
#[utoipa::path(
    post,
    path = "/api/workers",
    tag = "workers",
    operation_id = "add_worker",
    request_body = NewWorker,
    responses(
        (status = 200, description = "The worker, added", body = WorkerView),
        (status = 400, description = "`invalid`: a bad or taken name, an unknown field, or a model no loaded provider serves", body = ErrorBody),
        (status = 429, description = "`limit_reached`: the swarm's worker limit, or this host's room for workers", body = ErrorBody),
    ),
)]
pub(super) async fn add(
    State(state): State<AppState>,
    extract::Json(new): extract::Json<NewWorker>,
) -> Result<Json<WorkerView>, ApiError> {
    let config = WorkerConfig {
        name: new.name,
        account: "2.1".into(),
        address: String::new(),
        role: new.role,
        capabilities: new.capabilities,
        model: new.model,
        tier: new.tier,
        grants: Vec::new(),
    };
    roster(&state, RosterChange::Add(config)).await
}

/// Pause a worker: it finishes the call it is making and takes no new task (its
/// reserved one goes back to ready) until resumed; kept across restarts.
#[utoipa::path(
    post,
    path = "/api/workers/{name}/pause",
    tag = "workers",
    operation_id = "pause_worker",
    params(("name" = String, Path, description = "The worker's name (any case)")),
    responses(
        (status = 200, description = "The worker, paused", body = WorkerView),
        (status = 404, description = "`not_found`: no such worker (the message names those there are)", body = ErrorBody),
    ),
)]
pub(super) async fn pause(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkerView>, ApiError> {
    roster(&state, RosterChange::Pause(name)).await
}

/// Resume a paused worker.
#[utoipa::path(
    post,
    path = "/api/workers/{name}/resume",
    tag = "workers",
    operation_id = "resume_worker",
    params(("name" = String, Path, description = "The worker's name (any case)")),
    responses(
        (status = 200, description = "The worker, taking tasks again", body = WorkerView),
        (status = 404, description = "`not_found`: no such worker (the message names those there are)", body = ErrorBody),
    ),
)]
pub(super) async fn resume(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkerView>, ApiError> {
    roster(&state, RosterChange::Resume(name)).await
}

/// Remove a worker: at once when idle, else when its call ends (taking nothing new
/// meanwhile). A configured worker stays removed across restarts until added again.
#[utoipa::path(
    post,
    path = "/api/workers/{name}/remove",
    tag = "workers",
    operation_id = "remove_worker",
    params(("name" = String, Path, description = "The worker's name (any case)")),
    responses(
        (status = 200, description = "The worker as it was (`leaving` while its call ends)", body = WorkerView),
        (status = 400, description = "`invalid`: it is the last worker", body = ErrorBody),
        (status = 404, description = "`not_found`: no such worker (the message names those there are)", body = ErrorBody),
    ),
)]
pub(super) async fn remove(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkerView>, ApiError> {
    roster(&state, RosterChange::Remove(name)).await
}

async fn roster(state: &AppState, change: RosterChange) -> Result<Json<WorkerView>, ApiError> {
    Ok(Json(state.scheduler.change_roster(change).await?))
}
