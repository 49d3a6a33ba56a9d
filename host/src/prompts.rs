//! What a call says: the worker's identity (compact or full system prompt), the task as
//! the message, and how long the answer may be. Pure functions over the `[limits]`
//! configuration, the worker and the task.
//!
//! ```toml
//! [limits]
//! max_tokens = 1024                               # answer length when no tag says otherwise
//! compact_tags = ["routine", "status", "heartbeat"] # these tasks get the one-line identity
//! [limits.max_tokens_by_tag]                      # the smallest matching tag wins
//! summary = 256
//! code = 4096
//! ```

use crate::tasks::Task;
use crate::workers::WorkerConfig;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `[limits]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Output token limit of a call whose task has no tag in `max_tokens_by_tag`.
    pub max_tokens: u32,
    /// Output token limit by tag; when several tags match, the smallest limit wins (a
    /// `summary` stays short even when it is also `code`).
    pub max_tokens_by_tag: BTreeMap<String, u32>,
    /// Tasks with any of these tags get the compact one-line identity prompt.
    pub compact_tags: Vec<String>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_tokens: 1024,
            max_tokens_by_tag: BTreeMap::new(),
            compact_tags: ["routine", "status", "heartbeat"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl LimitsConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_tokens == 0 {
            return Err("`limits.max_tokens` must be at least 1".into());
        }
        if let Some((tag, _)) = self.max_tokens_by_tag.iter().find(|(_, n)| **n == 0) {
            return Err(format!(
                "`limits.max_tokens_by_tag.{tag}` must be at least 1"
            ));
        }
        Ok(())
    }

    /// The output token limit for a task with `tags`.
    pub fn max_tokens_for(&self, tags: &[String]) -> u32 {
        tags.iter()
            .filter_map(|t| self.max_tokens_by_tag.get(t))
            .min()
            .copied()
            .unwrap_or(self.max_tokens)
    }

    /// Whether a task with `tags` gets the compact identity prompt.
    pub fn is_compact(&self, tags: &[String]) -> bool {
        tags.iter().any(|t| self.compact_tags.contains(t))
    }
}

/// The system prompt: who the worker is. Compact for routine tasks, full otherwise.
pub fn system_prompt(limits: &LimitsConfig, worker: &WorkerConfig, task: &Task) -> String {
    let role = if worker.role.is_empty() {
        "a worker"
    } else {
        &worker.role
    };
    if limits.is_compact(&task.tags) {
        return format!(
            "You are {} ({}), {role} in the Hypernet swarm. Answer briefly.",
            worker.name,
            worker.address()
        );
    }
    let capabilities = if worker.capabilities.is_empty() {
        "general work".to_owned()
    } else {
        worker.capabilities.join(", ")
    };
    format!(
        "You are {} ({}), {role} in the Hypernet swarm (account {}).\n\
         Your capabilities: {capabilities}.\n\
         Work on the task you are given and answer with the result itself; if you cannot \
         finish it, say what blocks you.",
        worker.name,
        worker.address(),
        if worker.account.is_empty() {
            "-"
        } else {
            &worker.account
        },
    )
}

/// The user message: the task's title, then its description.
pub fn user_prompt(task: &Task) -> String {
    if task.description.is_empty() {
        task.title.clone()
    } else {
        format!("{}\n\n{}", task.title, task.description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{TaskId, TaskSpec};

    fn task(tags: &[&str]) -> Task {
        Task::new(
            TaskId(1),
            TaskSpec {
                title: "Check".into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
                ..TaskSpec::default()
            },
            vec![],
            "person",
            3,
            0,
        )
    }

    fn worker() -> WorkerConfig {
        WorkerConfig {
            name: "Trace".into(),
            account: "2.1".into(),
            address: String::new(),
            role: "architect".into(),
            capabilities: vec!["code".into(), "review".into()],
            model: None,
        }
    }

    #[test]
    fn smallest_matching_tag_limit_wins() {
        let limits: LimitsConfig =
            toml::from_str("[max_tokens_by_tag]\nsummary = 256\ncode = 4096\n").unwrap();
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(limits.max_tokens_for(&tags(&[])), 1024);
        assert_eq!(limits.max_tokens_for(&tags(&["code"])), 4096);
        assert_eq!(limits.max_tokens_for(&tags(&["code", "summary"])), 256);
        assert!(toml::from_str::<LimitsConfig>("max_token = 3").is_err());
    }

    #[test]
    fn routine_tasks_get_the_compact_identity() {
        let limits = LimitsConfig::default();
        let compact = system_prompt(&limits, &worker(), &task(&["status"]));
        assert_eq!(
            compact,
            "You are Trace (2.1.trace), architect in the Hypernet swarm. Answer briefly."
        );
        let full = system_prompt(&limits, &worker(), &task(&["code"]));
        assert!(full.contains("account 2.1") && full.contains("capabilities: code, review"));
        assert!(full.len() > compact.len());
    }
}
