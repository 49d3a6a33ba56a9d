//! Tools a worker may call during its task: the [`Tool`] trait, the [`ToolRegistry`] that
//! offers them to the model as [`ToolSpec`]s and runs them by name, and the tools
//! themselves.
//!
//! A call carries a [`ToolContext`]: the task and worker it is made for, the worker's
//! [`Workspace`] and the [`Permission`] check every call passes before it runs. Each tool
//! states the [`Requirement`] of a call (its tier, whether it needs a grant); the check
//! answers a three-way [`Decision`] — run it, refuse it, or hold it for a person's approval
//! ([`permissions`] has the tiers and the rule). An unknown tool, arguments that do not fit,
//! a refused or held call, a path outside the workspace or a failing tool are all a
//! [`ToolError`], which the tool loop hands back to the model as an error result — never a
//! crash. A [`ToolObserver`] on the registry is told every call's outcome, refusals too.
//!
//! - [`builtin`]: `task_info`, `list_tasks` (reads of the task store, tier 0).
//! - [`read_file`], [`list_files`], [`search_files`] (tier 0), [`write_file`] (`write_file`
//!   and `append_file`) and [`run_tests`] (tier 1), [`git`] (tier 2), [`shell`] and [`http`]
//!   (tier 3, granted per worker): the workspace tools, confined by [`workspace`]; the
//!   programs they start run through [`process`].
//! - [`plugin`]: tools that plugins declare, called through the plugin registry.
//! - [`config`]: `[tools]`; [`setup`]: which tools a host offers.

pub mod args;
pub mod builtin;
pub mod config;
pub mod git;
pub mod http;
pub mod list_files;
pub mod permissions;
pub mod plugin;
pub mod process;
pub mod read_file;
pub mod run_tests;
pub mod search_files;
pub mod send_message;
pub mod setup;
pub mod shell;
pub mod workspace;
pub mod write_file;

pub use config::ToolsConfig;
pub use permissions::{Decision, Requirement, Tier, TierPermission};
pub use workspace::Workspace;

use futures_util::future::BoxFuture;
use hypernet_model::tasks::TaskId;
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
    /// The permission check, or the tool's own confinement, refused the call.
    #[error("`{tool}` is not permitted: {reason}")]
    Denied {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// The call may run only once a person approves it; it was not run.
    #[error("`{tool}` needs a person's approval: {reason}")]
    NeedsApproval {
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
    /// Whether `tool` may run with `args` for `ctx`; `needs` is what the tool says the call
    /// requires (`None`: it says nothing, which a careful check refuses).
    fn check(
        &self,
        ctx: &ToolContext,
        tool: &str,
        args: &Value,
        needs: Option<&Requirement>,
    ) -> Decision;
}

/// The check that lets every call run, for tests and for callers that check elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAll;

impl Permission for AllowAll {
    fn check(&self, _: &ToolContext, _: &str, _: &Value, _: Option<&Requirement>) -> Decision {
        Decision::Allow
    }
}

/// Who a call is made for.
#[derive(Clone)]
pub struct ToolContext {
    /// The task whose loop makes the call.
    pub task: TaskId,
    /// The worker running it.
    pub worker: Arc<str>,
    /// Its folder; `None` when no workspace root is configured (the workspace tools are
    /// then not offered).
    pub workspace: Option<Workspace>,
    /// Consulted before each call.
    pub permission: Arc<dyn Permission>,
    /// The highest tier any call may use, whatever the worker's own (a task another swarm
    /// delegated here).
    pub ceiling: Option<hypernet_model::tier::Tier>,
}

impl std::fmt::Debug for ToolContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolContext")
            .field("task", &self.task)
            .field("worker", &self.worker)
            .field("workspace", &self.workspace)
            .finish_non_exhaustive()
    }
}

impl ToolContext {
    /// A context for `worker`'s calls in `task`, checked by `permission`, with no
    /// workspace (see [`ToolContext::with_workspace`]).
    pub fn new(
        task: TaskId,
        worker: impl Into<Arc<str>>,
        permission: Arc<dyn Permission>,
    ) -> ToolContext {
        ToolContext {
            task,
            worker: worker.into(),
            workspace: None,
            permission,
            ceiling: None,
        }
    }

    /// The same, its calls capped at `ceiling` (`None`: the worker's tier alone).
    pub fn with_ceiling(mut self, ceiling: Option<hypernet_model::tier::Tier>) -> ToolContext {
        self.ceiling = ceiling;
        self
    }

    /// The same, with the worker's folder under `root`.
    pub fn with_workspace(mut self, root: &std::path::Path) -> ToolContext {
        self.workspace = Some(Workspace::for_worker(root, &self.worker));
        self
    }

    /// The worker's workspace, or the error a workspace tool gives without one.
    pub fn workspace(&self, tool: &str) -> Result<&Workspace, ToolError> {
        self.workspace.as_ref().ok_or_else(|| ToolError::Failed {
            tool: tool.into(),
            reason: "no workspace is configured ([tools] workspace_root)".into(),
        })
    }
}

/// Makes each worker's [`ToolContext`]: its permission check and its folder under the
/// workspace root. Shared by the tool loop and the approval queue, so an approved action
/// runs in the context the worker's own call would have.
#[derive(Clone)]
pub struct ToolContexts {
    /// The check every call of a worker passes.
    pub permission: Arc<dyn Permission>,
    /// Where the workers' folders are (`None`: no workspace tools).
    pub workspace_root: Option<std::path::PathBuf>,
}

impl ToolContexts {
    /// The context of `worker`'s tool calls in `task`.
    pub fn context(&self, task: TaskId, worker: Arc<str>) -> ToolContext {
        let ctx = ToolContext::new(task, worker, self.permission.clone());
        match &self.workspace_root {
            Some(root) => ctx.with_workspace(root),
            None => ctx,
        }
    }
}

/// A tool: a name, a description and a JSON-schema input the model sees, what a call
/// requires, and the call.
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
    /// What a call with `args` requires. The default, `None`, states nothing, and the
    /// tier check refuses every call of such a tool.
    fn requirement(&self, _args: &Value) -> Option<Requirement> {
        None
    }
    /// Whether what it returns comes from outside the swarm (files, web pages, programs'
    /// output, a plugin) and so reaches the model only as marked data, scanned for
    /// injection phrases ([`crate::security::isolate`]). The default, `true`, is the
    /// careful one; the host's own reads of its task store say `false`.
    fn outside(&self) -> bool {
        true
    }
    /// Runs it; the text is what the model reads back.
    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>>;
}

/// How one call ended, as a [`ToolObserver`] is told.
#[derive(Debug, Clone, Copy)]
pub enum CallOutcome<'a> {
    /// The check let it through; the tool's result (an error too, such as a path outside
    /// the workspace).
    Ran(&'a Result<String, ToolError>),
    /// Refused before it ran (an unknown tool, a missing tier or grant), with the reason.
    Denied(&'a str),
    /// Held for a person's approval, with the reason; it did not run.
    NeedsApproval(&'a str),
}

/// One call, as a [`ToolObserver`] is told.
#[derive(Debug, Clone, Copy)]
pub struct CallRecord<'a> {
    /// The task.
    pub task: TaskId,
    /// The worker.
    pub worker: &'a str,
    /// The tool the model named.
    pub tool: &'a str,
    /// Its arguments.
    pub args: &'a Value,
    /// How it ended.
    pub outcome: CallOutcome<'a>,
}

/// Told of every call once it has ended (where an audit log attaches). Called on the
/// task's own async task: keep it quick, hand slow work elsewhere.
pub trait ToolObserver: Send + Sync {
    /// One call ended.
    fn observe(&self, call: &CallRecord<'_>);
}

/// The observer that does nothing (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl ToolObserver for NoObserver {
    fn observe(&self, _: &CallRecord<'_>) {}
}

/// The offered tools as they are now: the host's own and the running plugins'. The set is
/// replaced whole when a plugin is enabled, disabled or fails at run time
/// ([`plugin::follow`]); a call reads it once, when it starts. Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct SharedTools(Arc<std::sync::RwLock<Arc<ToolRegistry>>>);

impl SharedTools {
    /// Offers `tools`.
    pub fn new(tools: ToolRegistry) -> SharedTools {
        SharedTools(Arc::new(std::sync::RwLock::new(Arc::new(tools))))
    }

    /// The tools offered now.
    pub fn current(&self) -> Arc<ToolRegistry> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Offers `tools` from now on; calls already started keep the set they read.
    pub fn replace(&self, tools: ToolRegistry) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tools);
    }
}

/// The registered tools, by name, and the observer of their calls.
#[derive(Clone)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    observer: Arc<dyn ToolObserver>,
    /// The specs, built once per registration: every call offers them, and sharing one
    /// copy keeps building a call cheap.
    specs: Arc<[ToolSpec]>,
}

impl Default for ToolRegistry {
    fn default() -> Self {
        ToolRegistry {
            tools: BTreeMap::new(),
            observer: Arc::new(NoObserver),
            specs: Arc::from([]),
        }
    }
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
        self.register_arc(Arc::new(tool))
    }

    /// Adds a shared tool (replacing one of the same name).
    pub fn register_arc(&mut self, tool: Arc<dyn Tool>) -> &mut Self {
        self.tools.insert(tool.name().to_owned(), tool);
        self.specs = self
            .tools
            .values()
            .map(|t| ToolSpec {
                name: t.name().to_owned(),
                description: t.description().to_owned(),
                input_schema: t.input_schema(),
            })
            .collect();
        self
    }

    /// Whether a tool of that name is registered.
    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    /// The names of the registered tools, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tools.keys().map(String::as_str)
    }

    /// Sets who is told of every call.
    pub fn set_observer(&mut self, observer: Arc<dyn ToolObserver>) -> &mut Self {
        self.observer = observer;
        self
    }

    /// Whether the output of tool `name` is outside content (see [`Tool::outside`]); an
    /// unknown name counts as outside.
    pub fn is_outside(&self, name: &str) -> bool {
        self.tools.get(name).is_none_or(|t| t.outside())
    }

    /// Whether nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// The tools as the model is offered them, by name (one shared copy).
    pub fn specs(&self) -> Arc<[ToolSpec]> {
        self.specs.clone()
    }

    /// Runs the tool `name` if the context's permission check allows it, and tells the
    /// observer how the call ended.
    pub async fn call(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: Value,
    ) -> Result<String, ToolError> {
        let (result, checked) = self.run(ctx, name, &args).await;
        let outcome = match (&result, checked) {
            (Err(ToolError::Unknown { .. }), _) => CallOutcome::Denied("unknown tool"),
            (Err(ToolError::Denied { reason, .. }), false) => CallOutcome::Denied(reason),
            (Err(ToolError::NeedsApproval { reason, .. }), false) => {
                CallOutcome::NeedsApproval(reason)
            }
            (result, _) => CallOutcome::Ran(result),
        };
        if !matches!(outcome, CallOutcome::Ran(Ok(_))) {
            tracing::info!(task = %ctx.task, worker = %ctx.worker, tool = name, ?outcome, "tool call not completed");
        }
        self.observer.observe(&CallRecord {
            task: ctx.task,
            worker: &ctx.worker,
            tool: name,
            args: &args,
            outcome,
        });
        result
    }

    /// The call's result, and whether it got past the permission check.
    async fn run(
        &self,
        ctx: &ToolContext,
        name: &str,
        args: &Value,
    ) -> (Result<String, ToolError>, bool) {
        let Some(tool) = self.tools.get(name) else {
            let known = self.tools.keys().cloned().collect::<Vec<_>>().join(", ");
            let e = ToolError::Unknown {
                name: name.to_owned(),
                known,
            };
            return (Err(e), false);
        };
        let needs = tool.requirement(args);
        let tool_name = name.to_owned();
        match ctx.permission.check(ctx, name, args, needs.as_ref()) {
            Decision::Allow => {}
            Decision::Deny(reason) => {
                let e = ToolError::Denied {
                    tool: tool_name,
                    reason,
                };
                return (Err(e), false);
            }
            Decision::NeedsApproval(reason) => {
                let e = ToolError::NeedsApproval {
                    tool: tool_name,
                    reason,
                };
                return (Err(e), false);
            }
        }
        if !args.is_object() {
            let e = ToolError::BadArguments {
                tool: tool_name,
                reason: format!("expected a JSON object, got {args}"),
            };
            return (Err(e), true);
        }
        (tool.call(ctx, args.clone()).await, true)
    }
}

#[cfg(test)]
mod tests;
