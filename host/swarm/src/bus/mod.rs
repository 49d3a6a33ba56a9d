//! The bus between workers: a worker writes to another (or to all) with `send_message`,
//! and the recipient reads it in its next prompt. Each message is kept in the redb file
//! ([`persist`]), so a restart loses none and an unread one is still unread afterwards.
//!
//! ```text
//! draft ─▶ sent ─▶ delivered ─▶ read ─▶ responded
//! ```
//!
//! A message is sent once stored; it is delivered when its recipient is a configured
//! worker ([`lookup`]: exact name, then any case, then the last segment of an address) and
//! stays `sent` when no worker answers to it. It is read once a prompt of the recipient's
//! shows it ([`prompt`]), and responded once the recipient replies to it (`reply_to`). A
//! status only moves forward: [`WorkerMessage::advance`] refuses a step back, naming both.
//!
//! Threads: a new message starts its own (its thread is its id); a reply joins its
//! parent's. A broadcast (`to = "*"` or `all`) is one message per other worker, each with
//! its own id and status, all in the thread of the first. The service is [`service::Bus`].

pub mod lookup;
pub mod persist;
pub mod prompt;
pub mod service;
#[cfg(test)]
mod tests;

pub use hypernet_model::ids::WorkerMessageId;
pub use service::Bus;

use serde::{Deserialize, Serialize};

/// Where a message is in its life; each only moves forward.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// Written, not yet stored as sent.
    Draft,
    /// Stored; no worker has it (its recipient is unknown).
    Sent,
    /// Its recipient is a worker who has not read it yet.
    Delivered,
    /// Shown in a prompt of its recipient.
    Read,
    /// Its recipient replied to it.
    Responded,
}

impl MessageStatus {
    /// Every status, in order.
    pub const ALL: [MessageStatus; 5] = [
        MessageStatus::Draft,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Responded,
    ];

    /// Its name (`delivered`).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Draft => "draft",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Read => "read",
            MessageStatus::Responded => "responded",
        }
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MessageStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MessageStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown message status `{s}` (one of: draft, sent, delivered, read, responded)"
                )
            })
    }
}

/// One message between workers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerMessage {
    /// Its id (`WM-000001`).
    pub id: WorkerMessageId,
    /// The worker who wrote it.
    pub from: String,
    /// The recipient as written (a name, an address, `*`).
    pub to: String,
    /// The worker it was delivered to (none: no worker answers to `to`).
    pub recipient: Option<String>,
    /// Its thread: the id of the message that started it.
    pub thread: WorkerMessageId,
    /// The message it replies to.
    pub reply_to: Option<WorkerMessageId>,
    /// The text.
    pub body: String,
    /// Where it is.
    pub status: MessageStatus,
    /// Written at (ms since the Unix epoch).
    pub created_ms: u64,
    /// Its status last changed at.
    pub updated_ms: u64,
}

/// What the bus refuses, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// No message has that id.
    #[error("no worker message {0}")]
    NotFound(WorkerMessageId),
    /// A status may only move forward.
    #[error("{id} is {from}: it cannot go back to {to}")]
    Backwards {
        /// The message.
        id: WorkerMessageId,
        /// Its status.
        from: MessageStatus,
        /// The status asked for.
        to: MessageStatus,
    },
    /// A worker replied to a message that was not delivered to it.
    #[error("{id} was not sent to {worker}, so {worker} cannot reply to it")]
    NotYours {
        /// The message replied to.
        id: WorkerMessageId,
        /// The worker replying.
        worker: String,
    },
    /// A broadcast from the only worker there is.
    #[error("no other worker to send to (`to` = `{0}` means every other worker)")]
    NobodyElse(String),
    /// A message with nothing in it.
    #[error("the message body is empty")]
    Empty,
    /// The store failed.
    #[error("worker messages: {0}")]
    Store(String),
}

impl From<hypernet_store::StoreError> for BusError {
    fn from(e: hypernet_store::StoreError) -> Self {
        BusError::Store(e.to_string())
    }
}

impl WorkerMessage {
    /// Moves it to `to` at `now_ms`: forward only. Answers whether it changed (asking for
    /// the status it has already changes nothing, so a second reply is no error).
    pub fn advance(&mut self, to: MessageStatus, now_ms: u64) -> Result<bool, BusError> {
        if to < self.status {
            return Err(BusError::Backwards {
                id: self.id,
                from: self.status,
                to,
            });
        }
        if to == self.status {
            return Ok(false);
        }
        self.status = to;
        self.updated_ms = now_ms;
        Ok(true)
    }

    /// Whether `worker` (any case) wrote it, received it, or is its `to` as written.
    pub fn involves(&self, worker: &str) -> bool {
        self.from.eq_ignore_ascii_case(worker)
            || self.to.eq_ignore_ascii_case(worker)
            || self
                .recipient
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(worker))
    }
}
