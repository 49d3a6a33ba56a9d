//! Channels to people, the host's side. A channel is a plugin service (Discord, Telegram,
//! email, a generic webhook); the host
//!
//! - delivers the outbox's messages through it ([`crate::outbox`]): each message is
//!   stored before it is sent, sent with the host's HTTP client (or by the channel itself
//!   for SMTP), retried with backoff on transient errors, and marked with the channel's
//!   answer;
//! - takes what people send back ([`inbound`]): an HTTP request at
//!   `/api/channels/<channel>/<path>` handed to the channel, or a poll of the channel's
//!   service, turned into commands; each command is stored (with the poll's cursor, in one
//!   commit) before it is handled, and handled once ([`inbox`]);
//! - runs every command through one command layer ([`commands`]), for configured people
//!   only, each on the audit log with its person and channel.

pub mod commands;
pub mod inbound;
pub mod inbox;
pub mod poller;

pub use inbound::{ChannelView, Channels, ChannelsError, ChannelsParts, SetupStep};

use serde::Deserialize;

/// `[channels]`: how messages to people are delivered and commands fetched.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelsConfig {
    /// Attempts at delivering a message on one channel before it is marked failed.
    pub max_attempts: u32,
    /// The first wait after a transient failure; it doubles with each attempt.
    pub retry_base_ms: u64,
    /// The longest wait between attempts (a service's own `retry_after` may be longer).
    pub retry_max_ms: u64,
    /// How long one delivery request or one poll may take.
    pub request_timeout_ms: u64,
    /// The wait before polling again after a failed poll.
    pub poll_error_backoff_ms: u64,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        ChannelsConfig {
            max_attempts: 8,
            retry_base_ms: 1_000,
            retry_max_ms: 300_000,
            request_timeout_ms: 60_000,
            poll_error_backoff_ms: 5_000,
        }
    }
}

impl ChannelsConfig {
    /// Checks ranges; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("`channels.max_attempts` must be at least 1".into());
        }
        if self.retry_base_ms == 0 || self.retry_max_ms < self.retry_base_ms {
            return Err(format!(
                "`channels.retry_base_ms` ({}) must be above 0 and at most `channels.retry_max_ms` ({})",
                self.retry_base_ms, self.retry_max_ms
            ));
        }
        if self.request_timeout_ms < 100 {
            return Err(format!(
                "`channels.request_timeout_ms` must be at least 100, not {}",
                self.request_timeout_ms
            ));
        }
        Ok(())
    }

    /// The wait before attempt `attempts + 1`: the service's `retry_after` when it gave one,
    /// else `retry_base_ms · 2^(attempts − 1)` up to `retry_max_ms`.
    ///
    /// ```
    /// use hypernet_swarm::channels::ChannelsConfig;
    /// let c = ChannelsConfig::default();
    /// assert_eq!(c.backoff_ms(1, None), 1_000);
    /// assert_eq!(c.backoff_ms(3, None), 4_000);
    /// assert_eq!(c.backoff_ms(30, None), 300_000);
    /// assert_eq!(c.backoff_ms(1, Some(7_500)), 7_500);
    /// ```
    pub fn backoff_ms(&self, attempts: u32, retry_after_ms: Option<u64>) -> u64 {
        retry_after_ms.unwrap_or_else(|| {
            let doublings = attempts.saturating_sub(1).min(32);
            self.retry_base_ms
                .saturating_mul(1u64 << doublings)
                .min(self.retry_max_ms)
        })
    }
}
