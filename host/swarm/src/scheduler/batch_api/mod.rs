//! Provider batch APIs (Anthropic Message Batches, OpenAI Batch) at their discounted
//! price. A task is *deferrable* when filed so (`deferrable: true`) or when its priority is
//! at or below `[batch_api] defer_at_or_below`; with `[batch_api] enabled`, a ready
//! deferrable task whose routed model's provider takes batches skips the workers' queue:
//! the core takes it for a batch ([`book`], its hooks in the core), reserving its worst
//! case at the batch price; the [`runner`] collects such requests per provider and model
//! for `collect_ms` (or until `max_requests`), submits them as one batch, and polls it
//! every `poll_ms`. The batch's id and its tasks are stored ([`persist`]) in the
//! scheduler's batch transaction, so a restarted host polls the same batch instead of
//! submitting again. Each answer completes its task like a normal call's, charged at the
//! batch price; a request that errored or expired, or a batch that failed, expired or was
//! cancelled, sends its tasks back to ready to run as normal calls, with no attempt
//! counted. A batched task gets one answer: no tools, no tool loop.
//!
//! ```toml
//! [batch_api]
//! enabled = true               # default false
//! defer_at_or_below = "low"    # default: none (only tasks filed as deferrable)
//! max_requests = 1000          # default: the most requests in one batch
//! collect_ms = 60000           # default: how long ready deferrable tasks are collected
//! poll_ms = 60000              # default: how often a submitted batch is polled
//! ```

pub mod book;
mod loop_hooks;
pub mod persist;
pub mod runner;

pub(in crate::scheduler) use loop_hooks::start_runner;
pub use loop_hooks::{batch_limits, batchable};

use hypernet_model::tasks::Task;
use hypernet_plugin_api::Priority;
use serde::Deserialize;

/// `[batch_api]`: which tasks go through providers' batch APIs, and how.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BatchApiConfig {
    /// Whether deferrable tasks go through batch APIs at all.
    pub enabled: bool,
    /// Tasks of this priority or lower are deferrable whether or not they were filed so.
    pub defer_at_or_below: Option<Priority>,
    /// The most requests in one batch (the provider's own limit applies too).
    pub max_requests: usize,
    /// How long ready deferrable tasks are collected before their batch is submitted.
    pub collect_ms: u64,
    /// How often a submitted batch is polled.
    pub poll_ms: u64,
}

impl Default for BatchApiConfig {
    fn default() -> Self {
        BatchApiConfig {
            enabled: false,
            defer_at_or_below: None,
            max_requests: 1000,
            collect_ms: 60_000,
            poll_ms: 60_000,
        }
    }
}

impl BatchApiConfig {
    /// Checks the values; errors name the key.
    ///
    /// ```
    /// use hypernet_swarm::scheduler::batch_api::BatchApiConfig;
    /// let bad = BatchApiConfig { max_requests: 0, ..BatchApiConfig::default() };
    /// assert!(bad.validate().unwrap_err().contains("`batch_api.max_requests`"));
    /// ```
    pub fn validate(&self) -> Result<(), String> {
        if self.max_requests == 0 {
            return Err("`batch_api.max_requests` must be at least 1, not 0".into());
        }
        if self.poll_ms < 100 {
            return Err(format!(
                "`batch_api.poll_ms` must be at least 100, not {}",
                self.poll_ms
            ));
        }
        Ok(())
    }

    /// Whether `task` may wait for a batch: filed as deferrable, or of a priority at or
    /// below `defer_at_or_below`.
    ///
    /// ```
    /// use hypernet_swarm::scheduler::batch_api::BatchApiConfig;
    /// use hypernet_model::tasks::{Task, TaskId, TaskSpec};
    /// use hypernet_plugin_api::Priority;
    /// let cfg = BatchApiConfig { defer_at_or_below: Some(Priority::Low), ..BatchApiConfig::default() };
    /// let task = |priority, deferrable| Task::new(TaskId(1), TaskSpec { title: "t".into(), priority, deferrable, ..TaskSpec::default() }, vec![], "person", 3, 0);
    /// assert!(cfg.defers(&task(Priority::Low, false)));
    /// assert!(cfg.defers(&task(Priority::High, true)));
    /// assert!(!cfg.defers(&task(Priority::Normal, false)));
    /// ```
    pub fn defers(&self, task: &Task) -> bool {
        task.deferrable
            || self
                .defer_at_or_below
                .is_some_and(|level| task.priority <= level)
    }
}
