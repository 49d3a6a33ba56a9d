//! The scheduler's command channel, made before the services that send to it, and the
//! side of it that plugins use: the tasks they file and the host commands they run
//! (`budget.set`, `limits.set`, `permissions.set`), audited.
//!
//! The channel exists before the registry starts its plugins, so nothing is connected
//! afterwards; until the scheduler thread runs, plugins are told it is not running.

use super::Command;
use super::core::PlannedTask;
use hypernet_engine::registry::TaskSink;
use hypernet_model::tasks::{TaskId, TaskSpec};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use tokio::sync::oneshot;

/// The scheduler's command channel, before the scheduler starts: hand out
/// [`HostCommands`] from it, then give it to [`super::Scheduler::start`].
pub struct Inbox {
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) rx: mpsc::Receiver<Command>,
    /// Set once the scheduler thread runs.
    pub(super) accepting: Arc<AtomicBool>,
}

impl Default for Inbox {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel();
        Inbox {
            tx,
            rx,
            accepting: Arc::default(),
        }
    }
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbox")
    }
}

impl Inbox {
    /// What plugins' tasks and host commands go through (the registry's [`TaskSink`]):
    /// `permissions` is what `permissions.set` changes, `audit` where each command is
    /// recorded.
    pub fn host_commands(
        &self,
        permissions: Arc<crate::tools::TierPermission>,
        audit: Option<crate::audit::Audit>,
    ) -> HostCommands {
        HostCommands {
            tx: self.tx.clone(),
            accepting: self.accepting.clone(),
            permissions,
            audit,
        }
    }
}

/// Runs the tasks plugins file and the host commands they run. Cheap to clone.
#[derive(Clone)]
pub struct HostCommands {
    tx: mpsc::Sender<Command>,
    accepting: Arc<AtomicBool>,
    /// Workers' tool tiers, which `permissions.set` changes.
    permissions: Arc<crate::tools::TierPermission>,
    /// Where plugin host commands and budget changes are recorded.
    audit: Option<crate::audit::Audit>,
}

impl std::fmt::Debug for HostCommands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostCommands")
    }
}

impl HostCommands {
    fn send(&self, command: Command) -> Result<(), String> {
        if !self.accepting.load(Ordering::Acquire) {
            return Err("the scheduler is not running".into());
        }
        self.tx
            .send(command)
            .map_err(|_| "the scheduler has stopped".to_owned())
    }
}

impl TaskSink for HostCommands {
    fn plugin_command_blocking(
        &self,
        plugin: &str,
        name: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let answer = self.command_blocking(name, args.clone());
        if let Some(audit) = &self.audit {
            use crate::audit::AuditKind;
            audit.record(
                AuditKind::PluginCommand,
                plugin,
                serde_json::json!({ "command": name, "args": args, "ok": answer.is_ok(), "error": answer.as_ref().err() }),
            );
            if let ("budget.set", Ok(view)) = (name, &answer) {
                audit.record(
                    AuditKind::BudgetChange,
                    plugin,
                    serde_json::json!({
                        "via": "budget.set",
                        "daily_limit_usd": args["daily_limit_usd"],
                        "session_limit_usd": args["session_limit_usd"],
                        "daily_limit_micros": view["daily_limit_micros"],
                        "session_limit_micros": view["session_limit_micros"],
                    }),
                );
            }
        }
        answer
    }

    fn file_blocking(&self, spec: TaskSpec, filed_by: &str) -> Result<TaskId, String> {
        let (reply, rx) = oneshot::channel();
        let batch = vec![PlannedTask { key: None, spec }];
        self.send(Command::File {
            batch,
            filed_by: filed_by.to_owned(),
            reply,
        })?;
        let filed = rx
            .blocking_recv()
            .map_err(|_| "the scheduler has stopped".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(filed[0].id)
    }

    fn command_blocking(
        &self,
        name: &str,
        args: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        match name {
            "budget.set" => {
                let limit = |key: &str| match &args[key] {
                    serde_json::Value::Null => Ok(None),
                    v => v
                        .as_f64()
                        .filter(|usd| *usd >= 0.0)
                        .map(Some)
                        .ok_or_else(|| {
                            format!("budget.set: `{key}` must be a number of dollars ≥ 0, not {v}")
                        }),
                };
                let (daily_usd, session_usd) =
                    (limit("daily_limit_usd")?, limit("session_limit_usd")?);
                let (reply, rx) = oneshot::channel();
                self.send(Command::SetBudget {
                    daily_usd,
                    session_usd,
                    reply,
                })?;
                let view = rx
                    .blocking_recv()
                    .map_err(|_| "the scheduler has stopped".to_owned())?
                    .map_err(|e| e.to_string())?;
                serde_json::to_value(view).map_err(|e| e.to_string())
            }
            "limits.set" => {
                let name = args["name"]
                    .as_str()
                    .ok_or("limits.set: `name` (the limit) is required")?
                    .to_owned();
                let limit = serde_json::from_value(
                    serde_json::json!({ "soft": args["soft"], "hard": args["hard"] }),
                )
                .map_err(|e| {
                    format!("limits.set: `soft` and `hard` must be whole numbers ≥ 0: {e}")
                })?;
                let (reply, rx) = oneshot::channel();
                self.send(Command::SetLimit { name, limit, reply })?;
                rx.blocking_recv()
                    .map_err(|_| "the scheduler has stopped".to_owned())?
                    .map_err(|e| e.to_string())
            }
            "permissions.set" => self.permissions.command(&args),
            other => Err(format!(
                "unknown host command `{other}` (known: budget.set, limits.set, permissions.set)"
            )),
        }
    }
}
