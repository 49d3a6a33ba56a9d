//! Tasks through providers' batch APIs (see [`crate::scheduler::batch_api`]): ready
//! deferrable tasks are taken for a batch before workers are given theirs, and the
//! runner's reports are applied: a submitted batch recorded, answers completing their
//! tasks, and tasks without an answer sent back to ready to run as normal calls.

use super::{BudgetOutcome, Core};
use crate::router;
use crate::scheduler::batch_api::BatchApiConfig;
use crate::scheduler::batch_api::book::{
    BatchApiView, Batchable, Change, Parked, StoredBatch, StoredEntry, ToSubmit,
};
use crate::scheduler::batch_api::runner::Report;
use hypernet_model::tasks::{BatchState, TaskBatch, TaskId, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;

impl Core {
    /// Sets `[batch_api]` and which provider takes batches for a model.
    pub fn configure_batch_api(&mut self, cfg: BatchApiConfig, batchable: Batchable) {
        self.batch_api.cfg = cfg;
        self.batch_api.batchable = Some(batchable);
    }

    /// After a restore, before [`Core::requeue_interrupted`]: the stored batches' tasks
    /// stay running (their batch is polled again) and their reservations are made again.
    /// Returns the batches whose tasks are still held.
    pub fn restore_batches(&mut self, stored: Vec<StoredBatch>, now_ms: u64) -> Vec<StoredBatch> {
        let mut kept = Vec::new();
        for batch in stored {
            let mut any = false;
            for e in &batch.entries {
                if !self.is_current(e.task, e.attempt) {
                    continue;
                }
                any = true;
                let _ = self.budget.reserve(e.task, e.reserved_micros, now_ms);
                self.batch_api.parked.insert(
                    e.task,
                    Parked {
                        attempt: e.attempt,
                        reserved_micros: e.reserved_micros,
                        provider: batch.provider.clone(),
                    },
                );
            }
            if any {
                self.batch_api
                    .batches
                    .insert(batch.id.clone(), batch.clone());
                kept.push(batch);
            } else {
                self.batch_api.changes.push(Change::Remove(batch.id));
            }
        }
        kept
    }

    /// Whether `id` is taken for a batch (it holds no worker).
    pub fn in_batch(&self, id: TaskId) -> bool {
        self.batch_api.holds(id)
    }

    /// Takes the tasks taken for a batch in this scheduler batch (for the runner, once
    /// the batch is durable).
    pub fn take_batch_submissions(&mut self) -> Vec<ToSubmit> {
        std::mem::take(&mut self.batch_api.to_submit)
    }

    /// Takes the changes to the stored batches (written with the batch transaction).
    pub fn take_batch_changes(&mut self) -> Vec<Change> {
        std::mem::take(&mut self.batch_api.changes)
    }

    /// What `status` shows of batches.
    pub fn batch_api_view(&self) -> Option<BatchApiView> {
        self.batch_api.cfg.enabled.then(|| self.batch_api.view())
    }

    /// Takes every ready deferrable task whose routed model's provider takes batches: it
    /// is assigned (an attempt begins), its worst case at the batch price is reserved, and
    /// it runs in a batch without holding a worker. A task over budget stays ready.
    pub fn collect_deferrable(&mut self, now_ms: u64) {
        if !self.batch_api.cfg.enabled || self.batch_api.batchable.is_none() {
            return;
        }
        let candidates: Vec<(Reverse<hypernet_plugin_api::Priority>, TaskId)> = self
            .ready
            .iter()
            .filter(|(_, id)| {
                let task = &self.active[id];
                self.batch_api.cfg.defers(task)
                    && task
                        .batch
                        .as_ref()
                        .is_none_or(|b| b.state != BatchState::FellBack)
            })
            .copied()
            .collect();
        if candidates.is_empty() {
            return;
        }
        let stopped = self.stopped_workers();
        for (prio, id) in candidates {
            let task = &self.active[&id];
            let Some(w) = (0..self.workers.len()).find(|&w| {
                !self.workers[w].retired
                    && !stopped.get(w).copied().unwrap_or(false)
                    && self.may_take(task, w)
                    && !task.rejected_by.contains(&self.workers[w].config.name)
            }) else {
                continue;
            };
            let first = match self.pinned.get(&id) {
                Some(route) => route.clone(),
                None => self.asked_route(task).unwrap_or_else(|| {
                    router::route(&self.router, &self.tiers, task, &self.workers[w].model)
                }),
            };
            if self.batch_provider(&first.model).is_none() {
                continue;
            }
            let mut outcome = BudgetOutcome::default();
            if !self.plan_call(id, w, now_ms, &mut outcome) {
                continue;
            }
            let model = self.active[&id].model.clone();
            let Some(provider) = self.batch_provider(&model) else {
                // The fallback chain chose a model without batches: a normal call.
                self.budget.release(id);
                continue;
            };
            // The worst case at the batch price: half the normal one.
            let reserved_micros = self.budget.held_micros(id) / 2;
            let _ = self.budget.reserve(id, reserved_micros, now_ms);
            self.ready.remove(&(prio, id));
            let attempt = self.claim(id, w);
            let worker = self.workers[w].config.name.clone();
            let task = self.active.get_mut(&id).expect("claimed");
            task.started_ms = Some(now_ms);
            task.batch = Some(TaskBatch {
                state: BatchState::Collecting,
                id: None,
                provider: provider.clone(),
                since_ms: now_ms,
                reason: None,
            });
            self.set_status(
                id,
                TaskStatus::Running,
                json!({ "worker": worker, "model": model, "attempt": attempt, "batch": "collecting" }),
            )
            .expect("assigned tasks may run");
            self.batch_api.parked.insert(
                id,
                Parked {
                    attempt,
                    reserved_micros,
                    provider: provider.clone(),
                },
            );
            let max_tokens = self.limits.max_tokens_for(&self.active[&id].tags);
            self.batch_api.to_submit.push(ToSubmit {
                task: id,
                attempt,
                custom_id: crate::scheduler::batch_api::book::Book::custom_id(id, attempt),
                worker_index: w,
                worker,
                model,
                provider,
                max_tokens,
            });
        }
    }

    /// The provider that takes batches for `model`, if any.
    fn batch_provider(&self, model: &str) -> Option<String> {
        self.batch_api.batchable.as_ref().and_then(|f| f(model))
    }

    /// Applies what the batch runner reports.
    pub fn batch_report(&mut self, report: Report, now_ms: u64) {
        match report {
            Report::Submitted {
                provider,
                model,
                batch_id,
                entries,
            } => {
                let mut stored = Vec::new();
                for (task, attempt, custom_id) in entries {
                    let Some(parked) = self.batch_api.parked.get(&task) else {
                        continue;
                    };
                    if parked.attempt != attempt || !self.is_current(task, attempt) {
                        // Cancelled while collecting: its answer will be ignored.
                        if parked.attempt == attempt {
                            self.batch_api.parked.remove(&task);
                        }
                        continue;
                    }
                    stored.push(StoredEntry {
                        task,
                        attempt,
                        custom_id,
                        reserved_micros: parked.reserved_micros,
                    });
                    if let Some(t) = self.active.get_mut(&task) {
                        t.batch = Some(TaskBatch {
                            state: BatchState::Submitted,
                            id: Some(batch_id.clone()),
                            provider: provider.clone(),
                            since_ms: now_ms,
                            reason: None,
                        });
                        self.fx.dirty.insert(task);
                    }
                }
                let tasks: Vec<String> = stored.iter().map(|e| e.task.to_string()).collect();
                self.fx.events.push((
                    "batch.submitted".into(),
                    json!({ "batch": batch_id, "provider": provider, "model": model, "tasks": tasks }),
                ));
                let batch = StoredBatch {
                    id: batch_id.clone(),
                    provider,
                    model,
                    submitted_ms: now_ms,
                    entries: stored,
                };
                self.batch_api.changes.push(Change::Put(batch.clone()));
                self.batch_api.batches.insert(batch_id, batch);
            }
            Report::NotSubmitted { entries, reason } => {
                for (task, attempt, _) in entries {
                    self.fall_back_from_batch(task, attempt, &reason, now_ms);
                }
            }
            Report::Ended {
                batch_id,
                mut outcomes,
            } => {
                let Some(batch) = self.end_batch(&batch_id) else {
                    return;
                };
                let (mut completed, mut fell_back) = (0, 0);
                for e in &batch.entries {
                    match outcomes.remove(&e.custom_id) {
                        Some(Ok(result)) if self.is_current(e.task, e.attempt) => {
                            // Still parked while settled: charged at the batch price.
                            self.complete(e.task, e.attempt, result, now_ms);
                            self.batch_api.parked.remove(&e.task);
                            completed += 1;
                        }
                        // Cancelled meanwhile: the answer is ignored.
                        Some(Ok(_)) => {
                            self.batch_api.parked.remove(&e.task);
                        }
                        Some(Err(why)) => {
                            fell_back += 1;
                            self.fall_back_from_batch(e.task, e.attempt, &why, now_ms);
                        }
                        None => {
                            fell_back += 1;
                            let why = "the batch's results did not include it";
                            self.fall_back_from_batch(e.task, e.attempt, why, now_ms);
                        }
                    }
                }
                self.fx.events.push((
                    "batch.ended".into(),
                    json!({ "batch": batch_id, "provider": batch.provider, "completed": completed, "fell_back": fell_back }),
                ));
            }
            Report::Failed { batch_id, reason } => {
                let Some(batch) = self.end_batch(&batch_id) else {
                    return;
                };
                for e in &batch.entries {
                    self.fall_back_from_batch(e.task, e.attempt, &reason, now_ms);
                }
                self.fx.events.push((
                    "batch.ended".into(),
                    json!({ "batch": batch_id, "provider": batch.provider, "completed": 0, "fell_back": batch.entries.len(), "reason": reason }),
                ));
            }
        }
    }

    /// Forgets a batch (its record is removed with this scheduler batch), and its tasks'
    /// places in it.
    fn end_batch(&mut self, batch_id: &str) -> Option<StoredBatch> {
        let batch = self.batch_api.batches.remove(batch_id)?;
        self.batch_api
            .changes
            .push(Change::Remove(batch_id.to_owned()));
        Some(batch)
    }

    /// Sends a task the batch gave no answer back to ready, to run as a normal call; the
    /// attempt is not counted against it.
    fn fall_back_from_batch(&mut self, id: TaskId, attempt: u32, why: &str, now_ms: u64) {
        if self
            .batch_api
            .parked
            .get(&id)
            .is_some_and(|p| p.attempt == attempt)
        {
            self.batch_api.parked.remove(&id);
        }
        if !self.is_current(id, attempt) {
            return;
        }
        self.budget.release(id);
        let task = self.active.get_mut(&id).expect("current");
        let provider = task
            .batch
            .as_ref()
            .map(|b| b.provider.clone())
            .unwrap_or_default();
        let batch_id = task.batch.as_ref().and_then(|b| b.id.clone());
        task.batch = Some(TaskBatch {
            state: BatchState::FellBack,
            id: batch_id,
            provider,
            since_ms: now_ms,
            reason: Some(why.to_owned()),
        });
        task.worker = None;
        task.max_attempts += 1;
        let priority = task.priority;
        tracing::info!(task = %id, reason = %why, "no batch answer: a normal call instead");
        self.set_status(
            id,
            TaskStatus::Ready,
            json!({ "reason": format!("no batch answer ({why}): a normal call instead") }),
        )
        .expect("running tasks may become ready");
        self.ready.insert((Reverse(priority), id));
    }
}
