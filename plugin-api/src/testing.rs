//! An in-memory host for unit-testing plugins without the real host.
//!
//! ```
//! use hypernet_plugin_api::testing::TestHost;
//! use hypernet_plugin_api::Capability;
//!
//! let test = TestHost::new("my-plugin");
//! test.host().publish("my.thing", &serde_json::json!({"n": 1})).unwrap();
//! assert_eq!(test.events()[0].kind, "my.thing");
//!
//! test.deny(Capability::Kv);
//! assert!(test.host().kv_put("k", &1).is_err());
//! ```

use crate::abi::{FfiError, HostFfi, HostFfi_TO};
use crate::protocol::HostCommand;
use crate::{Capability, ErrorCode, Event, Host, NewTask, PluginError};
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RArc, RResult, RStr, RString};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// Answers a faked plugin query: `(query, args)` → result.
type QueryHandler = Arc<dyn Fn(&str, &Value) -> Result<Value, PluginError> + Send + Sync>;

/// Answers a host command in place of the host.
type CommandHandler = Arc<dyn Fn(&HostCommand) -> Result<Value, PluginError> + Send + Sync>;

#[derive(Default)]
struct State {
    kv: BTreeMap<String, Value>,
    events: Vec<Event>,
    tasks: Vec<NewTask>,
    /// Each command the host accepted, as sent and as read.
    commands: Vec<(String, Value, HostCommand)>,
    command_handler: Option<CommandHandler>,
    logs: Vec<(u8, String)>,
    denied: BTreeSet<Capability>,
    plugins: BTreeMap<String, QueryHandler>,
    now_ms: u64,
}

/// A fake host: key-value storage, events, tasks and logs kept in memory for inspection.
#[derive(Clone)]
pub struct TestHost {
    name: String,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for TestHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestHost")
            .field("name", &self.name)
            .finish()
    }
}

impl TestHost {
    /// A host for a plugin named `name`, granting every capability, clock at 0.
    pub fn new(name: &str) -> Self {
        TestHost {
            name: name.to_owned(),
            state: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The handle to pass to a plugin's `start`.
    pub fn host(&self) -> Host {
        Host::from_ffi(HostFfi_TO::from_ptr(RArc::new(self.clone()), TD_Opaque))
    }

    /// Refuses a capability from now on, as an ungranted manifest entry would.
    pub fn deny(&self, capability: Capability) {
        self.lock().denied.insert(capability);
    }

    /// Sets the clock.
    pub fn set_now_ms(&self, now_ms: u64) {
        self.lock().now_ms = now_ms;
    }

    /// Events published so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Tasks filed so far.
    pub fn tasks(&self) -> Vec<NewTask> {
        self.lock().tasks.clone()
    }

    /// Host commands run so far, as sent: (name, args). Only commands the real host would
    /// accept are run: a bad name or argument is refused with the host's message (see
    /// [`HostCommand::parse`]) and not recorded.
    ///
    /// ```
    /// use hypernet_plugin_api::testing::TestHost;
    /// use serde_json::json;
    /// let test = TestHost::new("doc");
    /// test.host().command("limits.set", &json!({ "name": "max_task_queue_depth", "soft": 1, "hard": 2 })).unwrap();
    /// assert!(test.host().command("reboot", &json!({})).is_err());
    /// assert_eq!(test.commands()[0].0, "limits.set");
    /// assert_eq!(test.commands().len(), 1);
    /// ```
    pub fn commands(&self) -> Vec<(String, Value)> {
        let state = self.lock();
        let sent = |(name, args, _): &(String, Value, HostCommand)| (name.clone(), args.clone());
        state.commands.iter().map(sent).collect()
    }

    /// Host commands run so far, typed.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{HostCommand, PermissionsSet};
    /// use hypernet_plugin_api::testing::TestHost;
    /// let test = TestHost::new("doc");
    /// let set = PermissionsSet { worker: "Trace".into(), tier: 3 };
    /// test.host().run(&HostCommand::from(set.clone())).unwrap();
    /// assert_eq!(test.host_commands(), vec![HostCommand::PermissionsSet(set)]);
    /// ```
    pub fn host_commands(&self) -> Vec<HostCommand> {
        let state = self.lock();
        state.commands.iter().map(|(_, _, c)| c.clone()).collect()
    }

    /// Answers host commands with `handler` in place of the host (by default every command
    /// answers `{"ok": true}`). The commands are still checked and recorded first.
    ///
    /// ```
    /// use hypernet_plugin_api::protocol::{HostCommand, PermissionsSet};
    /// use hypernet_plugin_api::testing::TestHost;
    /// use serde_json::json;
    ///
    /// let test = TestHost::new("doc");
    /// test.answer_commands(|command| match command {
    ///     HostCommand::PermissionsSet(set) => {
    ///         Ok(json!({ "worker": set.worker, "tier": set.tier, "previous": 2 }))
    ///     }
    ///     other => Ok(json!({ "ran": other.name() })),
    /// });
    /// let changed = test.host().run(&PermissionsSet { worker: "Trace".into(), tier: 3 }).unwrap();
    /// assert_eq!(changed.previous, 2);
    /// ```
    pub fn answer_commands(
        &self,
        handler: impl Fn(&HostCommand) -> Result<Value, PluginError> + Send + Sync + 'static,
    ) {
        self.lock().command_handler = Some(Arc::new(handler));
    }

    /// Stands in for another plugin: queries to `plugin` are answered by `handler`, given
    /// the query name and its arguments.
    ///
    /// ```
    /// use hypernet_plugin_api::testing::TestHost;
    /// use serde_json::json;
    /// let t = TestHost::new("governance");
    /// t.answer_queries("reputation", |query, args| Ok(json!({ "query": query, "args": args })));
    /// let out = t.host().query("reputation", "scores", &json!({ "entity": "Trace" })).unwrap();
    /// assert_eq!(out["query"], "scores");
    /// ```
    pub fn answer_queries(
        &self,
        plugin: &str,
        handler: impl Fn(&str, &Value) -> Result<Value, PluginError> + Send + Sync + 'static,
    ) {
        self.lock()
            .plugins
            .insert(plugin.to_owned(), Arc::new(handler));
    }

    /// Log messages so far, with their level (1 = error ... 5 = trace).
    pub fn logs(&self) -> Vec<(u8, String)> {
        self.lock().logs.clone()
    }

    /// A stored value.
    pub fn kv(&self, key: &str) -> Option<Value> {
        self.lock().kv.get(key).cloned()
    }

    fn dispatch(&self, op: &str, payload: &str) -> Result<Value, PluginError> {
        let args: Value = if payload.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(payload)?
        };
        let capability = Capability::for_op(op)
            .ok_or_else(|| PluginError::not_found(format!("unknown host operation `{op}`")))?;
        let mut state = self.lock();
        if state.denied.contains(&capability) {
            return Err(PluginError::new(
                ErrorCode::CapabilityDenied,
                format!(
                    "plugin `{}` was not granted the `{capability}` capability",
                    self.name
                ),
            ));
        }
        let key = || args["key"].as_str().unwrap_or_default().to_owned();
        Ok(match op {
            "kv.get" => state.kv.get(&key()).cloned().unwrap_or(Value::Null),
            "kv.put" => {
                state.kv.insert(key(), args["value"].clone());
                Value::Null
            }
            "kv.delete" => Value::Bool(state.kv.remove(&key()).is_some()),
            "kv.list" => {
                let prefix = args["prefix"].as_str().unwrap_or_default();
                json!(
                    state
                        .kv
                        .keys()
                        .filter(|k| k.starts_with(prefix))
                        .collect::<Vec<_>>()
                )
            }
            "event.publish" => {
                let id = state.events.len() as u64 + 1;
                let mut event = Event::new(
                    args["kind"].as_str().unwrap_or_default(),
                    self.name.clone(),
                    args["payload"].clone(),
                );
                event.id = id;
                event.at_ms = state.now_ms;
                state.events.push(event);
                json!({ "id": id })
            }
            "task.create" => {
                let task: NewTask = serde_json::from_value(args)?;
                state.tasks.push(task);
                json!({ "id": format!("T-{}", state.tasks.len()) })
            }
            "clock.now" => json!({ "unix_ms": state.now_ms }),
            "command.run" => {
                let name = args["name"].as_str().unwrap_or_default().to_owned();
                let command = HostCommand::parse(&name, &args["args"])?;
                state
                    .commands
                    .push((name, args["args"].clone(), command.clone()));
                let Some(handler) = state.command_handler.clone() else {
                    return Ok(json!({ "ok": true }));
                };
                // Answered without the lock: the handler may use the test host too.
                drop(state);
                return handler(&command);
            }
            "plugin.query" => {
                let plugin = args["plugin"].as_str().unwrap_or_default();
                let Some(handler) = state.plugins.get(plugin).cloned() else {
                    return Err(PluginError::not_found(format!(
                        "no plugin `{plugin}` in the test host"
                    )));
                };
                // Answered without the lock: the handler may use the test host too.
                drop(state);
                return handler(args["query"].as_str().unwrap_or_default(), &args["args"]);
            }
            other => {
                return Err(PluginError::not_found(format!(
                    "unknown host operation `{other}`"
                )));
            }
        })
    }
}

impl HostFfi for TestHost {
    fn call(&self, op: RStr<'_>, payload: RStr<'_>) -> RResult<RString, FfiError> {
        self.dispatch(op.as_str(), payload.as_str())
            .map(|v| RString::from(v.to_string()))
            .map_err(FfiError::from)
            .into()
    }

    fn log(&self, level: u8, _target: RStr<'_>, message: RStr<'_>) {
        self.lock().logs.push((level, message.to_string()));
    }
}

/// Asserts that `actual` (an answer or an event payload) has the top-level fields its
/// declared shape `declared` names: none undeclared, and none declared missing unless its
/// shape says "optional". A map (`{"<name>": ...}`) or a non-object is not checked. For a
/// plugin's tests of its [`Description`](crate::describe::Description).
pub fn assert_declared_fields(
    what: &str,
    declared: &serde_json::Value,
    actual: &serde_json::Value,
) {
    let (Some(declared), Some(actual)) = (declared.as_object(), actual.as_object()) else {
        return;
    };
    if declared.keys().any(|k| k.starts_with('<')) {
        return;
    }
    for key in actual.keys() {
        assert!(
            declared.contains_key(key),
            "{what}: `{key}` is not declared"
        );
    }
    for (key, shape) in declared {
        let optional = shape.as_str().is_some_and(|s| s.contains("optional"));
        assert!(optional || actual.contains_key(key), "{what}: no `{key}`");
    }
}
