//! Tools a worker may call during its task: the [`Tool`] trait, the [`ToolRegistry`] that
//! offers them to the model as [`ToolSpec`]s and runs them by name, and the built-in tools
//! ([`builtin`]).
//!
//! A call carries a [`ToolContext`]: the task and worker it is made for, and the
//! [`Permission`] check every call passes before it runs (the built-in check allows all;
//! tiers and approvals plug in there). An unknown tool, arguments that do not fit, a refused
//! permission or a failing tool are all a [`ToolError`], which the tool loop hands back to
//! the model as an error result — never a crash.

pub mod builtin;

use crate::tasks::TaskId;
use futures_util::future::BoxFuture;
use hypernet_plugin_api::provider::ToolSpec;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Why a tool call did not give a result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// No tool of that name is registered.
    #[error("unknown tool `{name}` (known: {known})")]
    Unknown {
        /// The name the model asked for.
        name: String,
        /// The registered names, comma-separated.
        known: String,
    },
    /// The arguments do not fit the tool's schema.
    #[error("bad arguments for `{tool}`: {reason}")]
    BadArguments {
        /// The tool.
        tool: String,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// The permission check refused the call.
    #[error("`{tool}` is not permitted: {reason}")]
    Denied {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// The tool ran and failed.
    #[error("`{tool}` failed: {reason}")]
    Failed {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
}

/// Decides whether a call may run; consulted before every call.
pub trait Permission: Send + Sync {
    /// `Ok` to let `tool` run with `args` for `ctx`, or the reason it may not.
    fn check(&self, ctx: &ToolContext, tool: &str, args: &Value) -> Result<(), String>;
}

/// The check that lets every call run (the built-in tools only read).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Permission for AllowAll {
    fn check(&self, _: &ToolContext, _: &str, _: &Value) -> Result<(), String> {
        Ok(())
    }
}

/// Who a call is made for.
#[derive(Clone)]
pub struct ToolContext {
    /// The task whose loop makes the call.
    pub task: TaskId,
    /// The worker running it.
    pub worker: Arc<str>,
    /// Consulted before each call.
    pub permission: Arc<dyn Permission>,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("task", &self.task)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// A context whose calls are all allowed.
    pub fn new(task: TaskId, worker: impl Into<Arc<str>>) -> ToolContext {
        ToolContext {
            task,
            worker: worker.into(),
            permission: Arc::new(AllowAll),
        }
    }
}

/// A tool: a name, a description and a JSON-schema input the model sees, and the call.
///
/// `call` returns a boxed future so tools can live behind `dyn Tool` in the registry;
/// write it as `Box::pin(async move { ... })`.
pub trait Tool: Send + Sync {
    /// Its name, as the model calls it.
    fn name(&self) -> &str;
    /// What it does, for the model.
    fn description(&self) -> &str;
    /// JSON Schema of its arguments (an object schema).
    fn input_schema(&self) -> Value;
    /// Runs it; the text is what the model reads back.
    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>>;
}

/// The registered tools, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> ToolRegistry {
        ToolRegistry::default()
    }

    /// Adds `tool` (replacing one of the same name).
    pub fn register(&mut self, tool: impl Tool + 'static) -> &mut Self {
        self.tools.insert(tool.name().to_owned(), Arc::new(tool));
        self
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tools as the model is offered them, by name.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .values()
            .map(|t| ToolSpec {
                name: t.name().to_owned(),
                description: t.description().to_owned(),
                input_schema: t.input_schema(),
            })
            .collect()
    }

    /// Runs the tool `name` after the context's permission check.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Value,
    ) -> Result<String, ToolError> {
        let Some(tool) = self.tools.get(name) else {
            return Err(ToolError::Unknown {
                name: name.to_owned(),
                known: self.tools.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        };
        if !args.is_object() {
            return Err(ToolError::BadArguments {
                tool: name.to_owned(),
                reason: format!("expected a JSON object, got {args}"),
            });
        }
        ctx.permission
            .check(ctx, name, &args)
            .map_err(|reason| ToolError::Denied {
                tool: name.to_owned(),
                reason,
            })?;
        tool.call(ctx, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Echo;

    impl Tool for Echo {
        fn name(&self) -> &str {
            "echo"
        }
        fn description(&self) -> &str {
            "Says its text back."
        }
        fn input_schema(&self) -> Value {
            json!({"type": "object", "properties": {"text": {"type": "string"}}})
        }
        fn call<'a>(
            &'a self,
            _: &'a ToolContext,
            args: Value,
        ) -> BoxFuture<'a, Result<String, ToolError>> {
            Box::pin(async move { Ok(args["text"].as_str().unwrap_or_default().to_owned()) })
        }
    }

    struct DenyAll;

    impl Permission for DenyAll {
        fn check(&self, ctx: &ToolContext, tool: &str, _: &Value) -> Result<(), String> {
            Err(format!("{} may not use {tool}", ctx.worker))
        }
    }

    #[tokio::test]
    async fn calls_by_name_and_refuses_the_rest_with_an_error() {
        let mut reg = ToolRegistry::new();
        reg.register(Echo);
        let ctx = ToolContext::new(TaskId(1), "Trace");
        assert_eq!(reg.specs()[0].name, "echo");
        assert_eq!(
            reg.call(&ctx, "echo", json!({"text": "hi"})).await.unwrap(),
            "hi"
        );
        let unknown = reg.call(&ctx, "nope", json!({})).await.unwrap_err();
        assert_eq!(unknown.to_string(), "unknown tool `nope` (known: echo)");
        let bad = reg.call(&ctx, "echo", json!("hi")).await.unwrap_err();
        assert!(matches!(bad, ToolError::BadArguments { .. }), "{bad}");
        let denied = ToolContext {
            permission: Arc::new(DenyAll),
            ..ctx
        };
        let e = reg.call(&denied, "echo", json!({})).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "`echo` is not permitted: Trace may not use echo"
        );
    }
}
