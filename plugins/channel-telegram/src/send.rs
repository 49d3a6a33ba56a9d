//! Building the Bot API calls that deliver an [`Outbound`]: an optional
//! `answerCallbackQuery` (when the message answers a button press), then one `sendMessage`
//! per part of the text (<https://core.telegram.org/bots/api#sendmessage>: `chat_id`,
//! `text` of 1-4096 characters after entities parsing, `parse_mode`, `reply_parameters`,
//! `reply_markup`).
//!
//! Text is sent with `parse_mode = "HTML"`: the sender's name in `<b>` on the first line, the
//! text with `&`, `<` and `>` escaped, so nothing in it is read as markup.

use hypernet_plugin_api::channel::{Button, ChannelError, Outbound, split_text};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The most characters of one message's text, after entities parsing.
pub(crate) const TEXT_LIMIT: usize = 4096;
/// The most bytes of a button's `callback_data`.
pub(crate) const CALLBACK_DATA_LIMIT: usize = 64;
/// The most characters of the sender's name shown in bold.
const NAME_LIMIT: usize = 64;
/// Buttons per keyboard row.
const ROW_LENGTH: usize = 3;

/// What a command carries so its answer lands in the same place: the host hands it back in
/// [`Outbound::reply`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReplyContext {
    /// The chat the command came from.
    pub chat_id: i64,
    /// The message that carried it (the command, or the message under the pressed button).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<i64>,
    /// The button press to answer, so the client stops showing progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_query_id: Option<String>,
}

impl ReplyContext {
    /// The context of a message, if it has a readable one.
    pub fn of(message: &Outbound) -> Option<ReplyContext> {
        // The host hands back `null` for a command that carried no context.
        let reply = message.reply.as_ref().filter(|r| !r.is_null())?;
        match serde_json::from_value(reply.clone()) {
            Ok(context) => Some(context),
            Err(error) => {
                tracing::warn!(
                    message = %message.id,
                    %error,
                    "the reply context is not telegram's; answering in the recipient's chat"
                );
                None
            }
        }
    }
}

/// One Bot API call: the method and its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub method: &'static str,
    pub body: Value,
}

/// The calls that deliver `message`, in order.
pub(crate) fn calls(message: &Outbound) -> Result<Vec<Call>, ChannelError> {
    let context = ReplyContext::of(message);
    let chat_id = match &context {
        Some(context) => json!(context.chat_id),
        None => chat_id(&message.to).ok_or_else(|| {
            ChannelError::rejected(format!(
                "message {} has no telegram chat id (the person's `channels.telegram` is empty)",
                message.id
            ))
        })?,
    };
    let mut calls = Vec::new();
    if let Some(id) = context.as_ref().and_then(|c| c.callback_query_id.clone()) {
        calls.push(Call {
            method: "answerCallbackQuery",
            body: json!({ "callback_query_id": id }),
        });
    }
    let header = format!(
        "<b>{}</b>\n",
        escape_html(
            &message
                .sender
                .name
                .chars()
                .take(NAME_LIMIT)
                .collect::<String>()
        )
    );
    let header_chars = message.sender.name.chars().take(NAME_LIMIT).count() + 1;
    let mut parts = split_text(&message.text, TEXT_LIMIT - header_chars);
    if parts.is_empty() {
        parts.push(String::new());
    }
    let keyboard = keyboard(&message.id, &message.buttons);
    let last = parts.len() - 1;
    for (index, part) in parts.iter().enumerate() {
        let mut body = json!({
            "chat_id": chat_id,
            "text": format!("{header}{}", escape_html(part)),
            "parse_mode": "HTML",
        });
        if index == 0
            && let Some(message_id) = context.as_ref().and_then(|c| c.message_id)
        {
            body["reply_parameters"] = json!({
                "message_id": message_id,
                "allow_sending_without_reply": true,
            });
        }
        if index == last
            && let Some(keyboard) = &keyboard
        {
            body["reply_markup"] = keyboard.clone();
        }
        calls.push(Call {
            method: "sendMessage",
            body,
        });
    }
    Ok(calls)
}

/// A `chat_id` for an address: a number when it is one, else the text (`@channelname`).
fn chat_id(address: &str) -> Option<Value> {
    let address = address.trim();
    if address.is_empty() {
        return None;
    }
    Some(match address.parse::<i64>() {
        Ok(id) => json!(id),
        Err(_) => json!(address),
    })
}

/// Escapes text for `parse_mode = "HTML"`: `&`, `<` and `>` become entities.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// An `InlineKeyboardMarkup` with one button per command that fits `callback_data`; a
/// longer command is left out with a warning. None when no button is left.
fn keyboard(message: &str, buttons: &[Button]) -> Option<Value> {
    let fitting: Vec<Value> = buttons
        .iter()
        .filter(|button| {
            let fits = !button.command.is_empty() && button.command.len() <= CALLBACK_DATA_LIMIT;
            if !fits {
                tracing::warn!(
                    message,
                    label = %button.label,
                    bytes = button.command.len(),
                    "button left out: its command does not fit telegram's callback_data (1-64 bytes)"
                );
            }
            fits
        })
        .map(|button| json!({ "text": button.label, "callback_data": button.command }))
        .collect();
    if fitting.is_empty() {
        return None;
    }
    let rows: Vec<Value> = fitting
        .chunks(ROW_LENGTH)
        .map(|row| Value::Array(row.to_vec()))
        .collect();
    Some(json!({ "inline_keyboard": rows }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::channel::{ButtonStyle, Sender};

    fn message(text: &str) -> Outbound {
        Outbound {
            id: "M-000001".into(),
            to: "4242".into(),
            sender: Sender {
                name: "ada".into(),
                avatar_url: None,
            },
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn one_short_message_is_one_sendmessage_in_html_with_the_sender_in_bold() {
        let calls = calls(&message("build <main> & ship > 2")).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].method, "sendMessage");
        assert_eq!(
            calls[0].body,
            json!({
                "chat_id": 4242,
                "text": "<b>ada</b>\nbuild &lt;main&gt; &amp; ship &gt; 2",
                "parse_mode": "HTML",
            })
        );
    }

    #[test]
    fn the_senders_name_is_escaped_too() {
        let mut m = message("hi");
        m.sender.name = "<script>".into();
        let calls = calls(&m).unwrap();
        assert_eq!(calls[0].body["text"], "<b>&lt;script&gt;</b>\nhi");
    }

    #[test]
    fn channel_usernames_are_sent_as_text() {
        let mut m = message("hi");
        m.to = "@ops_channel".into();
        assert_eq!(calls(&m).unwrap()[0].body["chat_id"], "@ops_channel");
    }

    #[test]
    fn no_chat_id_is_rejected_by_message_id() {
        let mut m = message("hi");
        m.to = " ".into();
        let err = calls(&m).unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("M-000001"), "{err}");
    }

    #[test]
    fn long_text_is_split_within_the_limit_with_escaping_after_the_split() {
        let text = format!("{}\n{}", "<".repeat(4000), "b".repeat(3000));
        let calls = calls(&message(&text)).unwrap();
        assert_eq!(calls.len(), 2);
        for call in &calls {
            let text = call.body["text"].as_str().unwrap();
            // What Telegram counts: the text after entities parsing.
            let parsed = text
                .replace("<b>", "")
                .replace("</b>", "")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            assert!(parsed.chars().count() <= TEXT_LIMIT, "{}", parsed.len());
            assert!(text.starts_with("<b>ada</b>\n"));
        }
        assert!(
            calls[0].body["text"]
                .as_str()
                .unwrap()
                .ends_with(&"&lt;".repeat(10))
        );
        assert!(
            calls[1].body["text"]
                .as_str()
                .unwrap()
                .ends_with(&"b".repeat(3000))
        );
    }

    #[test]
    fn an_empty_text_still_sends_the_sender() {
        let calls = calls(&message("")).unwrap();
        assert_eq!(calls[0].body["text"], "<b>ada</b>\n");
    }

    #[test]
    fn buttons_become_an_inline_keyboard_on_the_last_part() {
        let mut m = message(&"x ".repeat(3000));
        m.buttons = vec![
            Button::new("Approve", "approve AQ-0001"),
            Button::new("Deny", "deny AQ-0001").style(ButtonStyle::Danger),
            Button::new("Later", "status"),
            Button::new("Cancel", "cancel T-12"),
        ];
        let calls = calls(&m).unwrap();
        assert_eq!(calls.len(), 2);
        assert!(calls[0].body.get("reply_markup").is_none());
        assert_eq!(
            calls[1].body["reply_markup"],
            json!({ "inline_keyboard": [
                [
                    { "text": "Approve", "callback_data": "approve AQ-0001" },
                    { "text": "Deny", "callback_data": "deny AQ-0001" },
                    { "text": "Later", "callback_data": "status" },
                ],
                [ { "text": "Cancel", "callback_data": "cancel T-12" } ],
            ]})
        );
    }

    #[test]
    fn a_command_longer_than_64_bytes_is_left_out() {
        let mut m = message("pick");
        m.buttons = vec![
            Button::new("Long", format!("answer T-12 {}", "é".repeat(30))),
            Button::new("Short", "status"),
        ];
        let sent = calls(&m).unwrap();
        assert_eq!(
            sent[0].body["reply_markup"]["inline_keyboard"],
            json!([[{ "text": "Short", "callback_data": "status" }]])
        );
        m.buttons.truncate(1);
        assert!(calls(&m).unwrap()[0].body.get("reply_markup").is_none());
    }

    #[test]
    fn a_reply_answers_the_button_press_then_replies_to_the_commands_message() {
        let mut m = message("3 tasks running");
        m.to = "999".into();
        m.reply =
            Some(json!({ "chat_id": -100500, "message_id": 77, "callback_query_id": "cq-1" }));
        let calls = calls(&m).unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].method, "answerCallbackQuery");
        assert_eq!(calls[0].body, json!({ "callback_query_id": "cq-1" }));
        assert_eq!(calls[1].body["chat_id"], -100500);
        assert_eq!(
            calls[1].body["reply_parameters"],
            json!({ "message_id": 77, "allow_sending_without_reply": true })
        );
    }

    #[test]
    fn a_null_reply_context_is_none() {
        let mut m = message("ok");
        m.reply = Some(Value::Null);
        assert_eq!(ReplyContext::of(&m), None);
        assert_eq!(calls(&m).unwrap()[0].body["chat_id"], 4242);
    }

    #[test]
    fn a_foreign_reply_context_falls_back_to_the_recipient() {
        let mut m = message("ok");
        m.reply = Some(json!({ "interaction_token": "abc" }));
        let calls = calls(&m).unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].body["chat_id"], 4242);
        assert!(calls[0].body.get("reply_parameters").is_none());
    }
}
