//! Tools from plugins: a subsystem offers tools to the workers' models by answering two
//! named queries, with no new function in the plugin interface.
//!
//! - [`LIST`] (`tools.list`, no arguments) answers a JSON list of [`ToolDecl`]s. The host
//!   asks every running subsystem once at start-up; one that does not know the query is
//!   simply left out.
//! - [`CALL`] (`tools.call`) receives a [`ToolCall`] when a model calls one of them, after
//!   the host's permission check, and answers a [`ToolAnswer`]. An error it returns is what
//!   the model reads as the tool's failure.
//!
//! ```
//! use hypernet_plugin_api::tool::{self, ToolAnswer, ToolCall, ToolDecl};
//! use hypernet_plugin_api::PluginError;
//! use serde_json::{json, Value};
//!
//! fn query(name: &str, args: Value) -> Result<Value, PluginError> {
//!     match name {
//!         tool::LIST => tool::list(&[ToolDecl {
//!             name: "shout".into(),
//!             description: "Says the text back in capitals.".into(),
//!             input_schema: json!({"type": "object", "properties": {"text": {"type": "string"}}}),
//!             tier: 0,
//!         }]),
//!         tool::CALL => {
//!             let call = ToolCall::parse(args)?;
//!             let text = call.args["text"].as_str().unwrap_or_default().to_uppercase();
//!             ToolAnswer::text(text).into_value()
//!         }
//!         other => Err(PluginError::unknown_query(other)),
//!     }
//! }
//! # let listed = query(tool::LIST, Value::Null).unwrap();
//! # assert_eq!(listed[0]["name"], "shout");
//! # let call = json!({"name": "shout", "args": {"text": "hi"}, "task": "T-1", "worker": "Trace"});
//! # assert_eq!(query(tool::CALL, call).unwrap(), json!({"text": "HI"}));
//! ```

use crate::PluginError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The query that lists a plugin's tools.
pub const LIST: &str = "tools.list";

/// The query that runs one of them.
pub const CALL: &str = "tools.call";

/// One tool a plugin offers.
///
/// ```
/// let decl: hypernet_plugin_api::tool::ToolDecl = serde_json::from_value(serde_json::json!({
///     "name": "count", "description": "Counts.", "input_schema": {"type": "object"}, "tier": 0
/// })).unwrap();
/// assert_eq!(decl.tier, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolDecl {
    /// Its name, as the model calls it; unique across the host (the host's own tools win).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON Schema of its arguments (an object schema).
    pub input_schema: Value,
    /// The permission tier a worker needs to call it: 0 read-only, 1 own workspace,
    /// 2 shared, 3 external (also needs a grant naming the tool), 4 destructive. Required:
    /// a tool that states none is not offered.
    pub tier: u8,
}

/// One call of a plugin's tool, as `tools.call` receives it.
///
/// ```
/// let call = hypernet_plugin_api::tool::ToolCall::parse(serde_json::json!({
///     "name": "count", "args": {}, "task": "T-3", "worker": "Trace"
/// })).unwrap();
/// assert_eq!(call.worker, "Trace");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Which of the plugin's tools.
    pub name: String,
    /// The arguments the model gave (a JSON object).
    pub args: Value,
    /// The task whose loop made the call (`T-3`).
    pub task: String,
    /// The worker that made it.
    pub worker: String,
}

impl ToolCall {
    /// Reads the arguments of a `tools.call` query.
    pub fn parse(args: Value) -> Result<ToolCall, PluginError> {
        serde_json::from_value(args)
            .map_err(|e| PluginError::invalid(format!("arguments of `{CALL}`: {e}")))
    }
}

/// What `tools.call` answers: the text the model reads.
///
/// ```
/// let v = hypernet_plugin_api::tool::ToolAnswer::text("done").into_value().unwrap();
/// assert_eq!(v, serde_json::json!({"text": "done"}));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolAnswer {
    /// The result.
    pub text: String,
}

impl ToolAnswer {
    /// An answer with `text`.
    pub fn text(text: impl Into<String>) -> ToolAnswer {
        ToolAnswer { text: text.into() }
    }

    /// As the JSON a query returns.
    pub fn into_value(self) -> Result<Value, PluginError> {
        serde_json::to_value(self).map_err(|e| PluginError::failed(e.to_string()))
    }
}

/// The answer to `tools.list` for `tools`.
///
/// ```
/// let v = hypernet_plugin_api::tool::list(&[]).unwrap();
/// assert_eq!(v, serde_json::json!([]));
/// ```
pub fn list(tools: &[ToolDecl]) -> Result<Value, PluginError> {
    serde_json::to_value(tools).map_err(|e| PluginError::failed(e.to_string()))
}
