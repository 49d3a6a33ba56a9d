//! The scheduler's command channel, made before the services that send to it, and the
//! side of it that plugins use: the tasks they file and the host commands they run
//! (`budget.set`, `limits.set`, `permissions.set`), audited.
//!
//! The channel exists before the registry starts its plugins, so nothing is connected
//! afterwards; until the scheduler thread runs, plugins are told it is not running.

use super::Command;
use super::core::PlannedTask;
use crate::audit::AuditKind;
use hypernet_engine::registry::{SinkError, TaskSink};
use hypernet_model::tasks::{TaskId, TaskSpec};
use hypernet_plugin_api::protocol::{BudgetSet, HostCommand, LimitsSet};
use serde_json::{Value, json};
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
    fn send(&self, command: Command) -> Result<(), SinkError> {
        if !self.accepting.load(Ordering::Acquire) {
            return Err(SinkError::NotRunning);
        }
        self.tx.send(command).map_err(|_| SinkError::Stopped)
    }

    /// Sends what `make` builds with a reply channel, and waits for the answer.
    fn ask<T>(&self, make: impl FnOnce(super::Reply<T>) -> Command) -> Result<T, SinkError> {
        let (reply, rx) = oneshot::channel();
        self.send(make(reply))?;
        rx.blocking_recv()
            .map_err(|_| SinkError::Stopped)?
            .map_err(|e| SinkError::Refused(e.to_string()))
    }

    /// Runs one host command.
    fn run(&self, command: HostCommand) -> Result<Value, SinkError> {
        let refused = |e: String| SinkError::Refused(e);
        match command {
            HostCommand::BudgetSet(BudgetSet {
                daily_limit_usd,
                session_limit_usd,
            }) => {
                let view = self.ask(|reply| Command::SetBudget {
                    daily_usd: daily_limit_usd,
                    session_usd: session_limit_usd,
                    reply,
                })?;
                serde_json::to_value(view).map_err(|e| refused(e.to_string()))
            }
            HostCommand::LimitsSet(LimitsSet { name, soft, hard }) => {
                let limit = crate::coordinator::autoscale::Limit { soft, hard };
                self.ask(|reply| Command::SetLimit { name, limit, reply })
            }
            HostCommand::PermissionsSet(set) => {
                let changed = self.permissions.run(&set).map_err(refused)?;
                serde_json::to_value(changed).map_err(|e| refused(e.to_string()))
            }
        }
    }

    /// Records `plugin`'s command and its answer, and a budget change it made.
    fn record(&self, plugin: &str, name: &str, args: &Value, answer: &Result<Value, SinkError>) {
        let Some(audit) = &self.audit else {
            return;
        };
        let error = answer.as_ref().err().map(ToString::to_string);
        audit.record(
            AuditKind::PluginCommand,
            plugin,
            json!({ "command": name, "args": args, "ok": answer.is_ok(), "error": error }),
        );
        if let (BudgetSet::NAME, Ok(view)) = (name, answer) {
            audit.record(
                AuditKind::BudgetChange,
                plugin,
                json!({
                    "via": BudgetSet::NAME,
                    "daily_limit_usd": args["daily_limit_usd"],
                    "session_limit_usd": args["session_limit_usd"],
                    "daily_limit_micros": view["daily_limit_micros"],
                    "session_limit_micros": view["session_limit_micros"],
                }),
            );
        }
    }
}

impl TaskSink for HostCommands {
    fn file_blocking(&self, spec: TaskSpec, filed_by: &str) -> Result<TaskId, SinkError> {
        let batch = vec![PlannedTask { key: None, spec }];
        let filed = self.ask(|reply| Command::File {
            batch,
            filed_by: filed_by.to_owned(),
            reply,
        })?;
        Ok(filed[0].id)
    }

    fn command_blocking(&self, plugin: &str, name: &str, args: Value) -> Result<Value, SinkError> {
        let answer = HostCommand::parse(name, &args)
            .map_err(|e| SinkError::Refused(e.to_string()))
            .and_then(|command| self.run(command));
        self.record(plugin, name, &args, &answer);
        answer
    }
}
