//! The Message Batches API: `POST /v1/messages/batches` with
//! `{"requests": [{"custom_id", "params"}]}` (each `params` a Messages request body),
//! `GET /v1/messages/batches/{id}` until `processing_status` is `ended`, then the JSONL at
//! its `results_url`: one `{"custom_id", "result": {"type": "succeeded" | "errored" |
//! "expired" | "canceled", ...}}` per request.

use crate::errors::{self, ApiError};
use crate::parse;
use hypernet_plugin_api::provider::{BatchOutcome, BatchStatus, HttpResponse, ProviderError};
use serde::Deserialize;
use serde_json::Value;

/// A Message Batch: the fields read.
#[derive(Debug, Deserialize)]
struct MessageBatch {
    id: String,
    processing_status: String,
    #[serde(default)]
    results_url: Option<String>,
}

/// One line of the results.
#[derive(Debug, Deserialize)]
struct Line {
    custom_id: String,
    result: LineResult,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum LineResult {
    Succeeded { message: Value },
    Errored { error: ErrorBody },
    Expired,
    Canceled,
}

/// `{"type": "error", "error": {...}}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ApiError,
}

fn malformed(what: &str, e: impl std::fmt::Display, body: &str) -> ProviderError {
    let excerpt: String = body.chars().take(200).collect();
    ProviderError::Malformed {
        message: format!("{what} is not the expected JSON ({e}): {excerpt}"),
    }
}

/// The id of a created batch.
pub(crate) fn created_id(response: &HttpResponse) -> Result<String, ProviderError> {
    let batch: MessageBatch = serde_json::from_str(&response.body)
        .map_err(|e| malformed("the message batch", e, &response.body))?;
    Ok(batch.id)
}

/// Where a batch stands: `in_progress` and `canceling` are in progress; `ended` has its
/// results at `results_url` (read by `results`).
pub(crate) fn status(
    response: &HttpResponse,
    results: impl FnOnce(String) -> hypernet_plugin_api::provider::HttpRequest,
) -> Result<BatchStatus, ProviderError> {
    let batch: MessageBatch = serde_json::from_str(&response.body)
        .map_err(|e| malformed("the message batch", e, &response.body))?;
    match (batch.processing_status.as_str(), batch.results_url) {
        ("in_progress" | "canceling", _) => Ok(BatchStatus::InProgress),
        ("ended", Some(url)) => Ok(BatchStatus::Ended {
            results: vec![results(url)],
        }),
        ("ended", None) => Ok(BatchStatus::Failed {
            reason: format!("batch {} ended with no results", batch.id),
        }),
        (other, _) => Err(ProviderError::Malformed {
            message: format!(
                "batch {} has the unknown processing status `{other}`",
                batch.id
            ),
        }),
    }
}

/// Each result line's completion or error.
pub(crate) fn results(body: &str) -> Result<Vec<BatchOutcome>, ProviderError> {
    body.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|text| {
            let line: Line = serde_json::from_str(text)
                .map_err(|e| malformed("a batch result line", e, text))?;
            let outcome = match line.result {
                LineResult::Succeeded { message } => parse::completion(&message.to_string()),
                LineResult::Errored { error } => Err(errors::classify(None, error.error, None)),
                LineResult::Expired => Err(ProviderError::Overloaded {
                    message: "the batch expired before this request ran".into(),
                    retry_after_ms: None,
                }),
                LineResult::Canceled => Err(ProviderError::Overloaded {
                    message: "the batch was cancelled before this request ran".into(),
                    retry_after_ms: None,
                }),
            };
            Ok(BatchOutcome {
                custom_id: line.custom_id,
                outcome,
            })
        })
        .collect()
}
