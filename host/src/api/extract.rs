//! Extractors whose refusals keep the API's one error shape (axum's own answer in plain
//! text): query strings, and JSON bodies within the configured size limit.

use super::ApiError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// `?a=..&b=..` decoded into `T`; a bad or unknown parameter is a 400 naming it.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(raw)
            .map(Query)
            .map_err(|e| ApiError::invalid(format!("query string: {e}")))
    }
}

/// A JSON body decoded into `T`: 413 past the size limit, 400 naming the bad field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(body_refused)?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| ApiError::invalid(format!("request body: {e}")))
    }
}

/// Why a body could not be read, in the API's error shape.
pub fn body_refused(rejection: BytesRejection) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            status,
            "too_large",
            "the request body is over the size limit",
        )
    } else {
        ApiError::new(
            status,
            "invalid",
            format!("request body: {}", rejection.body_text()),
        )
    }
}
