//! Task, worker and status routes.

use super::{ApiError, AppState, blocking};
use crate::scheduler::core::{Filed, PlannedTask};
use crate::store::tasks::TaskFilter;
use crate::tasks::{Task, TaskId, TaskStatus};
use crate::workers::WorkerView;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// `?status=&limit=` on listings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<usize>,
}

fn parse_id(id: &str) -> Result<TaskId, ApiError> {
    id.parse().map_err(ApiError::invalid)
}

/// Body of `POST /api/tasks`: one task, or `{"tasks": [...]}` whose members may depend on
/// each other by `key`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileBody {
    /// Several tasks.
    Batch {
        /// The members.
        tasks: Vec<PlannedTask>,
    },
    /// One task.
    One(PlannedTask),
}

pub(super) async fn file(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let body: FileBody =
        serde_json::from_slice(&body).map_err(|e| ApiError::invalid(format!("task: {e}")))?;
    let (batch, single) = match body {
        FileBody::Batch { tasks } => (tasks, false),
        FileBody::One(task) => (vec![task], true),
    };
    if batch.is_empty() {
        return Err(ApiError::invalid("`tasks` is empty"));
    }
    let filed: Vec<Filed> = state.scheduler.file(batch, "person").await?;
    Ok(Json(if single {
        json!(filed[0])
    } else {
        json!({ "tasks": filed })
    }))
}

pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<TaskStatus>)
        .transpose()
        .map_err(ApiError::invalid)?;
    let filter = TaskFilter {
        status,
        finished: false,
        limit: Some(q.limit.unwrap_or(200)),
    };
    listing(state, filter).await
}

async fn listing(state: AppState, filter: TaskFilter) -> Result<Json<Vec<Task>>, ApiError> {
    let store = state.registry.store().clone();
    Ok(Json(blocking(move || store.tasks(&filter)).await?))
}

pub(super) async fn failures(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    listing(
        state,
        TaskFilter {
            status: Some(TaskStatus::Failed),
            finished: false,
            limit: Some(q.limit.unwrap_or(50)),
        },
    )
    .await
}

pub(super) async fn history(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Task>>, ApiError> {
    listing(
        state,
        TaskFilter {
            status: None,
            finished: true,
            limit: Some(q.limit.unwrap_or(50)),
        },
    )
    .await
}

pub(super) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    let store = state.registry.store().clone();
    blocking(move || store.task(id))
        .await?
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("no task {id}"),
            )
        })
}

pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    state.scheduler.cancel(id).await?;
    show(State(state), Path(id.to_string())).await
}

pub(super) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Task>, ApiError> {
    let id = parse_id(&id)?;
    state.scheduler.retry(id).await?;
    show(State(state), Path(id.to_string())).await
}

pub(super) async fn workers(State(state): State<AppState>) -> Json<Vec<WorkerView>> {
    Json(state.scheduler.snapshot().workers)
}

pub(super) async fn worker(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<WorkerView>, ApiError> {
    state
        .scheduler
        .snapshot()
        .workers
        .into_iter()
        .find(|w| w.name.eq_ignore_ascii_case(&name) || w.address == name)
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "not_found",
                format!("no worker named `{name}`"),
            )
        })
}

pub(super) async fn status(State(state): State<AppState>) -> Json<Value> {
    let snap = state.scheduler.snapshot();
    let plugins = state.registry.statuses();
    let loaded = plugins
        .iter()
        .filter(|p| p.state.label() == "loaded")
        .count();
    Json(json!({
        "tasks": snap.counts.by_status,
        "workers": { "total": snap.counts.workers, "busy": snap.counts.busy_workers },
        "plugins": { "total": plugins.len(), "loaded": loaded },
        "batches_written": snap.batches,
        "uptime_ms": crate::bus::now_ms().saturating_sub(snap.started_ms),
    }))
}

/// Totals over every stored task.
#[derive(Debug, Default, Serialize)]
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
        Ok::<_, crate::store::StoreError>(s)
    })
    .await?;
    Ok(Json(summary))
}
