//! `git` (tier 2): one git command in the worker's workspace — `status`, `diff`, `log`,
//! `branch`, `add`, `commit`, `show` or `stash` — run as `git -C <workspace> <command>
//! <args>` with no shell.
//!
//! Options that would point git at another repository, work tree, program or output
//! (`-C`, `-c`, `--git-dir`, `--work-tree`, `--exec-path`, `--output`, …) are refused, and
//! so is any argument that is an absolute path, climbs out with `..` or leads out through a
//! link ([`Workspace::confine_argument`](super::Workspace::confine_argument)). git does not look for a repository above the workspace
//! (`GIT_CEILING_DIRECTORIES`), runs no hooks, never prompts, opens no editor or pager, and
//! commits as the worker. Deleting a stash or a branch, forcing a branch, or amending a
//! commit is destructive (tier 4).

use super::args::{self, denied, failed};
use super::process::{self, Keep, Limits};
use super::workspace::folder_name;
use super::{Requirement, Tier, Tool, ToolContext, ToolError};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};
use std::ffi::OsString;
use std::time::Duration;

/// The git commands a worker may run.
pub const GIT_COMMANDS: &[&str] = &[
    "status", "diff", "log", "branch", "add", "commit", "show", "stash",
];

/// Options refused anywhere in the arguments: each would let git reach beyond the
/// workspace or run something else.
const REFUSED_OPTIONS: &[&str] = &[
    "--git-dir",
    "--work-tree",
    "--exec-path",
    "--namespace",
    "--config-env",
    "--output",
    "--output-directory",
    "--upload-pack",
    "--receive-pack",
    "--exec",
];

const NAME: &str = "git";

/// Runs one git command in the worker's workspace.
#[derive(Debug, Clone)]
pub struct Git {
    /// Time limit and output cap.
    pub limits: Limits,
}

impl Git {
    /// `git` under `timeout`, returning at most `max_chars` of output.
    pub fn new(timeout: Duration, max_chars: usize) -> Git {
        Git {
            limits: Limits {
                timeout,
                max_chars,
                keep: Keep::Head,
            },
        }
    }
}

/// Why a call is destructive, if it is.
fn destructive(command: &str, args: &[String]) -> Option<String> {
    let has = |options: &[&str]| args.iter().find(|a| options.contains(&a.as_str()));
    match command {
        "stash" => match args.first().map(String::as_str) {
            Some(sub @ ("drop" | "clear")) => Some(format!("`git stash {sub}`")),
            _ => None,
        },
        "branch" => has(&["-d", "-D", "--delete", "-f", "--force", "-M"])
            .map(|o| format!("`git branch {o}`")),
        "commit" => has(&["--amend"]).map(|o| format!("`git commit {o}`")),
        _ => None,
    }
}

/// The command and its arguments, checked.
fn parse(args: &Value) -> Result<(String, Vec<String>), ToolError> {
    let command = args::string(NAME, args, "command")?;
    if !GIT_COMMANDS.contains(&command) {
        return Err(denied(
            NAME,
            format!(
                "`git {command}` is not offered (only {})",
                GIT_COMMANDS.join(", ")
            ),
        ));
    }
    let rest = args::strings(NAME, args, "args")?;
    for arg in &rest {
        let short = !arg.starts_with("--") && (arg.starts_with("-C") || arg.starts_with("-c"));
        let long = REFUSED_OPTIONS
            .iter()
            .any(|o| arg == o || arg.starts_with(&format!("{o}=")));
        if short || long {
            return Err(denied(
                NAME,
                format!("the option `{arg}` would reach beyond the workspace"),
            ));
        }
    }
    Ok((command.to_owned(), rest))
}

impl Tool for Git {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Runs one git command in your workspace: status, diff, log, branch, add, commit, show or stash, with its arguments (paths relative to the workspace)."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "command": {"type": "string", "enum": GIT_COMMANDS},
                "args": {"type": "array", "items": {"type": "string"}, "description": "Arguments after the command, e.g. [\"-m\", \"Fix the parser\"]"}
            },
            "required": ["command"]
        })
    }

    fn requirement(&self, args: &Value) -> Option<Requirement> {
        let base = Requirement::at(Tier::Shared);
        let command = args["command"].as_str().unwrap_or_default();
        let rest = args::strings(NAME, args, "args").unwrap_or_default();
        Some(match destructive(command, &rest) {
            Some(why) => base.destructive(why),
            None => base,
        })
    }

    fn call<'a>(
        &'a self,
        ctx: &'a ToolContext,
        args: Value,
    ) -> BoxFuture<'a, Result<String, ToolError>> {
        Box::pin(async move {
            let (command, rest) = parse(&args)?;
            let ws = ctx.workspace(NAME)?;
            for arg in &rest {
                ws.confine_argument(NAME, arg)?;
            }
            let root = ws.ensure(NAME)?;
            let ceiling = root.parent().unwrap_or(&root).as_os_str().to_owned();
            let mut argv: Vec<String> = vec![NAME.into()];
            for setting in [
                "core.hooksPath=/dev/null",
                "core.fsmonitor=false",
                "core.pager=cat",
                "credential.helper=",
            ] {
                argv.extend(["-c".into(), setting.into()]);
            }
            argv.extend(["-C".into(), root.to_string_lossy().into_owned(), command]);
            argv.extend(rest);
            let email = OsString::from(format!("{}@workspace.invalid", folder_name(&ctx.worker)));
            let who = OsString::from(&*ctx.worker);
            let env = [
                ("GIT_CEILING_DIRECTORIES", ceiling),
                ("GIT_TERMINAL_PROMPT", "0".into()),
                ("GIT_EDITOR", "false".into()),
                ("GIT_PAGER", "cat".into()),
                ("GIT_AUTHOR_NAME", who.clone()),
                ("GIT_COMMITTER_NAME", who),
                ("GIT_AUTHOR_EMAIL", email.clone()),
                ("GIT_COMMITTER_EMAIL", email),
            ];
            let done = process::run(&argv, &root, &env, &self.limits)
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

    fn git() -> Git {
        Git::new(Duration::from_secs(20), 10_000)
    }

    async fn run(ctx: &ToolContext, command: &str, args: &[&str]) -> Result<String, ToolError> {
        git()
            .call(ctx, json!({"command": command, "args": args}))
            .await
    }

    #[tokio::test]
    async fn runs_in_the_workspace_and_commits_as_the_worker() {
        let (dir, ws, _) = workspace();
        let ctx = context(&dir);
        // git does not find a repository above the workspace.
        std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(dir.path())
            .status()
            .unwrap();
        let out = run(&ctx, "status", &[]).await.unwrap();
        assert!(out.contains("not a git repository"), "{out}");
        std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(ws.root())
            .status()
            .unwrap();
        std::fs::write(ws.root().join("a.txt"), "hello\n").unwrap();
        run(&ctx, "add", &["a.txt"]).await.unwrap();
        let out = run(&ctx, "commit", &["-q", "-m", "First"]).await.unwrap();
        assert!(out.starts_with("exit code 0"), "{out}");
        let out = run(&ctx, "log", &["--format=%an <%ae> %s"]).await.unwrap();
        assert!(
            out.contains("Trace <trace@workspace.invalid> First"),
            "{out}"
        );
        // Without -m git would open an editor; it gets none.
        std::fs::write(ws.root().join("a.txt"), "changed\n").unwrap();
        let out = run(&ctx, "commit", &["-a"]).await.unwrap();
        assert!(!out.starts_with("exit code 0"), "{out}");
    }

    #[tokio::test]
    async fn options_and_paths_reaching_out_are_refused() {
        let (dir, ws, outside) = workspace();
        let ctx = context(&dir);
        std::os::unix::fs::symlink(&outside, ws.root().join("out")).unwrap();
        for args in [
            &["-C", "/tmp"][..],
            &["-C/tmp"],
            &["-c", "core.pager=sh"],
            &["--git-dir=../.git"],
            &["--git-dir", ".git"],
            &["--work-tree=/"],
            &["--exec-path=/tmp"],
            &["--output=notes.txt"],
            &["--no-index", "/etc/passwd", "a.txt"],
            &["--", "../../etc/passwd"],
            &["a/../../x"],
            &["-F/etc/passwd"],
            &["--no-index", "out/secret.txt", "a.txt"],
        ] {
            let e = run(&ctx, "diff", args).await.unwrap_err();
            assert!(matches!(e, ToolError::Denied { .. }), "{args:?}: {e}");
        }
        let e = run(&ctx, "push", &[]).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "`git` is not permitted: `git push` is not offered (only status, diff, log, branch, add, commit, show, stash)"
        );
        let e = git()
            .call(&ctx, json!({"command": "log", "args": "x"}))
            .await
            .unwrap_err();
        assert!(matches!(e, ToolError::BadArguments { .. }), "{e}");
    }

    #[test]
    fn deleting_stashes_and_branches_or_amending_is_destructive() {
        let needs = |command: &str, args: &[&str]| {
            git()
                .requirement(&json!({"command": command, "args": args}))
                .unwrap()
        };
        assert_eq!(needs("status", &[]), Requirement::at(Tier::Shared));
        assert_eq!(needs("stash", &["push"]).tier, Tier::Shared);
        assert_eq!(needs("branch", &["feature"]).tier, Tier::Shared);
        for (command, args, why) in [
            ("stash", &["drop"][..], "`git stash drop`"),
            ("stash", &["clear"], "`git stash clear`"),
            ("branch", &["-D", "old"], "`git branch -D`"),
            ("branch", &["--delete", "old"], "`git branch --delete`"),
            ("commit", &["--amend", "-m", "x"], "`git commit --amend`"),
        ] {
            let r = needs(command, args);
            assert_eq!(r.tier, Tier::Destructive, "{command} {args:?}");
            assert_eq!(r.because.as_deref(), Some(why));
        }
    }
}
