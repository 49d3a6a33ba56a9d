//! What the core keeps for each worker between its tasks: its memory of recent tasks
//! ([`crate::workers::memory`]), its personal time ([`crate::workers::personal`]), and the
//! rule that a task filed `for_worker` goes to that worker alone.

use super::{Core, CoreError, PlannedTask};
use crate::budget;
use crate::workers::memory::{MemoryConfig, Outcome, WorkerMemory};
use crate::workers::personal::{self, PersonalEntry, PersonalTimeConfig};
use hypernet_model::tasks::{Task, TaskId, TaskResult};

impl Core {
    /// Sets worker memory and personal time (until called: memory on with its defaults,
    /// personal time off).
    pub fn configure_workers(&mut self, memory: MemoryConfig, personal: PersonalTimeConfig) {
        self.memory_cfg = memory;
        self.personal = personal;
    }

    /// Rebuilds the memory of the worker that finished the restored `task` (see
    /// [`WorkerMemory::restore`]).
    pub(super) fn remember_restored(&mut self, task: &Task) {
        if !self.memory_cfg.enabled || task.status.is_unfinished() {
            return;
        }
        let Some(name) = task.worker.as_deref() else {
            return;
        };
        if let Some(w) = self.workers.iter_mut().find(|w| w.config.name == name) {
            w.memory.restore(&self.memory_cfg, task);
        }
    }

    /// Memory settings.
    pub fn memory_config(&self) -> &MemoryConfig {
        &self.memory_cfg
    }

    /// Worker `index`'s name and memory.
    pub fn worker_memory(&self, index: usize) -> (&str, &WorkerMemory) {
        let w = &self.workers[index];
        (&w.config.name, &w.memory)
    }

    /// The memory of the live worker called `name` (any case).
    pub fn memory_of(&self, name: &str) -> Option<&WorkerMemory> {
        self.workers
            .iter()
            .find(|w| !w.retired && w.config.name.eq_ignore_ascii_case(name))
            .map(|w| &w.memory)
    }

    /// Whether worker `w` may take `task`: any worker may, unless it is filed for one.
    pub(super) fn may_take(&self, task: &Task, w: usize) -> bool {
        task.for_worker
            .as_deref()
            .is_none_or(|name| self.workers[w].config.name.eq_ignore_ascii_case(name))
    }

    /// The configured name of the live worker called `name` (any case), or an error naming
    /// the field and the workers there are.
    pub(super) fn live_worker_name(&self, name: &str) -> Result<String, CoreError> {
        let live = || self.workers.iter().filter(|w| !w.retired);
        live()
            .find(|w| w.config.name.eq_ignore_ascii_case(name))
            .map(|w| w.config.name.clone())
            .ok_or_else(|| {
                let names: Vec<&str> = live().map(|w| w.config.name.as_str()).collect();
                CoreError::Invalid(format!(
                    "`for_worker`: no worker is named `{name}` (workers: {})",
                    names.join(", ")
                ))
            })
    }

    /// Worker `w` answered `id` with `result`: it remembers the task; personal time goes to
    /// its personal log, work counts towards its next personal time.
    pub(super) fn after_completion(
        &mut self,
        w: usize,
        id: TaskId,
        result: &TaskResult,
        now_ms: u64,
    ) {
        let task = &self.active[&id];
        let worker = &mut self.workers[w];
        worker.memory.remember(
            &self.memory_cfg,
            id,
            &task.title,
            Outcome::Completed,
            &result.text,
            now_ms,
        );
        if personal::is_personal(&task.tags) {
            self.fx.personal.push(PersonalEntry {
                task: id.to_string(),
                worker: worker.config.name.clone(),
                text: result.text.clone(),
                model: result.model.clone(),
                at_ms: now_ms,
            });
            return;
        }
        if !self.personal.enabled || worker.ephemeral {
            return;
        }
        worker.stats.work_since_personal += 1;
        let interval = self.personal.interval(budget::is_local(&worker.model));
        if worker.stats.work_since_personal < interval {
            return;
        }
        let spec = self.personal.spec(&worker.config.name);
        let name = worker.config.name.clone();
        match self.file(vec![PlannedTask { key: None, spec }], "host", now_ms) {
            Ok(filed) => {
                self.workers[w].stats.work_since_personal = 0;
                tracing::info!(worker = %name, task = %filed[0].id, "personal time filed");
            }
            // Counted on: the next completion tries again.
            Err(e) => tracing::warn!(worker = %name, error = %e, "personal time not filed"),
        }
    }

    /// Worker `w`'s attempt at `id` failed with `error`: it remembers that too.
    pub(super) fn after_failure(&mut self, w: usize, id: TaskId, error: &str, now_ms: u64) {
        let cfg = self.memory_cfg.clone();
        let title = self
            .active
            .get(&id)
            .map(|t| t.title.clone())
            .unwrap_or_default();
        self.workers[w]
            .memory
            .remember(&cfg, id, &title, Outcome::Failed, error, now_ms);
    }
}
