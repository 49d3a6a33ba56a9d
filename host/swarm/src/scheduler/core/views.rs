//! What the loop and the API read of the core: whether it is idle and how many calls are in
//! flight, the workers with their stats, the counts for `status`, and the id counter
//! persisted with each batch.

use super::{Core, Counts};
use crate::workers::{WorkerConfig, WorkerStats, WorkerView};
use hypernet_model::tasks::TaskStatus;

impl Core {
    /// No task ready or in flight and no retry scheduled.
    pub fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.free.len() == self.alive() && self.retries.is_empty()
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.alive() - self.free.len()
    }

    /// Workers alive: configured ones and ephemeral ones not despawned.
    pub(super) fn alive(&self) -> usize {
        self.workers.len() - self.retired
    }

    /// The configuration of the worker at `index`.
    pub fn worker_config_at(&self, index: usize) -> &WorkerConfig {
        &self.workers[index].config
    }

    /// Every worker with its stats.
    pub fn worker_views(&self) -> Vec<WorkerView> {
        (0..self.workers.len())
            .filter(|&w| !self.workers[w].retired)
            .map(|w| self.worker_view(w))
            .collect()
    }

    /// The worker at index `w` as shown.
    pub(super) fn worker_view(&self, w: usize) -> WorkerView {
        let w = &self.workers[w];
        WorkerView {
            name: w.config.name.clone(),
            address: w.config.address(),
            account: w.config.account.clone(),
            role: w.config.role.clone(),
            capabilities: w.config.capabilities.clone(),
            model: w.model.clone(),
            current_task: w.current.map(|t| t.to_string()),
            next_task: w.reserved.map(|t| t.to_string()),
            suspended_until_ms: self.ladder.suspension(&w.config.name).map(|s| s.until_ms),
            suspension_reason: self
                .ladder
                .suspension(&w.config.name)
                .map(|s| s.reason.clone()),
            stats: w.stats.clone(),
            ephemeral: w.ephemeral,
            paused: w.paused,
            leaving: w.leaving,
            added: w.added,
        }
    }

    /// Name and stats of the worker at `index`.
    pub fn worker_stats(&self, index: usize) -> (&str, &WorkerStats) {
        let w = &self.workers[index];
        (&w.config.name, &w.stats)
    }

    /// The counter persisted with each batch.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Whether worker stats or occupancy changed since the last call.
    pub fn take_workers_changed(&mut self) -> bool {
        std::mem::take(&mut self.workers_changed)
    }

    /// Counts for `status`.
    pub fn counts(&self) -> Counts {
        let by_status = TaskStatus::ALL
            .iter()
            .zip(self.held_by_status)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (s.to_string(), n))
            .collect();
        Counts {
            by_status,
            finished: self
                .finished
                .counts()
                .map(|(s, n)| (s.to_string(), n))
                .collect(),
            busy_workers: self.in_flight(),
            workers: self.alive(),
            completed_since_start: self.completed_since_start,
            failed_since_start: self.failed_since_start,
        }
    }
}
