//! Worker memory: a short, bounded record of what each worker did lately — one line per
//! finished task (its title, how it ended and the start of its answer or error) — carried
//! into the system prompt of the worker's later calls, so that it knows what it has just
//! done. It is drawn from the task records themselves, so it needs no writes of its own:
//! after a restart each worker's memory is rebuilt from its latest finished tasks in the
//! store ([`WorkerMemory::restore`]); only a failed attempt that was later retried is not
//! remembered again, as the task's record keeps its last outcome.
//!
//! ```toml
//! [memory]
//! enabled = true        # false: no memory is kept or shown
//! max_entries = 8       # tasks remembered per worker; the oldest is forgotten first
//! summary_chars = 200   # each task's summary is cut here
//! compact_entries = 2   # how many of them a compact prompt shows (0: none)
//! ```

use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// `[memory]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Whether workers remember their recent tasks.
    pub enabled: bool,
    /// Tasks remembered per worker.
    pub max_entries: usize,
    /// Characters of each task's summary.
    pub summary_chars: usize,
    /// Entries a compact prompt shows.
    pub compact_entries: usize,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        MemoryConfig {
            enabled: true,
            max_entries: 8,
            summary_chars: 200,
            compact_entries: 2,
        }
    }
}

impl MemoryConfig {
    /// Checks the values; errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.enabled && self.max_entries == 0 {
            return Err("`memory.max_entries` must be at least 1 (or set enabled = false)".into());
        }
        if self.max_entries > 1000 {
            return Err(format!(
                "`memory.max_entries` = {} is more than 1000: every prompt would carry it",
                self.max_entries
            ));
        }
        Ok(())
    }
}

/// How a remembered task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It was answered.
    Completed,
    /// The attempt failed.
    Failed,
}

/// One remembered task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemoryEntry {
    /// The task.
    pub task: TaskId,
    /// Its title.
    pub title: String,
    /// How it ended.
    pub outcome: Outcome,
    /// The start of the answer, or the error.
    pub summary: String,
    /// When it ended (ms since the Unix epoch).
    pub at_ms: u64,
}

/// A worker's recent tasks, oldest first, never more than the configured bound.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerMemory {
    /// The remembered tasks, oldest first.
    #[schema(value_type = Vec<MemoryEntry>)]
    pub entries: VecDeque<MemoryEntry>,
}

/// `text` on one line, cut at `max` characters (an ellipsis marks the cut). Reads no
/// further into `text` than the cut needs.
fn summarize(text: &str, max: usize) -> String {
    let mut line = String::new();
    let mut chars = 0;
    for word in text.split_whitespace() {
        let gap = usize::from(!line.is_empty());
        let len = word.chars().count();
        if chars + gap + len > max {
            let room = max.saturating_sub(1 + chars + gap);
            if room > 0 {
                line.push_str(&" ".repeat(gap));
                line.extend(word.chars().take(room));
            }
            line.push('…');
            return line;
        }
        if gap == 1 {
            line.push(' ');
        }
        line.push_str(word);
        chars += gap + len;
    }
    line
}

impl WorkerMemory {
    /// Remembers a finished task, forgetting the oldest beyond `cfg.max_entries`.
    pub fn remember(
        &mut self,
        cfg: &MemoryConfig,
        task: TaskId,
        title: &str,
        outcome: Outcome,
        text: &str,
        at_ms: u64,
    ) {
        if !cfg.enabled {
            return;
        }
        self.entries.push_back(MemoryEntry {
            task,
            title: summarize(title, cfg.summary_chars),
            outcome,
            summary: summarize(text, cfg.summary_chars),
            at_ms,
        });
        while self.entries.len() > cfg.max_entries {
            self.entries.pop_front();
        }
    }

    /// Remembers finished `task` from its stored record, in the order it finished among
    /// the others restored (tasks come back in id order, not the order they ended);
    /// anything but a completed or failed task is ignored.
    pub fn restore(&mut self, cfg: &MemoryConfig, task: &Task) {
        let (outcome, text) = match task.status {
            TaskStatus::Completed => (
                Outcome::Completed,
                task.result.as_ref().map_or("", |r| r.text.as_str()),
            ),
            TaskStatus::Failed => (Outcome::Failed, task.error.as_deref().unwrap_or("")),
            _ => return,
        };
        let at_ms = task.finished_ms.unwrap_or(task.created_ms);
        if !cfg.enabled
            || (self.entries.len() >= cfg.max_entries
                && self.entries.front().is_some_and(|e| e.at_ms > at_ms))
        {
            return;
        }
        let entry = MemoryEntry {
            task: task.id,
            title: summarize(&task.title, cfg.summary_chars),
            outcome,
            summary: summarize(text, cfg.summary_chars),
            at_ms,
        };
        let at = self.entries.partition_point(|e| e.at_ms <= at_ms);
        self.entries.insert(at, entry);
        while self.entries.len() > cfg.max_entries {
            self.entries.pop_front();
        }
    }

    /// The prompt section listing the last `n` entries, newest last; empty when there are
    /// none.
    pub fn section(&self, n: usize) -> String {
        let skip = self.entries.len().saturating_sub(n);
        let mut out = String::new();
        for e in self.entries.iter().skip(skip) {
            if out.is_empty() {
                out.push_str("\n\n# Your recent work\n");
            }
            let how = match e.outcome {
                Outcome::Completed => "completed",
                Outcome::Failed => "failed",
            };
            out.push_str(&format!(
                "- {} \"{}\" ({how}): {}\n",
                e.task, e.title, e.summary
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_entries: usize) -> MemoryConfig {
        MemoryConfig {
            max_entries,
            summary_chars: 20,
            ..MemoryConfig::default()
        }
    }

    #[test]
    fn memory_keeps_the_newest_entries_up_to_its_bound() {
        let cfg = cfg(3);
        let mut m = WorkerMemory::default();
        for i in 1..=5 {
            m.remember(
                &cfg,
                TaskId(i),
                &format!("t{i}"),
                Outcome::Completed,
                "ok",
                i,
            );
        }
        let ids: Vec<u64> = m.entries.iter().map(|e| e.task.0).collect();
        assert_eq!(ids, [3, 4, 5]);
    }

    #[test]
    fn summaries_are_one_line_and_cut_at_the_configured_length() {
        let mut m = WorkerMemory::default();
        let long = "first line\nsecond   line with a good deal more text";
        m.remember(&cfg(3), TaskId(1), "t", Outcome::Failed, long, 1);
        let s = &m.entries[0].summary;
        assert_eq!(s.chars().count(), 20);
        assert_eq!(s, "first line second l…");
        m.remember(&cfg(3), TaskId(2), "t", Outcome::Completed, "short", 2);
        assert_eq!(m.entries[1].summary, "short");
    }

    #[test]
    fn the_section_shows_the_last_n_entries_newest_last() {
        let mut m = WorkerMemory::default();
        assert_eq!(m.section(5), "", "nothing remembered: no section");
        m.remember(&cfg(5), TaskId(1), "Plan", Outcome::Completed, "A plan.", 1);
        m.remember(&cfg(5), TaskId(2), "Build", Outcome::Failed, "timed out", 2);
        m.remember(
            &cfg(5),
            TaskId(3),
            "Test",
            Outcome::Completed,
            "All green.",
            3,
        );
        let two = m.section(2);
        assert_eq!(
            two,
            "\n\n# Your recent work\n- T-2 \"Build\" (failed): timed out\n- T-3 \"Test\" (completed): All green.\n"
        );
        assert!(m.section(9).contains("T-1 \"Plan\""));
        assert_eq!(m.section(0), "");
    }

    #[test]
    fn memory_is_rebuilt_from_finished_tasks_in_the_order_they_ended() {
        let cfg = cfg(2);
        let task = |id: u64, status: TaskStatus, finished: u64| {
            let mut t = Task::new(TaskId(id), Default::default(), vec![], "person", 3, 0);
            t.title = format!("t{id}");
            t.status = status;
            t.finished_ms = Some(finished);
            t.result = Some(hypernet_model::tasks::TaskResult {
                text: format!("answer {id}"),
                ..Default::default()
            });
            t.error = Some(format!("error {id}"));
            t
        };
        let mut m = WorkerMemory::default();
        // Ids 1..4 in store order; T-3 ended last, T-4 is still running.
        m.restore(&cfg, &task(1, TaskStatus::Completed, 10));
        m.restore(&cfg, &task(2, TaskStatus::Failed, 20));
        m.restore(&cfg, &task(3, TaskStatus::Completed, 40));
        m.restore(&cfg, &task(4, TaskStatus::Running, 0));
        m.restore(&cfg, &task(5, TaskStatus::Completed, 5));
        let kept: Vec<(u64, &str)> = m
            .entries
            .iter()
            .map(|e| (e.task.0, e.summary.as_str()))
            .collect();
        assert_eq!(kept, [(2, "error 2"), (3, "answer 3")]);
    }

    #[test]
    fn disabled_memory_remembers_nothing_and_bad_bounds_are_refused() {
        let off = MemoryConfig {
            enabled: false,
            ..MemoryConfig::default()
        };
        let mut m = WorkerMemory::default();
        m.remember(&off, TaskId(1), "t", Outcome::Completed, "x", 1);
        assert!(m.entries.is_empty());
        let zero = MemoryConfig {
            max_entries: 0,
            ..MemoryConfig::default()
        };
        assert!(zero.validate().unwrap_err().contains("memory.max_entries"));
        assert!(toml::from_str::<MemoryConfig>("max_entry = 3").is_err());
    }
}
