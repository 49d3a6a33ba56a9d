//! The core's side of the coordinator: splitting tasks, conflicts among held tasks,
//! spawning and despawning ephemeral workers, and the swarm's limits. The rules themselves
//! are in [`crate::coordinator`]; here they meet the core's state.

use super::{Core, CoreError, Filed, PlannedTask};
use crate::coordinator::autoscale::{Action, Ephemeral, Limit, Pool, SwarmLimits};
use crate::coordinator::conflicts::{self, Conflict, Holding};
use crate::coordinator::decompose;
use hypernet_model::tasks::blocks::Directive;
use hypernet_model::tasks::{TaskId, TaskStatus};
use serde_json::json;

impl Core {
    /// Splits a held, unstarted task into its chained subtasks (on demand). Refused for a
    /// subtask, a task already split, one no rule matches, or one already running or
    /// finished.
    pub fn decompose(&mut self, id: TaskId, now_ms: u64) -> Result<Vec<Filed>, CoreError> {
        let Some(task) = self.task(id) else {
            return Err(match self.knows(id) {
                true => CoreError::Invalid(format!(
                    "{id} is finished; only waiting tasks can be decomposed"
                )),
                false => CoreError::NoSuchTask(id),
            });
        };
        if !matches!(
            task.status,
            TaskStatus::Pending | TaskStatus::Blocked | TaskStatus::Ready
        ) {
            return Err(CoreError::Invalid(format!(
                "{id} is {}; only waiting tasks can be decomposed",
                task.status
            )));
        }
        if let Some(parent) = task.parent {
            return Err(CoreError::Invalid(format!(
                "{id} is a subtask of {parent}; it is not split further"
            )));
        }
        if self.is_split(id) {
            return Err(CoreError::Invalid(format!("{id} is already decomposed")));
        }
        let parts = decompose::subtasks(task).ok_or_else(|| {
            CoreError::Invalid(format!(
                "no decomposition rule matches {id}: it needs `phase`, `step` or `stage` in its description, or a `code`, `implementation` or `docs` tag"
            ))
        })?;
        let filed = self.split(id, parts, now_ms)?;
        self.evaluate_waiting(id)?;
        Ok(filed)
    }
}

impl Core {
    /// Whether `id` waits on a subtask of its own (it was split).
    fn is_split(&self, id: TaskId) -> bool {
        self.active.get(&id).is_some_and(|t| {
            t.depends_on
                .iter()
                .any(|d| self.active.get(d).is_some_and(|s| s.parent == Some(id)))
        })
    }

    /// Files `parts` (the chain of `id`'s subtasks) and makes `id` wait on the last one:
    /// the parent runs, bringing the parts together, once every subtask has completed.
    pub(super) fn split(
        &mut self,
        id: TaskId,
        parts: Vec<PlannedTask>,
        now_ms: u64,
    ) -> Result<Vec<Filed>, CoreError> {
        let filed = self.file(parts, "coordinator", now_ms)?;
        let Some(last) = filed.last().map(|f| f.id) else {
            return Ok(filed);
        };
        let task = self.active.get_mut(&id).expect("split tasks are held");
        if !task.depends_on.contains(&last) {
            task.depends_on.push(last);
            self.waiting_on.entry(last).or_default().push(id);
        }
        self.fx.dirty.insert(id);
        let subtasks: Vec<TaskId> = filed.iter().map(|f| f.id).collect();
        tracing::info!(task = %id, ?subtasks, "task decomposed");
        self.fx.events.push((
            "task.decomposed".into(),
            json!({ "id": id, "subtasks": subtasks }),
        ));
        Ok(filed)
    }

    /// After a split: a ready parent goes back to waiting; a pending or blocked one is
    /// evaluated again.
    fn evaluate_waiting(&mut self, id: TaskId) -> Result<(), CoreError> {
        let task = &self.active[&id];
        if task.status != TaskStatus::Ready {
            return self.evaluate(id);
        }
        let entry = (std::cmp::Reverse(task.priority), id);
        let reason = format!(
            "waiting for {}",
            task.depends_on
                .iter()
                .map(TaskId::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.ready.remove(&entry);
        self.active.get_mut(&id).expect("held").blocked_reason = Some(reason.clone());
        self.set_status(id, TaskStatus::Blocked, json!({ "reason": reason }))
    }

    /// Tasks pending, blocked or ready (what `max_task_queue_depth` limits).
    pub(super) fn queue_depth(&self) -> u64 {
        [TaskStatus::Pending, TaskStatus::Blocked, TaskStatus::Ready]
            .iter()
            .map(|s| self.held_by_status[*s as usize])
            .sum()
    }

    /// The pool as autoscaling sees it.
    pub(super) fn pool(&self) -> Pool {
        let ephemeral = self
            .workers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.ephemeral && !w.retired)
            .map(|(index, w)| Ephemeral {
                index,
                idle_since_ms: (w.current.is_none() && w.reserved.is_none()).then(|| {
                    w.stats
                        .last_active_ms
                        .unwrap_or(w.spawned_ms)
                        .max(w.spawned_ms)
                }),
            })
            .collect();
        Pool {
            ready: self.ready.len(),
            alive: self.alive(),
            ephemeral,
        }
    }

    /// Announces limits newly at their soft value, then spawns and despawns ephemeral
    /// workers as autoscaling decides.
    pub fn autoscale(&mut self, now_ms: u64) {
        self.clock_ms = self.clock_ms.max(now_ms);
        let (alive, depth) = (self.alive() as u64, self.queue_depth());
        for (limit, value, Limit { soft, hard }) in self.scaler.warnings(alive, depth) {
            tracing::warn!(
                limit,
                value,
                soft,
                hard,
                "a swarm limit reached its soft value"
            );
            self.fx.events.push((
                "limits.warning".into(),
                json!({ "limit": limit, "value": value, "soft": soft, "hard": hard }),
            ));
        }
        if self.scaler.cfg.enabled {
            let actions = self.scaler.tick(&self.pool(), now_ms);
            self.apply(actions, now_ms);
        }
    }

    /// Carries out a worker's swarm directives (`spawn`, `scale_down`), within the caps.
    pub fn on_directives(&mut self, worker: &str, directives: Vec<Directive>) {
        if directives.is_empty() {
            return;
        }
        let model = self
            .workers
            .iter()
            .find(|w| w.config.name == worker)
            .map_or_else(|| self.cfg.default_model.clone(), |w| w.model.clone());
        let actions = self.scaler.directives(&self.pool(), &model, &directives);
        tracing::info!(
            worker,
            directives = directives.len(),
            actions = actions.len(),
            "swarm directives"
        );
        self.apply(actions, self.clock_ms);
    }

    fn apply(&mut self, actions: Vec<Action>, now_ms: u64) {
        for action in actions {
            match action {
                Action::Spawn { model, reason } => self.spawn(model, &reason, now_ms),
                Action::Despawn { index } => self.despawn(index),
            }
        }
    }

    /// Adds an ephemeral worker, reusing a despawned one's place.
    fn spawn(&mut self, model: Option<String>, reason: &str, now_ms: u64) {
        let name = self.scaler.next_name();
        let model = model.unwrap_or_else(|| self.cfg.default_model.clone());
        let config = crate::workers::WorkerConfig {
            name: name.clone(),
            account: "2.1".into(),
            address: String::new(),
            role: "ephemeral".into(),
            capabilities: Vec::new(),
            model: Some(model.clone()),
            tier: Default::default(),
            grants: Vec::new(),
        };
        let worker = super::Worker {
            ephemeral: true,
            spawned_ms: now_ms,
            ..super::Worker::new(config)
        };
        let index = self.place(worker);
        self.free.push_back(index);
        self.workers_changed = true;
        tracing::info!(worker = %name, model = %model, reason, "ephemeral worker spawned");
        self.fx.events.push((
            "worker.spawned".into(),
            json!({ "name": name, "model": model, "reason": reason }),
        ));
    }

    /// Removes an idle ephemeral worker (a busy one is kept).
    fn despawn(&mut self, index: usize) {
        let w = &self.workers[index];
        if !w.ephemeral || w.retired || w.current.is_some() || w.reserved.is_some() {
            return;
        }
        let name = w.config.name.clone();
        self.retire(index);
        tracing::info!(worker = %name, "ephemeral worker despawned");
        self.fx
            .events
            .push(("worker.despawned".into(), json!({ "name": name })));
    }

    /// Changes a swarm limit by name (see [`crate::coordinator::autoscale::Autoscaler::set_limit`]);
    /// returns every limit as it stands.
    pub fn set_limit(&mut self, name: &str, limit: Limit) -> Result<serde_json::Value, CoreError> {
        self.scaler
            .set_limit(name, limit)
            .map_err(CoreError::Invalid)?;
        let view = self.limits_view();
        self.fx.events.push((
            "limits.changed".into(),
            json!({ "limit": name, "limits": view }),
        ));
        Ok(view)
    }

    /// The limits and the autoscaling caps.
    pub fn limits_view(&self) -> serde_json::Value {
        let SwarmLimits {
            max_concurrent_workers,
            max_task_queue_depth,
        } = self.scaler.limits;
        json!({
            "max_concurrent_workers": max_concurrent_workers,
            "max_task_queue_depth": max_task_queue_depth,
            "ephemeral_workers": { "soft": self.scaler.cfg.soft_cap, "hard": self.scaler.cfg.hard_cap },
        })
    }

    /// Conflicts among the tasks workers hold now.
    pub fn conflicts(&self) -> Vec<Conflict> {
        let mut held = Vec::new();
        for w in self.workers.iter().filter(|w| !w.retired) {
            for (id, running) in [(w.current, true), (w.reserved, false)] {
                if let Some(task) = id.and_then(|id| self.active.get(&id)) {
                    held.push(Holding {
                        task: task.id,
                        worker: w.config.name.clone(),
                        tags: task.tags.clone(),
                        running,
                    });
                }
            }
        }
        conflicts::detect(&held)
    }
}
