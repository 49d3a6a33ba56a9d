//! Task, worker and status routes.

use super::extract::{self, Query};
use super::openapi::refusals::{BadTaskQuery, StoreFailed, TaskLookup};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use hypernet_swarm::persist::TaskTables;
use hypernet_swarm::scheduler::core::{Filed, PlannedTask};
use hypernet_swarm::scheduler::persist::TaskFilter;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Filters and paging of `GET /api/tasks`, `/api/failures` and `/api/history`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
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
    /// Tasks to return (default 100).
    #[param(minimum = 1, maximum = 1000)]
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

/// The `{id}` of `/api/tasks/{id}` and the routes below it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct TaskPath {
    /// The task's id, `T-4` or `4`.
    id: String,
}

impl TaskPath {
    /// The id, or a 400 saying why it is not one.
    pub(super) fn id(&self) -> Result<TaskId, ApiError> {
        self.id.parse().map_err(ApiError::invalid)
    }
}

/// Body of `POST /api/tasks`: one task, or `{"tasks": [...]}` whose members may depend on
/// each other by `key`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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

/// Answer of `POST /api/tasks`, shaped like its body: one filing, or one per member.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FileAnswer {
    /// The members' filings, in the order given.
    Batch {
        /// One per member.
        tasks: Vec<Filed>,
    },
    /// The task's filing.
    One(Filed),
}

/// File a task, or a batch of tasks.
///
/// A batch's members may set `key` and name each other's keys in `depends_on`; the batch
/// is filed whole or not at all. Filing the same title and description as an unfinished
/// task returns that task with `created: false`.
#[utoipa::path(
    post,
    path = "/api/tasks",
    tag = "tasks",
    operation_id = "file_tasks",
    request_body = FileBody,
    responses(
        (status = 200, description = "Filed: one answer per task, shaped like the body", body = FileAnswer),
        (status = 400, description = "`invalid`: a bad field (named with its member, `tasks[2]: ...`), an unknown dependency or a dependency cycle", body = ErrorBody),
        (status = 429, description = "`limit_reached`: the queue is at `max_task_queue_depth`", body = ErrorBody),
    ),
)]
pub(super) async fn file(
    State(state): State<AppState>,
    extract::Json(body): extract::Json<Value>,
) -> Result<Json<FileAnswer>, ApiError> {
    let (batch, single) = match FileBody::from_json(body)? {
        FileBody::Batch { tasks } => (tasks, false),
        FileBody::One(task) => (vec![task], true),
    };
    if batch.is_empty() {
        return Err(ApiError::invalid("`tasks` is empty"));
    }
    let mut filed: Vec<Filed> = state.scheduler.file(batch, "person").await?;
    Ok(Json(if single {
        FileAnswer::One(filed.swap_remove(0))
    } else {
        FileAnswer::Batch { tasks: filed }
    }))
}

/// List tasks, newest first, with filters.
#[utoipa::path(
    get,
    path = "/api/tasks",
    tag = "tasks",
    operation_id = "list_tasks",
    params(TaskQuery),
    responses(
        (status = 200, description = "One page of the matching tasks", body = Page<Task>),
        BadTaskQuery,
        StoreFailed,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<TaskQuery>,
) -> Result<Json<Page<Task>>, ApiError> {
    let (filter, page) = q.filter()?;
    listing(state, filter, page).await
}

/// List failed tasks, newest first, with their errors.
#[utoipa::path(
    get,
    path = "/api/failures",
    tag = "tasks",
    operation_id = "list_failures",
    params(TaskQuery),
    responses(
        (status = 200, description = "One page of the failed tasks", body = Page<Task>),
        BadTaskQuery,
        StoreFailed,
    ),
)]
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

/// List finished tasks (completed, failed or cancelled), newest first.
#[utoipa::path(
    get,
    path = "/api/history",
    tag = "tasks",
    operation_id = "list_history",
    params(TaskQuery),
    responses(
        (status = 200, description = "One page of the finished tasks", body = Page<Task>),
        BadTaskQuery,
        StoreFailed,
    ),
)]
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

/// Show one task.
#[utoipa::path(
    get,
    path = "/api/tasks/{id}",
    tag = "tasks",
    operation_id = "show_task",
    params(TaskPath),
    responses(
        (status = 200, description = "The task", body = Task),
        TaskLookup,
        StoreFailed,
    ),
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
) -> Result<Json<Task>, ApiError> {
    stored(state, task.id()?).await
}

/// The stored task, or a 404.
async fn stored(state: AppState, id: TaskId) -> Result<Json<Task>, ApiError> {
    let store = state.registry.store().clone();
    blocking(move || store.task(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no task {id}")))
}

/// Cancel an unfinished task.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/cancel",
    tag = "tasks",
    operation_id = "cancel_task",
    params(TaskPath),
    responses(
        (status = 200, description = "The task, now cancelled", body = Task),
        TaskLookup,
        (status = 409, description = "`illegal_transition`: the task has already finished", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
) -> Result<Json<Task>, ApiError> {
    let id = task.id()?;
    state.scheduler.cancel(id).await?;
    stored(state, id).await
}

/// Give a failed or cancelled task one more attempt; a cancelled one waits for its
/// unfinished dependencies again.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/retry",
    tag = "tasks",
    operation_id = "retry_task",
    params(TaskPath),
    responses(
        (status = 200, description = "The task, ready again (or blocked, waiting for its dependencies)", body = Task),
        TaskLookup,
        (status = 409, description = "`illegal_transition`: the task has neither failed nor been cancelled", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn retry(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
) -> Result<Json<Task>, ApiError> {
    let id = task.id()?;
    state.scheduler.retry(id).await?;
    stored(state, id).await
}

/// A person's answer to the question a task waits on.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    /// The answer; the task's next call carries it with the question.
    pub answer: String,
}

/// Answer the question of a `needs_input` task; it becomes ready again.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/answer",
    tag = "tasks",
    operation_id = "answer_task",
    params(TaskPath),
    request_body = AnswerBody,
    responses(
        (status = 200, description = "The task, ready again, the answer in its `clarifications`", body = Task),
        (status = 400, description = "`invalid`: the body is not `{\"answer\"}` or the answer is empty", body = ErrorBody),
        TaskLookup,
        (status = 409, description = "`illegal_transition`: the task is not waiting for an answer", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn answer(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
    extract::Json(body): extract::Json<AnswerBody>,
) -> Result<Json<Task>, ApiError> {
    let id = task.id()?;
    state.scheduler.answer(id, body.answer).await?;
    stored(state, id).await
}
