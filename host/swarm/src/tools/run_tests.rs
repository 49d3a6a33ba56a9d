//! `run_tests` (tier 1): the configured test command (`[tools] test_command`, an argv such
//! as `["cargo", "test"]`, no shell) in the worker's workspace, killed with its children
//! after `test_timeout_secs` (120 s by default); the end of its output is returned, where
//! test runners print their summary.

use super::args::{self, failed};
use super::process::{self, Keep, Limits};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::time::Duration;

const NAME: &str = "run_tests";

/// Runs the test command in the worker's workspace.
#[derive(Debug, Clone)]
pub struct RunTests {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Time limit and output cap (the tail is kept).
    pub limits: Limits,
}

impl RunTests {
    /// `command` under `timeout`, returning the last `max_chars` of its output.
    pub fn new(command: Vec<String>, timeout: Duration, max_chars: usize) -> RunTests {
        RunTests {
            command,
            limits: Limits {
                timeout,
                max_chars,
                keep: Keep::Tail,
            },
        }
    }
}

impl Tool for RunTests {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Runs the project's tests in your workspace and returns the exit code and the end of the output."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "args": {"type": "array", "items": {"type": "string"}, "description": "Extra arguments for the test command, e.g. a test name filter"}
            }
        })
    }

    fn requirement(&self, _: &Value) -> Option<Requirement> {
        Some(Requirement::at(Tier::OwnWorkspace))
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let extra = args::strings(NAME, &args, "args")?;
            let ws = ctx.workspace(NAME)?;
            for arg in &extra {
                ws.confine_argument(NAME, arg)?;
            }
            let root = ws.ensure(NAME)?;
            let mut argv = self.command.clone();
            argv.extend(extra);
            tracing::info!(task = %ctx.task, worker = %ctx.worker, command = ?argv, "running tests");
            let done = process::run(&argv, &root, &[], &self.limits)
                .await
                .map_err(|e| failed(NAME, e))?;
            Ok(done.report(self.limits.timeout))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::workspace::tests::{context, workspace};

    fn sh(script: &str, secs: u64) -> RunTests {
        let argv = ["sh", "-c", script, "tests"].map(String::from).to_vec();
        RunTests::new(argv, Duration::from_secs(secs), 200)
    }

    #[tokio::test]
    async fn runs_the_command_in_the_workspace_and_returns_the_tail() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        std::fs::write(ws.root().join("marker"), "").unwrap();
        let tool = sh("seq 1 1000; ls; echo \"args: $*\"; exit 1", 10);
        let out = tool.call(&ctx, json!({"args": ["--quiet"]})).await.unwrap();
        assert!(
            out.starts_with("exit code 1\n--- stdout ---\n[output cut: the last 200 characters"),
            "{out}"
        );
        assert!(out.ends_with("1000\nmarker\nargs: --quiet\n"), "{out}");
        let e = tool
            .call(&ctx, json!({"args": ["../other"]}))
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::Denied { .. }), "{e}");
    }

    #[tokio::test]
    async fn a_run_past_the_timeout_is_killed() {
        let (dir, _ws, _) = workspace();
        let ctx = context(&dir);
        let started = std::time::Instant::now();
        let out = sh("echo building; sleep 30", 1)
            .call(&ctx, json!({}))
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            out,
            "killed after 1 s (time limit)\n--- stdout ---\nbuilding\n"
        );
    }
}
