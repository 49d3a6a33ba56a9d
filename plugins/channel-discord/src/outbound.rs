//! Building the requests that deliver a message.
//!
//! A message for a person goes through a webhook, [Execute Webhook]:
//! `POST /webhooks/{webhook.id}/{webhook.token}?wait=true` with `content` (≤ 2000
//! characters), `username`, `avatar_url`, `allowed_mentions` and `components`; `wait=true`
//! makes Discord answer with the message, whose `id` is the receipt.
//!
//! The answer to a command goes to the interaction it came from: the first part edits the
//! deferred response, [Edit Original Interaction Response]
//! `PATCH /webhooks/{application.id}/{interaction.token}/messages/@original`; further parts
//! are [follow-up messages] `POST /webhooks/{application.id}/{interaction.token}`.
//!
//! [Execute Webhook]: https://discord.com/developers/docs/resources/webhook#execute-webhook
//! [Edit Original Interaction Response]: https://discord.com/developers/docs/interactions/receiving-and-responding#edit-original-interaction-response
//! [follow-up messages]: https://discord.com/developers/docs/interactions/receiving-and-responding#create-followup-message

use crate::config::{Webhook, is_snowflake};
use crate::content;
use hypernet_plugin_api::channel::{Button, ButtonStyle, ChannelError, HttpRequest, Outbound};
use serde::Deserialize;
use serde_json::{Value, json};

/// At most 5 buttons in an action row, 5 rows in a message.
const BUTTONS_PER_ROW: usize = 5;
const MAX_ROWS: usize = 5;
/// Discord's limits on a button's label and `custom_id`, and a webhook's `username`.
const LABEL_LIMIT: usize = 80;
const CUSTOM_ID_LIMIT: usize = 100;
const USERNAME_LIMIT: usize = 80;

/// How a message sent through a webhook looks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Look<'a> {
    pub username: Option<&'a str>,
    pub avatar_url: Option<&'a str>,
    /// Whether to attach buttons.
    pub buttons: bool,
}

/// What a command's answer needs: the `reply` of the [`InboundCommand`] it answers.
///
/// [`InboundCommand`]: hypernet_plugin_api::channel::InboundCommand
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub(crate) struct InteractionReply {
    pub application_id: String,
    pub token: String,
}

/// The requests that post `message` to a person through `webhook`: one per part, the
/// person mentioned in the first (and only them), the buttons under the last.
pub(crate) fn webhook_requests(
    base_url: &str,
    webhook: &Webhook,
    look: Look<'_>,
    message: &Outbound,
) -> Result<Vec<HttpRequest>, ChannelError> {
    let mention = mention(&message.to)?;
    let mut head = mention
        .as_ref()
        .map(|m| format!("{m} "))
        .unwrap_or_default();
    let subject = message.subject.trim();
    // The host's default subject is the text's first line: not shown twice.
    if !subject.is_empty() && !message.text.trim_start().starts_with(subject) {
        head.push_str(&format!("**{}**\n", content::escape(subject)));
    }
    let url = format!(
        "{}/webhooks/{}/{}?wait=true",
        base_url.trim_end_matches('/'),
        webhook.id,
        webhook.token
    );
    let pinged = mention.as_ref().map(|_| message.to.as_str());
    Ok(bodies(&head, message, look, pinged)?
        .into_iter()
        .map(|mut body| {
            if let Some(name) = look.username.filter(|n| !n.trim().is_empty()) {
                body["username"] = json!(name.chars().take(USERNAME_LIMIT).collect::<String>());
            }
            if let Some(avatar) = look.avatar_url {
                body["avatar_url"] = json!(avatar);
            }
            request("POST", &url, &body)
        })
        .collect())
}

/// The requests that answer a command in the interaction it came from: the first part
/// edits the deferred response, the others follow it up.
pub(crate) fn interaction_requests(
    base_url: &str,
    reply: &Value,
    look: Look<'_>,
    message: &Outbound,
) -> Result<Vec<HttpRequest>, ChannelError> {
    let reply: InteractionReply = serde_json::from_value(reply.clone()).map_err(|e| {
        ChannelError::rejected(format!(
            "message {}: `reply` is not a Discord interaction ({{application_id, token}}): {e}",
            message.id
        ))
    })?;
    if !is_snowflake(&reply.application_id) || reply.token.is_empty() {
        return Err(ChannelError::rejected(format!(
            "message {}: `reply` names no Discord interaction",
            message.id
        )));
    }
    let base = format!(
        "{}/webhooks/{}/{}",
        base_url.trim_end_matches('/'),
        reply.application_id,
        reply.token
    );
    Ok(bodies("", message, look, None)?
        .into_iter()
        .enumerate()
        .map(|(index, body)| {
            if index == 0 {
                request("PATCH", &format!("{base}/messages/@original"), &body)
            } else {
                request("POST", &base, &body)
            }
        })
        .collect())
}

/// The JSON body of each part: `head` and the text split in `content`, only `pinged`
/// mentionable and only in the first part, the buttons under the last.
fn bodies(
    head: &str,
    message: &Outbound,
    look: Look<'_>,
    pinged: Option<&str>,
) -> Result<Vec<Value>, ChannelError> {
    let parts = non_empty_parts(head, message)?;
    let last = parts.len() - 1;
    Ok(parts
        .into_iter()
        .enumerate()
        .map(|(index, text)| {
            let mut body = json!({
                "content": text,
                "allowed_mentions": allowed_mentions(pinged.filter(|_| index == 0)),
            });
            if index == last && look.buttons && !message.buttons.is_empty() {
                body["components"] = components(&message.buttons);
            }
            body
        })
        .collect())
}

fn non_empty_parts(head: &str, message: &Outbound) -> Result<Vec<String>, ChannelError> {
    let parts = content::parts(head, &message.text);
    if message.text.trim().is_empty() || parts.is_empty() {
        return Err(ChannelError::rejected(format!(
            "message {} has no text",
            message.id
        )));
    }
    Ok(parts)
}

/// `<@id>` for a person's Discord user id; nothing when the message has no recipient.
fn mention(to: &str) -> Result<Option<String>, ChannelError> {
    let to = to.trim();
    if to.is_empty() {
        return Ok(None);
    }
    if !is_snowflake(to) {
        return Err(ChannelError::rejected(format!(
            "`{to}` is not a Discord user id (digits); set the person's `channels.discord`"
        )));
    }
    Ok(Some(format!("<@{to}>")))
}

/// [Allowed mentions]: only the recipient may be pinged, and only where named.
///
/// [Allowed mentions]: https://discord.com/developers/docs/resources/message#allowed-mentions-object
fn allowed_mentions(user: Option<&str>) -> Value {
    match user {
        Some(id) => json!({ "parse": [], "users": [id] }),
        None => json!({ "parse": [] }),
    }
}

/// [Buttons] in [action rows]: `{"type": 1, "components": [{"type": 2, "style", "label",
/// "custom_id"}]}`, the `custom_id` being the command the button sends. Styles: primary 1,
/// secondary 2, danger 4.
///
/// [Buttons]: https://discord.com/developers/docs/components/reference#button
/// [action rows]: https://discord.com/developers/docs/components/reference#action-row
pub(crate) fn components(buttons: &[Button]) -> Value {
    let limit = BUTTONS_PER_ROW * MAX_ROWS;
    if buttons.len() > limit {
        tracing::warn!(
            buttons = buttons.len(),
            limit,
            "Discord shows at most 25 buttons; the rest are left out"
        );
    }
    let rows: Vec<Value> = buttons[..buttons.len().min(limit)]
        .chunks(BUTTONS_PER_ROW)
        .map(|row| {
            let buttons: Vec<Value> = row
                .iter()
                .map(|b| {
                    json!({
                        "type": 2,
                        "style": match b.style {
                            ButtonStyle::Primary => 1,
                            ButtonStyle::Secondary => 2,
                            ButtonStyle::Danger => 4,
                        },
                        "label": b.label.chars().take(LABEL_LIMIT).collect::<String>(),
                        "custom_id": b.command.chars().take(CUSTOM_ID_LIMIT).collect::<String>(),
                    })
                })
                .collect();
            json!({ "type": 1, "components": buttons })
        })
        .collect();
    Value::Array(rows)
}

fn request(method: &str, url: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        method: method.to_owned(),
        url: url.to_owned(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.to_string(),
    }
}
