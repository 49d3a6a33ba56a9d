//! The contribution ledger: GPU, human and AI contributions, in id order.
//!
//! Pure data; persistence lives in `lib.rs`. Qualities are clamped into `[0, 2]` on the way
//! in, so a stored entry never holds an out-of-range quality.

use crate::fixed::Fixed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Lowest quality an AI contribution can have.
pub const MIN_QUALITY: Fixed = Fixed::ZERO;
/// Highest quality an AI contribution can have.
pub const MAX_QUALITY: Fixed = Fixed::from_int(2);
/// Quality of an AI contribution until a review sets it.
pub const DEFAULT_QUALITY: Fixed = Fixed::from_int(1);

/// Clamps a quality into `[0, 2]`.
pub fn clamp_quality(q: Fixed) -> Fixed {
    q.clamp_to(MIN_QUALITY, MAX_QUALITY)
}

/// A contribution id: `CON-` and six digits (more once past 999 999).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContributionId(pub String);

impl ContributionId {
    /// The id for sequence number `n` (1-based).
    pub fn from_seq(n: u64) -> Self {
        ContributionId(format!("CON-{n:06}"))
    }

    /// The sequence number, if the id is well formed.
    pub fn seq(&self) -> Option<u64> {
        self.0.strip_prefix("CON-")?.parse().ok()
    }
}

/// The three kinds of contribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Tokens processed on contributed GPUs.
    Gpu,
    /// Work by a person, one record each.
    Human,
    /// Tokens produced by an AI worker, weighted by quality.
    Ai,
}

impl Kind {
    /// Parses `gpu`, `human` or `ai`.
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "gpu" => Some(Kind::Gpu),
            "human" => Some(Kind::Human),
            "ai" => Some(Kind::Ai),
            _ => None,
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gpu => "gpu",
            Kind::Human => "human",
            Kind::Ai => "ai",
        }
    }
}

/// What was contributed; the JSON carries `kind` beside the kind's own fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Contribution {
    /// `{"kind": "gpu", "tokens": 300}`
    Gpu {
        /// Tokens processed.
        tokens: u64,
    },
    /// `{"kind": "human", "record": "reviewed the API docs"}`
    Human {
        /// What was done.
        record: String,
    },
    /// `{"kind": "ai", "tokens": 1200, "quality": "1.0000", "task": "T-7"}`
    Ai {
        /// Input plus output tokens.
        tokens: u64,
        /// In `[0, 2]`; 1 until reviewed.
        quality: Fixed,
        /// The task it came from, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        task: Option<String>,
    },
}

impl Contribution {
    /// The kind.
    pub fn kind(&self) -> Kind {
        match self {
            Contribution::Gpu { .. } => Kind::Gpu,
            Contribution::Human { .. } => Kind::Human,
            Contribution::Ai { .. } => Kind::Ai,
        }
    }

    /// Tokens (0 for a human record).
    pub fn tokens(&self) -> u64 {
        match self {
            Contribution::Gpu { tokens } | Contribution::Ai { tokens, .. } => *tokens,
            Contribution::Human { .. } => 0,
        }
    }
}

/// One ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `CON-000001`…
    pub id: ContributionId,
    /// When it was recorded, by the host clock.
    pub at_ms: u64,
    /// Who contributed: a GPU owner, a person, or an AI worker.
    pub contributor: String,
    /// What.
    #[serde(flatten)]
    pub contribution: Contribution,
}

/// All entries, by id, with an index from task id to its AI entry.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: BTreeMap<ContributionId, Entry>,
    by_task: BTreeMap<String, ContributionId>,
}

impl Ledger {
    /// Adds (or replaces) an entry.
    pub fn insert(&mut self, entry: Entry) {
        if let Contribution::Ai {
            task: Some(task), ..
        } = &entry.contribution
        {
            self.by_task.insert(task.clone(), entry.id.clone());
        }
        self.entries.insert(entry.id.clone(), entry);
    }

    /// The AI entry recorded for a task.
    pub fn for_task(&self, task: &str) -> Option<&Entry> {
        self.entries.get(self.by_task.get(task)?)
    }

    /// Sets the quality of the AI entry for `task` (clamped); returns the updated entry.
    pub fn set_quality(&mut self, task: &str, quality: Fixed) -> Option<&Entry> {
        let entry = self.entries.get_mut(self.by_task.get(task)?)?;
        if let Contribution::Ai { quality: q, .. } = &mut entry.contribution {
            *q = clamp_quality(quality);
        }
        Some(entry)
    }

    /// Entries of `kind` (all kinds when `None`) recorded at or after `since_ms`, by id.
    pub fn select(&self, kind: Option<Kind>, since_ms: u64) -> impl Iterator<Item = &Entry> {
        self.entries
            .values()
            .filter(move |e| e.at_ms >= since_ms && kind.is_none_or(|k| e.contribution.kind() == k))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Highest sequence number in use (0 when empty).
    pub fn max_seq(&self) -> u64 {
        self.entries
            .keys()
            .filter_map(ContributionId::seq)
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_serialize_flat_with_their_kind() {
        let e = Entry {
            id: ContributionId::from_seq(7),
            at_ms: 5,
            contributor: "w1".into(),
            contribution: Contribution::Ai {
                tokens: 10,
                quality: DEFAULT_QUALITY,
                task: Some("T-1".into()),
            },
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            json!({"id": "CON-000007", "at_ms": 5, "contributor": "w1", "kind": "ai",
                   "tokens": 10, "quality": "1.0000", "task": "T-1"})
        );
        assert_eq!(serde_json::from_value::<Entry>(v).unwrap(), e);
        assert_eq!(e.id.seq(), Some(7));
    }

    #[test]
    fn quality_is_clamped_when_set() {
        let mut ledger = Ledger::default();
        ledger.insert(Entry {
            id: ContributionId::from_seq(1),
            at_ms: 0,
            contributor: "w".into(),
            contribution: Contribution::Ai {
                tokens: 1,
                quality: DEFAULT_QUALITY,
                task: Some("T-1".into()),
            },
        });
        let e = ledger.set_quality("T-1", Fixed::from_int(9)).unwrap();
        assert!(
            matches!(e.contribution, Contribution::Ai { quality, .. } if quality == MAX_QUALITY)
        );
        let e = ledger.set_quality("T-1", Fixed::from_int(-1)).unwrap();
        assert!(
            matches!(e.contribution, Contribution::Ai { quality, .. } if quality == MIN_QUALITY)
        );
        assert!(ledger.set_quality("T-2", DEFAULT_QUALITY).is_none());
    }
}
