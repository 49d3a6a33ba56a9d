//! `reputation`: domain-specific scores for workers and other entities, built from weighted
//! entries with an evidence trail.
//!
//! Every entry judges one entity in one domain with a score from 0 to 100 (at most one
//! decimal) and a source whose weight decides how much it counts: `self` 0.3, `peer` 1.0,
//! `system` 0.8, `retroactive` 0.7, and any other source type (any string, kept as written)
//! 0.5. An entity's domain score is
//! round(Σ score·weight / Σ weight, 1) over its entries in that domain; its overall score is
//! round(mean of its domain scores, 1), the mean taken over the domain scores as reported
//! (already rounded). The arithmetic is exact: scores and weights are integer tenths and
//! every division rounds half away from zero (72.45 → 72.5, 72.55 → 72.6). Scores are
//! returned as JSON numbers with one decimal (`72.5`, `75.0`).
//!
//! Manifest entry (`plugins.toml`):
//!
//! ```toml
//! [[plugin]]
//! name = "reputation"
//! capabilities = ["kv", "events", "clock", "log"]
//! [plugin.config]
//! leaders_limit = 10   # default `limit` of the `leaders` query
//! ```
//!
//! # Queries
//!
//! - `record {"entity", "domain", "score", "source", "evidence"?, "reviewer"?, "task"?}` →
//!   `{"entry": {...}, "domain_score": 75.4, "overall": 75.4}`. `source` is any non-blank
//!   string: `self`, `peer`, `system`, `retroactive` or another type; a `peer` entry needs a `reviewer` other than
//!   the entity. A score outside 0–100 is refused with an error naming it.
//! - `review {"reviewer", "entity", "task", "score", "comment"?, "domain"?}` → as `record`;
//!   a `peer` entry with evidence `review of task <task>: <comment>`. Without `domain`, the
//!   review counts in the domain the task was scored in for that entity, else `code`. A
//!   reviewer reviewing itself is refused (self-assessment is `record` with source `self`).
//! - `entity {"entity"}` → `{"entity", "domains": {"code": 75.4, ...}, "overall": 62.7,
//!   "entries": 3}`; an unknown entity has no domains, `overall` null and 0 entries.
//! - `scores {"entity"}` → `{"domains": {...}, "overall": 62.7}`, or
//!   `{"domains": {}, "overall": null}` for an unknown entity (governance's vote weights).
//! - `leaders {"domain", "limit"?}` → `{"domain", "leaders": [{"entity", "score",
//!   "entries"}]}`, by domain score descending, ties by entity name ascending.
//! - `entries {"entity", "domain"?}` → `{"entity", "entries": [entry, ...]}`, the evidence
//!   trail newest first (recording order).
//!
//! An entry reads `{"id": "REP-000001", "entity", "domain", "score", "source", "evidence",
//! "reviewer", "task", "at_ms"}`.
//!
//! # Events
//!
//! Consumed (from the host only): `task.completed` records 70 and `task.failed` records 20,
//! source `system`, for the event's `worker` (nothing when it is null), in the task's
//! domain: its first tag among governance, review, architecture, identity, communication,
//! coordination, research, infrastructure, outreach, else `code`; evidence
//! `task <id>: <title>`. Every failed attempt counts, including ones that will be retried.
//!
//! Published: `reputation.recorded {"id", "entity", "domain", "score", "source"}` for each
//! entry.
//!
//! # Storage
//!
//! Each entry is stored under `entry/<id>` and the last issued id number under `counter`,
//! both before the call returns; `start` reloads them, so a restart loses nothing.

mod describe;
mod entry;
mod events;
mod ledger;
mod queries;
mod score;

use entry::{ENTRY_PREFIX, Entry, EntryId, Judgement};
use hypernet_plugin_api::describe::Description;
use hypernet_plugin_api::{Event, Host, PluginError, Subsystem};
use ledger::Ledger;
use queries::{EntityArgs, EntriesArgs, LeadersArgs, RecordArgs, ReviewArgs, args};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The plugin's `[config]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Default `limit` of the `leaders` query (10).
    #[serde(default = "default_leaders_limit")]
    leaders_limit: usize,
}

fn default_leaders_limit() -> usize {
    10
}

/// Key of the last issued entry number.
const COUNTER_KEY: &str = "counter";

/// The subsystem: the ledger in memory, every entry also in the host's kv store.
pub struct Reputation {
    host: Host,
    config: Config,
    ledger: Ledger,
    /// The last issued entry number.
    counter: u64,
    /// The host events entries were recorded from.
    recorded_events: HashSet<u64>,
}

impl Reputation {
    /// Loads every stored entry, in id order, and the counter (never below the newest id,
    /// so an id is not reused even if the counter write was lost).
    fn load(host: &Host) -> Result<(Ledger, u64, HashSet<u64>), PluginError> {
        let mut stored = Vec::new();
        for key in host.kv_list(ENTRY_PREFIX)? {
            if let Some(entry) = host.kv_get::<Entry>(&key)? {
                stored.push(entry);
            }
        }
        stored.sort_by_key(|e| e.id);
        let recorded_events = stored.iter().filter_map(|e| e.event).collect();
        let mut ledger = Ledger::default();
        for entry in stored {
            ledger.insert(entry);
        }
        let counter: u64 = host.kv_get(COUNTER_KEY)?.unwrap_or(0);
        let newest = ledger.last().map_or(0, |e| e.id.number());
        Ok((ledger, counter.max(newest), recorded_events))
    }

    /// Records a validated judgement: stores it, indexes it, announces it.
    fn record(&mut self, judgement: Judgement) -> Result<Entry, PluginError> {
        self.record_from(judgement, None)
    }

    /// [`Reputation::record`], noting the host event the judgement comes from.
    fn record_from(
        &mut self,
        judgement: Judgement,
        event: Option<u64>,
    ) -> Result<Entry, PluginError> {
        let judgement = judgement.validate()?;
        let at_ms = self.host.now_ms()?;
        // The number is spent even if the write fails, so it can never name two entries.
        self.counter += 1;
        let mut entry = Entry::new(EntryId::new(self.counter), at_ms, judgement);
        entry.event = event;
        self.host.kv_put(&entry.key(), &entry)?;
        if let Err(err) = self.host.kv_put(COUNTER_KEY, &self.counter) {
            // The entry is stored; `load` recovers the counter from it.
            tracing::warn!(id = %entry.id, error = %err, "counter not saved");
        }
        self.ledger.insert(entry.clone());
        tracing::info!(
            id = %entry.id,
            entity = %entry.entity,
            domain = %entry.domain,
            score = %entry.score,
            source = %entry.source,
            "recorded"
        );
        let announced = self.host.publish(
            "reputation.recorded",
            &json!({
                "id": entry.id,
                "entity": entry.entity,
                "domain": entry.domain,
                "score": entry.score,
                "source": entry.source,
            }),
        );
        if let Err(err) = announced {
            // Recorded durably either way; the caller should not retry and duplicate it.
            tracing::warn!(id = %entry.id, error = %err, "reputation.recorded not published");
        }
        Ok(entry)
    }
}

impl Subsystem for Reputation {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.leaders_limit == 0 {
            return Err(PluginError::invalid("`leaders_limit` must be at least 1"));
        }
        Ok(())
    }

    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        let (ledger, counter, recorded_events) = Self::load(&host)?;
        tracing::info!(entries = ledger.len(), counter, "reputation started");
        Ok(Reputation {
            host,
            config,
            ledger,
            counter,
            recorded_events,
        })
    }

    /// Records task outcomes, once each: an event delivered again (after a crash) is
    /// recognised by its id.
    fn on_event(&mut self, event: &Event) -> Result<(), PluginError> {
        let Some(judgement) = events::judgement_for(event) else {
            return Ok(());
        };
        // Id 0 is an event never published (a test's); every published one has an id.
        let id = (event.id != 0).then_some(event.id);
        if id.is_some_and(|id| self.recorded_events.contains(&id)) {
            tracing::debug!(event = event.id, "event already recorded");
            return Ok(());
        }
        self.record_from(judgement, id)?;
        self.recorded_events.extend(id);
        Ok(())
    }

    fn query(&mut self, name: &str, input: Value) -> Result<Value, PluginError> {
        match name {
            "record" => {
                let judgement = args::<RecordArgs>(name, input)?.judgement();
                let entry = self.record(judgement)?;
                Ok(queries::recorded(&self.ledger, &entry))
            }
            "review" => {
                let review: ReviewArgs = args(name, input)?;
                let known = self
                    .ledger
                    .task_domain(review.entity(), review.task())
                    .map(str::to_owned);
                let entry = self.record(review.judgement(known))?;
                Ok(queries::recorded(&self.ledger, &entry))
            }
            "entity" => {
                let a: EntityArgs = args(name, input)?;
                Ok(queries::entity(&self.ledger, a.entity.trim()))
            }
            "scores" => {
                let a: EntityArgs = args(name, input)?;
                Ok(queries::scores(&self.ledger, a.entity.trim()))
            }
            "leaders" => {
                let a: LeadersArgs = args(name, input)?;
                let limit = a.limit.unwrap_or(self.config.leaders_limit);
                Ok(queries::leaders(&self.ledger, a.domain.trim(), limit))
            }
            "entries" => {
                let a: EntriesArgs = args(name, input)?;
                let domain = a.domain.as_deref().map(str::trim);
                Ok(queries::entries(&self.ledger, a.entity.trim(), domain))
            }
            other => Err(PluginError::unknown_query(other)),
        }
    }

    /// Every query answered above and the event published (see `describe.rs`).
    fn describe(&self) -> Description {
        describe::description()
    }
}

hypernet_plugin_api::register_subsystem!(Reputation, "reputation");

hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests;
