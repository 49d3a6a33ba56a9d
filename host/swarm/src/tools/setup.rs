//! Which tools a host offers, from `[tools]`: nothing when `enabled = false`; otherwise
//! the built-in reads of the task store, `send_message`, the workspace tools when a workspace root is
//! known (`run_tests` when a test command is set, `shell` when `shell_allow` lists a
//! program, `http` when `http_allow_domains` lists a host), then the plugins' tools — each
//! unless its name is taken, so a plugin cannot replace a host tool.

use super::git::Git;
use super::http::Http;
use super::list_files::ListFiles;
use super::read_file::ReadFile;
use super::run_tests::RunTests;
use super::search_files::SearchFiles;
use super::send_message::SendMessage;
use super::shell::Shell;
use super::write_file::{AppendFile, WriteFile};
use super::{Tool, ToolRegistry, ToolsConfig};
use crate::workers::WorkerConfig;
use hypernet_store::Store;
use std::sync::Arc;

/// The registry `cfg` describes over `store`, with `messages` (connected to the outbox by
/// the host) and `extra` tools (the plugins') after the host's own.
pub fn registry(
    cfg: &ToolsConfig,
    store: &Store,
    messages: SendMessage,
    extra: Vec<Arc<dyn Tool>>,
) -> ToolRegistry {
    if !cfg.enabled {
        return ToolRegistry::new();
    }
    let mut reg = super::builtin::registry(store);
    reg.register(messages);
    if cfg.workspace_root.is_some() {
        let out = cfg.output_max_chars;
        reg.register(ReadFile)
            .register(ListFiles)
            .register(SearchFiles)
            .register(WriteFile)
            .register(AppendFile)
            .register(Git::new(cfg.command_timeout(), out));
        if !cfg.test_command.is_empty() {
            reg.register(RunTests::new(
                cfg.test_command.clone(),
                cfg.test_timeout(),
                out,
            ));
        }
        if !cfg.shell_allow.is_empty() {
            reg.register(Shell::new(
                cfg.shell_allow.clone(),
                cfg.command_timeout(),
                out,
            ));
        }
    }
    if !cfg.http_allow_domains.is_empty() {
        let timeout = std::time::Duration::from_secs(cfg.http_timeout_secs);
        match Http::new(
            cfg.http_allow_domains.clone(),
            timeout,
            cfg.http_max_body_bytes,
        ) {
            Ok(http) => {
                reg.register(http);
            }
            Err(e) => tracing::error!(error = %e, "the `http` tool is not offered"),
        }
    }
    for tool in extra {
        if reg.contains(tool.name()) {
            tracing::error!(
                tool = tool.name(),
                "a plugin's tool has the name of another tool; not offered"
            );
            continue;
        }
        reg.register_arc(tool);
    }
    reg
}

/// Logs each worker grant that names no offered tool (a typo, or a tool switched off).
pub fn warn_unknown_grants(workers: &[WorkerConfig], reg: &ToolRegistry) {
    for w in workers {
        for g in w.grants.iter().filter(|g| !reg.contains(g)) {
            tracing::warn!(worker = %w.name, grant = %g, "a grant names no offered tool");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::{Requirement, Tier, ToolContext, ToolError};
    use futures_util::future::BoxFuture;
    use serde_json::Value;

    struct Named(&'static str);

    impl Tool for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn description(&self) -> &str {
            "A plugin's tool."
        }
        fn input_schema(&self) -> Value {
            serde_json::json!({"type": "object"})
        }
        fn requirement(&self, _: &Value) -> Option<Requirement> {
            Some(Requirement::at(Tier::ReadOnly))
        }
        fn call<'a>(
            &'a self,
            _: &'a ToolContext,
            _: Value,
        ) -> BoxFuture<'a, Result<String, ToolError>> {
            Box::pin(async { Ok("plugin".into()) })
        }
    }

    fn names(reg: &ToolRegistry) -> Vec<String> {
        reg.specs().iter().map(|s| s.name.clone()).collect()
    }

    #[test]
    fn offers_what_the_config_enables_and_keeps_host_names() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::persist::open_store(&dir.path().join("t.redb")).unwrap();
        let mut cfg = ToolsConfig::default();
        assert_eq!(
            names(&registry(&cfg, &store, SendMessage::default(), vec![])),
            ["list_tasks", "send_message", "task_info"]
        );
        cfg.workspace_root = Some(dir.path().join("workspaces"));
        let extra: Vec<Arc<dyn Tool>> =
            vec![Arc::new(Named("read_file")), Arc::new(Named("weather"))];
        assert_eq!(
            names(&registry(&cfg, &store, SendMessage::default(), extra)),
            [
                "append_file",
                "git",
                "list_files",
                "list_tasks",
                "read_file",
                "run_tests",
                "search_files",
                "send_message",
                "task_info",
                "weather",
                "write_file"
            ]
        );
        cfg.shell_allow = vec!["ls".into()];
        cfg.http_allow_domains = vec!["example.com".into()];
        cfg.test_command.clear();
        let reg = registry(&cfg, &store, SendMessage::default(), vec![]);
        assert!(reg.contains("shell") && reg.contains("http") && !reg.contains("run_tests"));
        cfg.enabled = false;
        assert!(registry(&cfg, &store, SendMessage::default(), vec![]).is_empty());
    }
}
