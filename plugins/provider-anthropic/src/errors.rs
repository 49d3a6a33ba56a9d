//! Error classification: Anthropic error bodies (`{"type":"error","error":{"type","message"}}`),
//! from HTTP error responses and from `error` events inside a stream, as [`ProviderError`]s.

use hypernet_plugin_api::provider::{HttpResponse, ProviderError, retry_after_ms};
use serde::Deserialize;

/// The `error` object of an error body.
#[derive(Debug, Deserialize)]
pub(crate) struct ApiError {
    /// `invalid_request_error`, `rate_limit_error`, `overloaded_error`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The provider's explanation.
    pub message: String,
    /// Extra detail some errors carry (the spend-limit code).
    #[serde(default)]
    pub details: Option<ErrorDetails>,
}

/// `error.details`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDetails {
    #[serde(default)]
    error_code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: String,
    error: ApiError,
    #[serde(default)]
    request_id: Option<String>,
}

/// A 429 with this code means the organisation's spend limit is reached: retrying only
/// burns attempts until someone raises the limit.
const SPEND_LIMIT_CODE: &str = "enforced_spend_limit_reached";

/// Wording of the 400s that mean the prompt does not fit the context window.
const CONTEXT_WORDING: [&str; 4] = [
    "prompt is too long",
    "context limit",
    "context window",
    "context length",
];

/// Classifies a non-2xx response; bodies that are not the documented shape fall back to
/// the status alone.
pub(crate) fn classify_response(response: &HttpResponse) -> ProviderError {
    let body = match serde_json::from_str::<ErrorBody>(&response.body) {
        Ok(body) if body.kind == "error" => body,
        _ => return ProviderError::from_status(response),
    };
    tracing::debug!(
        status = response.status,
        error_type = %body.error.kind,
        request_id = body.request_id.as_deref().unwrap_or(""),
        "anthropic error response"
    );
    classify(Some(response.status), body.error, retry_after_ms(response))
}

/// Classifies an error by HTTP status (absent for an `error` event after a 200) and the
/// error's type; the provider's message is kept as is.
pub(crate) fn classify(
    status: Option<u16>,
    error: ApiError,
    retry_after_ms: Option<u64>,
) -> ProviderError {
    let spend_limit =
        error.details.as_ref().and_then(|d| d.error_code.as_deref()) == Some(SPEND_LIMIT_CODE);
    let kind = error.kind.as_str();
    let message = error.message;
    let is = |code: u16| status == Some(code);
    let lowered = message.to_lowercase();
    let context = CONTEXT_WORDING.iter().any(|w| lowered.contains(w));

    if spend_limit || is(402) || kind == "billing_error" {
        ProviderError::CreditsExhausted { message }
    } else if is(401) || is(403) || matches!(kind, "authentication_error" | "permission_error") {
        ProviderError::Auth { message }
    } else if is(429) || kind == "rate_limit_error" {
        ProviderError::RateLimited {
            message,
            retry_after_ms,
        }
    } else if is(529) || kind == "overloaded_error" {
        ProviderError::Overloaded {
            message,
            retry_after_ms,
        }
    } else if (is(400) || kind == "invalid_request_error") && context {
        ProviderError::ContextTooLong { message }
    } else if matches!(status, Some(400 | 404 | 413 | 422))
        || matches!(
            kind,
            "invalid_request_error" | "not_found_error" | "request_too_large"
        )
    {
        ProviderError::BadRequest { message }
    } else if let Some(status @ (408 | 409 | 500..=599)) = status {
        ProviderError::Server { status, message }
    } else if kind == "timeout_error" {
        ProviderError::Server {
            status: 504,
            message,
        }
    } else if let Some(400..=499) = status {
        ProviderError::BadRequest { message }
    } else {
        // `api_error` inside a stream, or a type newer than this code: the server failed.
        ProviderError::Server {
            status: status.unwrap_or(500),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_owned(),
        }
    }

    fn documented(kind: &str, message: &str) -> String {
        json!({
            "type": "error",
            "error": {"type": kind, "message": message},
            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
        })
        .to_string()
    }

    fn classify_doc(status: u16, kind: &str, message: &str) -> ProviderError {
        classify_response(&response(status, &[], &documented(kind, message)))
    }

    #[test]
    fn every_documented_status_maps_to_its_class_with_the_provider_message() {
        let msg = "the provider's words";
        let cases = [
            (
                400,
                "invalid_request_error",
                ProviderError::BadRequest {
                    message: msg.into(),
                },
            ),
            (
                401,
                "authentication_error",
                ProviderError::Auth {
                    message: msg.into(),
                },
            ),
            (
                403,
                "permission_error",
                ProviderError::Auth {
                    message: msg.into(),
                },
            ),
            (
                404,
                "not_found_error",
                ProviderError::BadRequest {
                    message: msg.into(),
                },
            ),
            (
                413,
                "request_too_large",
                ProviderError::BadRequest {
                    message: msg.into(),
                },
            ),
            (
                429,
                "rate_limit_error",
                ProviderError::RateLimited {
                    message: msg.into(),
                    retry_after_ms: None,
                },
            ),
            (
                500,
                "api_error",
                ProviderError::Server {
                    status: 500,
                    message: msg.into(),
                },
            ),
            (
                529,
                "overloaded_error",
                ProviderError::Overloaded {
                    message: msg.into(),
                    retry_after_ms: None,
                },
            ),
            (
                402,
                "billing_error",
                ProviderError::CreditsExhausted {
                    message: msg.into(),
                },
            ),
            (
                504,
                "timeout_error",
                ProviderError::Server {
                    status: 504,
                    message: msg.into(),
                },
            ),
        ];
        for (status, kind, expected) in cases {
            assert_eq!(classify_doc(status, kind, msg), expected, "{status} {kind}");
        }
    }

    #[test]
    fn other_server_statuses_are_server_errors() {
        for status in [408, 409, 502, 503] {
            assert_eq!(
                classify_doc(status, "api_error", "m"),
                ProviderError::Server {
                    status,
                    message: "m".into()
                }
            );
        }
        assert_eq!(
            classify_doc(422, "invalid_request_error", "m"),
            ProviderError::BadRequest {
                message: "m".into()
            }
        );
    }

    #[test]
    fn prompt_too_long_is_a_context_error() {
        let e = classify_doc(
            400,
            "invalid_request_error",
            "prompt is too long: 208310 tokens > 200000 maximum",
        );
        assert_eq!(
            e,
            ProviderError::ContextTooLong {
                message: "prompt is too long: 208310 tokens > 200000 maximum".into()
            }
        );
        let e = classify_doc(
            400,
            "invalid_request_error",
            "input length and `max_tokens` exceed context limit: 197000 + 8192 > 200000",
        );
        assert!(matches!(e, ProviderError::ContextTooLong { .. }), "{e:?}");
    }

    #[test]
    fn rate_limit_reads_retry_after_seconds_and_prefers_milliseconds() {
        let body = documented("rate_limit_error", "Number of request tokens has exceeded");
        let e = classify_response(&response(429, &[("retry-after", "20")], &body));
        assert_eq!(e.retry_after_ms(), Some(20_000));
        assert!(e.is_retryable());
        let e = classify_response(&response(
            429,
            &[("retry-after", "20"), ("retry-after-ms", "1500")],
            &body,
        ));
        assert_eq!(
            e,
            ProviderError::RateLimited {
                message: "Number of request tokens has exceeded".into(),
                retry_after_ms: Some(1500)
            }
        );
    }

    #[test]
    fn overload_keeps_the_retry_delay() {
        let body = documented("overloaded_error", "Overloaded");
        let e = classify_response(&response(529, &[("Retry-After", "3")], &body));
        assert_eq!(
            e,
            ProviderError::Overloaded {
                message: "Overloaded".into(),
                retry_after_ms: Some(3000)
            }
        );
    }

    #[test]
    fn spend_limit_429_is_not_retried() {
        let body = json!({
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "You have reached your specified API usage limits.",
                "details": {"error_code": "enforced_spend_limit_reached"}
            }
        })
        .to_string();
        let e = classify_response(&response(429, &[("retry-after", "60")], &body));
        assert_eq!(
            e,
            ProviderError::CreditsExhausted {
                message: "You have reached your specified API usage limits.".into()
            }
        );
        assert!(!e.is_retryable());
    }

    #[test]
    fn undocumented_bodies_fall_back_to_the_status() {
        let e = classify_response(&response(
            413,
            &[],
            "<html><body>413 Request Entity Too Large</body></html>",
        ));
        assert!(matches!(e, ProviderError::BadRequest { ref message } if message.contains("413")));
        let e = classify_response(&response(503, &[], "{\"oops\":true}"));
        assert!(matches!(e, ProviderError::Server { status: 503, .. }));
        let e = classify_response(&response(429, &[("retry-after", "2")], ""));
        assert_eq!(e.retry_after_ms(), Some(2000));
    }
}
