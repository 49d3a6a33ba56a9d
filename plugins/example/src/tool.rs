//! A tool for the workers' models. A subsystem offers tools by answering two queries: the
//! host asks `tools.list` once at start-up and registers each declared tool next to its
//! own; when a model calls one, the host checks the worker's permission tier against the
//! declared `tier`, then sends `tools.call`. No other code is needed.

use hypernet_plugin_api::PluginError;
use hypernet_plugin_api::tool::{self, ToolAnswer, ToolCall, ToolDecl};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The tool's name. Prefix tool names with the plugin's, so they cannot clash with the
/// host's tools or another plugin's.
pub const EVENT_COUNT: &str = "example_event_count";

/// The answer to `tools.list`.
pub fn list() -> Result<Value, PluginError> {
    tool::list(&[ToolDecl {
        name: EVENT_COUNT.into(),
        description: "How many host events of one kind (e.g. task.completed) the swarm has seen; without a kind, the total.".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"kind": {"type": "string", "description": "An event kind, e.g. task.completed"}}
        }),
        // Tier 0: it only reads, so every worker may call it.
        tier: 0,
    }])
}

/// The answer to `tools.call`. An error here is what the model reads as the tool's failure.
pub fn call(counts: &BTreeMap<String, u64>, total: u64, args: Value) -> Result<Value, PluginError> {
    let call = ToolCall::parse(args)?;
    if call.name != EVENT_COUNT {
        return Err(PluginError::not_found(format!("no tool `{}`", call.name)));
    }
    let text = match call.args["kind"].as_str() {
        Some(kind) => format!("{kind}: {}", counts.get(kind).copied().unwrap_or(0)),
        None => format!("all kinds: {total}"),
    };
    tracing::debug!(task = %call.task, worker = %call.worker, "event count tool called");
    ToolAnswer::text(text).into_value()
}
