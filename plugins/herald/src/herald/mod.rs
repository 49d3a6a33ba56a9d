//! The `herald` subsystem: reviews, the outbound gate and the moderation log, behind the
//! queries listed in the crate documentation.

mod describe;
mod queries;
#[cfg(test)]
mod tests;

use crate::modlog::{Action, LogEntry, ModerationLog};
use crate::review::{OutboundMessage, Review, ReviewId, Subject};
use crate::state::ReviewState;
use crate::store;
use hypernet_plugin_api::describe::Description;
use hypernet_plugin_api::{Host, PluginError, Subsystem};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Event published when a review is opened.
pub const EVENT_REVIEW_CREATED: &str = "herald.review_created";
/// Event published on every state change.
pub const EVENT_STATE_CHANGED: &str = "herald.state_changed";
/// Event published when an outbound message is cleared; delivery channels send on it.
pub const EVENT_OUTBOUND_APPROVED: &str = "herald.outbound_approved";

/// Who automatic decisions are recorded as.
const HERALD: &str = "herald";

/// The plugin's `[plugin.config]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Outbound messages carrying any of these tags are approved at once. Default: none.
    #[serde(default)]
    pub auto_approve_tags: Vec<String>,
    /// Outbound messages from any of these senders are approved at once. Default: none.
    #[serde(default)]
    pub auto_approve_senders: Vec<String>,
}

impl Config {
    /// The rule that clears `message` without a reviewer, if one does.
    fn auto_approval(&self, message: &OutboundMessage) -> Option<String> {
        if let Some(tag) = message
            .tags
            .iter()
            .find(|t| self.auto_approve_tags.contains(t))
        {
            return Some(format!("auto-approved: tag `{tag}`"));
        }
        self.auto_approve_senders
            .contains(&message.sender)
            .then(|| format!("auto-approved: sender `{}`", message.sender))
    }
}

/// The subsystem's state. The host calls it from one thread at a time.
pub struct Herald {
    host: Host,
    config: Config,
    reviews: BTreeMap<ReviewId, Review>,
    last_review: u64,
    log: ModerationLog,
}

impl Herald {
    fn now(&self) -> Result<u64, PluginError> {
        self.host.now_ms()
    }

    fn get(&self, id: ReviewId) -> Result<&Review, PluginError> {
        self.reviews
            .get(&id)
            .ok_or_else(|| PluginError::not_found(format!("no review `{id}`")))
    }

    /// Opens a pending review: numbers it, stores it, announces it.
    fn open(&mut self, subject: Subject) -> Result<ReviewId, PluginError> {
        let id = ReviewId(self.last_review + 1);
        // The counter goes first so a crash can skip a number but never reuse one.
        store::save_last_review(&self.host, id.0)?;
        self.last_review = id.0;
        let review = Review::new(id, subject, self.now()?);
        store::save_review(&self.host, &review)?;
        let kind = match review.subject {
            Subject::Content { .. } => "content",
            Subject::Outbound { .. } => "outbound",
        };
        self.host.publish(
            EVENT_REVIEW_CREATED,
            &json!({ "id": id, "kind": kind, "state": review.state, "sha256": review.sha256 }),
        )?;
        tracing::info!(review = %id, kind, "review opened");
        self.reviews.insert(id, review);
        Ok(id)
    }

    /// Moves a review to `to` if the state machine allows it; stores and announces the
    /// change, and releases an outbound message that became cleared.
    fn decide(
        &mut self,
        id: ReviewId,
        to: ReviewState,
        by: &str,
        note: Option<String>,
    ) -> Result<&Review, PluginError> {
        let now = self.now()?;
        let mut review = self.get(id)?.clone();
        let change = review
            .apply(to, by, note, now)
            .map_err(|e| PluginError::invalid(format!("review `{id}`: {e}")))?;
        store::save_review(&self.host, &review)?;
        self.host.publish(
            EVENT_STATE_CHANGED,
            &json!({
                "id": id, "from": change.from, "to": change.to,
                "by": change.by, "note": change.note,
            }),
        )?;
        tracing::info!(review = %id, from = %change.from, to = %change.to, by, "review decided");
        if let Some(message) = review.message().filter(|_| review.state.is_cleared()) {
            self.host.publish(
                EVENT_OUTBOUND_APPROVED,
                &json!({
                    "id": id, "state": review.state, "by": change.by,
                    "sha256": review.sha256, "message": message,
                }),
            )?;
        }
        self.reviews.insert(id, review);
        self.get(id)
    }

    /// Appends to the moderation log, dropping the oldest stored entry past the bound.
    fn record(
        &mut self,
        action: Action,
        actor: &str,
        target: Option<String>,
        detail: Option<String>,
    ) -> Result<LogEntry, PluginError> {
        let now = self.now()?;
        let (entry, dropped) = self.log.push(action, actor, target, detail, now);
        store::save_log_entry(&self.host, &entry)?;
        if let Some(old) = dropped {
            store::drop_log_entry(&self.host, old.seq)?;
        }
        Ok(entry)
    }
}

impl Subsystem for Herald {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        for (field, values) in [
            ("auto_approve_tags", &config.auto_approve_tags),
            ("auto_approve_senders", &config.auto_approve_senders),
        ] {
            if values.iter().any(|v| v.trim().is_empty()) {
                return Err(PluginError::invalid(format!(
                    "`{field}` contains an empty entry"
                )));
            }
        }
        Ok(())
    }

    /// Reloads reviews, the id counter and the log saved by an earlier run.
    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        let loaded = store::load(&host)?;
        let log = ModerationLog::from_entries(loaded.log.clone());
        if let Some(oldest) = log.recent(usize::MAX).next() {
            store::trim_log(&host, &loaded.log, oldest.seq)?;
        }
        let open = loaded
            .reviews
            .values()
            .filter(|r| !r.state.is_cleared())
            .count();
        tracing::info!(
            reviews = loaded.reviews.len(),
            open,
            log = log.len(),
            "herald started"
        );
        Ok(Herald {
            host,
            config,
            reviews: loaded.reviews,
            last_review: loaded.last_review,
            log,
        })
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        queries::dispatch(self, name, args)
    }

    /// Every query `queries::dispatch` answers and the events published (see
    /// `describe.rs`).
    fn describe(&self) -> Description {
        describe::description()
    }
}
