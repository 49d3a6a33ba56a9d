//! Reading a Bot API answer: `{"ok":true,"result":...}`, or `{"ok":false,"error_code":N,
//! "description":"...","parameters":{"retry_after":N}}` classified as a [`ChannelError`]
//! (<https://core.telegram.org/bots/api#making-requests>, `ResponseParameters`).

use hypernet_plugin_api::channel::{ChannelError, HttpResponse};
use serde::Deserialize;
use serde_json::Value;

/// Every answer of the Bot API.
#[derive(Debug, Deserialize)]
struct Envelope {
    ok: bool,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    error_code: Option<u16>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

/// `ResponseParameters`: why a request failed and what to do about it.
#[derive(Debug, Default, Deserialize)]
struct ResponseParameters {
    /// Seconds to wait before the next request (flood control).
    #[serde(default)]
    retry_after: Option<u64>,
    /// The group became a supergroup with this id.
    #[serde(default)]
    migrate_to_chat_id: Option<i64>,
}

/// The `result` of a successful answer to `method`, or the error it reports. The message
/// names the method, never the request's address (it holds the token).
pub(crate) fn result(method: &str, response: &HttpResponse) -> Result<Value, ChannelError> {
    let envelope = match serde_json::from_str::<Envelope>(&response.body) {
        Ok(envelope) => envelope,
        Err(_) if (200..300).contains(&response.status) => {
            return Err(ChannelError::Unavailable {
                message: format!(
                    "telegram {method}: HTTP {} with a body that is not the Bot API's JSON: {}",
                    response.status,
                    excerpt(&response.body)
                ),
            });
        }
        Err(_) => {
            let mut error = ChannelError::from_status(response);
            prefix(&mut error, method);
            return Err(error);
        }
    };
    if envelope.ok && (200..300).contains(&response.status) {
        return Ok(envelope.result.unwrap_or(Value::Null));
    }
    Err(classify(method, response, envelope))
}

fn classify(method: &str, response: &HttpResponse, envelope: Envelope) -> ChannelError {
    let code = envelope.error_code.unwrap_or(response.status);
    let parameters = envelope.parameters.unwrap_or_default();
    let mut message = format!(
        "telegram {method}: {code} {}",
        excerpt(
            envelope
                .description
                .as_deref()
                .unwrap_or("(no description)")
        )
    );
    if let Some(chat) = parameters.migrate_to_chat_id {
        message.push_str(&format!(
            "; the group is now the supergroup {chat}: use that chat id in [[person]]"
        ));
    }
    match code {
        429 => ChannelError::RateLimited {
            message,
            retry_after_ms: parameters
                .retry_after
                .map(|s| s.saturating_mul(1000))
                .or_else(|| hypernet_plugin_api::provider::retry_after_ms(response)),
        },
        // A token Telegram does not know answers 404 (no such bot path); a revoked one 401.
        401 | 404 => ChannelError::Auth {
            message: format!("{message} (check the bot token)"),
        },
        500..=599 => ChannelError::Unavailable { message },
        _ => ChannelError::Rejected { message },
    }
}

/// Puts the method in front of a status-only classification.
fn prefix(error: &mut ChannelError, method: &str) {
    let message = match error {
        ChannelError::RateLimited { message, .. }
        | ChannelError::Unavailable { message }
        | ChannelError::Auth { message }
        | ChannelError::Rejected { message } => message,
    };
    *message = format!("telegram {method}: {message}");
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![],
            body: body.to_owned(),
        }
    }

    #[test]
    fn ok_answers_give_their_result() {
        let r = answer(200, r#"{"ok":true,"result":{"message_id":7}}"#);
        assert_eq!(result("sendMessage", &r).unwrap()["message_id"], 7);
    }

    #[test]
    fn flood_control_waits_as_long_as_telegram_asks() {
        let r = answer(
            429,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}"#,
        );
        let err = result("sendMessage", &r).unwrap_err();
        assert_eq!(err.retry_after_ms(), Some(5000));
        assert!(err.to_string().contains("Too Many Requests"), "{err}");
    }

    #[test]
    fn a_429_without_parameters_reads_the_retry_after_header() {
        let mut r = answer(429, r#"{"ok":false,"error_code":429,"description":"slow"}"#);
        r.headers.push(("Retry-After".into(), "3".into()));
        assert_eq!(
            result("getUpdates", &r).unwrap_err().retry_after_ms(),
            Some(3000)
        );
    }

    #[test]
    fn each_error_code_is_classified() {
        let cases = [
            (401, "Unauthorized", "auth"),
            (404, "Not Found", "auth"),
            (400, "Bad Request: chat not found", "rejected"),
            (403, "Forbidden: bot was blocked by the user", "rejected"),
            (
                409,
                "Conflict: terminated by other getUpdates request",
                "rejected",
            ),
            (502, "Bad Gateway", "unavailable"),
        ];
        for (code, description, kind) in cases {
            let body = serde_json::json!({
                "ok": false, "error_code": code, "description": description
            });
            let err = result("sendMessage", &answer(code, &body.to_string())).unwrap_err();
            let got = serde_json::to_value(&err).unwrap()["kind"].clone();
            assert_eq!(got, kind, "{code} {description}: {err}");
            assert!(err.to_string().contains(description), "{err}");
            assert!(err.to_string().contains("sendMessage"), "{err}");
        }
    }

    #[test]
    fn a_migrated_group_names_its_new_id() {
        let r = answer(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded to a supergroup chat","parameters":{"migrate_to_chat_id":-100777}}"#,
        );
        let err = result("sendMessage", &r).unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("-100777"), "{err}");
    }

    #[test]
    fn bodies_that_are_not_the_bot_api_fall_back_to_the_status() {
        let err = result("sendMessage", &answer(503, "<html>busy</html>")).unwrap_err();
        assert!(err.is_retryable());
        assert!(
            err.to_string()
                .starts_with("unavailable: telegram sendMessage: HTTP 503")
        );
        let err = result("sendMessage", &answer(200, "not json")).unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }
}
