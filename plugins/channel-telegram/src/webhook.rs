//! Webhook mode: Telegram posts each update to `POST /api/channels/telegram/webhook` with
//! the secret given to `setWebhook` in the `X-Telegram-Bot-Api-Secret-Token` header
//! (<https://core.telegram.org/bots/api#setwebhook>). A request without it, or with another,
//! is answered 401 and read no further.

use crate::updates::{ChatFilter, Update};
use hypernet_plugin_api::channel::{Inbound, InboundRequest};
use subtle::ConstantTimeEq;

/// The header carrying the secret.
pub(crate) const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Handles one request to the channel's inbound route.
pub(crate) fn handle(request: &InboundRequest, secret: &str, filter: &ChatFilter) -> Inbound {
    if request.path.trim_matches('/') != "webhook" {
        return Inbound::status(404, "channel-telegram answers only at `webhook`");
    }
    if !request.method.eq_ignore_ascii_case("POST") {
        return Inbound::status(405, "the telegram webhook takes POST");
    }
    let given = request.header(SECRET_HEADER).unwrap_or_default();
    // Constant time, so the secret cannot be guessed byte by byte from response times.
    if !bool::from(given.as_bytes().ct_eq(secret.as_bytes())) {
        tracing::warn!(
            present = !given.is_empty(),
            "telegram webhook request with a wrong or missing secret: refused"
        );
        return Inbound::status(401, "wrong or missing X-Telegram-Bot-Api-Secret-Token");
    }
    match serde_json::from_str::<Update>(&request.body) {
        Ok(update) => Inbound::json(
            200,
            &serde_json::json!({}),
            update.command(filter).into_iter().collect(),
        ),
        Err(error) => {
            tracing::warn!(%error, "telegram webhook body is not an update");
            Inbound::status(400, &format!("the body is not a Telegram update: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(secret: Option<&str>, body: &str) -> InboundRequest {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(secret) = secret {
            headers.push((SECRET_HEADER.to_owned(), secret.to_owned()));
        }
        InboundRequest {
            method: "POST".into(),
            path: "webhook".into(),
            headers,
            body: body.into(),
        }
    }

    fn update() -> String {
        json!({
            "update_id": 9,
            "message": { "message_id": 3, "chat": { "id": 42 }, "date": 0, "text": "/cancel T-12" }
        })
        .to_string()
    }

    #[test]
    fn the_right_secret_gives_the_command() {
        let inbound = handle(
            &request(Some("s3cret"), &update()),
            "s3cret",
            &ChatFilter::default(),
        );
        assert_eq!(inbound.response.status, 200);
        assert_eq!(inbound.commands.len(), 1);
        assert_eq!(
            (
                inbound.commands[0].id.as_str(),
                inbound.commands[0].text.as_str()
            ),
            ("9", "cancel T-12")
        );
    }

    #[test]
    fn a_wrong_or_missing_secret_is_401_without_commands() {
        for given in [
            None,
            Some("wrong"),
            Some("s3cre"),
            Some("s3cret2"),
            Some(""),
        ] {
            let inbound = handle(&request(given, &update()), "s3cret", &ChatFilter::default());
            assert_eq!(inbound.response.status, 401, "{given:?}");
            assert!(inbound.commands.is_empty());
            assert!(!inbound.response.body.contains("s3cret"));
        }
    }

    #[test]
    fn the_header_name_is_matched_in_any_case() {
        let mut r = request(None, &update());
        r.headers
            .push(("X-Telegram-Bot-Api-Secret-Token".into(), "s3cret".into()));
        assert_eq!(
            handle(&r, "s3cret", &ChatFilter::default()).response.status,
            200
        );
    }

    #[test]
    fn other_paths_methods_and_bodies_are_refused() {
        let mut r = request(Some("s"), &update());
        r.path = "interactions".into();
        assert_eq!(handle(&r, "s", &ChatFilter::default()).response.status, 404);
        let mut r = request(Some("s"), &update());
        r.method = "GET".into();
        assert_eq!(handle(&r, "s", &ChatFilter::default()).response.status, 405);
        let r = request(Some("s"), "{\"update\":1}");
        assert_eq!(handle(&r, "s", &ChatFilter::default()).response.status, 400);
    }

    #[test]
    fn a_chat_outside_allowed_chats_is_answered_but_dropped() {
        let filter = ChatFilter(Some(vec!["7".into()]));
        let inbound = handle(&request(Some("s"), &update()), "s", &filter);
        assert_eq!(inbound.response.status, 200);
        assert!(inbound.commands.is_empty());
    }
}
