//! Audit routes: `GET /api/audit` pages through the log, newest first; `GET
//! /api/audit/verify` rechecks every link and signature of it. Also how the API records
//! what it changes, and how audit failures answer.

use super::openapi::refusals::{BadPage, StoreFailed};
use super::page::{Page, PageQuery};
use super::{ApiError, AppState, blocking};
use crate::audit::{AuditEntry, AuditError, AuditKind, VerifyReport};
use crate::security::KeyError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;

/// The actor of entries written for API calls: whoever holds the host's bearer token.
pub(super) const API_ACTOR: &str = "api";

impl From<AuditError> for ApiError {
    fn from(err: AuditError) -> Self {
        match err {
            AuditError::Store(e) => e.into(),
            AuditError::Key(KeyError::NotFound(_)) => ApiError::not_found(err.to_string()),
            AuditError::Key(KeyError::BadId(_)) => ApiError::invalid(err.to_string()),
            AuditError::Key(KeyError::AlreadyRevoked(_) | KeyError::RevokeActive(..)) => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", err.to_string())
            }
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
