//! What a task records when it crosses swarms: at its origin, the [`Delegation`] to the
//! peer that runs it; at the peer, the [`RemoteOrigin`] it came from.

use super::{TaskId, TaskStatus};
use crate::tier::Tier;
use serde::{Deserialize, Serialize};

/// A task another swarm runs for this one (its status here is `delegated` until the answer
/// comes back).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delegation {
    /// The swarm that runs it.
    pub swarm: String,
    /// Counts the task's delegations: an answer names the round it answers, and one for an
    /// earlier round (the task was taken back meanwhile) is ignored.
    pub round: u32,
    /// Why it went there (`model gpt-4o has no provider here`, `filed for swarm b`,
    /// `overflow`).
    pub why: String,
    /// When it was delegated (ms since the Unix epoch).
    pub since_ms: u64,
    /// Its id at the peer, once the peer reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_task: Option<TaskId>,
    /// Its status at the peer, as last reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_status: Option<TaskStatus>,
    /// The peer's signature over its answer (hex Ed25519), stored with the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The peer's host key that made the signature (hex), checked against the key the peer
    /// publishes with its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
}

/// Where a task filed by another swarm came from; its status changes go back there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RemoteOrigin {
    /// The swarm that delegated it.
    pub swarm: String,
    /// Its id there.
    pub task: TaskId,
    /// The delegation round it belongs to (see [`Delegation::round`]).
    pub round: u32,
    /// The highest permission tier its tool calls may use: what the origin asked for,
    /// capped by `[federation] remote_tier`.
    #[schema(value_type = u8)]
    pub tier: Tier,
    /// The model its origin routed it to: its calls go there when a provider here serves
    /// it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl RemoteOrigin {
    /// The idempotency key its filing carries (`TaskSpec::origin`): one delegation round
    /// files one task here, however often the message comes.
    pub fn key(&self) -> String {
        format!(
            "{}{}:{}:{}",
            Self::KEY_PREFIX,
            self.swarm,
            self.task,
            self.round
        )
    }

    /// How every [`RemoteOrigin::key`] begins.
    pub const KEY_PREFIX: &str = "swarm:";

    /// Whether a filing's `origin` is a [`RemoteOrigin::key`].
    pub fn is_key(origin: &str) -> bool {
        origin.starts_with(Self::KEY_PREFIX)
    }
}
