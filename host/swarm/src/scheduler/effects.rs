//! What one batch of scheduler decisions asks the outside world to do: persist, announce,
//! call models. The core only records them; the loop carries them out, in that order.

use hypernet_model::tasks::{Task, TaskId};
use serde_json::Value;
use std::collections::BTreeSet;

/// A model call to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    /// The task.
    pub task: TaskId,
    /// Its attempt number (stale answers are recognised by it).
    pub attempt: u32,
    /// The worker's name.
    pub worker: String,
    /// The model to call.
    pub model: String,
    /// Output token limit of the call.
    pub max_tokens: u32,
    /// The worker's index.
    pub worker_index: usize,
    /// The call task that runs it (see [`super::reserve`]).
    pub lane: u64,
}

/// The accumulated effects of a batch.
#[derive(Debug, Default)]
pub struct Effects {
    /// Tasks changed and still held in memory.
    pub dirty: BTreeSet<TaskId>,
    /// Tasks that finished in this batch (final state, no longer held).
    pub finished: Vec<Task>,
    /// Workers whose stats changed (indexes).
    pub workers: BTreeSet<usize>,
    /// Standing-priority cooldowns changed.
    pub cooldowns: bool,
    /// What people changed of the workers changed (see [`super::core::roster`]).
    pub roster: bool,
    /// The budget's persisted spend changed.
    pub budget: bool,
    /// Events to announce after the batch is durable: (kind, payload).
    pub events: Vec<(String, Value)>,
    /// Calls to start after the batch is durable.
    pub dispatch: Vec<Dispatch>,
    /// The failure ladder's state changed (persisted with the batch).
    pub ladder: bool,
    /// Probe calls to make (see [`super::ladder`]).
    pub probes: Vec<super::ladder::Probe>,
    /// Batched calls to start after the batch is durable (see [`super::batching`]).
    pub batches: Vec<super::batching::call::BatchDispatch>,
    /// Reservations to offer to busy workers' call tasks after the batch is durable.
    pub reserve: Vec<Dispatch>,
    /// What workers wrote in their personal time, to copy into the archive once the batch
    /// (which holds the tasks themselves) is durable.
    pub personal: Vec<crate::workers::personal::PersonalEntry>,
    /// Origins of tasks no longer held, as the loop found them in the store for this
    /// batch's filings (see [`super::core::Core::origin_of`]).
    pub stored_origins: std::collections::HashMap<String, hypernet_model::tasks::TaskId>,
}

impl Effects {
    /// Whether there is anything to write.
    pub fn needs_write(&self) -> bool {
        !self.dirty.is_empty()
            || !self.finished.is_empty()
            || !self.workers.is_empty()
            || self.cooldowns
            || self.roster
            || self.budget
            || self.ladder
    }
}
