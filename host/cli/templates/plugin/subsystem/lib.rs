//! `{{name}}`: a Hypernet subsystem plugin. It counts the host events of one kind
//! (`task.created` unless its config says otherwise), keeps the count in the host's durable
//! key-value store, so that it survives a restart, and answers one query, `count`:
//!
//! ```text
//! $ hypernet plugin call {{name}} count
//! { "count": 2, "kind": "task.created" }
//! ```
//!
//! A subsystem implements `Subsystem`, is registered with `register_subsystem!` and the
//! library is exported with `export_plugin!`; PLUGINS.md in the Hypernet repository
//! describes the rest of the API (publishing events, filing tasks, offering tools).

use hypernet_plugin_api::describe::{Description, QueryDecl};
use hypernet_plugin_api::{Event, Host, PluginError, Subsystem};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The entry's `[plugin.config]` table. `deny_unknown_fields` turns a misspelt key into a
/// load error that names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The event kind to count.
    #[serde(default = "default_kind")]
    kind: String,
}

fn default_kind() -> String {
    "task.created".to_owned()
}

/// The key the state is stored under, in this plugin's own namespace.
const STATE_KEY: &str = "state";

/// What is stored: the count and the id of the last event counted, in one value, so that
/// they are written together. The host delivers events at least once and in id order:
/// after a crash it hands over again the events it had not recorded as handled, and an
/// event whose id is not above `last_event` was counted already.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    count: u64,
    last_event: u64,
}

/// The running subsystem. The host calls it on its own thread, one call at a time, so
/// plain fields need no locks.
struct Counter {
    host: Host,
    kind: String,
    state: State,
}

impl Subsystem for Counter {
    type Config = Config;

    /// Checks beyond the shape of the config; `hypernet plugins check` runs them too, and
    /// a config refused here stops the host at start-up.
    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.kind.trim().is_empty() {
            return Err(PluginError::invalid(
                "`kind` must name an event kind, e.g. \"task.created\"",
            ));
        }
        Ok(())
    }

    /// Reads the state an earlier run stored (this needs the `kv` capability).
    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        let state: State = host.kv_get(STATE_KEY)?.unwrap_or_default();
        tracing::info!(kind = %config.kind, count = state.count, "counter started");
        Ok(Counter {
            host,
            kind: config.kind,
            state,
        })
    }

    fn on_event(&mut self, event: &Event) -> Result<(), PluginError> {
        // Id 0 is an event that was never published (a test's own).
        let repeat = event.id != 0 && event.id <= self.state.last_event;
        if event.kind != self.kind || repeat {
            return Ok(());
        }
        self.state.count += 1;
        self.state.last_event = self.state.last_event.max(event.id);
        self.host.kv_put(STATE_KEY, &self.state)
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        match name {
            // No arguments: a misspelt one is refused, not ignored.
            "count" => {
                hypernet_plugin_api::check_fields(name, &args, &[])?;
                Ok(json!({ "kind": self.kind, "count": self.state.count }))
            }
            // Refused with the names `describe` declares.
            other => Err(PluginError::unknown_query(other)),
        }
    }

    /// What it offers, for `hypernet plugins describe {{name}}`: every query above with
    /// the shapes of its arguments and answer, and the events it publishes (none).
    fn describe(&self) -> Description {
        Description::default().query(
            QueryDecl::new("count", "How many events of the configured kind were seen.")
                .answer(json!({"kind": "string", "count": "integer"})),
        )
    }
}

// The service, declared next to its code. The host addresses it by the plugin's name (or
// `{{name}}:{{name}}` when a library registers several services).
hypernet_plugin_api::register_subsystem!(Counter, "{{name}}");

// Once per library: what the host looks up when it loads the file.
hypernet_plugin_api::export_plugin!();

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_plugin_api::Capability;
    use hypernet_plugin_api::testing::TestHost;

    /// Starts a counter as the host would: the config checked, then `start`.
    fn start(test: &TestHost, config: Value) -> Counter {
        let config: Config = serde_json::from_value(config).expect("the config's shape");
        Counter::validate(&config).expect("a valid config");
        Counter::start(config, test.host()).expect("it starts")
    }

    /// An event as the host delivers it: published, so with an id.
    fn published(id: u64, kind: &str) -> Event {
        let mut event = Event::new(kind, "host", Value::Null);
        event.id = id;
        event
    }

    #[test]
    fn counts_its_kind_once_per_event_and_keeps_the_count() {
        let test = TestHost::new("{{name}}");
        let mut counter = start(&test, json!({}));
        for (id, kind) in [
            (1, "task.created"),
            (2, "task.completed"),
            (3, "task.created"),
        ] {
            counter.on_event(&published(id, kind)).unwrap();
        }
        // Delivered again after a crash: counted once.
        counter.on_event(&published(3, "task.created")).unwrap();
        let answer = counter.query("count", Value::Null).unwrap();
        assert_eq!(answer, json!({ "kind": "task.created", "count": 2 }));
        assert_eq!(
            test.kv(STATE_KEY),
            Some(json!({ "count": 2, "last_event": 3 }))
        );
        // A restart reads the stored count back.
        let mut again = start(&test, json!({}));
        assert_eq!(again.query("count", Value::Null).unwrap()["count"], 2);
    }

    #[test]
    fn counts_the_kind_its_config_names() {
        let test = TestHost::new("{{name}}");
        let mut counter = start(&test, json!({ "kind": "task.completed" }));
        counter.on_event(&published(1, "task.created")).unwrap();
        counter.on_event(&published(2, "task.completed")).unwrap();
        let answer = counter.query("count", Value::Null).unwrap();
        assert_eq!(answer, json!({ "kind": "task.completed", "count": 1 }));
    }

    #[test]
    fn refuses_a_bad_config_unknown_queries_and_arguments() {
        let blank: Config = serde_json::from_value(json!({ "kind": " " })).unwrap();
        assert!(Counter::validate(&blank).is_err());
        let misspelt = serde_json::from_value::<Config>(json!({ "kinds": "x" })).unwrap_err();
        assert!(
            misspelt.to_string().contains("unknown field `kinds`"),
            "{misspelt}"
        );

        let test = TestHost::new("{{name}}");
        let mut counter = start(&test, json!({}));
        let unknown = counter.query("nope", Value::Null).unwrap_err();
        assert_eq!(unknown.to_string(), "unknown query `nope`");
        assert!(counter.query("count", json!({ "kind": "x" })).is_err());
    }

    #[test]
    fn answers_every_query_it_declares() {
        let test = TestHost::new("{{name}}");
        let mut counter = start(&test, json!({}));
        for query in counter.describe().queries {
            let answer = counter.query(&query.name, Value::Null);
            assert!(answer.is_ok(), "`{}`: {answer:?}", query.name);
        }
    }

    #[test]
    fn needs_the_kv_capability() {
        let test = TestHost::new("{{name}}");
        let mut counter = start(&test, json!({}));
        // As a manifest entry without `capabilities = ["kv", ...]` would.
        test.deny(Capability::Kv);
        let err = counter.on_event(&published(1, "task.created")).unwrap_err();
        assert!(err.to_string().contains("`kv` capability"), "{err}");
    }
}
