//! Task, worker and status routes.

use super::extract::{self, Query};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, blocking};
use crate::scheduler::core::{Filed, PlannedTask};
use crate::store::tasks::TaskFilter;
use crate::tasks::{Task, TaskId, TaskStatus};
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

/// Filters and paging of `GET /api/tasks`, `/api/failures` and `/api/history`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// Statuses, comma-separated (`ready,running`).
    status: Option<String>,
    /// A tag the task carries.
    tag: Option<String>,
    /// The worker it is assigned to.
    worker: Option<String>,
    /// The model it is routed to.
    model: Option<String>,
    /// Text its title contains (any case).
    q: Option<String>,
    /// Its parent task.
    parent: Option<String>,
    /// Tasks to skip.
    offset: Option<usize>,
    /// Tasks to return.
    limit: Option<usize>,
}

impl TaskQuery {
    fn filter(self) -> Result<(TaskFilter, PageQuery), ApiError> {
        let statuses = self
            .status
            .iter()
            .flat_map(|s| s.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<TaskStatus>()
                    .map_err(|e| ApiError::invalid(format!("`status`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        let parent = self
            .parent
            .as_deref()
            .map(|p| {
                p.parse()
                    .map_err(|e| ApiError::invalid(format!("`parent`: {e}")))
            })
            .transpose()?;
        let filter = TaskFilter {
            statuses,
            finished: false,
            tag: self.tag,
            worker: self.worker,
            model: self.model,
            text: self.q,
            parent,
        };
        Ok((
            filter,
            PageQuery {
                offset: self.offset,
                limit: self.limit,
            },
        ))
    }
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

impl FileBody {
    /// Reads a body, naming the member and field at fault (`tasks[3]: missing field
    /// `title``) where serde's untagged enums would only say that nothing matched.
    fn from_json(body: Value) -> Result<FileBody, ApiError> {
        let one = |value: Value, at: &str| {
            serde_json::from_value::<PlannedTask>(value)
                .map_err(|e| ApiError::invalid(format!("{at}{e}")))
        };
        match body {
            Value::Object(mut fields) if fields.contains_key("tasks") => {
                let Some(Value::Array(members)) = fields.remove("tasks") else {
                    return Err(ApiError::invalid("`tasks` must be an array of tasks"));
                };
                let tasks = members
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| one(m, &format!("tasks[{i}]: ")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(FileBody::Batch { tasks })
            }
            Value::Object(_) => Ok(FileBody::One(one(body, "")?)),
            _ => Err(ApiError::invalid(
                "the body must be a task object or `{\"tasks\": [...]}`",
            )),
        }
    }
}

pub(super) async fn file(
    State(state): State<AppState>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Json<Value>, ApiError> {
    let (batch, single) = match FileBody::from_json(body)? {
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
    Query(q): Query<TaskQuery>,
) -> Result<Json<Page<Task>>, ApiError> {
    let (filter, page) = q.filter()?;
    listing(state, filter, page).await
}

pub(super) async fn failures(
    State(state): State<AppState>,
    Query(q): Query<TaskQuery>,
) -> Result<Json<Page<Task>>, ApiError> {
    let (mut filter, page) = q.filter()?;
    if filter.statuses.iter().any(|s| *s != TaskStatus::Failed) {
        return Err(ApiError::invalid("`status`: failures are always `failed`"));
    }
    filter.statuses = vec![TaskStatus::Failed];
    listing(state, filter, page).await
}

pub(super) async fn history(
    State(state): State<AppState>,
    Query(q): Query<TaskQuery>,
) -> Result<Json<Page<Task>>, ApiError> {
    let (mut filter, page) = q.filter()?;
    filter.finished = true;
    listing(state, filter, page).await
}

async fn listing(
    state: AppState,
    filter: TaskFilter,
    page: PageQuery,
) -> Result<Json<Page<Task>>, ApiError> {
    let (offset, limit) = page.resolve()?;
    let store = state.registry.store().clone();
    let found = blocking(move || store.tasks(&filter, offset, limit)).await?;
    Ok(Json(Page {
        items: found.tasks,
        total: found.total,
        offset,
        limit,
    }))
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
        .ok_or_else(|| ApiError::not_found(format!("no task {id}")))
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
