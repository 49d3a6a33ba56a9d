//! Reading updates (<https://core.telegram.org/bots/api#update>) into commands: a text
//! `message` (`message.chat.id`, `message.text`) or a `callback_query` from a button
//! (`callback_query.data`, `callback_query.message.chat.id`). Each update is one command
//! whose id is its `update_id`; the next `getUpdates` offset is the highest `update_id` + 1.

use crate::send::ReplyContext;
use hypernet_plugin_api::channel::{ChannelError, InboundCommand, Polled};
use serde::Deserialize;
use serde_json::Value;

/// The fields of an `Update` this channel reads; the rest are ignored.
#[derive(Debug, Deserialize)]
pub(crate) struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    callback_query: Option<CallbackQuery>,
}

/// `Message` (or `InaccessibleMessage`, which has the same three fields).
#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
}

/// `CallbackQuery`: a press on an inline keyboard button.
#[derive(Debug, Deserialize)]
struct CallbackQuery {
    id: String,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    data: Option<String>,
}

/// Which chats may send commands: all, or the listed ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChatFilter(pub Option<Vec<String>>);

impl ChatFilter {
    fn admits(&self, chat: &str) -> bool {
        self.0
            .as_ref()
            .is_none_or(|chats| chats.iter().any(|c| c == chat))
    }
}

impl Update {
    /// The command this update carries, if any; what is dropped is logged.
    pub fn command(&self, filter: &ChatFilter) -> Option<InboundCommand> {
        let update = self.update_id;
        let (message, raw, callback_query_id) = match (&self.message, &self.callback_query) {
            (Some(message), _) => (message, message.text.as_deref(), None),
            (None, Some(query)) => {
                let Some(message) = &query.message else {
                    tracing::info!(
                        update,
                        "button press without its message (too old): dropped"
                    );
                    return None;
                };
                (message, query.data.as_deref(), Some(query.id.clone()))
            }
            (None, None) => {
                tracing::debug!(update, "update of another kind: dropped");
                return None;
            }
        };
        let chat = message.chat.id.to_string();
        if !filter.admits(&chat) {
            tracing::warn!(
                update,
                chat = %chat,
                "command from a chat not in `allowed_chats`: dropped"
            );
            return None;
        }
        let Some(text) = raw.and_then(normalize) else {
            tracing::debug!(update, chat = %chat, "update without a text command: dropped");
            return None;
        };
        let reply = ReplyContext {
            chat_id: message.chat.id,
            message_id: Some(message.message_id),
            callback_query_id,
        };
        Some(InboundCommand {
            id: update.to_string(),
            from: chat,
            text,
            reply: Some(serde_json::to_value(reply).expect("a reply context serializes")),
        })
    }
}

/// A command line as the host reads it: trimmed, without a leading `/` and without the
/// `@botname` Telegram appends to commands in groups (`/status@hyper_bot` is `status`).
/// None when nothing is left.
pub(crate) fn normalize(text: &str) -> Option<String> {
    let text = text.trim();
    let Some(command) = text.strip_prefix('/') else {
        return (!text.is_empty()).then(|| text.to_owned());
    };
    let (first, rest) = command
        .split_once(char::is_whitespace)
        .map_or((command, ""), |(first, rest)| (first, rest.trim_start()));
    let first = first.split_once('@').map_or(first, |(name, _bot)| name);
    let line = if rest.is_empty() {
        first.to_owned()
    } else {
        format!("{first} {rest}")
    };
    (!line.is_empty()).then_some(line)
}

/// Reads the `result` of `getUpdates`: the commands, and the next offset (the highest
/// `update_id` + 1, or `previous` when nothing came). An update of an unknown shape still
/// moves the offset past it, so it is not fetched forever.
pub(crate) fn polled(
    result: Value,
    filter: &ChatFilter,
    previous: Option<&str>,
) -> Result<Polled, ChannelError> {
    let Value::Array(updates) = result else {
        return Err(ChannelError::Unavailable {
            message: format!("telegram getUpdates: `result` is not a list of updates: {result}"),
        });
    };
    let mut next: Option<i64> = None;
    let mut commands = Vec::new();
    for raw in updates {
        let Some(id) = raw.get("update_id").and_then(Value::as_i64) else {
            tracing::warn!("getUpdates result without an update_id: skipped");
            continue;
        };
        next = Some(next.map_or(id + 1, |n| n.max(id + 1)));
        match serde_json::from_value::<Update>(raw) {
            Ok(update) => commands.extend(update.command(filter)),
            Err(error) => tracing::warn!(update = id, %error, "unreadable update: skipped"),
        }
    }
    Ok(Polled {
        commands,
        cursor: next
            .map(|n| n.to_string())
            .or_else(|| previous.map(str::to_owned)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text_update(id: i64, chat: i64, text: &str) -> Value {
        json!({
            "update_id": id,
            "message": {
                "message_id": id * 10,
                "from": { "id": chat, "is_bot": false, "first_name": "Ada" },
                "chat": { "id": chat, "type": "private" },
                "date": 1_700_000_000,
                "text": text,
            }
        })
    }

    #[test]
    fn commands_are_normalized() {
        assert_eq!(normalize("/status").as_deref(), Some("status"));
        assert_eq!(normalize("  /status@hyper_bot ").as_deref(), Some("status"));
        assert_eq!(
            normalize("/task@hyper_bot  write the  docs").as_deref(),
            Some("task write the  docs")
        );
        assert_eq!(
            normalize("approve AQ-0001").as_deref(),
            Some("approve AQ-0001")
        );
        assert_eq!(
            normalize("ask bob mail me@example.org").as_deref(),
            Some("ask bob mail me@example.org")
        );
        assert_eq!(normalize("/"), None);
        assert_eq!(normalize("   "), None);
    }

    #[test]
    fn get_updates_gives_commands_and_the_next_offset() {
        let result = json!([
            text_update(100, 42, "/status"),
            text_update(101, 42, "/task@hyper_bot write the docs"),
        ]);
        let polled = polled(result, &ChatFilter::default(), Some("100")).unwrap();
        assert_eq!(polled.cursor.as_deref(), Some("102"));
        assert_eq!(polled.commands.len(), 2);
        let first = &polled.commands[0];
        assert_eq!(
            (first.id.as_str(), first.from.as_str(), first.text.as_str()),
            ("100", "42", "status")
        );
        assert_eq!(
            first.reply,
            Some(json!({ "chat_id": 42, "message_id": 1000 }))
        );
        assert_eq!(polled.commands[1].text, "task write the docs");
    }

    #[test]
    fn nothing_new_keeps_the_offset() {
        let polled = polled(json!([]), &ChatFilter::default(), Some("77")).unwrap();
        assert!(polled.commands.is_empty());
        assert_eq!(polled.cursor.as_deref(), Some("77"));
        let first = super::polled(json!([]), &ChatFilter::default(), None).unwrap();
        assert_eq!(first.cursor, None);
    }

    #[test]
    fn a_button_press_is_its_data_from_the_chat_of_its_message() {
        let result = json!([{
            "update_id": 500,
            "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": { "id": 7, "is_bot": false, "first_name": "Ada" },
                "message": {
                    "message_id": 31,
                    "chat": { "id": -100200, "type": "supergroup" },
                    "date": 1_700_000_000,
                    "text": "approval AQ-0001",
                },
                "chat_instance": "-123",
                "data": "approve AQ-0001",
            }
        }]);
        let polled = polled(result, &ChatFilter::default(), None).unwrap();
        assert_eq!(polled.cursor.as_deref(), Some("501"));
        let command = &polled.commands[0];
        assert_eq!(
            (
                command.id.as_str(),
                command.from.as_str(),
                command.text.as_str()
            ),
            ("500", "-100200", "approve AQ-0001")
        );
        assert_eq!(
            command.reply,
            Some(
                json!({ "chat_id": -100200, "message_id": 31, "callback_query_id": "4382bfdwdsb323b2d9" })
            )
        );
    }

    #[test]
    fn chats_outside_allowed_chats_are_dropped_but_passed_over() {
        let filter = ChatFilter(Some(vec!["42".into()]));
        let result = json!([
            text_update(10, 42, "status"),
            text_update(11, 666, "cancel T-1"),
        ]);
        let polled = polled(result, &filter, None).unwrap();
        assert_eq!(polled.commands.len(), 1);
        assert_eq!(polled.commands[0].from, "42");
        assert_eq!(polled.cursor.as_deref(), Some("12"));
    }

    #[test]
    fn updates_without_a_command_move_the_offset_too() {
        let result = json!([
            { "update_id": 20, "message": { "message_id": 1, "chat": { "id": 42 }, "date": 0, "photo": [] } },
            { "update_id": 22, "edited_message": { "message_id": 1, "chat": { "id": 42 } } },
            { "update_id": 21, "message": "not an object" },
            { "update_id": 23, "callback_query": { "id": "q", "data": "status" } },
        ]);
        let polled = polled(result, &ChatFilter::default(), Some("20")).unwrap();
        assert!(polled.commands.is_empty());
        assert_eq!(polled.cursor.as_deref(), Some("24"));
    }

    #[test]
    fn a_result_that_is_not_a_list_is_an_error() {
        let err = polled(json!({ "oops": 1 }), &ChatFilter::default(), None).unwrap_err();
        assert!(err.to_string().contains("getUpdates"), "{err}");
    }
}
