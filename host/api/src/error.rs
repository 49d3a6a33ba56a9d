//! The one error shape of the HTTP API: `{"error": {"code", "message"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hypernet_plugin_api::{ErrorCode, PluginError};
use serde::Serialize;

/// An API failure with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400 with code `invalid`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", message)
    }

    /// 404 with code `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 with code `internal`; the detail goes to the log.
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(error = %message, "API call failed inside the host");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    /// 401 with code `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<PluginError> for ApiError {
    fn from(err: PluginError) -> Self {
        let status = match err.code() {
            ErrorCode::Invalid => StatusCode::BAD_REQUEST,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::CapabilityDenied => StatusCode::FORBIDDEN,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, err.code().as_str(), err.message())
    }
}

impl From<hypernet_store::StoreError> for ApiError {
    fn from(err: hypernet_store::StoreError) -> Self {
        tracing::error!(error = %err, "store failure");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "store", err.to_string())
    }
}

impl From<hypernet_swarm::scheduler::core::CoreError> for ApiError {
    fn from(err: hypernet_swarm::scheduler::core::CoreError) -> Self {
        use hypernet_swarm::scheduler::core::CoreError;
        let (status, code) = match &err {
            CoreError::NoSuchTask(_) | CoreError::NoSuchWorker(_) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            CoreError::Illegal { .. } | CoreError::NotWaiting { .. } => {
                (StatusCode::CONFLICT, "illegal_transition")
            }
            CoreError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid"),
            CoreError::LimitReached(_) => (StatusCode::TOO_MANY_REQUESTS, "limit_reached"),
        };
        ApiError::new(status, code, err.to_string())
    }
}

/// The body of every refusal.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, for [`ErrorBody`].
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable: `invalid`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `illegal_transition`, `too_large`, `unavailable`, `internal`, ...
    #[schema(example = "not_found")]
    pub code: &'static str,
    /// For people: names the field, parameter or thing at fault.
    #[schema(example = "no task T-4")]
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
