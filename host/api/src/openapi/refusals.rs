//! Refusals several routes share, named once for their `#[utoipa::path]` answers (a route's
//! own refusals stay in its annotation). Each body is an [`ErrorBody`]; each doc comment is
//! the answer's description.

use crate::ErrorBody;

/// `invalid`: an unknown parameter, or `offset` or `limit` out of range.
#[derive(utoipa::IntoResponses)]
#[response(status = 400)]
pub struct BadPage(pub ErrorBody);

/// `invalid`: an unknown parameter, a bad `status` or `parent`, or `offset` or `limit` out
/// of range.
#[derive(utoipa::IntoResponses)]
#[response(status = 400)]
pub struct BadTaskQuery(pub ErrorBody);

/// `invalid`: an unknown parameter, a bad `thread` or `status`, or `offset` or `limit`
/// out of range.
#[derive(utoipa::IntoResponses)]
#[response(status = 400)]
pub struct BadBusQuery(pub ErrorBody);

/// Why a route about one task refused.
#[derive(utoipa::IntoResponses)]
pub enum TaskLookup {
    /// `invalid`: not a task id.
    #[response(status = 400)]
    NotAnId(ErrorBody),
    /// `not_found`: no such task.
    #[response(status = 404)]
    NoSuchTask(ErrorBody),
}

/// Why a decision on an approval request was refused.
#[derive(utoipa::IntoResponses)]
pub enum ApprovalDecision {
    /// `invalid`: not an approval id, or a bad body.
    #[response(status = 400)]
    Invalid(ErrorBody),
    /// `not_found`: no such request.
    #[response(status = 404)]
    NoSuchRequest(ErrorBody),
    /// `illegal_transition`: already decided or expired.
    #[response(status = 409)]
    Decided(ErrorBody),
}

/// `not_found`: no plugin of that name in the manifest.
#[derive(utoipa::IntoResponses)]
#[response(status = 404)]
pub struct NoSuchPlugin(pub ErrorBody);

/// `store`: reading the store failed.
#[derive(utoipa::IntoResponses)]
#[response(status = 500)]
pub struct StoreFailed(pub ErrorBody);
