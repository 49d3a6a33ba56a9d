//! One audit entry: what happened, who did it, and the two seals — `hash`, the SHA-256 of
//! the canonical JSON of every other field but `signature` (so it covers `prev_hash` and
//! links the entry to the one before), and `signature`, the host key's HMAC over
//! `kind|host|hash|at_ms` (see [`mod@crate::security::sign`]).

use crate::security::sign::{Signature, sign_hash};
use crate::security::{HOST_ENTITY, Key, KeyId, payload_hash};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `prev_hash` of the first entry ever written.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A worker's tool call.
    ToolCall,
    /// A tool call refused by a permission.
    ToolDenied,
    /// An approval asked for, granted or refused.
    Approval,
    /// A host command run for a plugin.
    PluginCommand,
    /// A change of the budget's limits.
    BudgetChange,
    /// A key made, rotated or revoked.
    KeyChange,
    /// A command a person sent through a channel (or one refused).
    ChannelCommand,
    /// Older entries pruned; records where the remaining chain starts.
    Checkpoint,
}

impl AuditKind {
    /// The kind as written in entries.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::ToolCall => "tool_call",
            AuditKind::ToolDenied => "tool_denied",
            AuditKind::Approval => "approval",
            AuditKind::PluginCommand => "plugin_command",
            AuditKind::BudgetChange => "budget_change",
            AuditKind::KeyChange => "key_change",
            AuditKind::ChannelCommand => "channel_command",
            AuditKind::Checkpoint => "checkpoint",
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// When it was written, in ms since the epoch.
    pub at_ms: u64,
    /// What it records.
    pub kind: AuditKind,
    /// Who acted: a plugin's name, `api` for the bearer of the API token, `host`.
    pub actor: String,
    /// What was done, with secrets redacted.
    #[schema(value_type = Object)]
    pub detail: Value,
    /// The `hash` of the entry before (or of the last pruned one; zeros for the first).
    pub prev_hash: String,
    /// The host key that signed it.
    #[schema(value_type = String)]
    pub key_id: KeyId,
    /// Lowercase hex SHA-256 of the canonical JSON of the other fields but `signature`.
    pub hash: String,
    /// Lowercase hex HMAC-SHA256 by `key_id` over `kind|host|hash|at_ms`.
    pub signature: String,
}

/// The `detail` of a checkpoint entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointDetail {
    /// The last pruned seq: the remaining chain starts after it.
    pub pruned_through: u64,
    /// That entry's hash, the `prev_hash` of the first remaining one.
    pub pruned_hash: String,
    /// How many entries this pruning removed.
    pub pruned: u64,
}

/// The newest entry's seq and hash, kept beside the log so that entries removed from its
/// end are noticed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainHead {
    /// The newest seq (0: nothing written yet).
    pub seq: u64,
    /// Its hash ([`GENESIS_HASH`] before the first entry).
    pub hash: String,
}

impl ChainHead {
    /// The head of an empty log.
    pub fn genesis() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// What goes into a new entry, before it is sealed.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub at_ms: u64,
    pub kind: AuditKind,
    pub actor: String,
    pub detail: Value,
}

impl AuditEntry {
    /// Seals `draft` as the entry after `head`, signed by `key`.
    pub(crate) fn seal(draft: Draft, head: &ChainHead, key: &Key) -> AuditEntry {
        let mut entry = AuditEntry {
            seq: head.seq + 1,
            at_ms: draft.at_ms,
            kind: draft.kind,
            actor: draft.actor,
            detail: draft.detail,
            prev_hash: head.hash.clone(),
            key_id: key.id().clone(),
            hash: String::new(),
            signature: String::new(),
        };
        entry.hash = entry.content_hash();
        entry.signature = sign_hash(
            key,
            entry.kind.as_str(),
            HOST_ENTITY,
            &entry.hash,
            &entry.at_ms.to_string(),
        )
        .signature;
        entry
    }

    /// The hash its contents should have: SHA-256 of the canonical JSON of every field but
    /// `hash` and `signature`.
    pub fn content_hash(&self) -> String {
        let mut value = serde_json::to_value(self).expect("entries serialize");
        if let Some(fields) = value.as_object_mut() {
            fields.remove("hash");
            fields.remove("signature");
        }
        payload_hash(&value)
    }

    /// Its signature as [`crate::security::verify`] checks it.
    pub fn signature(&self) -> Signature {
        Signature {
            key_id: self.key_id.clone(),
            actor: HOST_ENTITY.to_owned(),
            kind: self.kind.as_str().to_owned(),
            timestamp: self.at_ms.to_string(),
            payload_hash: self.hash.clone(),
            signature: self.signature.clone(),
        }
    }

    /// The head of a log whose newest entry is this one.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_written_as_their_names() {
        for kind in [
            AuditKind::ToolCall,
            AuditKind::ToolDenied,
            AuditKind::Approval,
            AuditKind::PluginCommand,
            AuditKind::BudgetChange,
            AuditKind::KeyChange,
            AuditKind::Checkpoint,
        ] {
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                Value::String(kind.as_str().to_owned())
            );
        }
    }
}
