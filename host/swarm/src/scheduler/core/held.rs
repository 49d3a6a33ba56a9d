//! The tasks held in memory (unfinished ones, and failed ones awaiting a retry): looking
//! one up, the one place a held task's status changes, and eviction of one that reached a
//! final state (only its status stays in memory; the task itself is written with the
//! batch).

use super::{Core, CoreError};
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::{Task, TaskId, TaskStatus};
use serde_json::json;
use std::collections::HashMap;
use std::hash::Hash;

/// A map whose slots take less room than this is left as it is (see
/// [`Core::shrink_spare`]); bigger spare room, left by a burst, is given back.
const SPARE_BYTES: usize = 16 * 1024;

impl Core {
    /// A held task.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.active.get(&id).map(|task| &**task)
    }

    /// Whether `id` is held in memory (else the caller must load it to retry/cancel).
    pub fn holds(&self, id: TaskId) -> bool {
        self.active.contains_key(&id)
    }

    /// Whether a task with this id was ever filed.
    pub fn knows(&self, id: TaskId) -> bool {
        self.status_of(id).is_some()
    }

    pub(super) fn status_of(&self, id: TaskId) -> Option<TaskStatus> {
        self.active
            .get(&id)
            .map(|t| t.status)
            .or_else(|| self.finished.get(id))
    }

    /// Unfinished, or failed with an automatic retry coming: a duplicate of it is not filed.
    pub(crate) fn is_open(task: &Task) -> bool {
        task.status.is_unfinished()
            || (task.status == TaskStatus::Failed && task.retry_at_ms.is_some())
    }

    /// The one place a held task's status changes: checked, marked dirty, announced.
    pub(super) fn set_status(
        &mut self,
        id: TaskId,
        to: TaskStatus,
        extra: serde_json::Value,
    ) -> Result<(), CoreError> {
        let task = self.active.get_mut(&id).ok_or(CoreError::NoSuchTask(id))?;
        let from = task.status;
        from.check(to)
            .map_err(|source| CoreError::Illegal { id, source })?;
        task.status = to;
        self.held_by_status[from as usize] -= 1;
        self.held_by_status[to as usize] += 1;
        self.fx.dirty.insert(id);
        let mut payload = json!({ "id": id, "from": from, "status": to, "title": task.title, "tags": task.tags, "worker": task.worker, "attempt": task.attempts });
        if let Some(p) = payload.as_object_mut() {
            if let Some(extra) = extra.as_object() {
                p.extend(extra.clone());
            }
            // A task another swarm delegated: the federation service reports back to it.
            if let Some(remote) = &task.remote {
                p.insert("remote".into(), json!(remote));
            }
        }
        self.fx.events.push((format!("task.{to}"), payload));
        if to == TaskStatus::Ready {
            self.note_ready(id);
        }
        Ok(())
    }

    /// Gives back the room a burst left in the task indexes: a map using less than a
    /// quarter of its capacity (whose slots take more than `SPARE_BYTES`) shrinks to twice
    /// what it holds. Cheap when there is nothing to give back; the loop calls it after
    /// every batch.
    pub fn shrink_spare(&mut self) {
        fn shrink<K: Eq + Hash, V>(map: &mut HashMap<K, V>) {
            let slot = std::mem::size_of::<(K, V)>().max(1);
            if map.capacity() * slot > SPARE_BYTES && map.capacity() > 4 * map.len() {
                map.shrink_to(2 * map.len());
            }
        }
        shrink(&mut self.active);
        shrink(&mut self.dedup);
        shrink(&mut self.waiting_on);
        shrink(&mut self.origins);
        shrink(&mut self.pinned);
        shrink(&mut self.fallback_pos);
        shrink(&mut self.step_spend);
        shrink(&mut self.early_outcomes);
    }

    /// Moves a held task that reached a final state out of memory.
    pub(super) fn evict(&mut self, id: TaskId) {
        if let Some(task) = self.active.remove(&id) {
            self.held_by_status[task.status as usize] -= 1;
            let key = content_key(&task.title, &task.description);
            if self.dedup.get(&key) == Some(&id) {
                self.dedup.remove(&key);
            }
            // The store has it from this batch on; until then `origin_of` finds it among
            // the batch's finished tasks.
            if let Some(origin) = &task.origin
                && self.origins.get(origin) == Some(&id)
            {
                self.origins.remove(origin);
            }
            self.fx.dirty.remove(&id);
            self.finished.insert(id, task.status);
            self.fx.finished.push(*task);
        }
    }
}
