//! The bus between workers: list its messages (by worker, thread, status) and show one.

use super::extract::Query;
use super::openapi::refusals::{BadBusQuery, StoreFailed};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, ErrorBody, blocking};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hypernet_swarm::bus::persist::BusFilter;
use hypernet_swarm::bus::{BusError, MessageStatus, WorkerMessage, WorkerMessageId};
use serde::Deserialize;

impl From<BusError> for ApiError {
    fn from(err: BusError) -> Self {
        let (status, code) = match &err {
            BusError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            BusError::Backwards { .. } => (StatusCode::CONFLICT, "illegal_transition"),
            BusError::NotYours { .. } | BusError::NobodyElse(_) | BusError::Empty => {
                (StatusCode::BAD_REQUEST, "invalid")
            }
            BusError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store"),
        };
        ApiError::new(status, code, err.to_string())
    }
}

/// Filters and paging of `GET /api/bus`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BusQuery {
    /// Only messages this worker (any case) wrote, was written to, or received.
    worker: Option<String>,
    /// Only messages of this thread (`WM-000001`).
    thread: Option<String>,
    /// Only messages in this state: draft, sent, delivered, read or responded.
    status: Option<String>,
    /// Items to skip.
    offset: Option<usize>,
    /// Items to return (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// `{id}` of a bus route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BusPath {
    /// The message's id (`WM-000001`).
    id: String,
}

/// List messages between workers, newest first.
#[utoipa::path(
    get,
    path = "/api/bus",
    tag = "bus",
    operation_id = "list_bus",
    params(BusQuery),
    responses(
        (status = 200, description = "One page of the messages", body = Page<WorkerMessage>),
        BadBusQuery,
        StoreFailed,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<BusQuery>,
) -> Result<Json<Page<WorkerMessage>>, ApiError> {
    let filter = BusFilter {
        worker: q.worker,
        thread: q
            .thread
            .as_deref()
            .map(str::parse::<WorkerMessageId>)
            .transpose()
            .map_err(|e| ApiError::invalid(format!("`thread`: {e}")))?,
        status: q
            .status
            .as_deref()
            .map(str::parse::<MessageStatus>)
            .transpose()
            .map_err(|e| ApiError::invalid(format!("`status`: {e}")))?,
    };
    let (offset, limit) = PageQuery {
        offset: q.offset,
        limit: q.limit,
    }
    .resolve()?;
    let bus = state.scheduler.bus().clone();
    let page = blocking(move || bus.list(&filter, offset, limit)).await?;
    Ok(Json(Page {
        items: page.items,
        total: page.total,
        offset,
        limit,
    }))
}

/// Show one message between workers.
#[utoipa::path(
    get,
    path = "/api/bus/{id}",
    tag = "bus",
    operation_id = "show_bus_message",
    params(BusPath),
    responses(
        (status = 200, description = "The message", body = WorkerMessage),
        (status = 400, description = "`invalid`: not a worker message id", body = ErrorBody),
        (status = 404, description = "`not_found`: no such message", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn show(
    State(state): State<AppState>,
    Path(path): Path<BusPath>,
) -> Result<Json<WorkerMessage>, ApiError> {
    let id: WorkerMessageId = path.id.parse().map_err(ApiError::invalid)?;
    let bus = state.scheduler.bus().clone();
    let found = blocking(move || bus.get(id)).await?;
    Ok(Json(found.ok_or(BusError::NotFound(id))?))
}
