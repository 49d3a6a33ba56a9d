//! Coordinator routes: splitting a task into subtasks on demand, and the conflicts among
//! the tasks workers hold.

use super::extract::Query;
use super::openapi::refusals::{BadPage, TaskLookup};
use super::page::{Page, PageQuery};
use super::tasks::TaskPath;
use super::{ApiError, AppState, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use hypernet_swarm::coordinator::conflicts::Conflict;
use hypernet_swarm::scheduler::core::Filed;

/// Split a waiting task into chained subtasks (Plan/Implement/Test, Design/Implement/Test
/// or Draft/Review, by its description and tags); the task then waits on them.
#[utoipa::path(
    post,
    path = "/api/tasks/{id}/decompose",
    tag = "tasks",
    operation_id = "decompose_task",
    params(TaskPath),
    responses(
        (status = 200, description = "The subtasks, in chain order", body = Vec<Filed>),
        TaskLookup,
        (status = 400, description = "`invalid`: the task is running or finished, is a subtask, is already split, or no rule matches it", body = ErrorBody),
        (status = 429, description = "`limit_reached`: the queue is at `max_task_queue_depth`", body = ErrorBody),
    ),
)]
pub(super) async fn decompose(
    State(state): State<AppState>,
    Path(task): Path<TaskPath>,
) -> Result<Json<Vec<Filed>>, ApiError> {
    let id = task.id()?;
    Ok(Json(state.scheduler.decompose(id).await?))
}

/// List the conflicts among the tasks workers hold: `task_overlap` (high) and
/// `resource_contention` (medium).
#[utoipa::path(
    get,
    path = "/api/conflicts",
    tag = "workers",
    operation_id = "list_conflicts",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the conflicts", body = Page<Conflict>),
        BadPage,
    ),
)]
pub(super) async fn conflicts(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Conflict>>, ApiError> {
    let all = state.scheduler.read_snapshot(|s| s.conflicts.clone());
    Ok(Json(Page::slice(all, page)?))
}
