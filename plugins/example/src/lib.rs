//! An example subsystem plugin: the template for third-party authors.
//!
//! It counts the host events it receives by kind, keeps the counts in the host's durable
//! key-value store (so they survive a restart), answers queries about them, and offers the
//! workers' models one tool, `example_event_count` (see `src/tool.rs`). Read it top to bottom;
//! `PLUGINS.md` explains building and loading.
//!
//! Manifest entry (`plugins.toml`):
//!
//! ```toml
//! [[plugin]]
//! name = "example"
//! capabilities = ["kv", "events", "log"]
//! [plugin.config]
//! ignore = ["host.heartbeat"]   # event kinds not to count
//! milestone_every = 100         # publish `example.milestone` every N counted events
//! ```

mod tool;

use hypernet_plugin_api::describe::{Description, EventDecl, QueryDecl};
use hypernet_plugin_api::{Event, Host, PluginError, Subsystem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The plugin's `[config]` table. `deny_unknown_fields` makes a typo a load-time error that
/// names the field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Event kinds not to count.
    #[serde(default)]
    ignore: Vec<String>,
    /// Publish `example.milestone` every this many counted events; 0 turns it off.
    #[serde(default)]
    milestone_every: u64,
}

/// Key under which the counts are stored in this plugin's namespace.
/// The stored state: the counts and the id of the last event counted, in one value so that
/// they are written together. The host delivers events at least once — after a crash it
/// hands over again those it had not recorded as handled — and in id order, so an event
/// whose id is not above `last_event` was counted already.
const STATE_KEY: &str = "state";

/// What [`STATE_KEY`] holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    counts: BTreeMap<String, u64>,
    #[serde(default)]
    last_event: u64,
}

/// The subsystem's state. The host calls it from one thread at a time, so plain fields do.
struct Counter {
    host: Host,
    config: Config,
    counts: BTreeMap<String, u64>,
    total: u64,
    /// The id of the last event counted.
    last_event: u64,
}

impl Counter {
    fn save(&self) -> Result<(), PluginError> {
        let saved = json!({ "counts": self.counts, "last_event": self.last_event });
        self.host.kv_put(STATE_KEY, &saved)
    }
}

impl Subsystem for Counter {
    type Config = Config;

    /// Extra checks beyond the shape of the config.
    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.ignore.iter().any(|k| k.trim().is_empty()) {
            return Err(PluginError::invalid(
                "`ignore` contains an empty event kind",
            ));
        }
        Ok(())
    }

    /// Loads the counts saved by an earlier run.
    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        let Saved { counts, last_event } = host.kv_get(STATE_KEY)?.unwrap_or_default();
        let total = counts.values().sum();
        tracing::info!(kinds = counts.len(), total, "example counter started");
        Ok(Counter {
            host,
            config,
            counts,
            total,
            last_event,
        })
    }

    fn on_event(&mut self, event: &Event) -> Result<(), PluginError> {
        // Id 0 is an event never published (a test's); every published one has an id.
        let repeat = event.id != 0 && event.id <= self.last_event;
        if self.config.ignore.contains(&event.kind) || repeat {
            return Ok(());
        }
        *self.counts.entry(event.kind.clone()).or_default() += 1;
        self.total += 1;
        self.last_event = self.last_event.max(event.id);
        self.save()?;
        if self.config.milestone_every > 0 && self.total.is_multiple_of(self.config.milestone_every)
        {
            self.host
                .publish("example.milestone", &json!({ "total": self.total }))?;
        }
        Ok(())
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        match name {
            // All counts: {"total": n, "by_kind": {...}}
            "counts" => Ok(json!({ "total": self.total, "by_kind": self.counts })),
            // One kind: {"kind": "task.created"} -> {"kind": ..., "count": n}
            "count" => {
                let kind = args["kind"]
                    .as_str()
                    .ok_or_else(|| PluginError::invalid("`count` needs {\"kind\": \"...\"}"))?;
                Ok(json!({ "kind": kind, "count": self.counts.get(kind).copied().unwrap_or(0) }))
            }
            // Adds to a kind by hand: {"kind": "manual", "by": 2} -> the new count
            "add" => {
                let kind = args["kind"].as_str().unwrap_or("manual").to_owned();
                let by = args["by"].as_u64().unwrap_or(1);
                let count = self.counts.entry(kind.clone()).or_default();
                *count += by;
                let count = *count;
                self.total += by;
                self.save()?;
                Ok(json!({ "kind": kind, "count": count }))
            }
            // Forgets everything.
            "reset" => {
                self.counts.clear();
                self.total = 0;
                self.save()?;
                Ok(json!({ "total": 0 }))
            }
            // The tools this plugin offers the models, and a call of one (see `tool.rs`).
            hypernet_plugin_api::tool::LIST => tool::list(),
            hypernet_plugin_api::tool::CALL => tool::call(&self.counts, self.total, args),
            // Refused with the names `describe` declares.
            other => Err(PluginError::unknown_query(other)),
        }
    }

    // What it offers, for `hypernet plugins describe example` and the API: every query
    // answered above (tools are declared by `tools.list`) and the event it publishes.
    fn describe(&self) -> Description {
        Description::default()
            .query(
                QueryDecl::new("counts", "Every count so far.")
                    .answer(json!({"total": "integer", "by_kind": {"<kind>": "integer"}})),
            )
            .query(
                QueryDecl::new("count", "The count of one event kind.")
                    .args(json!({"kind": "string"}))
                    .answer(json!({"kind": "string", "count": "integer"})),
            )
            .query(
                QueryDecl::new("add", "Adds to a kind's count by hand.")
                    .args(json!({"kind": "string, default \"manual\"", "by": "integer, default 1"}))
                    .answer(json!({"kind": "string", "count": "integer"})),
            )
            .query(QueryDecl::new("reset", "Forgets every count.").answer(json!({"total": 0})))
            .event(
                EventDecl::new(
                    "example.milestone",
                    "Every `milestone_every` events counted.",
                )
                .payload(json!({"total": "integer"})),
            )
    }
}

// Declare the service next to its code; the name is how the host addresses it.
hypernet_plugin_api::register_subsystem!(Counter, "counter");

// Export the library once per crate.
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::testing::TestHost;

    fn start(test: &TestHost, config: Value) -> Counter {
        Counter::start(serde_json::from_value(config).unwrap(), test.host()).unwrap()
    }

    #[test]
    fn every_declared_query_is_answered() {
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({}));
        let described = counter.describe();
        for q in &described.queries {
            let args = json!({"kind": "task.created"});
            let answer = counter.query(&q.name, args);
            assert!(
                answer.is_ok(),
                "`{}` declared but refused: {answer:?}",
                q.name
            );
        }
        assert_eq!(described.query_names(), ["counts", "count", "add", "reset"]);
    }

    #[test]
    fn counts_events_and_persists_them() {
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({ "ignore": ["noise"] }));
        for kind in ["task.created", "task.created", "noise", "host.started"] {
            counter
                .on_event(&Event::new(kind, "host", Value::Null))
                .unwrap();
        }
        assert_eq!(
            counter
                .query("count", json!({"kind": "task.created"}))
                .unwrap()["count"],
            2
        );
        assert_eq!(
            test.kv(STATE_KEY).unwrap()["counts"],
            json!({"task.created": 2, "host.started": 1})
        );
        // A new instance reads the stored counts back.
        let mut again = start(&test, json!({}));
        assert_eq!(again.query("counts", Value::Null).unwrap()["total"], 3);
    }

    fn published(id: u64, kind: &str) -> Event {
        let mut event = Event::new(kind, "host", Value::Null);
        event.id = id;
        event
    }

    #[test]
    fn an_event_delivered_again_is_counted_once() {
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({}));
        for id in [1, 2] {
            counter.on_event(&published(id, "task.created")).unwrap();
        }
        // After a crash the host hands over again what it had not recorded as handled.
        let mut again = start(&test, json!({}));
        for id in [2, 3] {
            again.on_event(&published(id, "task.created")).unwrap();
        }
        let counts = again.query("counts", Value::Null).unwrap();
        assert_eq!(counts["total"], 3, "{counts}");
        assert_eq!(test.kv(STATE_KEY).unwrap()["last_event"], 3);
    }

    #[test]
    fn publishes_milestones() {
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({ "milestone_every": 2 }));
        for _ in 0..4 {
            counter
                .on_event(&Event::new("x", "host", Value::Null))
                .unwrap();
        }
        let milestones: Vec<_> = test
            .events()
            .into_iter()
            .map(|e| e.payload["total"].clone())
            .collect();
        assert_eq!(milestones, vec![json!(2), json!(4)]);
    }

    #[test]
    fn offers_a_tool_and_answers_its_calls() {
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({}));
        counter
            .on_event(&Event::new("task.completed", "host", Value::Null))
            .unwrap();
        let listed = counter.query("tools.list", Value::Null).unwrap();
        assert_eq!(listed[0]["name"], "example_event_count");
        assert_eq!(listed[0]["tier"], 0);
        let call = |args: Value| json!({"name": "example_event_count", "args": args, "task": "T-1", "worker": "Trace"});
        let out = counter
            .query("tools.call", call(json!({"kind": "task.completed"})))
            .unwrap();
        assert_eq!(out, json!({"text": "task.completed: 1"}));
        let out = counter.query("tools.call", call(json!({}))).unwrap();
        assert_eq!(out, json!({"text": "all kinds: 1"}));
        assert!(counter.query("tools.call", json!({"name": 1})).is_err());
    }

    #[test]
    fn rejects_bad_config_and_unknown_queries() {
        assert!(
            Counter::validate(&Config {
                ignore: vec![" ".into()],
                milestone_every: 0
            })
            .is_err()
        );
        let test = TestHost::new("example");
        let mut counter = start(&test, json!({}));
        let err = counter.query("nope", Value::Null).unwrap_err();
        assert_eq!(err.to_string(), "unknown query `nope`");
    }
}
