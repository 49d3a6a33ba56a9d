//! The queries' argument shapes and answers. Each argument struct refuses unknown fields,
//! so a misspelt argument is reported by name instead of ignored.

use crate::entry::{Entry, Judgement};
use crate::events::DEFAULT_DOMAIN;
use crate::ledger::Ledger;
use crate::score::{Score, Source};
use hypernet_plugin_api::PluginError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Reads a query's arguments, naming the query in the error.
pub fn args<T: DeserializeOwned>(query: &str, args: Value) -> Result<T, PluginError> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| PluginError::invalid(format!("`{query}`: {e}")))
}

/// `record {entity, domain, score, source, evidence?, reviewer?, task?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordArgs {
    entity: String,
    domain: String,
    score: Score,
    source: Source,
    #[serde(default)]
    evidence: String,
    #[serde(default)]
    reviewer: Option<String>,
    #[serde(default)]
    task: Option<String>,
}

impl RecordArgs {
    /// The judgement it asks to record.
    pub fn judgement(self) -> Judgement {
        Judgement {
            entity: self.entity,
            domain: self.domain,
            score: self.score,
            source: self.source,
            evidence: self.evidence,
            reviewer: self.reviewer,
            task: self.task,
        }
    }
}

/// `review {reviewer, entity, task, score, comment?, domain?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewArgs {
    reviewer: String,
    entity: String,
    task: String,
    score: Score,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    domain: Option<String>,
}

impl ReviewArgs {
    /// Who is reviewed.
    pub fn entity(&self) -> &str {
        self.entity.trim()
    }

    /// The task reviewed.
    pub fn task(&self) -> &str {
        self.task.trim()
    }

    /// The peer judgement a review makes, in the given domain, else `known_domain` (the
    /// domain the task was scored in), else `code`.
    pub fn judgement(self, known_domain: Option<String>) -> Judgement {
        let task = self.task.trim().to_owned();
        let comment = self.comment.trim();
        let evidence = if comment.is_empty() {
            format!("review of task {task}")
        } else {
            format!("review of task {task}: {comment}")
        };
        Judgement {
            entity: self.entity,
            domain: self
                .domain
                .or(known_domain)
                .unwrap_or_else(|| DEFAULT_DOMAIN.to_owned()),
            score: self.score,
            source: Source::Peer,
            evidence,
            reviewer: Some(self.reviewer),
            task: (!task.is_empty()).then_some(task),
        }
    }
}

/// `entity {entity}` and `scores {entity}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityArgs {
    /// Who.
    pub entity: String,
}

/// `leaders {domain, limit?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadersArgs {
    /// Which domain.
    pub domain: String,
    /// At most this many (default from the config).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// `entries {entity, domain?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntriesArgs {
    /// Whose trail.
    pub entity: String,
    /// Only this domain.
    #[serde(default)]
    pub domain: Option<String>,
}

/// An optional score as JSON (`null` when absent).
fn opt(score: Option<Score>) -> Value {
    score.map_or(Value::Null, |s| json!(s))
}

/// `{"domains": {...}, "overall": x|null}`.
pub fn scores(ledger: &Ledger, entity: &str) -> Value {
    json!({
        "domains": ledger.domain_scores(entity),
        "overall": opt(ledger.overall(entity)),
    })
}

/// `{"entity", "domains", "overall", "entries": n}`.
pub fn entity(ledger: &Ledger, entity: &str) -> Value {
    json!({
        "entity": entity,
        "domains": ledger.domain_scores(entity),
        "overall": opt(ledger.overall(entity)),
        "entries": ledger.entry_count(entity),
    })
}

/// `{"entry": {...}, "domain_score": x, "overall": x}` after recording `entry`.
pub fn recorded(ledger: &Ledger, entry: &Entry) -> Value {
    json!({
        "entry": entry,
        "domain_score": opt(ledger.domain_score(&entry.entity, &entry.domain)),
        "overall": opt(ledger.overall(&entry.entity)),
    })
}

/// `{"domain", "leaders": [{"entity", "score", "entries"}]}`.
pub fn leaders(ledger: &Ledger, domain: &str, limit: usize) -> Value {
    let leaders: Vec<Value> = ledger
        .leaders(domain, limit)
        .into_iter()
        .map(|l| json!({ "entity": l.entity, "score": l.score, "entries": l.entries }))
        .collect();
    json!({ "domain": domain, "leaders": leaders })
}

/// `{"entity", "entries": [entry, ...]}`, newest first.
pub fn entries(ledger: &Ledger, entity: &str, domain: Option<&str>) -> Value {
    let entries: Vec<&Entry> = ledger.trail(entity, domain).collect();
    json!({ "entity": entity, "entries": entries })
}
