//! Tools from plugins. At start-up the host asks every running subsystem for its tools
//! (the `tools.list` query, answered with [`ToolDecl`]s — see
//! [`hypernet_plugin_api::tool`]) and registers a [`PluginTool`] for each; a call passes the
//! host's permission check at the tool's declared tier, then goes to the plugin as a
//! `tools.call` query. A declaration without a valid tier is not registered (fail closed),
//! and neither is one whose name another tool already has.
//!
//! When a plugin is enabled, disabled or fails at run time, [`follow`] asks the running
//! subsystems again and offers the new set from the next call on: an enabled plugin's tools
//! appear, a stopped plugin's are withdrawn.

use super::{Requirement, SharedTools, Tier, Tool, ToolContext, ToolError, ToolRegistry};
use futures_util::future::BoxFuture;
use hypernet_engine::Registry;
use hypernet_plugin_api::ErrorCode;
use hypernet_plugin_api::tool::{self, ToolAnswer, ToolCall, ToolDecl};
use serde_json::Value;
use std::sync::Arc;

/// One tool of a plugin, called through the plugin registry.
pub struct PluginTool {
    registry: Arc<Registry>,
    /// The service that declared it (`plugin` or `plugin:service`).
    pub address: String,
    /// Its declaration.
    pub decl: ToolDecl,
    /// Its tier, checked.
    pub tier: Tier,
}

impl std::fmt::Debug for PluginTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginTool")
            .field("address", &self.address)
            .field("name", &self.decl.name)
            .field("tier", &self.tier)
            .finish()
    }
}

/// The declarations in a `tools.list` answer of `address`, with their tiers; each one
/// that cannot be used is left out with the reason.
pub fn declarations(address: &str, answer: Value) -> (Vec<(ToolDecl, Tier)>, Vec<String>) {
    let Value::Array(items) = answer else {
        return (
            Vec::new(),
            vec![format!(
                "`{address}` answered `{}` with {answer}, not a list",
                tool::LIST
            )],
        );
    };
    let (mut ok, mut problems) = (Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        let named = item["name"].as_str().unwrap_or("?").to_owned();
        let decl = serde_json::from_value::<ToolDecl>(item)
            .map_err(|e| e.to_string())
            .and_then(|d| {
                if d.name.trim().is_empty() {
                    return Err("its `name` is empty".into());
                }
                Tier::try_from(d.tier).map(|t| (d, t))
            });
        match decl {
            Ok(found) => ok.push(found),
            Err(e) => problems.push(format!(
                "tool #{} (`{named}`) of `{address}` is not offered: {e}",
                i + 1
            )),
        }
    }
    (ok, problems)
}

/// Asks every running subsystem of `registry` for its tools, all at once.
pub async fn discover(registry: &Arc<Registry>) -> Vec<PluginTool> {
    let addresses = registry.subsystem_addresses();
    let asks = addresses
        .iter()
        .map(|address| registry.query(address, tool::LIST, Value::Null));
    let answers = futures_util::future::join_all(asks).await;
    let mut tools = Vec::new();
    for (address, answer) in addresses.into_iter().zip(answers) {
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) if e.code() == ErrorCode::NotFound => continue,
            Err(e) => {
                tracing::warn!(plugin = %address, error = %e, "asking a plugin for its tools failed");
                continue;
            }
        };
        let (found, problems) = declarations(&address, answer);
        for p in problems {
            tracing::error!(plugin = %address, "{p}");
        }
        for (decl, tier) in found {
            tracing::info!(plugin = %address, tool = %decl.name, tier = u8::from(tier), "plugin tool registered");
            tools.push(PluginTool {
                registry: registry.clone(),
                address: address.clone(),
                decl,
                tier,
            });
        }
    }
    tools
}

/// Keeps `tools` in step with the running plugins: after each change of a plugin's state
/// (enabled, disabled, failed), asks them for their tools again and offers what `build`
/// makes of them, logging each tool added or withdrawn. Ends when the registry is gone.
pub fn follow(
    registry: Arc<Registry>,
    tools: SharedTools,
    build: impl Fn(Vec<PluginTool>) -> ToolRegistry + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let mut changes = registry.watch_states();
    let registry = Arc::downgrade(&registry);
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let Some(registry) = registry.upgrade() else {
                return;
            };
            let found = discover(&registry).await;
            let fresh = build(found);
            let before = tools.current();
            for name in before.names().filter(|n| !fresh.contains(n)) {
                tracing::info!(tool = name, "tool withdrawn: its plugin stopped");
            }
            for name in fresh.names().filter(|n| !before.contains(n)) {
                tracing::info!(tool = name, "tool offered: its plugin started");
            }
            tools.replace(fresh);
        }
    })
}

impl Tool for PluginTool {
    fn name(&self) -> &str {
        &self.decl.name
    }

    fn description(&self) -> &str {
        &self.decl.description
    }

    fn input_schema(&self) -> Value {
        self.decl.input_schema.clone()
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        let needs = Requirement::at(self.tier);
        Some(if self.tier >= Tier::External {
            needs.granted()
        } else {
            needs
        })
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let call = ToolCall {
                name: self.decl.name.clone(),
                args,
                task: ctx.task.to_string(),
                worker: ctx.worker.to_string(),
            };
            let failed = |reason: String| ToolError::Failed {
                tool: self.decl.name.clone(),
                reason,
            };
            let answer: ToolAnswer = self
                .registry
                .call_typed(&self.address, tool::CALL, &call)
                .await
                .map_err(|e| failed(format!("plugin `{}`: {e}", self.address)))?;
            Ok(answer.text)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn declarations_without_a_valid_tier_are_left_out_by_name() {
        let answer = json!([
            {"name": "count", "description": "Counts.", "input_schema": {"type": "object"}, "tier": 0},
            {"name": "deploy", "description": "Ships.", "input_schema": {"type": "object"}, "tier": 4},
            {"name": "vague", "description": "No tier.", "input_schema": {"type": "object"}},
            {"name": "big", "description": "Too high.", "input_schema": {"type": "object"}, "tier": 9},
        ]);
        let (ok, problems) = declarations("example", answer);
        let names: Vec<_> = ok.iter().map(|(d, t)| (d.name.as_str(), *t)).collect();
        assert_eq!(
            names,
            [("count", Tier::ReadOnly), ("deploy", Tier::Destructive)]
        );
        assert_eq!(problems.len(), 2);
        assert!(
            problems[0]
                .starts_with("tool #3 (`vague`) of `example` is not offered: missing field `tier`"),
            "{}",
            problems[0]
        );
        assert!(problems[1].contains("not 9"), "{}", problems[1]);
        let (ok, problems) = declarations("example", json!({"tools": []}));
        assert!(ok.is_empty());
        assert!(problems[0].contains("not a list"), "{}", problems[0]);
    }
}
