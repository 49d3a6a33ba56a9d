//! Provider batch APIs (Anthropic Message Batches, OpenAI Batch): many requests submitted
//! together, answered within hours at a discounted price. Sans-IO like the rest: the
//! provider builds each HTTP request and reads each answer; the host sends them, stores the
//! batch id durably and polls.
//!
//! The host's sequence: [`Provider::batch_support`](super::Provider::batch_support) says
//! whether batches are offered; [`Provider::submit_batch`](super::Provider::submit_batch)
//! gives the first request of the submission, each 2xx answer goes to
//! [`Provider::batch_submitted`](super::Provider::batch_submitted) until it answers
//! [`BatchStep::Created`]; then [`Provider::poll_batch`](super::Provider::poll_batch) and
//! [`Provider::parse_batch_status`](super::Provider::parse_batch_status) at intervals until
//! the batch has ended, and [`Provider::parse_batch_results`](super::Provider::parse_batch_results)
//! for the body of each results request. A non-2xx answer at any step goes to
//! [`Provider::classify_error`](super::Provider::classify_error).
//!
//! Batched requests carry no tools: a batched task gets one answer, with no tool loop.

use super::{Completion, CompletionRequest, HttpRequest, ProviderError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a provider's batch API accepts.
///
/// ```
/// use hypernet_plugin_api::provider::BatchLimits;
/// let limits: BatchLimits = serde_json::from_str(r#"{"max_requests": 100000}"#).unwrap();
/// assert_eq!(limits.max_requests, 100_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchLimits {
    /// The most requests one batch may hold.
    pub max_requests: usize,
}

/// One request of a batch: the id its result will carry, and the request itself.
///
/// ```
/// use hypernet_plugin_api::provider::{BatchRequest, CompletionRequest};
/// let r = BatchRequest { custom_id: "T-4-1".into(), request: CompletionRequest::new("anthropic/claude-haiku-4-5", vec![]) };
/// assert_eq!(r.custom_id, "T-4-1");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRequest {
    /// The host's id of the request (letters, digits, `-` and `_`; at most 64 characters),
    /// unique within the batch.
    pub custom_id: String,
    /// The request, as for a normal call (its `tools` and `stream` are ignored).
    pub request: CompletionRequest,
}

/// The next step of submitting a batch.
///
/// ```
/// use hypernet_plugin_api::provider::BatchStep;
/// let step: BatchStep = serde_json::from_str(r#"{"step": "created", "batch_id": "msgbatch_01"}"#).unwrap();
/// assert_eq!(step, BatchStep::Created { batch_id: "msgbatch_01".into() });
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum BatchStep {
    /// Send `request`; hand its 2xx answer to `batch_submitted` together with `state`.
    Send {
        /// The request to send.
        request: HttpRequest,
        /// What the provider needs to read the answer (the host keeps it, unread).
        #[serde(default)]
        state: Value,
    },
    /// The batch exists under this id.
    Created {
        /// The provider's id of the batch.
        batch_id: String,
    },
}

/// Where a batch stands, read from the answer to a poll.
///
/// ```
/// use hypernet_plugin_api::provider::BatchStatus;
/// let s: BatchStatus = serde_json::from_str(r#"{"status": "in_progress"}"#).unwrap();
/// assert_eq!(s, BatchStatus::InProgress);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BatchStatus {
    /// Still running: poll again later.
    InProgress,
    /// Ended (every request, or those that ran before the batch expired or was cancelled):
    /// send each of `results` and hand every 2xx body to `parse_batch_results`. A request
    /// found in none of them did not run.
    Ended {
        /// The requests that fetch the results.
        results: Vec<HttpRequest>,
    },
    /// Nothing will come of it (it failed, expired or was cancelled with no results).
    Failed {
        /// Why, in the provider's words.
        reason: String,
    },
}

/// One request's outcome in a batch's results.
///
/// ```
/// use hypernet_plugin_api::provider::{BatchOutcome, ProviderError};
/// let o = BatchOutcome { custom_id: "T-4-1".into(), outcome: Err(ProviderError::Server { status: 500, message: "expired".into() }) };
/// assert!(o.outcome.is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchOutcome {
    /// The id the request was submitted with.
    pub custom_id: String,
    /// Its answer, or why it has none (errored, expired, cancelled).
    pub outcome: Result<Completion, ProviderError>,
}

/// The error a provider without batch support answers to the batch operations.
pub(crate) fn unsupported() -> ProviderError {
    ProviderError::BadRequest {
        message: "this provider has no batch API".into(),
    }
}
