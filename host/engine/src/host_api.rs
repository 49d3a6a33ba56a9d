//! The host side of a plugin's handle: every operation checks the plugin's granted
//! capabilities, then acts on the store, the bus or another plugin.

use super::registry::Registry;
use abi_stable::std_types::{RResult, RStr, RString};
use hypernet_model::clock::now_ms;
use hypernet_plugin_api::abi::{FfiError, HostFfi};
use hypernet_plugin_api::{Capability, ErrorCode, NewTask, PluginError};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

/// The handle one plugin holds.
#[derive(Clone)]
pub struct PluginHost {
    plugin: Arc<str>,
    grants: Arc<BTreeSet<Capability>>,
    requires: Arc<[String]>,
    registry: Weak<Registry>,
}

impl PluginHost {
    pub(super) fn new(
        plugin: &str,
        grants: BTreeSet<Capability>,
        requires: Vec<String>,
        registry: Weak<Registry>,
    ) -> Self {
        PluginHost {
            plugin: plugin.into(),
            grants: Arc::new(grants),
            requires: requires.into(),
            registry,
        }
    }

    fn require(&self, capability: Capability) -> Result<(), PluginError> {
        if self.grants.contains(&capability) {
            Ok(())
        } else {
            Err(PluginError::new(
                ErrorCode::CapabilityDenied,
                format!(
                    "plugin `{}` was not granted the `{capability}` capability (add it to `capabilities` in plugins.toml)",
                    self.plugin
                ),
            ))
        }
    }

    fn dispatch(&self, op: &str, payload: &str) -> Result<Value, PluginError> {
        let capability = Capability::for_op(op)
            .ok_or_else(|| PluginError::not_found(format!("unknown host operation `{op}`")))?;
        self.require(capability)?;
        let registry = self
            .registry
            .upgrade()
            .ok_or_else(|| PluginError::new(ErrorCode::Unavailable, "the host is shutting down"))?;
        let args: Value = if payload.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(payload)?
        };
        let str_arg = |name: &str| {
            args[name]
                .as_str()
                .ok_or_else(|| PluginError::invalid(format!("`{op}` needs a string `{name}`")))
        };
        let store = registry.store();
        let storage = |e: hypernet_store::StoreError| PluginError::failed(e.to_string());
        Ok(match op {
            "kv.get" => match store
                .kv_get(&self.plugin, str_arg("key")?)
                .map_err(storage)?
            {
                Some(bytes) => serde_json::from_slice(&bytes)?,
                None => Value::Null,
            },
            "kv.put" => {
                let value = serde_json::to_vec(&args["value"])?;
                store
                    .kv_put(&self.plugin, str_arg("key")?, &value)
                    .map_err(storage)?;
                Value::Null
            }
            "kv.delete" => Value::Bool(
                store
                    .kv_delete(&self.plugin, str_arg("key")?)
                    .map_err(storage)?,
            ),
            "kv.list" => json!(
                store
                    .kv_list(&self.plugin, str_arg("prefix")?)
                    .map_err(storage)?
            ),
            "event.publish" => {
                let id = registry.publish(&self.plugin, str_arg("kind")?, args["payload"].clone());
                json!({ "id": id })
            }
            "task.create" => {
                let task: NewTask = serde_json::from_value(args.clone())
                    .map_err(|e| PluginError::invalid(format!("task.create: {e}")))?;
                json!({ "id": registry.create_task(task, &self.plugin)? })
            }
            "plugin.query" => {
                let target = str_arg("plugin")?;
                let plugin_name = target.split(':').next().unwrap_or(target);
                if !self.requires.iter().any(|r| r == plugin_name) {
                    return Err(PluginError::new(
                        ErrorCode::CapabilityDenied,
                        format!(
                            "plugin `{}` may only query plugins it `requires`; `{plugin_name}` is not among them",
                            self.plugin
                        ),
                    ));
                }
                registry.query_blocking(target, str_arg("query")?, args["args"].clone())?
            }
            "clock.now" => json!({ "unix_ms": now_ms() }),
            "command.run" => {
                registry.run_command(&self.plugin, str_arg("name")?, args["args"].clone())?
            }
            other => {
                return Err(PluginError::not_found(format!(
                    "unknown host operation `{other}`"
                )));
            }
        })
    }
}

impl HostFfi for PluginHost {
    fn call(&self, op: RStr<'_>, payload: RStr<'_>) -> RResult<RString, FfiError> {
        self.dispatch(op.as_str(), payload.as_str())
            .map(|v| RString::from(v.to_string()))
            .map_err(FfiError::from)
            .into()
    }

    fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>) {
        if !self.grants.contains(&Capability::Log) {
            return;
        }
        let (plugin, origin, message) = (&*self.plugin, target.as_str(), message.as_str());
        match level {
            1 => tracing::error!(target: "plugin", plugin, origin, "{message}"),
            2 => tracing::warn!(target: "plugin", plugin, origin, "{message}"),
            3 => tracing::info!(target: "plugin", plugin, origin, "{message}"),
            4 => tracing::debug!(target: "plugin", plugin, origin, "{message}"),
            _ => tracing::trace!(target: "plugin", plugin, origin, "{message}"),
        }
    }
}
