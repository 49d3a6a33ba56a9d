//! Applying the end of a call. An answer is settled against the budget and completes its
//! task (unless it looks like an error, waits on an approval, or its signals say
//! otherwise); a failure is counted on the ladder and either retried automatically with
//! doubling backoff or fails the task for good; a provider that is down sends the task to
//! the next fallback model at once. Either way the worker is released to its reservation,
//! if it has one, and its stats are updated. Retries whose time has come go back to ready
//! here too.

use super::Core;
use crate::router::{self, Route};
use crate::scheduler::ladder::Failure;
use hypernet_llm::CallError;
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::output::looks_like_error;
use hypernet_model::tasks::{TaskId, TaskResult, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;

impl Core {
    /// Frees the worker whose call for `id` failed with `error`, counting the failure in
    /// its stats and its memory.
    fn release_after_failure(&mut self, id: TaskId, error: &str, now_ms: u64) {
        if let Some(w) = self.release_worker(id, now_ms) {
            let stats = &mut self.workers[w].stats;
            stats.tasks_failed += 1;
            stats.last_active_ms = Some(now_ms);
            self.fx.workers.insert(w);
            self.after_failure(w, id, error, now_ms);
        }
    }

    /// Ends worker `w`'s hold on `id`, if it holds it; returns the worker's index. Its
    /// reservation, if any, becomes its running task (started here unless its call task
    /// has started it already); otherwise the worker is free.
    pub(super) fn release_worker(&mut self, id: TaskId, now_ms: u64) -> Option<usize> {
        let w = self.worker_of(id)?;
        if self.leave_batch(w, id) {
            return Some(w);
        }
        self.workers[w].current = None;
        self.workers_changed = true;
        if self.workers[w].leaving {
            self.withdraw(w, "its worker was removed");
            self.retire(w);
            return Some(w);
        }
        match self.workers[w].reserved.take() {
            Some(next) => {
                let dispatch = self.slots.withdraw(w).is_some();
                self.run_on(next, w, now_ms, dispatch);
            }
            None => self.free.push_back(w),
        }
        Some(w)
    }

    pub(super) fn is_current(&self, id: TaskId, attempt: u32) -> bool {
        self.active
            .get(&id)
            .is_some_and(|t| t.status == TaskStatus::Running && t.attempts == attempt)
    }

    /// Records a model's answer. Output that looks like an error counts as a failure.
    /// Answers for a task that was cancelled or re-queued meanwhile are ignored.
    pub fn complete(&mut self, id: TaskId, attempt: u32, result: TaskResult, now_ms: u64) {
        if !self.is_current(id, attempt) {
            return;
        }
        let mut result = result;
        let task = &self.active[&id];
        let model = if task.model.is_empty() {
            result.model.clone()
        } else {
            task.model.clone()
        };
        let worker = task.worker.clone().unwrap_or_default();
        // Tokens were spent whatever the answer says; earlier calls of a loop were
        // charged as it went, so only the last one is settled here.
        let earlier = self.take_step_spend(id, attempt);
        let last = crate::budget::Tokens::of_result(&result).minus(&earlier.tokens);
        result.cost_micros = self.charge(id, &model, &worker, last, now_ms) + earlier.cost_micros;
        self.fx.budget = true;
        self.pinned.remove(&id);
        self.fallback_pos.remove(&id);
        if !result.injection_flags.is_empty() {
            self.fx.events.push((
                "task.flagged".into(),
                json!({ "task": id, "worker": worker, "flags": result.injection_flags }),
            ));
        }
        if let Some(approval) = result.awaiting_approval {
            return self.await_approval(id, approval, &result, now_ms);
        }
        if looks_like_error(&result.text) {
            let excerpt: String = result.text.chars().take(120).collect();
            return self.fail(
                id,
                attempt,
                format!("output looks like an error: {excerpt}"),
                now_ms,
            );
        }
        if let Some(name) = &self.active[&id].worker {
            self.ladder.success(name);
            self.fx.ladder |= self.ladder.take_changed();
        }
        if self.read_signals(id, &mut result, now_ms) {
            return;
        }
        let held_by = self.release_worker(id, now_ms);
        if let Some(w) = held_by {
            let stats = &mut self.workers[w].stats;
            stats.tasks_done += 1;
            stats.tokens += result.input_tokens + result.output_tokens;
            stats.cost_micros += result.cost_micros;
            stats.last_active_ms = Some(now_ms);
            self.fx.workers.insert(w);
            self.after_completion(w, id, &result, now_ms);
        }
        let payload = json!({ "model": result.model, "input_tokens": result.input_tokens, "output_tokens": result.output_tokens, "cost_micros": result.cost_micros });
        let task = self.active.get_mut(&id).expect("current");
        task.result = Some(result);
        task.error = None;
        task.finished_ms = Some(now_ms);
        self.set_status(id, TaskStatus::Completed, payload)
            .expect("running tasks may complete");
        self.completed_since_start += 1;
        self.evict(id);
        let _ = self.reevaluate_dependents(id);
    }

    /// Records a failed attempt: retried automatically with backoff while attempts remain,
    /// otherwise failed for good (its dependents stay blocked with the reason).
    pub fn fail(&mut self, id: TaskId, attempt: u32, error: String, now_ms: u64) {
        if !self.is_current(id, attempt) {
            return;
        }
        self.note_failure(id, Failure::Other, now_ms);
        self.fail_attempt(id, error, true, now_ms);
    }

    /// [`Core::fail`] once the failure is counted; without `retry`, the task fails for
    /// good whatever attempts remain.
    fn fail_attempt(&mut self, id: TaskId, error: String, retry: bool, now_ms: u64) {
        self.budget.release(id);
        self.step_spend.remove(&id);
        self.pinned.remove(&id);
        self.fallback_pos.remove(&id);
        self.release_after_failure(id, &error, now_ms);
        let task = &self.active[&id];
        let retry_at = (retry && task.attempts < task.max_attempts).then(|| {
            let shift = task.attempts.saturating_sub(1).min(20);
            let delay = self
                .cfg
                .retry_backoff_ms
                .saturating_mul(1 << shift)
                .min(self.cfg.retry_backoff_max_ms);
            now_ms + delay
        });
        self.record_failure(id, error, retry_at, now_ms);
    }

    /// Marks `id` failed with `error`: retried at `retry_at`, or else for good (its
    /// dependents stay blocked with the reason).
    pub(super) fn record_failure(
        &mut self,
        id: TaskId,
        error: String,
        retry_at: Option<u64>,
        now_ms: u64,
    ) {
        let task = self.active.get_mut(&id).expect("held");
        task.error = Some(error.clone());
        task.finished_ms = Some(now_ms);
        task.retry_at_ms = retry_at;
        self.set_status(
            id,
            TaskStatus::Failed,
            json!({ "error": error, "retry_at_ms": retry_at }),
        )
        .expect("running, assigned and ready tasks may fail");
        self.failed_since_start += 1;
        match retry_at {
            Some(at) => {
                self.retries.insert((at, id));
            }
            None => {
                let _ = self.reevaluate_dependents(id);
                self.evict(id);
            }
        }
    }

    /// Records a failed call with its typed error. An error that cannot succeed on another
    /// attempt (see [`router::cannot_succeed`]) fails the task for good at once. When the
    /// provider is down (after the executor's retries) and the fallback chain has a model
    /// left, the task goes straight back to ready on that model, with no backoff; otherwise
    /// as [`Core::fail`].
    pub fn fail_call(&mut self, id: TaskId, attempt: u32, error: &CallError, now_ms: u64) {
        if !self.is_current(id, attempt) {
            return;
        }
        self.note_failure(id, Failure::of(error), now_ms);
        if router::cannot_succeed(error) {
            let error = format!("{error} (not retried: another attempt cannot succeed)");
            return self.fail_attempt(id, error, false, now_ms);
        }
        let Some(why) = router::provider_down(error) else {
            return self.fail_attempt(id, error.to_string(), true, now_ms);
        };
        let model = self.active[&id].model.clone();
        let from = self.fallback_pos.get(&id).copied().unwrap_or(0);
        let Some((pos, next)) = router::next_fallback(&self.router, from, &model)
            .map(|(pos, next)| (pos, next.to_owned()))
        else {
            return self.fail_attempt(id, error.to_string(), true, now_ms);
        };
        let reason = format!("fallback after {model}: {why}");
        self.pinned.insert(
            id,
            Route {
                model: next.clone(),
                reason: reason.clone(),
            },
        );
        self.fallback_pos.insert(id, pos + 1);
        self.budget.release(id);
        self.release_after_failure(id, &error.to_string(), now_ms);
        let task = self.active.get_mut(&id).expect("current");
        task.error = Some(error.to_string());
        task.worker = None;
        // The failed call is charged to the provider, not to the task's attempts.
        task.max_attempts += 1;
        let priority = task.priority;
        tracing::info!(task = %id, from = %model, to = %next, why = %why, "falling back");
        self.set_status(
            id,
            TaskStatus::Ready,
            json!({ "reason": reason, "error": error.to_string() }),
        )
        .expect("running tasks may become ready");
        self.failed_since_start += 1;
        self.ready.insert((Reverse(priority), id));
    }

    /// Moves failed tasks whose retry time has come back to ready.
    pub fn release_retries(&mut self, now_ms: u64) {
        while let Some(&(at, id)) = self.retries.iter().next() {
            if at > now_ms {
                break;
            }
            self.retries.remove(&(at, id));
            self.requeue_failed(id, "automatic retry");
        }
    }

    pub(super) fn requeue_failed(&mut self, id: TaskId, reason: &str) {
        let task = self.active.get_mut(&id).expect("retried tasks are held");
        task.retry_at_ms = None;
        task.finished_ms = None;
        let priority = task.priority;
        let key = content_key(&task.title, &task.description);
        self.set_status(id, TaskStatus::Ready, json!({ "reason": reason }))
            .expect("failed tasks may become ready");
        self.dedup.entry(key).or_insert(id);
        self.ready.insert((Reverse(priority), id));
        let _ = self.reevaluate_dependents(id);
    }
}
