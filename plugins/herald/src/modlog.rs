//! The moderation log: what the herald did (welcomed, answered, flagged, ...), keeping only
//! the most recent [`LOG_CAPACITY`] entries.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many entries the log keeps; the oldest is dropped past this.
pub const LOG_CAPACITY: usize = 500;

/// A moderation action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Greeted a newcomer.
    Welcome,
    /// Answered a question.
    Answer,
    /// Flagged content for attention.
    Flag,
    /// Summarized a thread or result.
    Summarize,
    /// Translated a message.
    Translate,
    /// Held content back (recorded automatically by the `hold` query).
    Hold,
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Position in the whole history, from 1; keeps counting after old entries are dropped.
    pub seq: u64,
    /// What was done.
    pub action: Action,
    /// Who did it.
    pub actor: String,
    /// What it was done to (a review id, a user, a thread), if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Free-form detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// When, in Unix milliseconds.
    pub at_ms: u64,
}

/// The bounded log, oldest first.
#[derive(Debug, Default)]
pub struct ModerationLog {
    entries: VecDeque<LogEntry>,
    last_seq: u64,
}

impl ModerationLog {
    /// Rebuilds the log from stored entries (any order), keeping the newest
    /// [`LOG_CAPACITY`].
    pub fn from_entries(mut entries: Vec<LogEntry>) -> Self {
        entries.sort_by_key(|e| e.seq);
        let excess = entries.len().saturating_sub(LOG_CAPACITY);
        let entries: VecDeque<_> = entries.into_iter().skip(excess).collect();
        let last_seq = entries.back().map_or(0, |e| e.seq);
        ModerationLog { entries, last_seq }
    }

    /// Appends an entry (numbering it); returns it and the entry dropped to stay in bounds.
    pub fn push(
        &mut self,
        action: Action,
        actor: &str,
        target: Option<String>,
        detail: Option<String>,
        at_ms: u64,
    ) -> (LogEntry, Option<LogEntry>) {
        self.last_seq += 1;
        let entry = LogEntry {
            seq: self.last_seq,
            action,
            actor: actor.to_owned(),
            target,
            detail,
            at_ms,
        };
        self.entries.push_back(entry.clone());
        let dropped = if self.entries.len() > LOG_CAPACITY {
            self.entries.pop_front()
        } else {
            None
        };
        (entry, dropped)
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> impl Iterator<Item = &LogEntry> {
        self.entries
            .iter()
            .skip(self.entries.len().saturating_sub(limit))
    }

    /// How many entries are kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sequence number of the newest entry ever written (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_entries() {
        let mut log = ModerationLog::default();
        for i in 1..=LOG_CAPACITY as u64 {
            let (entry, dropped) = log.push(Action::Answer, "Herald", None, None, i);
            assert_eq!(entry.seq, i);
            assert!(dropped.is_none());
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        let (entry, dropped) = log.push(Action::Flag, "Herald", None, None, 501);
        assert_eq!(entry.seq, 501);
        assert_eq!(dropped.map(|e| e.seq), Some(1));
        assert_eq!(log.len(), LOG_CAPACITY);
        for i in 0..99 {
            log.push(Action::Welcome, "Herald", None, None, 502 + i);
        }
        assert_eq!(log.len(), LOG_CAPACITY);
        let seqs: Vec<_> = log.recent(usize::MAX).map(|e| e.seq).collect();
        assert_eq!(seqs, (101..=600).collect::<Vec<_>>());
        let last: Vec<_> = log.recent(2).map(|e| e.seq).collect();
        assert_eq!(last, vec![599, 600]);
    }

    #[test]
    fn rebuilds_in_order_and_trims() {
        // More than the capacity, shuffled: as if a crash left one extra entry behind.
        let mut stored: Vec<_> = (1..=510u64)
            .rev()
            .map(|seq| LogEntry {
                seq,
                action: Action::Translate,
                actor: "Herald".into(),
                target: None,
                detail: None,
                at_ms: seq,
            })
            .collect();
        stored.swap(3, 200);
        let log = ModerationLog::from_entries(stored);
        assert_eq!(log.len(), LOG_CAPACITY);
        assert_eq!(log.last_seq(), 510);
        assert_eq!(log.recent(usize::MAX).next().map(|e| e.seq), Some(11));
    }

    #[test]
    fn actions_use_their_names() {
        for (action, name) in [
            (Action::Welcome, "welcome"),
            (Action::Answer, "answer"),
            (Action::Flag, "flag"),
            (Action::Summarize, "summarize"),
            (Action::Translate, "translate"),
            (Action::Hold, "hold"),
        ] {
            assert_eq!(serde_json::to_value(action).unwrap(), name);
        }
        assert!(serde_json::from_value::<Action>(serde_json::json!("ban")).is_err());
    }
}
