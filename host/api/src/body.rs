//! What a route accepts as a body, applied as one layer on every route of the table (and the
//! dashboard's pages) so no handler can forget it: at most `[api] max_body_bytes` (a declared `Content-Length` past it
//! is refused before anything is read, a body without one as it is read), and no body at all
//! on the routes whose documentation names none (their bodies would otherwise be ignored,
//! so a mistaken call would still act). It runs after the token check: a caller without the
//! token learns nothing about bodies.

use super::ApiError;
use super::extract::{body_refused, is_empty};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::Response;

/// What one route accepts as a body.
#[derive(Debug, Clone, Copy)]
pub struct BodyRule {
    /// The largest body, in bytes (`[api] max_body_bytes`).
    pub max: usize,
    /// Whether the route's documentation names a request body.
    pub takes_body: bool,
}

/// Refuses a body the route's [`BodyRule`] does not allow.
pub async fn bound(
    State(rule): State<BodyRule>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > rule.max as u64) {
        return Err(too_large());
    }
    if rule.takes_body {
        return Ok(next.run(request).await);
    }
    // The read is held to the limit by the router's `DefaultBodyLimit`.
    let (parts, body) = request.into_parts();
    let bytes = Bytes::from_request(Request::from_parts(parts.clone(), body), &())
        .await
        .map_err(body_refused)?;
    if !is_empty(&bytes) {
        return Err(ApiError::invalid(format!(
            "{} {} takes no body, but {} bytes were sent",
            parts.method,
            parts.uri.path(),
            bytes.len()
        )));
    }
    Ok(next.run(Request::from_parts(parts, Body::empty())).await)
}

/// The refusal of a body over the limit.
pub fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request body is over the size limit",
    )
}
