//! Typed channel errors, so the host knows whether to retry a delivery and when.

use super::HttpResponse;
use crate::provider::retry_after_ms;
use serde::{Deserialize, Serialize};

/// A failed delivery or poll, classified.
///
/// ```
/// use hypernet_plugin_api::channel::ChannelError;
/// let e = ChannelError::RateLimited { message: "slow down".into(), retry_after_ms: Some(1500) };
/// assert!(e.is_retryable());
/// assert!(!ChannelError::Rejected { message: "unknown chat".into() }.is_retryable());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChannelError {
    /// 429: wait, then send again.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The service's message.
        message: String,
        /// How long the service asked to wait.
        retry_after_ms: Option<u64>,
    },
    /// A network failure, a timeout or a 5xx: send again later.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
    },
    /// 401/403: the token or key is wrong.
    #[error("authentication failed: {message}")]
    Auth {
        /// The service's message.
        message: String,
    },
    /// The service refused the message, or it cannot be delivered as it is (no address):
    /// sending it again will not help.
    #[error("rejected: {message}")]
    Rejected {
        /// Why.
        message: String,
    },
}

impl ChannelError {
    /// Whether the host should deliver again (with backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ChannelError::RateLimited { .. } | ChannelError::Unavailable { .. }
        )
    }

    /// The delay the service asked for, if any.
    pub fn retry_after_ms(&self) -> Option<u64> {
        match self {
            ChannelError::RateLimited { retry_after_ms, .. } => *retry_after_ms,
            _ => None,
        }
    }

    /// A message that cannot be delivered as it is.
    pub fn rejected(message: impl Into<String>) -> ChannelError {
        ChannelError::Rejected {
            message: message.into(),
        }
    }

    /// Classifies an error response by its status alone, reading `retry-after`; channels
    /// refine this with their error bodies.
    ///
    /// ```
    /// use hypernet_plugin_api::channel::{ChannelError, HttpResponse};
    /// let r = HttpResponse { status: 429, headers: vec![("Retry-After".into(), "2".into())], body: "{}".into() };
    /// assert_eq!(ChannelError::from_status(&r).retry_after_ms(), Some(2000));
    /// let r = HttpResponse { status: 502, headers: vec![], body: "bad gateway".into() };
    /// assert!(ChannelError::from_status(&r).is_retryable());
    /// ```
    pub fn from_status(response: &HttpResponse) -> ChannelError {
        let message = format!(
            "HTTP {}: {}",
            response.status,
            response.body.chars().take(500).collect::<String>()
        );
        match response.status {
            401 | 403 => ChannelError::Auth { message },
            429 => ChannelError::RateLimited {
                message,
                retry_after_ms: retry_after_ms(response),
            },
            408 | 500..=599 => ChannelError::Unavailable { message },
            _ => ChannelError::Rejected { message },
        }
    }
}
