//! Typed provider errors, so the host can choose retry, fallback or suspension.

use super::HttpResponse;
use serde::{Deserialize, Serialize};

/// A failed model call, classified.
///
/// ```
/// use hypernet_plugin_api::provider::ProviderError;
/// let e = ProviderError::RateLimited { message: "slow down".into(), retry_after_ms: Some(2000) };
/// assert!(e.is_retryable());
/// assert!(!ProviderError::Auth { message: "bad key".into() }.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProviderError {
    /// 429: too many requests or tokens.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The provider's message.
        message: String,
        /// How long the provider asked to wait.
        retry_after_ms: Option<u64>,
    },
    /// 529 or an `overloaded_error`.
    #[error("overloaded: {message}")]
    Overloaded {
        /// The provider's message.
        message: String,
        /// How long the provider asked to wait.
        retry_after_ms: Option<u64>,
    },
    /// 401/403: the key is wrong or lacks permission.
    #[error("authentication failed: {message}")]
    Auth {
        /// The provider's message.
        message: String,
    },
    /// 400/404/413/422: the request itself is wrong.
    #[error("bad request: {message}")]
    BadRequest {
        /// The provider's message.
        message: String,
    },
    /// The prompt does not fit the model's context window.
    #[error("context too long: {message}")]
    ContextTooLong {
        /// The provider's message.
        message: String,
    },
    /// Billing or quota exhausted; retrying will not help.
    #[error("credits exhausted: {message}")]
    CreditsExhausted {
        /// The provider's message.
        message: String,
    },
    /// 5xx, 408 or 409.
    #[error("server error {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// The connection failed or timed out.
    #[error("network error: {message}")]
    Network {
        /// What failed.
        message: String,
    },
    /// The response could not be understood.
    #[error("malformed response: {message}")]
    Malformed {
        /// What was wrong.
        message: String,
    },
}

impl ProviderError {
    /// Whether the host should retry the same call (with backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Overloaded { .. }
                | ProviderError::Server { .. }
                | ProviderError::Network { .. }
        )
    }

    /// The delay the provider asked for, if any.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ProviderError::RateLimited { retry_after_ms, .. }
            | ProviderError::Overloaded { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }

    /// Classifies an error response by status code alone, reading `retry-after-ms` /
    /// `retry-after` (seconds). Providers refine this with their error bodies.
    ///
    /// ```
    /// use hypernet_plugin_api::provider::{HttpResponse, ProviderError};
    /// let r = HttpResponse { status: 529, headers: vec![], body: "busy".into() };
    /// assert!(matches!(ProviderError::from_status(&r), ProviderError::Overloaded { .. }));
    /// ```
    pub fn from_status(response: &HttpResponse) -> ProviderError {
        let message = response.body.chars().take(500).collect::<String>();
        let retry_after_ms = retry_after_ms(response);
        match response.status {
            401 | 403 => ProviderError::Auth { message },
            402 => ProviderError::CreditsExhausted { message },
            429 => ProviderError::RateLimited {
                message,
                retry_after_ms,
            },
            529 => ProviderError::Overloaded {
                message,
                retry_after_ms,
            },
            408 | 409 | 500..=599 => ProviderError::Server {
                status: response.status,
                message,
            },
            _ => ProviderError::BadRequest { message },
        }
    }
}

/// The wait a response asks for: `retry-after-ms` (milliseconds) first, then `retry-after`
/// (whole or fractional seconds).
pub fn retry_after_ms(response: &HttpResponse) -> Option<u64> {
    if let Some(ms) = response
        .header("retry-after-ms")
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(ms.max(0.0) as u64);
    }
    response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|s| (s.max(0.0) * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: "body".into(),
        }
    }

    #[test]
    fn status_classes() {
        assert!(matches!(
            ProviderError::from_status(&resp(401, &[])),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(
            ProviderError::from_status(&resp(402, &[])),
            ProviderError::CreditsExhausted { .. }
        ));
        assert!(matches!(
            ProviderError::from_status(&resp(503, &[])),
            ProviderError::Server { status: 503, .. }
        ));
        assert!(matches!(
            ProviderError::from_status(&resp(400, &[])),
            ProviderError::BadRequest { .. }
        ));
    }

    #[test]
    fn retry_after_prefers_milliseconds() {
        let r = resp(429, &[("Retry-After", "3"), ("retry-after-ms", "1500")]);
        assert_eq!(ProviderError::from_status(&r).retry_after_ms(), Some(1500));
        let r = resp(429, &[("retry-after", "2.5")]);
        assert_eq!(retry_after_ms(&r), Some(2500));
        assert_eq!(retry_after_ms(&resp(429, &[("retry-after", "soon")])), None);
    }
}
