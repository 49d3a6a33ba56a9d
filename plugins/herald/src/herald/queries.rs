//! Query arguments and answers: JSON in, typed checks, JSON out.

use super::{HERALD, Herald};
use crate::modlog::{Action, LOG_CAPACITY};
use crate::review::{OutboundMessage, Review, ReviewId, Subject};
use crate::state::ReviewState;
use hypernet_plugin_api::PluginError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// How many log entries `log` returns when no limit is given.
const DEFAULT_LOG_LIMIT: usize = 50;

/// Answers one query.
pub(super) fn dispatch(herald: &mut Herald, name: &str, args: Value) -> Result<Value, PluginError> {
    match name {
        "submit_outbound" => submit_outbound(herald, parse(name, args)?),
        "review_content" => {
            let a: ContentArgs = parse(name, args)?;
            let id = herald.open(Subject::Content {
                content: a.content,
                source: a.source,
            })?;
            answer(herald.get(id)?)
        }
        "approve" => {
            let a: ApproveArgs = parse(name, args)?;
            let reviewer = required(name, "reviewer", &a.reviewer)?;
            answer(herald.decide(a.id, ReviewState::Approved, reviewer, a.note)?)
        }
        "hold" => {
            let a: HoldArgs = parse(name, args)?;
            let reviewer = required(name, "reviewer", &a.reviewer)?;
            let reason = required(name, "reason", &a.reason)?;
            let note = Some(format!("Held: {reason}"));
            herald.decide(a.id, ReviewState::Held, reviewer, note)?;
            herald.record(
                Action::Hold,
                reviewer,
                Some(a.id.to_string()),
                Some(reason.to_owned()),
            )?;
            answer(herald.get(a.id)?)
        }
        "escalate" => {
            let a: EscalateArgs = parse(name, args)?;
            let reason = required(name, "reason", &a.reason)?;
            let by = a.by.as_deref().unwrap_or(HERALD);
            let note = Some(format!("Escalated: {reason}"));
            answer(herald.decide(a.id, ReviewState::Escalated, by, note)?)
        }
        "release" => {
            let a: ApproveArgs = parse(name, args)?;
            let reviewer = required(name, "reviewer", &a.reviewer)?;
            answer(herald.decide(a.id, ReviewState::Released, reviewer, a.note)?)
        }
        "review" => {
            let a: IdArgs = parse(name, args)?;
            answer(herald.get(a.id)?)
        }
        "pending" => {
            let _: NoArgs = parse(name, args)?;
            let waiting: Vec<&Review> = herald
                .reviews
                .values()
                .filter(|r| matches!(r.state, ReviewState::Pending | ReviewState::Escalated))
                .collect();
            Ok(json!({ "count": waiting.len(), "reviews": waiting }))
        }
        "log" => {
            let a: LogArgs = parse(name, args)?;
            let limit = a.limit.unwrap_or(DEFAULT_LOG_LIMIT).min(LOG_CAPACITY);
            let entries: Vec<_> = herald.log.recent(limit).collect();
            Ok(json!({
                "entries": entries,
                "kept": herald.log.len(),
                "last_seq": herald.log.last_seq(),
            }))
        }
        "record" => {
            let a: RecordArgs = parse(name, args)?;
            let actor = required(name, "actor", &a.actor)?;
            let entry = herald.record(a.action, actor, a.target, a.detail)?;
            Ok(serde_json::to_value(entry)?)
        }
        other => Err(PluginError::unknown_query(other)),
    }
}

/// Opens a review for an outbound message and clears it at once if a rule says so.
fn submit_outbound(herald: &mut Herald, message: OutboundMessage) -> Result<Value, PluginError> {
    const NAME: &str = "submit_outbound";
    required(NAME, "to", &message.to)?;
    required(NAME, "channel", &message.channel)?;
    required(NAME, "body", &message.body)?;
    required(NAME, "sender", &message.sender)?;
    let rule = herald.config.auto_approval(&message);
    let id = herald.open(Subject::Outbound { message })?;
    match rule {
        Some(rule) => answer(herald.decide(id, ReviewState::Approved, HERALD, Some(rule))?),
        None => answer(herald.get(id)?),
    }
}

fn answer(review: &Review) -> Result<Value, PluginError> {
    Ok(serde_json::to_value(review)?)
}

/// Decodes a query's arguments; `null` reads as `{}`. Errors name the query.
fn parse<T: DeserializeOwned>(query: &str, args: Value) -> Result<T, PluginError> {
    let args = if args.is_null() { json!({}) } else { args };
    serde_json::from_value(args).map_err(|e| PluginError::invalid(format!("`{query}`: {e}")))
}

/// Refuses a blank required text field, naming it.
fn required<'a>(query: &str, field: &str, value: &'a str) -> Result<&'a str, PluginError> {
    let value = value.trim();
    if value.is_empty() {
        Err(PluginError::invalid(format!(
            "`{query}`: `{field}` must not be empty"
        )))
    } else {
        Ok(value)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentArgs {
    content: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveArgs {
    id: ReviewId,
    reviewer: String,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldArgs {
    id: ReviewId,
    reviewer: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalateArgs {
    id: ReviewId,
    reason: String,
    #[serde(default)]
    by: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: ReviewId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogArgs {
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordArgs {
    action: Action,
    actor: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    detail: Option<String>,
}
