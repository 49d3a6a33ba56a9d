//! Batched execution: simple routine tasks that are ready together, route to the same model
//! and carry the same tags go to one worker as one call. The prompt lists each task with its
//! id and asks for each answer in its own delimited block ([`prompt`]); the answer is split
//! back into one answer per task ([`split`]), and each task completes through the normal
//! path with its share of the call's tokens and cost ([`shares`]). An answer that cannot be
//! split, or a failed batched call, puts its tasks back to ready for single calls without
//! spending an attempt.
//!
//! This module holds the pure parts (configuration, which tasks qualify, the prompt, the
//! splitting, the shares); the scheduler core groups and settles in
//! `core/batching_hooks.rs`, and the loop makes the call in [`call`].
//!
//! ```toml
//! [batching]
//! enabled = true                  # group qualifying tasks into one call
//! max_tasks = 8                   # the most tasks in one call (at least 2)
//! max_chars = 12000               # the most characters of task text in one call
//! complexities = ["simple"]       # which complexities qualify
//! tags = ["docs", "formatting", "testing", "automated", "review"]   # a task qualifies
//!                                 # when it has tags and every one is listed here
//! ```

pub mod call;
pub mod group;
pub mod prompt;
pub mod shares;
pub mod split;

use hypernet_model::tasks::Complexity;
use serde::Deserialize;

/// `[batching]` in `hypernet.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchingConfig {
    /// Whether qualifying tasks are grouped into one call.
    pub enabled: bool,
    /// The most tasks in one call.
    pub max_tasks: usize,
    /// The most characters of task text (titles, descriptions) in one call.
    pub max_chars: usize,
    /// The complexities that qualify.
    pub complexities: Vec<Complexity>,
    /// A task qualifies when it has tags and every one is in this list (empty: any tags,
    /// and untagged tasks too).
    pub tags: Vec<String>,
}

impl Default for BatchingConfig {
    fn default() -> Self {
        BatchingConfig {
            enabled: true,
            max_tasks: 8,
            max_chars: 12_000,
            complexities: vec![Complexity::Simple],
            tags: ["docs", "formatting", "testing", "automated", "review"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl BatchingConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_tasks < 2 {
            return Err(format!(
                "`batching.max_tasks` must be at least 2, not {}",
                self.max_tasks
            ));
        }
        if self.max_chars == 0 {
            return Err("`batching.max_chars` must be at least 1".into());
        }
        if self.enabled && self.complexities.is_empty() {
            return Err(
                "`batching.complexities` is empty: no task would qualify (set `enabled = false` instead)"
                    .into(),
            );
        }
        if let Some(t) = self.tags.iter().find(|t| t.trim().is_empty()) {
            return Err(format!("`batching.tags` has an empty entry ({t:?})"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named_by_key() {
        assert!(BatchingConfig::default().validate().is_ok());
        let err = |cfg: BatchingConfig| cfg.validate().unwrap_err();
        let max_tasks = err(BatchingConfig {
            max_tasks: 1,
            ..Default::default()
        });
        assert!(max_tasks.contains("`batching.max_tasks`"), "{max_tasks}");
        let max_chars = err(BatchingConfig {
            max_chars: 0,
            ..Default::default()
        });
        assert!(max_chars.contains("`batching.max_chars`"), "{max_chars}");
        let complexities = err(BatchingConfig {
            complexities: Vec::new(),
            ..Default::default()
        });
        assert!(
            complexities.contains("`batching.complexities`"),
            "{complexities}"
        );
        let tags = err(BatchingConfig {
            tags: vec![" ".into()],
            ..Default::default()
        });
        assert!(tags.contains("`batching.tags`"), "{tags}");
    }
}
