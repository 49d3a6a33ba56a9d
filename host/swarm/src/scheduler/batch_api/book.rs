//! What the scheduler core keeps of batches: the tasks taken for one (collecting or
//! submitted), the submitted batches with their tasks, the requests still to hand to the
//! [`super::runner`], and the changes to write with the next batch transaction. Plain
//! data; the core's hooks decide (`core/batch_hooks.rs`).

use super::BatchApiConfig;
use hypernet_model::tasks::TaskId;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Which provider (by address) takes batches for a model, if one does.
pub type Batchable = Box<dyn Fn(&str) -> Option<String> + Send>;

/// One task's request in a batch, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    /// The task.
    pub task: TaskId,
    /// Its attempt (an answer for another attempt is ignored).
    pub attempt: u32,
    /// The id its result carries.
    pub custom_id: String,
    /// Its worst case at the batch price, reserved against the budget.
    pub reserved_micros: u64,
}

/// A submitted batch, as stored: polled (again, after a restart) until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredBatch {
    /// The provider's id of the batch.
    pub id: String,
    /// The provider plugin's address.
    pub provider: String,
    /// The model of its requests.
    pub model: String,
    /// When it was submitted (ms since the Unix epoch).
    pub submitted_ms: u64,
    /// Its tasks.
    pub entries: Vec<StoredEntry>,
}

/// A task taken for a batch, for the loop to build its request and hand to the runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToSubmit {
    /// The task.
    pub task: TaskId,
    /// Its attempt.
    pub attempt: u32,
    /// The id its result will carry.
    pub custom_id: String,
    /// The worker whose identity the prompt carries (its index).
    pub worker_index: usize,
    /// The worker's name.
    pub worker: String,
    /// The routed model.
    pub model: String,
    /// The provider's address.
    pub provider: String,
    /// Output token limit.
    pub max_tokens: u32,
}

/// A change to the stored batches, written with the next batch transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A batch was submitted.
    Put(StoredBatch),
    /// A batch ended (or failed): its record goes.
    Remove(String),
}

/// A task taken for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parked {
    pub attempt: u32,
    pub reserved_micros: u64,
    pub provider: String,
}

/// A batch as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchView {
    /// The provider's id of the batch.
    pub id: String,
    /// The provider plugin.
    pub provider: String,
    /// The model.
    pub model: String,
    /// Its tasks.
    pub tasks: Vec<String>,
    /// When it was submitted (ms since the Unix epoch).
    pub submitted_ms: u64,
}

/// What `status` shows of batch APIs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchApiView {
    /// Tasks waiting to be submitted.
    pub collecting: usize,
    /// Submitted batches not yet ended.
    pub batches: Vec<BatchView>,
}

/// The core's record of batches.
#[derive(Default)]
pub struct Book {
    /// `[batch_api]`.
    pub(crate) cfg: BatchApiConfig,
    /// Which provider takes batches for a model (none until the providers are known).
    pub(crate) batchable: Option<Batchable>,
    /// Tasks taken for a batch, collecting or submitted.
    pub(crate) parked: HashMap<TaskId, Parked>,
    /// Submitted batches by id.
    pub(crate) batches: BTreeMap<String, StoredBatch>,
    /// Taken in this scheduler batch, for the runner once it is durable.
    pub(crate) to_submit: Vec<ToSubmit>,
    /// To write with the next batch transaction.
    pub(crate) changes: Vec<Change>,
}

impl std::fmt::Debug for Book {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("parked", &self.parked.len())
            .field("batches", &self.batches.len())
            .finish()
    }
}

impl BatchApiView {
    /// In words, for `hypernet status`: `2 collecting; msgbatch_01 (provider-anthropic,
    /// 3 tasks)`.
    ///
    /// ```
    /// use hypernet_swarm::scheduler::batch_api::book::{BatchApiView, BatchView};
    /// let v = BatchApiView { collecting: 1, batches: vec![BatchView { id: "msgbatch_01".into(), provider: "provider-anthropic".into(), tasks: vec!["T-1".into(), "T-2".into()], ..BatchView::default() }] };
    /// assert_eq!(v.text(), "1 collecting; msgbatch_01 (provider-anthropic, 2 tasks)");
    /// assert_eq!(BatchApiView::default().text(), "none");
    /// ```
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if self.collecting > 0 {
            parts.push(format!("{} collecting", self.collecting));
        }
        for b in &self.batches {
            parts.push(format!(
                "{} ({}, {} tasks)",
                b.id,
                b.provider,
                b.tasks.len()
            ));
        }
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join("; ")
        }
    }
}

impl Book {
    /// The id a task's request carries in a batch: `T-5-2` for attempt 2 of T-5.
    ///
    /// ```
    /// use hypernet_swarm::scheduler::batch_api::book::Book;
    /// use hypernet_model::tasks::TaskId;
    /// assert_eq!(Book::custom_id(TaskId(5), 2), "T-5-2");
    /// ```
    pub fn custom_id(task: TaskId, attempt: u32) -> String {
        format!("{task}-{attempt}")
    }

    /// Whether `task` is taken for a batch.
    pub fn holds(&self, task: TaskId) -> bool {
        self.parked.contains_key(&task)
    }

    /// What `status` shows.
    pub fn view(&self) -> BatchApiView {
        let submitted: usize = self.batches.values().map(|b| b.entries.len()).sum();
        BatchApiView {
            collecting: self.parked.len().saturating_sub(submitted),
            batches: self
                .batches
                .values()
                .map(|b| BatchView {
                    id: b.id.clone(),
                    provider: b.provider.clone(),
                    model: b.model.clone(),
                    tasks: b.entries.iter().map(|e| e.task.to_string()).collect(),
                    submitted_ms: b.submitted_ms,
                })
                .collect(),
        }
    }
}
