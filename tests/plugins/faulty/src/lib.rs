//! A deliberately misbehaving plugin for the host's isolation tests. Not for production.
//!
//! Queries: `panic` panics, `sleep {"ms": n}` blocks its actor, `echo` returns its args,
//! `command {"name","args"}` runs a host command,
//! `kv_put` / `task` / `publish` / `ask {"plugin","query"}` use host capabilities so tests
//! can check that ungranted ones are refused. Config `panic_on_start = true` panics in
//! `start`, `fail_start = "why"` makes `start` return that error, and `reject = true` makes
//! `validate` refuse the config.

use hypernet_plugin_api::{Event, Host, NewTask, PluginError, Subsystem};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
#[derive(Default)]
struct Config {
    panic_on_start: bool,
    fail_start: Option<String>,
    panic_on_event: Option<String>,
    reject: bool,
}

struct Faulty {
    host: Host,
    panic_on_event: Option<String>,
    events: u64,
}

impl Subsystem for Faulty {
    type Config = Config;

    fn validate(config: &Config) -> Result<(), PluginError> {
        if config.reject {
            return Err(PluginError::invalid(
                "`reject` is set, so this config is refused",
            ));
        }
        Ok(())
    }

    fn start(config: Config, host: Host) -> Result<Self, PluginError> {
        if config.panic_on_start {
            panic!("faulty plugin panics in start as configured");
        }
        if let Some(why) = config.fail_start {
            return Err(PluginError::failed(why));
        }
        Ok(Faulty {
            host,
            panic_on_event: config.panic_on_event,
            events: 0,
        })
    }

    fn on_event(&mut self, event: &Event) -> Result<(), PluginError> {
        if self.panic_on_event.as_deref() == Some(event.kind.as_str()) {
            panic!("faulty plugin panics on event {}", event.kind);
        }
        self.events += 1;
        Ok(())
    }

    fn query(&mut self, name: &str, args: Value) -> Result<Value, PluginError> {
        match name {
            "panic" => panic!("faulty plugin panics on request"),
            "sleep" => {
                let ms = args["ms"].as_u64().unwrap_or(1000);
                std::thread::sleep(std::time::Duration::from_millis(ms));
                Ok(json!({ "slept_ms": ms }))
            }
            "echo" => Ok(args),
            "events" => Ok(json!({ "events": self.events })),
            "kv_put" => {
                self.host.kv_put("k", &args)?;
                Ok(Value::Null)
            }
            "kv_get" => Ok(self.host.kv_get::<Value>("k")?.unwrap_or(Value::Null)),
            "task" => Ok(json!({ "id": self.host.create_task(&NewTask {
                title: args["title"].as_str().unwrap_or("faulty task").to_owned(),
                ..NewTask::default()
            })? })),
            "publish" => Ok(json!({ "id": self.host.publish("faulty.poke", &args)? })),
            "ask" => self.host.query(
                args["plugin"].as_str().unwrap_or_default(),
                args["query"].as_str().unwrap_or_default(),
                &args["args"],
            ),
            "command" => self
                .host
                .command(args["name"].as_str().unwrap_or_default(), &args["args"]),
            "log" => {
                tracing::warn!(note = %args, "faulty plugin was asked to log");
                Ok(Value::Null)
            }
            other => Err(PluginError::unknown_query(other)),
        }
    }
}

hypernet_plugin_api::register_subsystem!(Faulty, "faulty");
hypernet_plugin_api::export_plugin!();
