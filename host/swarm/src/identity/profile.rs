//! An instance profile (`profile.json`): who a worker is, as the archive remembers it. Pure
//! functions over profiles: the default model of an account, legacy fixes, and the merge of
//! two copies of the same instance found under different accounts.

use crate::workers::WorkerConfig;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// One answer of the boot sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Baseline {
    /// The question asked.
    pub question: String,
    /// The instance's answer.
    pub answer: String,
}

/// `profile.json` of one instance. Unknown keys of older archives are kept and written back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Name (`Trace`); the folder name when the file has none.
    #[serde(default)]
    pub name: String,
    /// The model it usually runs on.
    #[serde(default)]
    pub model: String,
    /// How it sees its role, in its own words.
    #[serde(default)]
    pub orientation: String,
    /// What it is good at.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Free tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// How many working periods it has had.
    #[serde(default)]
    pub session_count: u64,
    /// When it last worked (RFC 3339, UTC), if ever.
    #[serde(default)]
    pub last_active: Option<String>,
    /// Hypernet address; empty in legacy profiles (filled on load).
    #[serde(default)]
    pub address: String,
    /// What it holds to.
    #[serde(default)]
    pub values: Vec<String>,
    /// What it did last time, in a few lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_summary: Option<String>,
    /// Answers of the boot sequence; empty until it has run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub baselines: Vec<Baseline>,
    /// Its reflection after reading the orientation documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reflection: Option<String>,
    /// The name it proposed for itself at boot (the configured name stays its identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_name: Option<String>,
    /// Addresses of the copies merged into this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<String>,
    /// Keys this host does not know, kept as found.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The model an account's instances run on when their profile names none: 2.1 Claude Opus,
/// 2.2 GPT, 2.3 Herald and 2.4 Librarian (Claude), 2.5 Qwen (local), 2.6 Codex.
pub fn default_model(account: &str) -> &'static str {
    let prefix = |p: &str| account == p || account.starts_with(&format!("{p}."));
    if prefix("2.1") {
        "anthropic/claude-opus-4-1"
    } else if prefix("2.2") {
        "openai/gpt-4o"
    } else if prefix("2.3") || prefix("2.4") {
        "anthropic/claude-sonnet-4-5"
    } else if prefix("2.5") {
        "lmstudio/qwen2.5-7b-instruct"
    } else if prefix("2.6") {
        "openai/gpt-5-codex"
    } else {
        "sim/default"
    }
}

impl Profile {
    /// A new profile for a configured worker.
    pub fn for_worker(worker: &WorkerConfig) -> Profile {
        Profile {
            name: worker.name.clone(),
            model: worker
                .model
                .clone()
                .unwrap_or_else(|| default_model(&worker.account).to_owned()),
            orientation: if worker.role.is_empty() {
                String::new()
            } else {
                format!("I am the swarm's {}.", worker.role)
            },
            capabilities: worker.capabilities.clone(),
            address: worker.address(),
            ..Profile::default()
        }
    }

    /// Fills what legacy profiles leave empty: the name (from the folder), the address
    /// (`<account>.<name>`, see [`crate::workers::derived_address`]) and the model (by account). True when anything
    /// changed, so the profile is written back.
    pub fn fix_legacy(&mut self, account: &str, folder: &str) -> bool {
        let mut changed = false;
        if self.name.trim().is_empty() {
            self.name = folder.to_owned();
            changed = true;
        }
        if self.address.trim().is_empty() {
            self.address = crate::workers::derived_address(account, &self.name);
            changed = true;
        }
        if self.model.trim().is_empty() {
            self.model = default_model(account).to_owned();
            changed = true;
        }
        changed
    }

    /// Whether the boot sequence has given it its baseline answers.
    pub fn booted(&self) -> bool {
        !self.baselines.is_empty()
    }

    /// Which of two copies of one instance survives a merge: the one with more working
    /// periods, then the one active most recently (RFC 3339 strings order by time).
    fn outranks(&self, other: &Profile) -> bool {
        (self.session_count, &self.last_active) > (other.session_count, &other.last_active)
    }
}

/// Merges copies of one instance (same name, any case, under several accounts) into one.
///
/// The rule: the copy with the most working periods wins, ties going to the newest
/// `last_active`, then to the first found; it keeps its own fields, and gains the union of
/// every copy's capabilities, tags and values (its own first, in order), their baselines
/// when it has none, and `merged_from` naming the address of every other copy. Returns the
/// index (into `copies`) of the survivor and the merged profile.
pub fn merge(copies: &[Profile]) -> (usize, Profile) {
    let mut keep = 0;
    for (i, p) in copies.iter().enumerate().skip(1) {
        if p.outranks(&copies[keep]) {
            keep = i;
        }
    }
    let mut merged = copies[keep].clone();
    for (i, other) in copies.iter().enumerate() {
        if i == keep {
            continue;
        }
        union(&mut merged.capabilities, &other.capabilities);
        union(&mut merged.tags, &other.tags);
        union(&mut merged.values, &other.values);
        if merged.baselines.is_empty() {
            merged.baselines = other.baselines.clone();
        }
        union(
            &mut merged.merged_from,
            std::slice::from_ref(&other.address),
        );
        union(&mut merged.merged_from, &other.merged_from);
    }
    (keep, merged)
}

fn union(into: &mut Vec<String>, from: &[String]) {
    for item in from {
        if !into.iter().any(|i| i.eq_ignore_ascii_case(item)) {
            into.push(item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_have_their_default_models() {
        assert_eq!(default_model("2.1"), "anthropic/claude-opus-4-1");
        assert_eq!(default_model("2.2"), "openai/gpt-4o");
        assert_eq!(default_model("2.5"), "lmstudio/qwen2.5-7b-instruct");
        assert_eq!(default_model("2.6.3"), "openai/gpt-5-codex");
        assert_eq!(default_model("2.10"), "sim/default");
    }

    #[test]
    fn legacy_profiles_get_an_address_and_a_model_and_keep_unknown_keys() {
        let mut p: Profile =
            serde_json::from_str(r#"{"name":"Trace","address":"","mood":"calm"}"#).unwrap();
        assert!(p.fix_legacy("2.1", "Trace"));
        assert_eq!(p.address, "2.1.trace");
        assert_eq!(p.model, "anthropic/claude-opus-4-1");
        assert!(
            !p.fix_legacy("2.1", "Trace"),
            "a fixed profile stays as it is"
        );
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["mood"], "calm");
        assert!(back.get("baselines").is_none());
    }

    #[test]
    fn the_busiest_copy_survives_and_gains_the_others_capabilities() {
        let copy = |address: &str, n: u64, last: &str, caps: &[&str]| Profile {
            name: "Keel".into(),
            address: address.into(),
            session_count: n,
            last_active: Some(last.into()),
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
            ..Profile::default()
        };
        let copies = [
            copy("2.1.keel", 3, "2025-01-02T00:00:00Z", &["code"]),
            copy("2.2.keel", 7, "2024-01-01T00:00:00Z", &["review", "Code"]),
            copy("2.3.keel", 7, "2025-03-01T00:00:00Z", &["docs"]),
        ];
        let (keep, merged) = merge(&copies);
        assert_eq!(keep, 2, "a tie on count goes to the newest");
        assert_eq!(merged.address, "2.3.keel");
        assert_eq!(merged.capabilities, ["docs", "code", "review"]);
        assert_eq!(merged.merged_from, ["2.1.keel", "2.2.keel"]);
    }
}
