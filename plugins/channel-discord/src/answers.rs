//! Reading Discord's answers: the message it created, or an error classified from its
//! [JSON error body] (`code`, `message`) and, for 429, its [rate-limit] body
//! (`retry_after`, seconds) and headers (`Retry-After`, `X-RateLimit-Reset-After`).
//!
//! [JSON error body]: https://discord.com/developers/docs/reference#error-messages
//! [rate-limit]: https://discord.com/developers/docs/topics/rate-limits#exceeding-a-rate-limit

use hypernet_plugin_api::channel::{ChannelError, HttpResponse, Receipt};
use serde::Deserialize;

/// Discord's error codes that mean the target is gone or expired: sending again will not
/// help. 10015 Unknown Webhook, 10008 Unknown Message, 10062 Unknown Interaction, 50027
/// Invalid Webhook Token (an interaction token is valid for 15 minutes).
const GONE: &[u64] = &[10008, 10015, 10062, 50027];

/// The fields of an error body this channel reads.
#[derive(Debug, Default, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<u64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
    #[serde(default)]
    errors: Option<serde_json::Value>,
}

/// A 2xx answer's receipt: the created or edited message's `id` (present with
/// `wait=true`; a 204 has none).
pub(crate) fn receipt(response: &HttpResponse) -> Receipt {
    let handle = serde_json::from_str::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned));
    Receipt {
        handle,
        detail: None,
    }
}

/// Classifies a non-2xx answer.
pub(crate) fn classify(response: &HttpResponse) -> ChannelError {
    let body: ErrorBody = serde_json::from_str(&response.body).unwrap_or_default();
    let mut message = format!("Discord answered HTTP {}", response.status);
    if let Some(code) = body.code {
        message.push_str(&format!(", code {code}"));
    }
    match &body.message {
        Some(text) => message.push_str(&format!(": {text}")),
        None if !response.body.trim().is_empty() => message.push_str(&format!(
            ": {}",
            response.body.chars().take(300).collect::<String>()
        )),
        None => {}
    }
    if let Some(errors) = &body.errors {
        // Names the offending field, e.g. {"content":{"_errors":[{"code":"BASE_TYPE_MAX_LENGTH",..}]}}.
        message.push_str(&format!(
            " ({})",
            errors.to_string().chars().take(300).collect::<String>()
        ));
    }
    if body.code.is_some_and(|code| GONE.contains(&code)) {
        return ChannelError::Rejected { message };
    }
    match response.status {
        429 => {
            if body.global {
                message.push_str(" (global rate limit)");
            }
            ChannelError::RateLimited {
                message,
                retry_after_ms: retry_after_ms(response, body.retry_after),
            }
        }
        401 | 403 => ChannelError::Auth { message },
        408 | 500..=599 => ChannelError::Unavailable { message },
        _ => ChannelError::Rejected { message },
    }
}

/// The longest wait Discord asked for, in milliseconds, rounded up: the body's
/// `retry_after`, the `Retry-After` and the `X-RateLimit-Reset-After` headers (all
/// seconds, possibly fractional).
fn retry_after_ms(response: &HttpResponse, body_seconds: Option<f64>) -> Option<u64> {
    let header = |name| {
        response
            .header(name)
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    [
        body_seconds,
        header("retry-after"),
        header("x-ratelimit-reset-after"),
    ]
    .into_iter()
    .flatten()
    .filter(|s| s.is_finite() && *s >= 0.0)
    .map(|s| (s * 1000.0).ceil() as u64)
    .max()
}
