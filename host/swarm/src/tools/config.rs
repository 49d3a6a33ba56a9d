//! `[tools]` in `hypernet.toml`: the tool loop and the tools.
//!
//! ```toml
//! [tools]
//! enabled = true          # offer the registered tools to the models
//! max_steps = 8           # model calls per loop; a model still calling tools then fails the task
//! repeat_limit = 3        # the same call (name + arguments) or the same error this often: stopped
//! fenced_models = []      # model prefixes without native tool calling: tools described in the
//!                         # prompt, called with ```tool blocks, results sent as a user message
//! workspace_root = "workspaces"     # default: <data-dir>/workspaces; one folder per worker
//! test_command = ["cargo", "test"]  # run_tests: argv, no shell; [] turns run_tests off
//! test_timeout_secs = 120           # run_tests is killed after this long
//! command_timeout_secs = 30         # git and shell are killed after this long
//! output_max_chars = 20000          # most characters of a program's output returned
//! shell_allow = []                  # programs `shell` may start (argv[0], exactly); [] turns it off
//! http_allow_domains = []           # hosts `http` may reach ("*.example.com": its subdomains); [] off
//! http_timeout_secs = 30
//! http_max_body_bytes = 50000       # the response body is cut here
//! approval_required = ["shell", "http", "send_message", "destructive"]  # tools (or every destructive call) held
//!                                   # for a person's approval instead of running
//! ```

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// `[tools]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ToolsConfig {
    /// Whether the registered tools are offered to the models.
    pub enabled: bool,
    /// Model calls one loop may make.
    pub max_steps: u32,
    /// How often the same call or the same error may occur in a task before it is stopped.
    pub repeat_limit: u32,
    /// Prefixes of models without native tool calling (fenced ```tool blocks instead).
    pub fenced_models: Vec<String>,
    /// Where the workers' folders are; `None` means `<data-dir>/workspaces` (filled in by
    /// `hypernet run`; without one the workspace tools are not offered). A relative path is
    /// taken from the working directory.
    pub workspace_root: Option<PathBuf>,
    /// The program and arguments `run_tests` starts in the workspace; empty: no `run_tests`.
    pub test_command: Vec<String>,
    /// Longest `run_tests` may take.
    pub test_timeout_secs: u64,
    /// Longest `git` and `shell` may take.
    pub command_timeout_secs: u64,
    /// Most characters of a program's output handed back.
    pub output_max_chars: usize,
    /// Programs `shell` may start; empty: no `shell`.
    pub shell_allow: Vec<String>,
    /// Hosts `http` may reach; `*.example.com` allows the subdomains of `example.com`.
    /// Empty: no `http`.
    pub http_allow_domains: Vec<String>,
    /// Longest one `http` request may take.
    pub http_timeout_secs: u64,
    /// Most bytes of a response body handed back.
    pub http_max_body_bytes: usize,
    /// Tools whose calls wait for a person's approval, and `destructive` for every tier-4
    /// call.
    pub approval_required: Vec<String>,
}

impl Default for ToolsConfig {
    fn default() -> Self {
        ToolsConfig {
            enabled: true,
            max_steps: 8,
            repeat_limit: 3,
            fenced_models: Vec::new(),
            workspace_root: None,
            test_command: vec!["cargo".into(), "test".into()],
            test_timeout_secs: 120,
            command_timeout_secs: 30,
            output_max_chars: 20_000,
            shell_allow: Vec::new(),
            http_allow_domains: Vec::new(),
            http_timeout_secs: 30,
            http_max_body_bytes: 50_000,
            approval_required: vec![
                "shell".into(),
                "http".into(),
                "send_message".into(),
                "destructive".into(),
            ],
        }
    }
}

impl ToolsConfig {
    /// Refuses values that cannot work, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_steps == 0 {
            return Err("[tools] max_steps must be at least 1".into());
        }
        if self.repeat_limit < 2 {
            return Err(format!(
                "[tools] repeat_limit must be at least 2, not {}",
                self.repeat_limit
            ));
        }
        for (key, secs) in [
            ("test_timeout_secs", self.test_timeout_secs),
            ("command_timeout_secs", self.command_timeout_secs),
            ("http_timeout_secs", self.http_timeout_secs),
        ] {
            if secs == 0 {
                return Err(format!("[tools] {key} must be at least 1"));
            }
        }
        if self.output_max_chars < 100 {
            return Err(format!(
                "[tools] output_max_chars must be at least 100, not {}",
                self.output_max_chars
            ));
        }
        if self.http_max_body_bytes == 0 {
            return Err("[tools] http_max_body_bytes must be at least 1".into());
        }
        if let Some(p) = &self.workspace_root
            && p.as_os_str().is_empty()
        {
            return Err("[tools] workspace_root is empty".into());
        }
        for (key, list) in [
            ("test_command", &self.test_command),
            ("shell_allow", &self.shell_allow),
            ("approval_required", &self.approval_required),
        ] {
            if list.iter().any(|s| s.trim().is_empty()) {
                return Err(format!("[tools] {key} holds an empty string"));
            }
        }
        for d in &self.http_allow_domains {
            let bare = d.strip_prefix("*.").unwrap_or(d);
            if bare.is_empty()
                || bare.contains(|c: char| c.is_whitespace() || "/:@*".contains(c))
                || d != &d.to_lowercase()
            {
                return Err(format!(
                    "[tools] http_allow_domains: `{d}` is not a lower-case host name (e.g. \"api.example.com\" or \"*.example.com\")"
                ));
            }
        }
        Ok(())
    }

    /// Whether `model` calls tools with fenced blocks rather than natively.
    pub fn is_fenced(&self, model: &str) -> bool {
        self.fenced_models.iter().any(|p| model.starts_with(p))
    }

    /// `test_timeout_secs` as a duration.
    pub fn test_timeout(&self) -> Duration {
        Duration::from_secs(self.test_timeout_secs)
    }

    /// `command_timeout_secs` as a duration.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.command_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ToolsConfig, String> {
        let c: ToolsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map(|()| c)
    }

    #[test]
    fn defaults_and_refusals_name_the_key() {
        let c = parse("").unwrap();
        assert_eq!(c.test_command, ["cargo", "test"]);
        assert_eq!(c.test_timeout_secs, 120);
        assert_eq!(
            c.approval_required,
            ["shell", "http", "send_message", "destructive"]
        );
        assert!(c.shell_allow.is_empty() && c.http_allow_domains.is_empty());
        let c = parse("http_allow_domains = [\"api.example.com\", \"*.docs.rs\"]\n").unwrap();
        assert_eq!(c.http_allow_domains.len(), 2);
        for (text, needle) in [
            (
                "test_timeout_secs = 0",
                "[tools] test_timeout_secs must be at least 1",
            ),
            (
                "shell_allow = [\"\"]",
                "[tools] shell_allow holds an empty string",
            ),
            (
                "http_allow_domains = [\"https://x.org\"]",
                "`https://x.org` is not a lower-case host name",
            ),
            ("http_allow_domains = [\"X.org\"]", "`X.org` is not"),
            ("workspace_rot = \"w\"", "unknown field `workspace_rot`"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }
}
