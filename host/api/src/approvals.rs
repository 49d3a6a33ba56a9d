//! Approval queue routes: list and show requests, approve or deny one.

use super::extract::{self, Query};
use super::openapi::refusals::{ApprovalDecision, BadPage, StoreFailed};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, ErrorBody};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hypernet_swarm::approvals::{Approval, ApprovalError, ApprovalId, ApprovalStatus};
use serde::Deserialize;

impl From<ApprovalError> for ApiError {
    fn from(err: ApprovalError) -> Self {
        let (status, code) = match &err {
            ApprovalError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApprovalError::Decided { .. } => (StatusCode::CONFLICT, "illegal_transition"),
            ApprovalError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store"),
        };
        ApiError::new(status, code, err.to_string())
    }
}

/// Filter and paging of `GET /api/approvals`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ApprovalQuery {
    /// Only requests in this state: pending, approved, rejected or expired.
    status: Option<String>,
    /// Items to skip.
    offset: Option<usize>,
    /// Items to return (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// `{id}` of an approval route.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApprovalPath {
    /// The request's id (`AQ-0001`).
    id: String,
}

impl ApprovalPath {
    fn id(&self) -> Result<ApprovalId, ApiError> {
        self.id.parse().map_err(ApiError::invalid)
    }
}

/// Who decides, and why (both optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Who decides (default `person`).
    #[serde(default)]
    pub by: Option<String>,
    /// With a refusal: the reason the worker is told.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Decision {
    /// Who decides: the body's `by`, else `person`.
    fn by(&self) -> String {
        self.by.clone().unwrap_or_else(|| "person".into())
    }
}

/// The request `id`, or a 404.
type Lookup = Result<Json<Approval>, ApiError>;

/// List approval requests, newest first.
#[utoipa::path(
    get,
    path = "/api/approvals",
    tag = "approvals",
    operation_id = "list_approvals",
    params(ApprovalQuery),
    responses(
        (status = 200, description = "One page of the requests", body = Page<Approval>),
        BadPage,
        StoreFailed,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    Query(q): Query<ApprovalQuery>,
) -> Result<Json<Page<Approval>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(str::parse::<ApprovalStatus>)
        .transpose()
        .map_err(|e| ApiError::invalid(format!("`status`: {e}")))?;
    let (offset, limit) = PageQuery {
        offset: q.offset,
        limit: q.limit,
    }
    .resolve()?;
    let queue = state.scheduler.approvals().clone();
    let page = tokio::task::spawn_blocking(move || queue.list(status, offset, limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(Page {
        items: page.items,
        total: page.total,
        offset,
        limit,
    }))
}

/// Show one approval request.
#[utoipa::path(
    get,
    path = "/api/approvals/{id}",
    tag = "approvals",
    operation_id = "show_approval",
    params(ApprovalPath),
    responses(
        (status = 200, description = "The request", body = Approval),
        (status = 400, description = "`invalid`: not an approval id", body = ErrorBody),
        (status = 404, description = "`not_found`: no such request", body = ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn show(State(state): State<AppState>, Path(path): Path<ApprovalPath>) -> Lookup {
    Ok(Json(state.scheduler.approvals().get(path.id()?)?))
}

/// Approve a pending request: its action runs once and the waiting task is told what it
/// returned.
#[utoipa::path(
    post,
    path = "/api/approvals/{id}/approve",
    tag = "approvals",
    operation_id = "approve",
    params(ApprovalPath),
    request_body(content = Option<Decision>, description = "Who approves (optional)"),
    responses(
        (status = 200, description = "The request, approved, with its `execution`", body = Approval),
        ApprovalDecision,
        StoreFailed,
    ),
)]
pub(super) async fn approve(
    State(state): State<AppState>,
    Path(path): Path<ApprovalPath>,
    extract::OptionalJson(body): extract::OptionalJson<Decision>,
) -> Lookup {
    let decision = body.unwrap_or_default();
    let by = decision.by();
    Ok(Json(
        state.scheduler.approvals().approve(path.id()?, &by).await?,
    ))
}

/// Deny a pending request; the waiting task is told, with the reason when given.
#[utoipa::path(
    post,
    path = "/api/approvals/{id}/deny",
    tag = "approvals",
    operation_id = "deny",
    params(ApprovalPath),
    request_body(content = Option<Decision>, description = "Who denies and why (optional)"),
    responses(
        (status = 200, description = "The request, rejected", body = Approval),
        ApprovalDecision,
        StoreFailed,
    ),
)]
pub(super) async fn deny(
    State(state): State<AppState>,
    Path(path): Path<ApprovalPath>,
    extract::OptionalJson(body): extract::OptionalJson<Decision>,
) -> Lookup {
    let decision = body.unwrap_or_default();
    let by = decision.by();
    Ok(Json(
        state
            .scheduler
            .approvals()
            .deny(path.id()?, &by, decision.reason)
            .await?,
    ))
}
