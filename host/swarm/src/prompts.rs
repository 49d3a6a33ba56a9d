//! What a call says: the worker's identity (compact or full system prompt, see
//! [`crate::identity::prompt`]) followed by its memory of recent tasks
//! ([`crate::workers::memory`]), the task as the message (with every question the worker
//! asked about it and the answer it got), and how long the answer may be. Pure functions
//! over the `[limits]` configuration, the identities, the worker, the task and the model.
//!
//! Which identity prompt a task gets, first rule that applies:
//! 1. the model starts with one of `compact_models` → compact (small local context windows);
//! 2. any tag is in `full_tags` → full;
//! 3. the task has tags and every one is in `compact_tags` → compact;
//! 4. otherwise → full.
//!
//! ```toml
//! [limits]
//! max_tokens = 1024       # answer length when no tag says otherwise
//! compact_models = ["local/", "lmstudio/"]
//! compact_tags = ["docs", "formatting", "testing", "automated", "review",
//!                 "routine", "status", "heartbeat"]
//! full_tags = ["personal-time", "governance", "boot", "identity", "architecture"]
//! [limits.max_tokens_by_tag]   # the smallest matching tag wins
//! summary = 256
//! code = 4096
//! ```

use crate::identity::Identities;
use crate::identity::prompt::{self, SystemPrompt};
use crate::workers::WorkerConfig;
use crate::workers::memory::{MemoryConfig, WorkerMemory};
use hypernet_model::tasks::Task;
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
    /// Calls to models starting with any of these prefixes get the compact identity prompt.
    pub compact_models: Vec<String>,
    /// Tasks whose tags are all in this list (and that have tags) get the compact identity
    /// prompt, unless a tag is in `full_tags`.
    pub compact_tags: Vec<String>,
    /// Tasks with any of these tags get the full identity prompt (except on a compact model).
    pub full_tags: Vec<String>,
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_tokens: 1024,
            max_tokens_by_tag: BTreeMap::new(),
            compact_models: strings(&["local/", "lmstudio/"]),
            compact_tags: strings(&[
                "docs",
                "formatting",
                "testing",
                "automated",
                "review",
                "routine",
                "status",
                "heartbeat",
            ]),
            full_tags: strings(&[
                "personal-time",
                "governance",
                "boot",
                "identity",
                "architecture",
            ]),
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

    /// Whether a call to `model` for a task with `tags` gets the compact identity prompt
    /// (the rules are listed in the module documentation).
    pub fn is_compact(&self, model: &str, tags: &[String]) -> bool {
        if self
            .compact_models
            .iter()
            .any(|p| model.starts_with(p.as_str()))
        {
            return true;
        }
        if tags.iter().any(|t| self.full_tags.contains(t)) {
            return false;
        }
        !tags.is_empty() && tags.iter().all(|t| self.compact_tags.contains(t))
    }
}

/// What a worker remembers, and how much of it a prompt shows.
#[derive(Debug, Clone, Copy)]
pub struct Recall<'a> {
    /// The memory settings.
    pub cfg: &'a MemoryConfig,
    /// The worker's memory.
    pub memory: &'a WorkerMemory,
}

/// The system prompt of `worker` calling `model` for `task`: its compact or full identity,
/// then its recent tasks (all that are kept for a full prompt, the last
/// `compact_entries` for a compact one). The memory comes after the identity's stable
/// prefix, so it never spoils a cached one.
pub fn system_prompt(
    limits: &LimitsConfig,
    identities: &Identities,
    worker: &WorkerConfig,
    recall: Recall<'_>,
    task: &Task,
    model: &str,
) -> SystemPrompt {
    let instance = identities.instance_for(worker);
    if limits.is_compact(model, &task.tags) {
        let mut p = SystemPrompt {
            text: prompt::compact(&instance, model, &task.title),
            stable_len: 0,
        };
        p.text
            .push_str(&recall.memory.section(recall.cfg.compact_entries));
        p
    } else {
        let mut p = prompt::full(identities.core(), &instance, model, &task.title);
        p.text
            .push_str(&recall.memory.section(recall.cfg.max_entries));
        p
    }
}

/// The user message: the task's title, then its description, then each question the
/// worker asked about it with the answer it got.
pub fn user_prompt(task: &Task) -> String {
    let mut out = task.title.clone();
    if !task.description.is_empty() {
        out.push_str("\n\n");
        out.push_str(&task.description);
    }
    let answered: Vec<_> = task
        .clarifications
        .iter()
        .filter_map(|c| Some((&c.question, c.answer.as_ref()?)))
        .collect();
    if !answered.is_empty() {
        out.push_str("\n\nYou asked about this task, and a person answered:");
        for (question, answer) in answered {
            out.push_str(&format!("\nQuestion: {question}\nAnswer: {answer}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hypernet_model::tasks::{TaskId, TaskSpec};

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
            tier: Default::default(),
            grants: Vec::new(),
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
    fn the_prompt_rules_apply_in_order() {
        let limits = LimitsConfig::default();
        let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let compact = |model: &str, t: &[&str]| limits.is_compact(model, &tags(t));
        assert!(
            compact("local/llama", &["governance"]),
            "local models always compact"
        );
        assert!(compact("lmstudio/qwen", &[]));
        assert!(
            compact("sim/default", &["docs", "testing"]),
            "all routine tags"
        );
        assert!(compact("sim/default", &["status"]));
        assert!(
            !compact("sim/default", &["docs", "code"]),
            "one other tag: full"
        );
        assert!(!compact("sim/default", &[]), "no tags: full");
        assert!(
            !compact("sim/default", &["review", "governance"]),
            "full tag wins"
        );
        let mut both = LimitsConfig::default();
        both.compact_tags.push("identity".into());
        assert!(
            !both.is_compact("sim/x", &tags(&["identity"])),
            "full_tags over compact_tags"
        );
    }

    #[test]
    fn the_worker_gets_the_prompt_its_task_and_model_call_for() {
        let limits = LimitsConfig::default();
        let none = Identities::default();
        let recall = forgetful_recall();
        let compact = system_prompt(
            &limits,
            &none,
            &worker(),
            recall,
            &task(&["status"]),
            "sim/x",
        );
        assert!(
            compact
                .text
                .starts_with("You are Trace (2.1.trace), account 2.1")
        );
        assert!(compact.text.contains("Current task: Check"));
        assert_eq!(compact.stable_len, 0);
        let full = system_prompt(&limits, &none, &worker(), recall, &task(&["code"]), "sim/x");
        assert!(full.text.contains("# Who you are") && full.text.contains("code, review"));
        assert!(full.stable_len > 0 && full.text.len() > compact.text.len());
        let local = system_prompt(
            &limits,
            &none,
            &worker(),
            recall,
            &task(&["code"]),
            "local/x",
        );
        assert_eq!(local.stable_len, 0);
        assert!(!full.text.contains("recent work"), "nothing remembered yet");
    }

    #[test]
    fn memory_follows_the_identity_full_or_in_part() {
        use crate::workers::memory::Outcome;
        let limits = LimitsConfig::default();
        let none = Identities::default();
        let cfg = MemoryConfig {
            compact_entries: 1,
            ..MemoryConfig::default()
        };
        let mut memory = WorkerMemory::default();
        memory.remember(&cfg, TaskId(7), "Plan", Outcome::Completed, "A plan.", 1);
        memory.remember(&cfg, TaskId(8), "Build", Outcome::Failed, "timed out", 2);
        let recall = Recall {
            cfg: &cfg,
            memory: &memory,
        };
        let bare = system_prompt(
            &limits,
            &none,
            &worker(),
            forgetful_recall(),
            &task(&["code"]),
            "sim/x",
        );
        let full = system_prompt(&limits, &none, &worker(), recall, &task(&["code"]), "sim/x");
        assert!(full.text.starts_with(&bare.text), "identity first");
        assert_eq!(
            full.stable_len, bare.stable_len,
            "the cached prefix is unchanged"
        );
        assert!(full.text.ends_with(
            "# Your recent work\n- T-7 \"Plan\" (completed): A plan.\n- T-8 \"Build\" (failed): timed out\n"
        ));
        let compact = system_prompt(
            &limits,
            &none,
            &worker(),
            recall,
            &task(&["status"]),
            "sim/x",
        );
        assert!(compact.text.contains("T-8 \"Build\"") && !compact.text.contains("T-7"));
    }

    fn forgetful_recall() -> Recall<'static> {
        static CFG: std::sync::LazyLock<MemoryConfig> =
            std::sync::LazyLock::new(MemoryConfig::default);
        static MEMORY: std::sync::LazyLock<WorkerMemory> =
            std::sync::LazyLock::new(WorkerMemory::default);
        Recall {
            cfg: &CFG,
            memory: &MEMORY,
        }
    }

    #[test]
    fn answered_questions_follow_the_description() {
        let mut t = task(&[]);
        t.description = "Pick a colour.".into();
        assert_eq!(user_prompt(&t), "Check\n\nPick a colour.");
        t.clarifications.push(hypernet_model::tasks::Clarification {
            question: "Which wall?".into(),
            asked_by: "Trace".into(),
            asked_ms: 1,
            answer: None,
            answered_ms: None,
            approval: None,
        });
        assert_eq!(user_prompt(&t), "Check\n\nPick a colour.", "no answer yet");
        t.clarifications[0].answer = Some("The north one.".into());
        assert_eq!(
            user_prompt(&t),
            "Check\n\nPick a colour.\n\nYou asked about this task, and a person answered:\nQuestion: Which wall?\nAnswer: The north one."
        );
    }
}
