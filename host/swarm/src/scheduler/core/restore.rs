//! Starting from the store and stopping: worker stats, cooldowns and tasks are restored
//! (finished tasks keep only their status in memory), and work that was assigned or running
//! when the host stopped, or is still running at shutdown, goes back to ready with its
//! attempt counted — unless that was its last attempt: then it fails for good, so no crash
//! or refused start can make a task run more than `max_attempts` times.

use super::Core;
use crate::workers::WorkerStats;
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};

impl Core {
    /// Restores worker stats and cooldowns from the store.
    pub fn restore_state(
        &mut self,
        stats: HashMap<String, WorkerStats>,
        cooldowns: BTreeMap<String, u64>,
    ) {
        for w in &mut self.workers {
            if let Some(s) = stats.get(&w.config.name) {
                w.stats = s.clone();
            }
        }
        self.cooldowns = cooldowns;
    }

    /// Restores one stored task (call for every task, oldest first, then
    /// [`Core::requeue_interrupted`]). Finished tasks keep only their status in memory (their
    /// origins are looked up in the store).
    pub fn restore_task(&mut self, task: Task) {
        self.next_id = self.next_id.max(task.id.0 + 1);
        self.remember_restored(&task);
        let keep = task.status.is_unfinished()
            || (task.status == TaskStatus::Failed && task.retry_at_ms.is_some());
        if keep {
            if let Some(origin) = &task.origin {
                self.origins.insert(origin.clone(), task.id);
            }
            self.admit(task);
        } else {
            self.finished.insert(task.id, task.status);
        }
    }

    /// After a restore: tasks that were assigned or running when the host stopped go back to
    /// ready (their attempt stays counted; no call is running for them any more), and ready
    /// tasks whose attempts are spent (stored so by an older release) fail.
    pub fn requeue_interrupted(&mut self, now_ms: u64) {
        let spent: Vec<TaskId> = self
            .active
            .values()
            .filter(|t| t.status == TaskStatus::Ready && t.attempts >= t.max_attempts)
            .map(|t| t.id)
            .collect();
        for id in spent {
            let priority = self.active[&id].priority;
            self.ready.remove(&(Reverse(priority), id));
            self.fail_spent(id, "found ready after a restart", now_ms);
        }
        self.requeue_in_flight("interrupted by a restart", now_ms);
    }

    /// Puts a stored task into the in-memory indexes (no status change).
    fn admit(&mut self, task: Task) {
        let id = task.id;
        if task.status.is_unfinished() {
            self.dedup
                .insert(content_key(&task.title, &task.description), id);
        }
        if task.status == TaskStatus::Ready {
            self.ready.insert((Reverse(task.priority), id));
        }
        if let Some(at) = task
            .retry_at_ms
            .filter(|_| task.status == TaskStatus::Failed)
        {
            self.retries.insert((at, id));
        }
        if matches!(task.status, TaskStatus::Pending | TaskStatus::Blocked) {
            for dep in &task.depends_on {
                if self.finished.get(*dep) != Some(TaskStatus::Completed) {
                    self.waiting_on.entry(*dep).or_default().push(id);
                }
            }
        }
        self.finished.remove(id);
        self.held_by_status[task.status as usize] += 1;
        self.active.insert(id, Box::new(task));
    }

    /// Re-queues every running task (at shutdown, when calls did not finish in time).
    pub fn requeue_running(&mut self, now_ms: u64) {
        self.requeue_in_flight("interrupted at shutdown", now_ms);
    }

    /// Every assigned or running task back to ready (its attempt stays counted) or, when it
    /// was its last, failed; every worker free, every reservation withdrawn.
    fn requeue_in_flight(&mut self, reason: &str, now_ms: u64) {
        for (w, worker) in self.workers.iter_mut().enumerate() {
            worker.batch.clear();
            if worker.current.take().is_some() || worker.reserved.take().is_some() {
                self.slots.withdraw(w);
                self.free.push_back(w);
                self.workers_changed = true;
            }
        }
        let in_flight: Vec<TaskId> = self
            .active
            .values()
            .filter(|t| matches!(t.status, TaskStatus::Assigned | TaskStatus::Running))
            // A submitted batch's tasks wait for it, without a worker.
            .filter(|t| !self.batch_api.holds(t.id))
            .map(|t| t.id)
            .collect();
        for id in in_flight {
            self.budget.release(id);
            let task = self.active.get_mut(&id).expect("held");
            if task.attempts >= task.max_attempts {
                self.fail_spent(id, reason, now_ms);
                continue;
            }
            task.worker = None;
            let priority = task.priority;
            self.set_status(id, TaskStatus::Ready, json!({ "reason": reason }))
                .expect("assigned and running tasks may become ready");
            self.ready.insert((Reverse(priority), id));
        }
    }

    /// Fails `id` for good without another attempt: its attempts are spent, the last one
    /// ended as `how`.
    fn fail_spent(&mut self, id: TaskId, how: &str, now_ms: u64) {
        let task = self.active.get_mut(&id).expect("held");
        let error = format!(
            "attempts spent ({} of {}); the last was {how}",
            task.attempts, task.max_attempts
        );
        tracing::warn!(task = %id, error = %error, "task failed");
        task.worker = None;
        self.record_failure(id, error, None, now_ms);
    }
}
