//! Error bodies `{"error":{"message","type","param","code"}}`, after a non-2xx status or as
//! a `data:` chunk in the middle of a stream.

use crate::wire::{WireError, excerpt};
use hypernet_plugin_api::provider::{HttpResponse, ProviderError, retry_after_ms};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct ErrorBody {
    error: Value,
}

/// Reads the `error` member; Ollama's native endpoints send `{"error":"text"}`.
fn read_error(value: Value) -> Option<WireError> {
    match value {
        Value::String(message) => Some(WireError {
            message: Some(message),
            ..WireError::default()
        }),
        Value::Object(_) => serde_json::from_value(value).ok(),
        _ => None,
    }
}

/// Whether the error says the prompt does not fit the context window.
fn is_context_overflow(error: &WireError) -> bool {
    error.code.as_deref() == Some("context_length_exceeded")
}

/// Whether the error is a spent quota (never worth retrying).
fn is_quota(error: &WireError) -> bool {
    error.code.as_deref() == Some("insufficient_quota")
        || error.kind.as_deref() == Some("insufficient_quota")
}

/// The provider's message, or what else the error says when it has none.
fn message_of(error: &WireError, body: &str) -> String {
    match error.message.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(m) => m.to_owned(),
        None => match (&error.kind, &error.code) {
            (Some(kind), _) => kind.clone(),
            (None, Some(code)) => code.clone(),
            (None, None) => excerpt(body),
        },
    }
}

/// Classifies a non-2xx response, keeping the provider's message:
///
/// | status | error | result |
/// |---|---|---|
/// | 401, 403 | | `Auth` |
/// | any | `code: "context_length_exceeded"` | `ContextTooLong` |
/// | 429 | `insufficient_quota` (type or code) | `CreditsExhausted` (not retried) |
/// | 429 | | `RateLimited` with `retry-after-ms` / `retry-after` |
/// | 529 | | `Overloaded` with the same headers |
/// | 402 | | `CreditsExhausted` |
/// | 408, 409, 5xx | | `Server { status }` |
/// | others (400, 404, 422, …) | | `BadRequest` |
///
/// A body that is not an error object falls back to [`ProviderError::from_status`].
///
/// ```
/// use hypernet_openai_compat::classify_error;
/// use hypernet_plugin_api::provider::{HttpResponse, ProviderError};
///
/// let body = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
/// let resp = HttpResponse { status: 401, headers: vec![], body: body.into() };
/// assert_eq!(
///     classify_error(&resp),
///     ProviderError::Auth { message: "Incorrect API key provided".into() }
/// );
/// ```
pub fn classify_error(response: &HttpResponse) -> ProviderError {
    let Some(error) = serde_json::from_str::<ErrorBody>(&response.body)
        .ok()
        .and_then(|b| read_error(b.error))
    else {
        return ProviderError::from_status(response);
    };
    let message = message_of(&error, &response.body);
    let status = response.status;
    match status {
        401 | 403 => ProviderError::Auth { message },
        _ if is_context_overflow(&error) => ProviderError::ContextTooLong { message },
        429 if is_quota(&error) => ProviderError::CreditsExhausted { message },
        429 => ProviderError::RateLimited {
            message,
            retry_after_ms: retry_after_ms(response),
        },
        529 => ProviderError::Overloaded {
            message,
            retry_after_ms: retry_after_ms(response),
        },
        402 => ProviderError::CreditsExhausted { message },
        408 | 409 | 500..=599 => ProviderError::Server { status, message },
        _ => ProviderError::BadRequest { message },
    }
}

/// Classifies the `error` object of an error chunk received after HTTP 200, where there is
/// no status to go by. An integer `code` (llama.cpp) is taken as the status; otherwise the
/// `type` / `code` decide, and anything unrecognised is a `Server` error with status 500,
/// since the request itself was accepted.
///
/// ```
/// use hypernet_openai_compat::classify_error_object;
/// use hypernet_plugin_api::provider::ProviderError;
///
/// let error = serde_json::json!({"message": "The server had an error", "type": "server_error"});
/// assert!(matches!(classify_error_object(&error), ProviderError::Server { status: 500, .. }));
/// ```
pub fn classify_error_object(error: &Value) -> ProviderError {
    let Some(wire) = read_error(error.clone()) else {
        return ProviderError::Server {
            status: 500,
            message: excerpt(&error.to_string()),
        };
    };
    let status = wire
        .code
        .as_deref()
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|s| (400..=599).contains(s));
    if let Some(status) = status {
        let response = HttpResponse {
            status,
            headers: Vec::new(),
            body: serde_json::json!({ "error": error }).to_string(),
        };
        return classify_error(&response);
    }
    let message = message_of(&wire, &error.to_string());
    let says = |s: &str| wire.kind.as_deref() == Some(s) || wire.code.as_deref() == Some(s);
    if is_context_overflow(&wire) {
        ProviderError::ContextTooLong { message }
    } else if is_quota(&wire) {
        ProviderError::CreditsExhausted { message }
    } else if says("rate_limit_exceeded") || says("tokens") || says("requests") {
        ProviderError::RateLimited {
            message,
            retry_after_ms: None,
        }
    } else if says("overloaded_error") {
        ProviderError::Overloaded {
            message,
            retry_after_ms: None,
        }
    } else if says("invalid_api_key") || says("authentication_error") {
        ProviderError::Auth { message }
    } else if says("invalid_request_error") {
        ProviderError::BadRequest { message }
    } else {
        ProviderError::Server {
            status: 500,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(status: u16, headers: &[(&str, &str)], body: Value) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.to_string(),
        }
    }

    fn err(message: &str, kind: &str, code: Value) -> Value {
        json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
    }

    #[test]
    fn auth_statuses() {
        let body = err(
            "Incorrect API key provided: sk-abc***xyz.",
            "invalid_request_error",
            json!("invalid_api_key"),
        );
        assert_eq!(
            classify_error(&resp(401, &[], body)),
            ProviderError::Auth {
                message: "Incorrect API key provided: sk-abc***xyz.".into()
            }
        );
        let body = err(
            "You are not allowed to use this model.",
            "invalid_request_error",
            json!("model_not_allowed"),
        );
        assert_eq!(
            classify_error(&resp(403, &[], body)),
            ProviderError::Auth {
                message: "You are not allowed to use this model.".into()
            }
        );
    }

    #[test]
    fn context_too_long_and_bad_requests() {
        let msg = "This model's maximum context length is 128000 tokens. However, your messages resulted in 130012 tokens.";
        let body = err(
            msg,
            "invalid_request_error",
            json!("context_length_exceeded"),
        );
        assert_eq!(
            classify_error(&resp(400, &[], body)),
            ProviderError::ContextTooLong {
                message: msg.into()
            }
        );
        for (status, code) in [
            (400, json!(null)),
            (404, json!("model_not_found")),
            (422, json!(null)),
        ] {
            let body = err(
                "Unrecognized request argument",
                "invalid_request_error",
                code,
            );
            assert_eq!(
                classify_error(&resp(status, &[], body)),
                ProviderError::BadRequest {
                    message: "Unrecognized request argument".into()
                },
                "status {status}"
            );
        }
    }

    #[test]
    fn rate_limits_with_retry_after_headers() {
        let msg = "Rate limit reached for gpt-4o on tokens per min (TPM): Limit 30000, Used 29000, Requested 1500.";
        let body = err(msg, "tokens", json!("rate_limit_exceeded"));
        let limited = |headers: &[(&str, &str)]| classify_error(&resp(429, headers, body.clone()));
        assert_eq!(
            limited(&[("retry-after", "20")]),
            ProviderError::RateLimited {
                message: msg.into(),
                retry_after_ms: Some(20_000)
            }
        );
        assert_eq!(
            limited(&[("Retry-After", "20"), ("retry-after-ms", "1250")]).retry_after_ms(),
            Some(1250)
        );
        assert_eq!(limited(&[]).retry_after_ms(), None);
        assert!(limited(&[]).is_retryable());
    }

    #[test]
    fn insufficient_quota_is_never_retried() {
        let msg = "You exceeded your current quota, please check your plan and billing details.";
        for body in [
            err(msg, "insufficient_quota", json!("insufficient_quota")),
            err(msg, "requests", json!("insufficient_quota")),
            err(msg, "insufficient_quota", json!(null)),
        ] {
            let e = classify_error(&resp(429, &[("retry-after", "1")], body));
            assert_eq!(
                e,
                ProviderError::CreditsExhausted {
                    message: msg.into()
                }
            );
            assert!(!e.is_retryable());
        }
    }

    #[test]
    fn server_statuses_and_overload() {
        for status in [408, 409, 500, 502, 503, 504] {
            let body = err(
                "The server had an error while processing your request.",
                "server_error",
                json!(null),
            );
            assert_eq!(
                classify_error(&resp(status, &[], body)),
                ProviderError::Server {
                    status,
                    message: "The server had an error while processing your request.".into()
                }
            );
        }
        let body = err("Overloaded", "overloaded_error", json!(null));
        assert_eq!(
            classify_error(&resp(529, &[("retry-after-ms", "3000")], body)),
            ProviderError::Overloaded {
                message: "Overloaded".into(),
                retry_after_ms: Some(3000)
            }
        );
        // llama.cpp while loading: integer code, 503.
        let body = json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}});
        assert_eq!(
            classify_error(&resp(503, &[], body)),
            ProviderError::Server {
                status: 503,
                message: "Loading model".into()
            }
        );
    }

    #[test]
    fn bodies_that_are_not_error_objects_fall_back_to_the_status() {
        let r = HttpResponse {
            status: 502,
            headers: vec![],
            body: "<html>Bad Gateway</html>".into(),
        };
        assert_eq!(classify_error(&r), ProviderError::from_status(&r));
        let r = HttpResponse {
            status: 429,
            headers: vec![("retry-after".into(), "2".into())],
            body: "slow down".into(),
        };
        assert_eq!(
            classify_error(&r),
            ProviderError::RateLimited {
                message: "slow down".into(),
                retry_after_ms: Some(2000)
            }
        );
        // Ollama's native shape: a string.
        let r = resp(404, &[], json!({"error": "model \"llama9\" not found"}));
        assert_eq!(
            classify_error(&r),
            ProviderError::BadRequest {
                message: "model \"llama9\" not found".into()
            }
        );
    }

    #[test]
    fn error_objects_without_status() {
        let e = |v: Value| classify_error_object(&v["error"]);
        assert_eq!(
            e(err("The server had an error", "server_error", json!(null))),
            ProviderError::Server {
                status: 500,
                message: "The server had an error".into()
            }
        );
        assert!(matches!(
            e(err("Rate limit", "tokens", json!("rate_limit_exceeded"))),
            ProviderError::RateLimited { .. }
        ));
        assert!(matches!(
            e(err("quota", "insufficient_quota", json!(null))),
            ProviderError::CreditsExhausted { .. }
        ));
        assert!(matches!(
            e(err(
                "too long",
                "invalid_request_error",
                json!("context_length_exceeded")
            )),
            ProviderError::ContextTooLong { .. }
        ));
        assert_eq!(
            e(
                json!({"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}})
            ),
            ProviderError::Server {
                status: 503,
                message: "Loading model".into()
            }
        );
    }
}
