//! A person's changes to a task: retrying a failed one by hand, and cancelling one that is
//! not finished (a running call's answer is then ignored, a reservation taken back). The
//! task may no longer be held in memory; it is held again for the change, and goes back to
//! the finished ones when the change is refused. (Answers to a task that needs input are in
//! [`super::signal_hooks`].)

use super::{Core, CoreError};
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::{IllegalTransition, Task, TaskId, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;

impl Core {
    /// Retries a failed or cancelled task by hand (even when its attempts are used up): a
    /// failed one is ready at once, a cancelled one waits for its unfinished dependencies
    /// again. `stored` is the task as stored, needed when it is no longer held in memory.
    pub fn retry(&mut self, id: TaskId, stored: Option<Task>) -> Result<(), CoreError> {
        let was_held = self.hold(id, stored)?;
        let from = self.active[&id].status;
        if from == TaskStatus::Cancelled {
            return self.requeue_cancelled(id);
        }
        if from != TaskStatus::Failed {
            self.unhold(id, was_held);
            return Err(CoreError::Illegal {
                id,
                source: IllegalTransition {
                    from,
                    to: TaskStatus::Ready,
                },
            });
        }
        let task = self.active.get_mut(&id).expect("held");
        task.max_attempts = task.max_attempts.max(task.attempts + 1);
        if let Some(at) = task.retry_at_ms {
            self.retries.remove(&(at, id));
        }
        self.requeue_failed(id, "retried by hand");
        Ok(())
    }

    /// Files a held cancelled task again: it waits on its unfinished dependencies (after a
    /// restart nothing records that it did) and is weighed like a new one.
    fn requeue_cancelled(&mut self, id: TaskId) -> Result<(), CoreError> {
        let task = self.active.get_mut(&id).expect("held");
        task.finished_ms = None;
        task.retry_at_ms = None;
        task.blocked_reason = None;
        task.max_attempts = task.max_attempts.max(task.attempts + 1);
        let key = content_key(&task.title, &task.description);
        let deps = task.depends_on.clone();
        for dep in deps {
            if self.status_of(dep) != Some(TaskStatus::Completed) {
                let waiting = self.waiting_on.entry(dep).or_default();
                if !waiting.contains(&id) {
                    waiting.push(id);
                }
            }
        }
        self.dedup.entry(key).or_insert(id);
        self.evaluate(id)?;
        self.reevaluate_dependents(id)
    }

    /// Cancels a task that is not completed or already cancelled. A running call's answer
    /// will be ignored.
    pub fn cancel(
        &mut self,
        id: TaskId,
        stored: Option<Task>,
        now_ms: u64,
    ) -> Result<(), CoreError> {
        let was_held = self.hold(id, stored)?;
        let task = &self.active[&id];
        let (status, priority) = (task.status, task.priority);
        if let Err(source) = status.check(TaskStatus::Cancelled) {
            self.unhold(id, was_held);
            return Err(CoreError::Illegal { id, source });
        }
        // A delegated task: the peer running it is told to drop it.
        let delegated = task
            .delegation
            .as_ref()
            .filter(|_| status == TaskStatus::Delegated)
            .map(|d| json!({ "delegated_to": d.swarm, "round": d.round }))
            .unwrap_or_else(|| json!({}));
        let retry_at = task.retry_at_ms;
        self.ready.remove(&(Reverse(priority), id));
        self.unpark(id, priority);
        if let Some(at) = retry_at {
            self.retries.remove(&(at, id));
        }
        if status == TaskStatus::Assigned
            && let Some(w) = self.workers.iter().position(|w| w.reserved == Some(id))
        {
            // Reserved: taken back, or already started by its call task (whose answer
            // will be ignored, as for any cancelled call).
            self.slots.withdraw(w);
            self.workers[w].reserved = None;
            self.workers_changed = true;
        }
        self.release_worker(id, now_ms);
        self.budget.release(id);
        self.pinned.remove(&id);
        self.fallback_pos.remove(&id);
        let task = self.active.get_mut(&id).expect("held");
        task.finished_ms = Some(now_ms);
        task.retry_at_ms = None;
        // It waits for nothing any more.
        task.blocked_reason = None;
        self.forget_delegation(id);
        self.set_status(id, TaskStatus::Cancelled, delegated)?;
        let result = self.reevaluate_dependents(id);
        self.evict(id);
        result
    }

    /// Makes sure a finished task is held in memory for a change; returns whether it was
    /// held already. The newest copy wins: one that finished earlier in this batch (not yet
    /// written) before the stored one, which is current for anything finished in an earlier
    /// batch.
    fn hold(&mut self, id: TaskId, stored: Option<Task>) -> Result<bool, CoreError> {
        if self.active.contains_key(&id) {
            return Ok(true);
        }
        let task = match self.fx.finished.iter().rposition(|t| t.id == id) {
            Some(pos) => self.fx.finished.remove(pos),
            None => match stored {
                Some(task) if task.id == id => task,
                _ => return Err(CoreError::NoSuchTask(id)),
            },
        };
        if Self::is_open(&task) {
            return Err(CoreError::Invalid(format!(
                "{id}: the stored copy is out of date ({}); try again",
                task.status
            )));
        }
        // A finished task joins no index: it is only here to be changed.
        self.finished.remove(id);
        self.held_by_status[task.status as usize] += 1;
        self.active.insert(id, Box::new(task));
        Ok(false)
    }

    /// Undoes a `hold` whose change was refused: the task goes back to the finished set
    /// (and is written again, unchanged, with this batch).
    fn unhold(&mut self, id: TaskId, was_held: bool) {
        if !was_held && let Some(task) = self.active.remove(&id) {
            self.held_by_status[task.status as usize] -= 1;
            self.finished.insert(id, task.status);
            self.fx.finished.push(*task);
        }
    }
}
