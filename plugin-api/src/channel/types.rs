//! What travels between the host and a channel.

use super::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a channel can do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelInfo {
    /// Whether it shows [`Button`]s (Discord components, Telegram inline keyboards). The
    /// host writes the commands into the text for channels without them.
    #[serde(default)]
    pub buttons: bool,
    /// Whether it fetches inbound commands by [`Channel::poll`](super::Channel::poll).
    #[serde(default)]
    pub polls: bool,
}

/// Who a message is from, as the channel should show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sender {
    /// A worker's name, or `host`.
    pub name: String,
    /// The picture to show beside it, if configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// How a button looks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    /// The expected choice.
    #[default]
    Primary,
    /// A refusal or a destructive choice.
    Danger,
    /// Anything else.
    Secondary,
}

/// A button under a message: pressing it sends `command` as the person who pressed it.
///
/// ```
/// use hypernet_plugin_api::channel::{Button, ButtonStyle};
/// let b = Button::new("Approve", "approve AQ-0001");
/// assert_eq!((b.style, b.command.as_str()), (ButtonStyle::Primary, "approve AQ-0001"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    /// The label.
    pub label: String,
    /// The command line it sends (`approve AQ-0001`); at most 64 bytes, Telegram's limit.
    pub command: String,
    /// How it looks.
    #[serde(default)]
    pub style: ButtonStyle,
}

impl Button {
    /// A primary button.
    pub fn new(label: impl Into<String>, command: impl Into<String>) -> Button {
        Button {
            label: label.into(),
            command: command.into(),
            style: ButtonStyle::Primary,
        }
    }

    /// The same button with another style.
    pub fn style(self, style: ButtonStyle) -> Button {
        Button { style, ..self }
    }
}

/// A message for a channel to deliver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    /// The host's id of the message (`M-000042`): stable across retries and restarts, so a
    /// channel with an idempotency handle passes it on and a repeat is dropped.
    pub id: String,
    /// The recipient's address on this channel, from `[[person]]` (a Discord user id, a
    /// Telegram chat id, an email address); empty when the channel has one destination.
    #[serde(default)]
    pub to: String,
    /// The recipient's name.
    #[serde(default)]
    pub recipient: String,
    /// Who it is from.
    pub sender: Sender,
    /// A one-line summary (an email's subject).
    #[serde(default)]
    pub subject: String,
    /// The text, plain (the channel escapes it for its markup).
    pub text: String,
    /// What it is about, when it belongs to a conversation (`T-12`): messages with the same
    /// thread belong together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread: Option<String>,
    /// The id of the message before this one in the same thread on this channel, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    /// What kind of message it is (`question`, `approval`, `failure`, `alert`, `brief`,
    /// `reply`, ...).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Buttons, for channels whose [`ChannelInfo::buttons`] is set.
    #[serde(default)]
    pub buttons: Vec<Button>,
    /// When this answers an inbound command: the command's [`InboundCommand::reply`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Value>,
}

/// What the host should do to deliver a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Delivery {
    /// Send these requests in order, handing each answer to
    /// [`Channel::parse_delivery`](super::Channel::parse_delivery). A message split in parts
    /// resumes at the part that failed; parts already delivered are not sent again.
    Http {
        /// The requests.
        requests: Vec<HttpRequest>,
    },
    /// The channel delivered the message itself (a protocol the host does not speak).
    Done {
        /// What the service answered.
        receipt: Receipt,
    },
}

impl Delivery {
    /// One request.
    pub fn http(request: HttpRequest) -> Delivery {
        Delivery::Http {
            requests: vec![request],
        }
    }
}

/// What the service answered to a delivered message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The service's id of the message, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Anything else worth keeping (the SMTP server's answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An HTTP request the host received for a channel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRequest {
    /// `POST`, ...
    pub method: String,
    /// The path after `/api/channels/<plugin>/` (`interactions`, `webhook`).
    pub path: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as received (signatures are computed over it).
    pub body: String,
}

impl InboundRequest {
    /// The first header of that name, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::provider::types::first_header(&self.headers, name)
    }
}

/// A command a person sent through a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundCommand {
    /// The channel's id of what carried it (a Telegram update, a Discord interaction):
    /// the host handles each id once.
    pub id: String,
    /// The sender's address on the channel (a user or chat id), matched against
    /// `[[person]]`.
    pub from: String,
    /// The command line: `status`, `task <text>`, `approve AQ-0001`, ...
    pub text: String,
    /// What the channel needs to answer in the same place; handed back in
    /// [`Outbound::reply`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Value>,
}

/// The channel's answer to an [`InboundRequest`]: the response to give and the commands it
/// carried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inbound {
    /// The HTTP response.
    pub response: HttpResponse,
    /// The commands (none for a ping or a refused request).
    #[serde(default)]
    pub commands: Vec<InboundCommand>,
}

impl Inbound {
    /// A response with a status and a JSON body `{"error": message}`, and no command.
    ///
    /// ```
    /// use hypernet_plugin_api::channel::Inbound;
    /// let i = Inbound::status(401, "bad signature");
    /// assert_eq!((i.response.status, i.response.body.as_str()), (401, r#"{"error":"bad signature"}"#));
    /// ```
    pub fn status(status: u16, message: &str) -> Inbound {
        Inbound::json(status, &serde_json::json!({ "error": message }), Vec::new())
    }

    /// A JSON response and the commands it carried.
    pub fn json(status: u16, body: &Value, commands: Vec<InboundCommand>) -> Inbound {
        Inbound {
            response: HttpResponse {
                status,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.to_string(),
            },
            commands,
        }
    }
}

/// What a poll brought.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Polled {
    /// The commands, oldest first.
    pub commands: Vec<InboundCommand>,
    /// The cursor for the next poll; the host stores it durably in the same commit as the
    /// commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Splits `text` into pieces of at most `max` characters, at a line break or else a space
/// when there is one in the second half of a piece, else anywhere.
///
/// ```
/// use hypernet_plugin_api::channel::split_text;
/// assert_eq!(split_text("short", 10), vec!["short"]);
/// assert_eq!(split_text("one two three", 8), vec!["one two", "three"]);
/// assert_eq!(split_text("abcdefgh", 3), vec!["abc", "def", "gh"]);
/// assert!(split_text("", 10).is_empty());
/// ```
pub fn split_text(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .char_indices()
            .nth(max)
            .map_or(rest.len(), |(index, _)| index);
        if end == rest.len() {
            out.push(rest.to_owned());
            break;
        }
        let piece = &rest[..end];
        let half = piece.len() / 2;
        let cut = piece
            .rfind('\n')
            .filter(|&i| i >= half)
            .or_else(|| piece.rfind(' ').filter(|&i| i >= half));
        let (take, skip) = match cut {
            Some(i) => (i, i + 1),
            None => (end, end),
        };
        out.push(rest[..take].to_owned());
        rest = &rest[skip..];
    }
    out
}
