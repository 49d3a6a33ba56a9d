//! `shell` (tier 3, with a grant): one program from `[tools] shell_allow`, started from an
//! argv — never through a shell, so there are no pipes, globs or substitutions — in the
//! worker's workspace, killed after `command_timeout_secs`, its output cut at
//! `output_max_chars`. Arguments that are absolute paths, climb out with `..` or lead out
//! through a link are refused. Deleting programs (`rm`, …) are destructive (tier 4).
//!
//! The allowlist is the operator's promise about what a program can do: a shell or an
//! interpreter in it (`sh`, `python3`) can do anything the host's user can.

use super::args::{self, bad, denied, failed};
use super::process::{self, Keep, Limits};
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::time::Duration;

/// Programs whose every call is destructive.
pub const DESTRUCTIVE_PROGRAMS: &[&str] = &["rm", "rmdir", "unlink", "shred", "truncate"];

const NAME: &str = "shell";

/// Runs an allowed program in the worker's workspace.
#[derive(Debug, Clone)]
pub struct Shell {
    /// The programs it may start (`argv[0]`, compared exactly).
    pub allow: Vec<String>,
    /// Time limit and output cap.
    pub limits: Limits,
}

impl Shell {
    /// `shell` for the programs in `allow`.
    pub fn new(allow: Vec<String>, timeout: Duration, max_chars: usize) -> Shell {
        Shell {
            allow,
            limits: Limits {
                timeout,
                max_chars,
                keep: Keep::Head,
            },
        }
    }

    fn argv(&self, args: &Value) -> Result<Vec<String>, ToolError> {
        let argv = args::strings(NAME, args, "argv")?;
        let Some(program) = argv.first() else {
            return Err(bad(NAME, "`argv` is empty; it starts with the program"));
        };
        if !self.allow.contains(program) {
            return Err(denied(
                NAME,
                format!(
                    "`{program}` is not in [tools] shell_allow (allowed: {})",
                    self.allow.join(", ")
                ),
            ));
        }
        Ok(argv)
    }
}

impl Tool for Shell {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Runs one allowed program with its arguments in your workspace (no shell: no pipes, globs or redirections) and returns its exit code and output."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "argv": {
                    "type": "array", "items": {"type": "string"}, "minItems": 1,
                    "description": format!("The program and its arguments, e.g. [\"ls\", \"-la\"]; programs: {}", self.allow.join(", "))
                }
            },
            "required": ["argv"]
        })
    }

    fn requirement(&self, args: &Value) -> Option<Requirement> {
        let base = Requirement::at(Tier::External).granted();
        let program = args["argv"][0].as_str().unwrap_or_default();
        let name = program.rsplit('/').next().unwrap_or(program);
        Some(if DESTRUCTIVE_PROGRAMS.contains(&name) {
            base.destructive(format!("`{name}`"))
        } else {
            base
        })
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let argv = self.argv(&args)?;
            let ws = ctx.workspace(NAME)?;
            for arg in &argv[1..] {
                ws.confine_argument(NAME, arg)?;
            }
            let root = ws.ensure(NAME)?;
            tracing::info!(task = %ctx.task, worker = %ctx.worker, command = ?argv, "running a program");
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

    fn shell(allow: &[&str], secs: u64) -> Shell {
        let allow = allow.iter().map(|s| s.to_string()).collect();
        Shell::new(allow, Duration::from_secs(secs), 1000)
    }

    #[tokio::test]
    async fn runs_allowed_programs_in_the_workspace_and_refuses_others() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        std::fs::write(ws.root().join("a.txt"), "alpha\n").unwrap();
        let tool = shell(&["cat", "ls", "sleep"], 1);
        let out = tool
            .call(&ctx, json!({"argv": ["cat", "a.txt"]}))
            .await
            .unwrap();
        assert_eq!(out, "exit code 0\n--- stdout ---\nalpha\n");
        let e = tool
            .call(&ctx, json!({"argv": ["curl", "http://x"]}))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`shell` is not permitted: `curl` is not in [tools] shell_allow (allowed: cat, ls, sleep)"
        );
        let e = tool
            .call(&ctx, json!({"argv": ["/bin/cat", "a.txt"]}))
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::Denied { .. }), "{e}");
        std::os::unix::fs::symlink(&outside, ws.root().join("out")).unwrap();
        for path in [
            "/etc/passwd",
            "../outside/secret.txt",
            "--x=../../y",
            "out/secret.txt",
        ] {
            let e = tool
                .call(&ctx, json!({"argv": ["cat", path]}))
                .await
                .unwrap_err();
            assert!(matches!(e, ToolError::Denied { .. }), "{path}: {e}");
        }
        let e = tool.call(&ctx, json!({"argv": []})).await.unwrap_err();
        assert!(matches!(e, ToolError::BadArguments { .. }), "{e}");
        // `a.txt; cat /etc/passwd` is one argument, not a second command.
        let out = tool
            .call(&ctx, json!({"argv": ["ls", "a.txt; id"]}))
            .await
            .unwrap();
        assert!(out.starts_with("exit code 2"), "{out}");
        let out = tool
            .call(&ctx, json!({"argv": ["sleep", "20"]}))
            .await
            .unwrap();
        assert_eq!(out, "killed after 1 s (time limit)");
    }

    #[test]
    fn needs_a_grant_and_deleting_is_destructive() {
        let tool = shell(&["ls", "rm"], 1);
        let r = tool.requirement(&json!({"argv": ["ls"]})).unwrap();
        assert_eq!(r, Requirement::at(Tier::External).granted());
        let r = tool
            .requirement(&json!({"argv": ["rm", "-rf", "x"]}))
            .unwrap();
        assert_eq!(r.tier, Tier::Destructive);
        assert!(r.grant);
        assert_eq!(r.because.as_deref(), Some("`rm`"));
    }
}
