//! A message as stored: what was filed, and the fate of each of its deliveries.

use hypernet_plugin_api::channel::Button;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The host log: a message to `log` is written there and is sent at once.
pub const LOG: &str = "log";
/// The channel `auto`: every channel the person has an address on (the log otherwise).
pub const AUTO: &str = "auto";

/// The tag of the host's own notices to people (questions, approvals, failures, outcomes,
/// alerts, briefs): the default herald config lets them pass at once.
pub const NOTICE: &str = "notice";

/// Waiting for the herald.
pub const HELD: &str = "held";
/// Stored; some delivery is still to be made.
pub const QUEUED: &str = "queued";
/// Every delivery made.
pub const SENT: &str = "sent";
/// Nothing left to try, and some delivery failed for good.
pub const FAILED: &str = "failed";

/// A message to send, as filed.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMessage {
    /// Recipient: a `[[person]]`'s name, or an address on `channel`.
    pub to: String,
    /// Delivery channel: `auto` (the default: every channel the person has an address on,
    /// the log otherwise), `log`, or a channel's name (`telegram`, `email`, ...).
    #[serde(default = "auto")]
    pub channel: String,
    /// Text.
    pub body: String,
    /// Who sends it (default `host`).
    #[serde(default = "default_sender")]
    pub sender: String,
    /// Tags (the herald's auto-approval rules may use them).
    #[serde(default)]
    pub tags: Vec<String>,
    /// A one-line summary (an email's subject; default: the body's first line).
    #[serde(default)]
    pub subject: Option<String>,
    /// What it is about (`T-12`): a channel keeps a thread's messages together.
    #[serde(default)]
    pub thread: Option<String>,
    /// Buttons (commands a person can send back with one press).
    #[serde(skip)]
    pub buttons: Vec<Button>,
    /// The inbound command this answers (it goes back where the command came from, and
    /// does not wait for the herald: the person asked).
    #[serde(skip)]
    pub reply: Option<Value>,
    /// What the message comes from, when that may be handled twice (`event:<id>:<to>`): a
    /// message of the same origin is filed once.
    #[serde(skip)]
    pub origin: Option<String>,
}

fn auto() -> String {
    AUTO.into()
}

fn default_sender() -> String {
    "host".into()
}

impl NewMessage {
    /// A message from `sender` to `to` on the `auto` channel.
    pub fn new(to: impl Into<String>, sender: impl Into<String>, body: impl Into<String>) -> Self {
        NewMessage {
            to: to.into(),
            channel: auto(),
            body: body.into(),
            sender: sender.into(),
            ..NewMessage::default()
        }
    }
}

/// One channel's delivery of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The channel (`log`, `telegram`, ...).
    pub channel: String,
    /// The recipient's address on it.
    pub address: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    /// Attempts made.
    #[serde(default)]
    pub attempts: u32,
    /// Parts already delivered (a long text is split in parts; a retry resumes after them).
    #[serde(default)]
    pub parts_sent: usize,
    /// Not before this time (ms since the epoch) for the next attempt.
    #[serde(default)]
    pub next_ms: u64,
    /// The message before this one in the same thread on this channel.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The service's ids of what it delivered, in order.
    #[serde(default)]
    pub handles: Vec<String>,
    /// The service's answer (an SMTP server's reply, ...).
    #[serde(default)]
    pub detail: Option<String>,
    /// The last error.
    #[serde(default)]
    pub error: Option<String>,
    /// When it was sent or failed for good.
    #[serde(default)]
    pub done_ms: Option<u64>,
}

impl Delivery {
    /// A delivery waiting for its first attempt.
    pub fn queued(channel: &str, address: &str) -> Delivery {
        Delivery {
            channel: channel.to_owned(),
            address: address.to_owned(),
            status: QUEUED.into(),
            attempts: 0,
            parts_sent: 0,
            next_ms: 0,
            in_reply_to: None,
            handles: Vec::new(),
            detail: None,
            error: None,
            done_ms: None,
        }
    }
}

/// A message and its fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Message {
    /// `M-000001`, ...: stable, the idempotency handle channels pass on.
    pub id: String,
    /// Recipient, as filed.
    pub to: String,
    /// Delivery channel, as filed.
    pub channel: String,
    /// Text.
    pub body: String,
    /// Sender.
    pub sender: String,
    /// Tags.
    pub tags: Vec<String>,
    /// `held` (waiting for the herald), `queued`, `sent` or `failed`.
    pub status: String,
    /// The herald's review id, when it reviewed the message.
    pub review: Option<String>,
    /// Filed at.
    pub created_ms: u64,
    /// When every delivery was made.
    pub sent_ms: Option<u64>,
    /// One-line summary.
    #[serde(default)]
    pub subject: String,
    /// What it is about (`T-12`).
    #[serde(default)]
    pub thread: Option<String>,
    /// Buttons.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub buttons: Vec<Button>,
    /// The inbound command this answers.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub reply: Option<Value>,
    /// One per channel it goes to.
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
}

impl Message {
    /// The status its deliveries give it (a held message stays held).
    pub fn settle(&mut self, now_ms: u64) {
        if self.status == HELD {
            return;
        }
        let queued = self.deliveries.iter().any(|d| d.status == QUEUED);
        let failed = self.deliveries.iter().any(|d| d.status == FAILED);
        self.status = if queued {
            QUEUED
        } else if failed {
            FAILED
        } else {
            SENT
        }
        .into();
        if self.status == SENT && self.sent_ms.is_none() {
            self.sent_ms = Some(now_ms);
        }
    }
}
