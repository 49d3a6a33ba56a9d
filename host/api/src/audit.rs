//! Audit routes: `GET /api/audit` pages through the log, newest first; `GET
//! /api/audit/verify` rechecks every link and signature of it. Also how the API records
//! what it changes, and how audit failures answer.

use super::openapi::refusals::{BadPage, StoreFailed};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, blocking};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use hypernet_swarm::audit::{AuditEntry, AuditError, AuditKind, VerifyReport};
use hypernet_swarm::security::KeyError;
use serde_json::Value;

/// The actor of entries written for API calls: whoever holds the host's bearer token.
pub(super) const API_ACTOR: &str = "api";

impl From<AuditError> for ApiError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Store(e) => e.into(),
            AuditError::Key(KeyError::NotFound(_)) => ApiError::not_found(err.to_string()),
            AuditError::Key(KeyError::BadId(_)) => ApiError::invalid(err.to_string()),
            AuditError::Key(
                KeyError::AlreadyRevoked(_)
                | KeyError::RevokeActive(..)
                | KeyError::HasActiveKey(..)
                | KeyError::NoActiveKey(_),
            ) => ApiError::new(StatusCode::CONFLICT, "illegal_transition", err.to_string()),
            other => ApiError::internal(other.to_string()),
        }
    }
}

/// Records an API change that has taken effect (a failure to record is logged).
pub(super) async fn record(state: &AppState, kind: AuditKind, detail: Value) {
    let audit = state.audit.clone();
    let _ = blocking(move || {
        audit.record(kind, API_ACTOR, detail);
        Ok::<_, ApiError>(())
    })
    .await;
}

/// List the audit log, newest first.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "security",
    operation_id = "list_audit",
    params(PageQuery),
    responses(
        (status = 200, description = "One page of the audit log, newest first", body = Page<AuditEntry>),
        BadPage,
        StoreFailed,
    ),
)]
pub(super) async fn list(
    State(state): State<AppState>,
    super::extract::Query(page): super::extract::Query<PageQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    let (offset, limit) = page.resolve()?;
    let audit = state.audit.clone();
    let (items, total) = blocking(move || audit.list(offset, limit)).await?;
    Ok(Json(Page {
        items,
        total,
        offset,
        limit,
    }))
}

/// Recheck the whole audit log: every entry's hash, link and signature, where it starts
/// and ends, and the keyring's chain of endorsements.
#[utoipa::path(
    get,
    path = "/api/audit/verify",
    tag = "security",
    operation_id = "verify_audit",
    responses(
        (status = 200, description = "What the check found (`ok` false: `first_bad` or `broken_key` says where)", body = VerifyReport),
        StoreFailed,
    ),
)]
pub(super) async fn verify(State(state): State<AppState>) -> Result<Json<VerifyReport>, ApiError> {
    let audit = state.audit.clone();
    Ok(Json(blocking(move || audit.verify()).await?))
}

/// How much of the log a prune keeps.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PruneBody {
    /// The newest entries to keep (at least 1); the rest are removed behind a checkpoint.
    #[schema(minimum = 1)]
    pub keep_last: u64,
}

/// Remove the oldest audit entries, keeping the newest `keep_last`, behind a checkpoint
/// entry from which the rest still verifies.
#[utoipa::path(
    post,
    path = "/api/audit/prune",
    tag = "security",
    operation_id = "prune_audit",
    request_body = PruneBody,
    responses(
        (status = 200, description = "What was removed (`null`: no more than `keep_last` were stored)", body = Option<hypernet_swarm::audit::Pruned>),
        (status = 400, description = "`invalid`: `keep_last` missing or 0", body = super::ErrorBody),
        StoreFailed,
    ),
)]
pub(super) async fn prune(
    State(state): State<AppState>,
    super::extract::Json(body): super::extract::Json<PruneBody>,
) -> Result<Json<Option<hypernet_swarm::audit::Pruned>>, ApiError> {
    if body.keep_last == 0 {
        return Err(ApiError::invalid(
            "`keep_last` must be at least 1: the chain needs an entry after its checkpoint",
        ));
    }
    let audit = state.audit.clone();
    let pruned = blocking(move || audit.prune(body.keep_last)).await?;
    Ok(Json(pruned))
}
