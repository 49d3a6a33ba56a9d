//! Reputation entries: one judgement of one entity in one domain, and its id.

use crate::score::{Score, Source};
use hypernet_plugin_api::PluginError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An entry's id: `REP-000001`, `REP-000002`, … in the order entries were recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId(u64);

impl EntryId {
    /// The id with sequence number `n` (from 1).
    pub fn new(n: u64) -> Self {
        EntryId(n)
    }

    /// The sequence number.
    pub fn number(self) -> u64 {
        self.0
    }

    /// Reads `REP-000123`.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        text.strip_prefix("REP-")
            .and_then(|n| n.parse().ok())
            .map(EntryId)
            .ok_or_else(|| PluginError::invalid(format!("`{text}` is not an entry id (REP-…)")))
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "REP-{:06}", self.0)
    }
}

impl Serialize for EntryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        EntryId::parse(&text).map_err(|e| serde::de::Error::custom(e.message()))
    }
}

/// A judgement before it is recorded: validated, but without id or time.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Who is judged (a worker name, a plugin, a person).
    pub entity: String,
    /// The area of work (`code`, `review`, `governance`, …).
    pub domain: String,
    /// 0.0–100.0.
    pub score: Score,
    /// Who vouches for it.
    pub source: Source,
    /// Why: free text, may be empty.
    pub evidence: String,
    /// Who judged, when someone did.
    pub reviewer: Option<String>,
    /// The task it is about, when there is one.
    pub task: Option<String>,
}

impl Judgement {
    /// Checks names and the peer rules: a peer entry names its reviewer, who is not the
    /// entity itself (self-assessment is recorded with source `self`).
    pub fn validate(mut self) -> Result<Self, PluginError> {
        self.entity = required("entity", &self.entity)?;
        self.domain = required("domain", &self.domain)?;
        if let Some(reviewer) = &self.reviewer {
            self.reviewer = Some(required("reviewer", reviewer)?);
        }
        if self.source == Source::Peer {
            match &self.reviewer {
                None => {
                    return Err(PluginError::invalid(
                        "a peer entry needs a `reviewer` (another entity)",
                    ));
                }
                Some(reviewer) if *reviewer == self.entity => {
                    return Err(PluginError::invalid(format!(
                        "`{reviewer}` cannot review itself as a peer; \
                         record a self-assessment with source `self`"
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(self)
    }
}

/// Trims a name and refuses an empty one, naming the field.
fn required(field: &str, value: &str) -> Result<String, PluginError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(PluginError::invalid(format!("`{field}` must not be empty")));
    }
    Ok(value.to_owned())
}

/// A recorded entry, as stored under `entry/<id>` and returned by queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `REP-000001`, …
    pub id: EntryId,
    /// Who is judged.
    pub entity: String,
    /// The area of work.
    pub domain: String,
    /// 0.0–100.0, one decimal.
    pub score: Score,
    /// Who vouches for it.
    pub source: Source,
    /// Why.
    pub evidence: String,
    /// Who judged, if someone did.
    pub reviewer: Option<String>,
    /// The task it is about, if any.
    #[serde(default)]
    pub task: Option<String>,
    /// When it was recorded, ms since the Unix epoch (host clock).
    pub at_ms: u64,
    /// The host event it was recorded from, if any (an event delivered again after a
    /// crash is recognised by it and not recorded twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
}

impl Entry {
    /// Stamps a judgement with its id and time.
    pub fn new(id: EntryId, at_ms: u64, j: Judgement) -> Self {
        Entry {
            id,
            entity: j.entity,
            domain: j.domain,
            score: j.score,
            source: j.source,
            evidence: j.evidence,
            reviewer: j.reviewer,
            task: j.task,
            at_ms,
            event: None,
        }
    }

    /// The key it is stored under.
    pub fn key(&self) -> String {
        format!("{ENTRY_PREFIX}{}", self.id)
    }
}

/// Prefix of the keys entries are stored under.
pub const ENTRY_PREFIX: &str = "entry/";

#[cfg(test)]
mod tests {
    use super::*;

    fn judgement(source: Source, reviewer: Option<&str>) -> Judgement {
        Judgement {
            entity: " Trace ".into(),
            domain: "code".into(),
            score: Score::from_tenths(800).unwrap(),
            source,
            evidence: String::new(),
            reviewer: reviewer.map(str::to_owned),
            task: None,
        }
    }

    #[test]
    fn ids_print_and_parse() {
        assert_eq!(EntryId::new(1).to_string(), "REP-000001");
        assert_eq!(EntryId::new(1234567).to_string(), "REP-1234567");
        assert_eq!(EntryId::parse("REP-000042").unwrap(), EntryId::new(42));
        assert!(EntryId::parse("GOV-000042").is_err());
    }

    #[test]
    fn peer_entries_need_another_reviewer() {
        let err = judgement(Source::Peer, Some("Trace"))
            .validate()
            .unwrap_err();
        assert!(err.message().contains("cannot review itself"), "{err}");
        assert!(judgement(Source::Peer, None).validate().is_err());
        let ok = judgement(Source::Peer, Some("Loom")).validate().unwrap();
        assert_eq!(ok.entity, "Trace");
        // The entity may assess itself with source `self`.
        assert!(
            judgement(Source::SelfReport, Some("Trace"))
                .validate()
                .is_ok()
        );
    }
}
