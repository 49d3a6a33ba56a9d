//! Worker memory: a short, bounded record of what each worker did lately — one line per
//! finished task (its title, how it ended and the start of its answer or error) — carried
//! into the system prompt of the worker's later calls, so that it knows what it has just
//! done. Kept in the store beside the worker's stats, so a restart forgets nothing.
//!
//! ```toml
//! [memory]
//! enabled = true        # false: no memory is kept or shown
//! max_entries = 8       # tasks remembered per worker; the oldest is forgotten first
//! summary_chars = 200   # each task's summary is cut here
//! compact_entries = 2   # how many of them a compact prompt shows (0: none)
//! ```

use crate::tasks::TaskId;
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

/// `text` on one line, cut at `max` characters (an ellipsis marks the cut).
fn summarize(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
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
