//! Filing a batch of tasks. The whole batch is checked before anything changes (titles,
//! keys, the workers it is filed for, every dependency) and ordered so dependencies come
//! first; a cycle is refused along its path. A task with the content of an unfinished one
//! is not filed again: the existing one is returned (except personal time, which is
//! always filed); nor is a task whose `origin` an earlier task has, finished or not. Each new task then waits, is blocked
//! with a reason, or is ready, and is evaluated again whenever a task it depends on
//! changes.

use super::{Core, CoreError, Filed, PlannedTask};
use crate::coordinator::decompose;
use crate::router;
use crate::workers::personal;
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::{Task, TaskId, TaskSpec, TaskStatus};
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};

impl Core {
    /// Files tasks; members of one batch may depend on each other by `key`. Cycles, unknown
    /// dependencies and empty titles refuse the whole batch.
    pub fn file(
        &mut self,
        batch: Vec<PlannedTask>,
        filed_by: &str,
        now_ms: u64,
    ) -> Result<Vec<Filed>, CoreError> {
        self.scaler
            .admits(self.queue_depth(), batch.len() as u64)
            .map_err(CoreError::LimitReached)?;
        let order = self.plan_order(&batch)?;
        self.active.reserve(batch.len());
        self.dedup.reserve(batch.len());
        let mut ids: HashMap<String, TaskId> = HashMap::new();
        let mut out = vec![None; batch.len()];
        for i in order {
            let planned = &batch[i];
            let mut spec = planned.spec.clone();
            spec.title = spec.title.trim().to_owned();
            if let Some(name) = &spec.for_worker {
                spec.for_worker = Some(self.live_worker_name(name)?);
            }
            spec.swarm = self
                .check_swarm(spec.swarm.as_deref())
                .map_err(CoreError::Invalid)?;
            if let Some(earlier) = spec.origin.as_deref().and_then(|o| self.origin_of(o)) {
                if let Some(k) = &planned.key {
                    ids.insert(k.clone(), earlier);
                }
                out[i] = Some(Filed {
                    id: earlier,
                    created: false,
                });
                continue;
            }
            let key = content_key(&spec.title, &spec.description);
            // Personal time is earned per work task: a new one is never merged into one
            // still waiting, or the worker would lose what it earned.
            // Nor is a task another swarm delegated: its answer must go back to it.
            let merges = !personal::is_personal(&spec.tags)
                && !spec
                    .origin
                    .as_deref()
                    .is_some_and(hypernet_model::tasks::RemoteOrigin::is_key);
            if merges
                && let Some(&existing) = self.dedup.get(&key)
                && self.active.get(&existing).is_some_and(|t| Self::is_open(t))
            {
                if let Some(k) = &planned.key {
                    ids.insert(k.clone(), existing);
                }
                out[i] = Some(Filed {
                    id: existing,
                    created: false,
                });
                continue;
            }
            let deps = self.resolve_deps(&planned.spec, &ids)?; // checked by `plan_order`
            let id = TaskId(self.next_id);
            self.next_id += 1;
            if let Some(k) = &planned.key {
                ids.insert(k.clone(), id);
            }
            let task = Task::new(id, spec, deps, filed_by, self.cfg.max_attempts, now_ms);
            self.fx.events.push((
                "task.created".into(),
                json!({ "id": id, "title": task.title, "priority": task.priority, "tags": task.tags, "depends_on": task.depends_on, "filed_by": filed_by }),
            ));
            self.dedup.insert(key, id);
            if let Some(origin) = &task.origin {
                self.origins.insert(origin.clone(), id);
            }
            self.fx.dirty.insert(id);
            let deps = task.depends_on.clone();
            self.held_by_status[TaskStatus::Pending as usize] += 1;
            self.active.insert(id, Box::new(task));
            for dep in deps {
                if self.status_of(dep) != Some(TaskStatus::Completed) {
                    self.waiting_on.entry(dep).or_default().push(id);
                }
            }
            if self.decompose && self.active[&id].parent.is_none() {
                let task = &self.active[&id];
                if router::complexity_of(task) == hypernet_model::tasks::Complexity::Complex
                    && let Some(parts) = decompose::subtasks(task)
                {
                    self.split(id, parts, now_ms)?;
                }
            }
            self.evaluate(id)?;
            out[i] = Some(Filed { id, created: true });
        }
        Ok(out
            .into_iter()
            .map(|f| f.expect("every member filed"))
            .collect())
    }

    /// The task filed with `origin`, as far as memory knows: a held task's, one that
    /// finished in this batch (not written yet), or one the loop found in the store for
    /// this batch ([`Core::note_stored_origin`]).
    pub fn origin_of(&self, origin: &str) -> Option<TaskId> {
        self.origins
            .get(origin)
            .copied()
            .or_else(|| {
                self.fx
                    .finished
                    .iter()
                    .rev()
                    .find(|t| t.origin.as_deref() == Some(origin))
                    .map(|t| t.id)
            })
            .or_else(|| self.fx.stored_origins.get(origin).copied())
    }

    /// Tells the core that the store has `origin` filed as `id` (a task no longer held),
    /// for the filings of this batch.
    pub fn note_stored_origin(&mut self, origin: &str, id: TaskId) {
        self.fx.stored_origins.insert(origin.to_owned(), id);
    }

    /// Checks a whole batch before anything changes — titles, keys, every dependency — and
    /// orders it so dependencies come first. Iterative (Kahn's algorithm), so a long chain
    /// cannot exhaust the stack; a cycle is reported along its path.
    fn plan_order(&self, batch: &[PlannedTask]) -> Result<Vec<usize>, CoreError> {
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for (i, p) in batch.iter().enumerate() {
            if p.spec.title.trim().is_empty() {
                return Err(CoreError::Invalid("`title` must not be empty".into()));
            }
            if p.spec.max_attempts == Some(0) {
                return Err(CoreError::Invalid(
                    "`max_attempts` must be at least 1, not 0".into(),
                ));
            }
            if let Some(name) = &p.spec.for_worker {
                self.live_worker_name(name)?;
            }
            self.check_swarm(p.spec.swarm.as_deref())
                .map_err(CoreError::Invalid)?;
            if let Some(k) = &p.key
                && keys.insert(k.as_str(), i).is_some()
            {
                return Err(CoreError::Invalid(format!(
                    "key `{k}` is used twice in the batch"
                )));
            }
        }
        // In-batch edges (member -> the members it depends on); outside ids must exist.
        let mut deps_in_batch: Vec<Vec<usize>> = vec![Vec::new(); batch.len()];
        for (i, p) in batch.iter().enumerate() {
            for dep in &p.spec.depends_on {
                if let Some(&j) = keys.get(dep.as_str()) {
                    deps_in_batch[i].push(j);
                    continue;
                }
                self.existing_dependency(dep)?;
            }
        }
        let mut waiting: Vec<usize> = deps_in_batch.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); batch.len()];
        for (i, deps) in deps_in_batch.iter().enumerate() {
            for &j in deps {
                dependents[j].push(i);
            }
        }
        let mut queue: VecDeque<usize> = (0..batch.len()).filter(|&i| waiting[i] == 0).collect();
        let mut order = Vec::with_capacity(batch.len());
        while let Some(i) = queue.pop_front() {
            order.push(i);
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    queue.push_back(d);
                }
            }
        }
        if order.len() == batch.len() {
            return Ok(order);
        }
        // Walk unresolved members along their unresolved dependencies until one repeats.
        let name = |j: usize| batch[j].key.clone().unwrap_or_else(|| format!("#{j}"));
        let mut at = (0..batch.len())
            .find(|&i| waiting[i] > 0)
            .expect("some member is left");
        let mut path: Vec<usize> = Vec::new();
        loop {
            if let Some(pos) = path.iter().position(|&p| p == at) {
                let mut names: Vec<String> = path[pos..].iter().map(|&j| name(j)).collect();
                names.push(name(at));
                return Err(CoreError::Invalid(format!(
                    "dependency cycle: {}",
                    names.join(" -> ")
                )));
            }
            path.push(at);
            at = *deps_in_batch[at]
                .iter()
                .find(|&&j| waiting[j] > 0)
                .expect("an unresolved member waits on another unresolved member");
        }
    }

    /// A `depends_on` entry that is not a key of the batch: it must name a filed task.
    fn existing_dependency(&self, dep: &str) -> Result<TaskId, CoreError> {
        let id: TaskId = dep.parse().map_err(|_| {
            CoreError::Invalid(format!(
                "`depends_on` entry `{dep}` is neither a task id nor a key in this batch"
            ))
        })?;
        if self.status_of(id).is_none() {
            return Err(CoreError::Invalid(format!("`depends_on`: no task {id}")));
        }
        Ok(id)
    }

    fn resolve_deps(
        &self,
        spec: &TaskSpec,
        keys: &HashMap<String, TaskId>,
    ) -> Result<Vec<TaskId>, CoreError> {
        let mut deps = Vec::new();
        for dep in &spec.depends_on {
            let id = match keys.get(dep) {
                Some(id) => *id,
                None => self.existing_dependency(dep)?,
            };
            if !deps.contains(&id) {
                deps.push(id);
            }
        }
        Ok(deps)
    }

    /// Decides whether a pending or blocked task — or a cancelled one being retried — is
    /// ready, or why it is blocked.
    pub(super) fn evaluate(&mut self, id: TaskId) -> Result<(), CoreError> {
        let task = &self.active[&id];
        if !matches!(
            task.status,
            TaskStatus::Pending | TaskStatus::Blocked | TaskStatus::Cancelled
        ) {
            return Ok(());
        }
        let mut waiting = Vec::new();
        let mut dead = None;
        for dep in &task.depends_on {
            match self.status_of(*dep) {
                Some(TaskStatus::Completed) => {}
                Some(TaskStatus::Cancelled) => {
                    dead = Some(format!("dependency {dep} was cancelled"))
                }
                Some(TaskStatus::Failed) if !self.retries.iter().any(|(_, r)| r == dep) => {
                    let error = self
                        .active
                        .get(dep)
                        .and_then(|t| t.error.clone())
                        .unwrap_or_default();
                    dead = Some(
                        format!("dependency {dep} failed: {error}")
                            .trim_end_matches(": ")
                            .to_owned(),
                    )
                }
                _ => waiting.push(dep.to_string()),
            }
        }
        let reason = dead.or_else(|| {
            (!waiting.is_empty()).then(|| format!("waiting for {}", waiting.join(", ")))
        });
        let status = task.status;
        match reason {
            None => {
                let priority = task.priority;
                self.active.get_mut(&id).expect("held").blocked_reason = None;
                self.set_status(id, TaskStatus::Ready, json!({}))?;
                self.ready.insert((Reverse(priority), id));
            }
            Some(reason) => {
                let task = self.active.get_mut(&id).expect("held");
                if status == TaskStatus::Blocked
                    && task.blocked_reason.as_deref() == Some(reason.as_str())
                {
                    return Ok(());
                }
                task.blocked_reason = Some(reason.clone());
                if status != TaskStatus::Blocked {
                    self.set_status(id, TaskStatus::Blocked, json!({ "reason": reason }))?;
                } else {
                    self.fx.dirty.insert(id);
                    self.fx.events.push((
                        "task.blocked".into(),
                        json!({ "id": id, "status": "blocked", "reason": reason }),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Re-evaluates the tasks waiting on `dep`.
    pub(super) fn reevaluate_dependents(&mut self, dep: TaskId) -> Result<(), CoreError> {
        let waiting = if self.status_of(dep) == Some(TaskStatus::Completed) {
            self.waiting_on.remove(&dep).unwrap_or_default()
        } else {
            self.waiting_on.get(&dep).cloned().unwrap_or_default()
        };
        for id in waiting {
            if self.active.contains_key(&id) {
                self.evaluate(id)?;
            }
        }
        Ok(())
    }
}
