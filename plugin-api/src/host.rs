//! The handle a plugin uses to reach the host: storage, events, tasks, other plugins, clock
//! and log. Each use needs a capability granted in the plugin's `plugins.toml` entry.

use crate::PluginError;
use crate::abi::HostArc;
use crate::protocol::Command;
use abi_stable::std_types::{RResult, RStr};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// A capability a manifest entry can grant (`capabilities = ["kv", "events"]`).
///
/// ```
/// use hypernet_plugin_api::Capability;
/// assert_eq!("kv".parse::<Capability>().unwrap(), Capability::Kv);
/// assert_eq!(Capability::Tasks.as_str(), "tasks");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    /// Durable key-value storage in the plugin's own namespace.
    Kv,
    /// Publishing events on the host bus.
    Events,
    /// Filing tasks.
    Tasks,
    /// Calling queries of plugins listed in this plugin's `requires`.
    Query,
    /// Writing to the host log (without it, log records are dropped).
    Log,
    /// Reading the host clock.
    Clock,
    /// Asking the host to act on itself through a named command (e.g. `budget.set`).
    Commands,
}

impl Capability {
    /// Every capability, in manifest spelling order.
    pub const ALL: [Capability; 7] = [
        Capability::Kv,
        Capability::Events,
        Capability::Tasks,
        Capability::Query,
        Capability::Log,
        Capability::Clock,
        Capability::Commands,
    ];

    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Kv => "kv",
            Capability::Events => "events",
            Capability::Tasks => "tasks",
            Capability::Query => "query",
            Capability::Log => "log",
            Capability::Clock => "clock",
            Capability::Commands => "commands",
        }
    }

    /// The capability a host operation needs (`kv.get` → `Kv`).
    pub fn for_op(op: &str) -> Option<Capability> {
        let family = op.split('.').next().unwrap_or(op);
        Some(match family {
            "kv" => Capability::Kv,
            "event" => Capability::Events,
            "task" => Capability::Tasks,
            "plugin" => Capability::Query,
            "clock" => Capability::Clock,
            "command" => Capability::Commands,
            _ => return None,
        })
    }
}

impl std::str::FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Capability::ALL.iter().map(|c| c.as_str()).collect();
                format!("unknown capability `{s}` (known: {})", known.join(", "))
            })
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Task priority, highest first: critical (400) > high (300) > normal (200) > low (100).
///
/// ```
/// use hypernet_plugin_api::Priority;
/// assert!(Priority::Critical > Priority::Low);
/// assert_eq!(Priority::High.weight(), 300);
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// 100.
    Low,
    /// 200, the default.
    #[default]
    Normal,
    /// 300.
    High,
    /// 400.
    Critical,
}

impl Priority {
    /// The numeric weight used in scoring.
    pub fn weight(self) -> u32 {
        match self {
            Priority::Low => 100,
            Priority::Normal => 200,
            Priority::High => 300,
            Priority::Critical => 400,
        }
    }
}

/// A task a plugin asks the host to file.
///
/// ```
/// use hypernet_plugin_api::{NewTask, Priority};
/// let t = NewTask { title: "Review GOV-0001".into(), priority: Priority::High, ..NewTask::default() };
/// assert!(t.tags.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// Short title.
    pub title: String,
    /// What to do, in full.
    #[serde(default)]
    pub description: String,
    /// Scheduling priority.
    #[serde(default)]
    pub priority: Priority,
    /// Tags used for routing and worker matching.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Log levels a plugin can write at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Something failed.
    Error = 1,
    /// Something looks wrong.
    Warn = 2,
    /// Progress worth seeing.
    Info = 3,
    /// Detail for debugging.
    Debug = 4,
    /// Everything.
    Trace = 5,
}

/// The plugin's handle to the host, given to `start` and cheap to clone.
///
/// Every method returns [`ErrorCode::CapabilityDenied`](crate::ErrorCode::CapabilityDenied)
/// when the plugin's manifest entry does not grant the capability it needs.
///
/// ```
/// use hypernet_plugin_api::testing::TestHost;
/// let test = TestHost::new("doc");
/// let host = test.host();
/// host.kv_put("greeting", &"hello").unwrap();
/// assert_eq!(host.kv_get::<String>("greeting").unwrap().as_deref(), Some("hello"));
/// ```
#[derive(Clone)]
pub struct Host {
    ffi: HostArc,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Host")
    }
}

impl Host {
    /// Wraps the raw handle; used by the export glue.
    #[doc(hidden)]
    pub fn from_ffi(ffi: HostArc) -> Self {
        Host { ffi }
    }

    /// Calls a host operation by name with a JSON payload. The typed methods below are
    /// wrappers over this; it is public so a plugin built against this version can use host
    /// operations added later without waiting for a new typed method.
    pub fn call_raw(&self, op: &str, payload: &Value) -> Result<Value, PluginError> {
        let payload = payload.to_string();
        match self.ffi.call(RStr::from_str(op), RStr::from_str(&payload)) {
            RResult::ROk(out) if out.is_empty() => Ok(Value::Null),
            RResult::ROk(out) => Ok(serde_json::from_str(&out)?),
            RResult::RErr(err) => Err(err.into()),
        }
    }

    /// Reads a value from this plugin's key-value namespace.
    pub fn kv_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, PluginError> {
        match self.call_raw("kv.get", &json!({ "key": key }))? {
            Value::Null => Ok(None),
            value => Ok(Some(serde_json::from_value(value).map_err(|e| {
                PluginError::invalid(format!("stored value at `{key}` does not decode: {e}"))
            })?)),
        }
    }

    /// Writes a value durably (committed before this returns).
    pub fn kv_put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), PluginError> {
        let value = serde_json::to_value(value)?;
        self.call_raw("kv.put", &json!({ "key": key, "value": value }))?;
        Ok(())
    }

    /// Deletes a key; returns whether it existed.
    pub fn kv_delete(&self, key: &str) -> Result<bool, PluginError> {
        Ok(self.call_raw("kv.delete", &json!({ "key": key }))? == Value::Bool(true))
    }

    /// Lists the keys that start with `prefix`, in order.
    pub fn kv_list(&self, prefix: &str) -> Result<Vec<String>, PluginError> {
        Ok(serde_json::from_value(
            self.call_raw("kv.list", &json!({ "prefix": prefix }))?,
        )?)
    }

    /// Publishes an event on the host bus (source = this plugin); returns its id.
    pub fn publish<T: Serialize + ?Sized>(
        &self,
        kind: &str,
        payload: &T,
    ) -> Result<u64, PluginError> {
        let payload = serde_json::to_value(payload)?;
        let out = self.call_raw(
            "event.publish",
            &json!({ "kind": kind, "payload": payload }),
        )?;
        Ok(out["id"].as_u64().unwrap_or(0))
    }

    /// Files a task; returns its id. A duplicate of an unfinished task returns that task's id.
    pub fn create_task(&self, task: &NewTask) -> Result<String, PluginError> {
        let out = self.call_raw("task.create", &serde_json::to_value(task)?)?;
        out["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| PluginError::failed("host returned no task id"))
    }

    /// Asks the host to run a command on itself; needs the `commands` capability. A command's
    /// arguments ([`BudgetSet`](crate::protocol::BudgetSet),
    /// [`LimitsSet`](crate::protocol::LimitsSet),
    /// [`PermissionsSet`](crate::protocol::PermissionsSet)) give the host's answer typed; a
    /// [`HostCommand`](crate::protocol::HostCommand) gives it as JSON. A command the host
    /// refuses is an [`ErrorCode::Invalid`](crate::ErrorCode::Invalid) error with the host's
    /// message.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{BudgetSet, HostCommand};
    /// use hypernet_plugin_api::testing::TestHost;
    ///
    /// let test = TestHost::new("doc");
    /// let set = BudgetSet { daily_limit_usd: Some(30.0), session_limit_usd: None };
    /// let answer = test.host().run(&HostCommand::from(set)).unwrap();
    /// assert_eq!(answer, serde_json::json!({ "ok": true })); // the test host's answer
    /// assert_eq!(test.host_commands(), vec![HostCommand::BudgetSet(set)]);
    /// ```
    pub fn run<C: Command>(&self, command: &C) -> Result<C::Answer, PluginError> {
        let name = command.name();
        let answer = self.command(name, &command.args())?;
        serde_json::from_value(answer).map_err(|e| {
            PluginError::invalid(format!(
                "the host answered `{name}` with unexpected JSON: {e}"
            ))
        })
    }

    /// Asks the host to run a command by wire name with JSON arguments; needs the `commands`
    /// capability. [`Host::run`] is the typed form; this one stays for commands a newer host
    /// knows and this version of the API does not. The commands are listed in
    /// [`HostCommand`](crate::protocol::HostCommand).
    ///
    /// ```
    /// use hypernet_plugin_api::testing::TestHost;
    /// use serde_json::json;
    ///
    /// let test = TestHost::new("doc");
    /// let refused = test.host().command("budget.set", &json!({ "daily_limit_usd": -1 }));
    /// assert_eq!(
    ///     refused.unwrap_err().to_string(),
    ///     "budget.set: `daily_limit_usd` must be a number of dollars ≥ 0, not -1",
    /// );
    /// ```
    pub fn command(&self, name: &str, args: &Value) -> Result<Value, PluginError> {
        self.call_raw("command.run", &json!({ "name": name, "args": args }))
    }

    /// Calls a named query of another plugin (which must be listed in this plugin's
    /// `requires`).
    pub fn query(&self, plugin: &str, query: &str, args: &Value) -> Result<Value, PluginError> {
        self.call_raw(
            "plugin.query",
            &json!({ "plugin": plugin, "query": query, "args": args }),
        )
    }

    /// Milliseconds since the Unix epoch, by the host clock.
    pub fn now_ms(&self) -> Result<u64, PluginError> {
        let out = self.call_raw("clock.now", &Value::Null)?;
        out["unix_ms"]
            .as_u64()
            .ok_or_else(|| PluginError::failed("host returned no time"))
    }

    /// Writes one record to the host log. Plugins normally use `tracing` macros instead,
    /// which the plugin API forwards here.
    pub fn log(&self, level: LogLevel, target: &str, message: &str) {
        self.ffi
            .log(level as u8, RStr::from_str(target), RStr::from_str(message));
    }
}
