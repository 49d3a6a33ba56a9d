//! The scheduler's decisions, as plain data and functions: no I/O, no clock, no runtime.
//! Every method takes `now_ms` and records what must happen in [`Effects`]; the loop in
//! [`super`] (the scheduler loop) persists, announces and calls.

use super::effects::{Dispatch, Effects};
use super::ladder::{self, Failure, Ladder};
use super::reserve::Slots;
use crate::budget::{self, Budget, BudgetView};
use crate::config::{SchedulerConfig, StandingPriority};
use crate::coordinator::affinity::{self, Fit};
use crate::coordinator::autoscale::{self, Autoscaler};
use crate::coordinator::{CoordinatorConfig, decompose};
use crate::identity::Identities;
use crate::prompts::{self, LimitsConfig};
use crate::router::{self, Route, RouterConfig};
use crate::workers::memory::{MemoryConfig, WorkerMemory};
use crate::workers::personal::PersonalTimeConfig;
use crate::workers::{WorkerConfig, WorkerStats, WorkerView};
use hypernet_llm::CallError;
pub use hypernet_model::tasks::PlannedTask;
use hypernet_model::tasks::dedup::content_key;
use hypernet_model::tasks::output::looks_like_error;
use hypernet_model::tasks::{IllegalTransition, Task, TaskId, TaskResult, TaskSpec, TaskStatus};
use hypernet_plugin_api::Priority;
use serde_json::json;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// No such task.
    #[error("no task {0}")]
    NoSuchTask(TaskId),
    /// The state machine forbids it.
    #[error("{id}: {source}")]
    Illegal {
        /// The task.
        id: TaskId,
        /// The refused change.
        source: IllegalTransition,
    },
    /// The task does not wait for an answer (only a `needs_input` task does).
    #[error("{id} is {status}, not waiting for an answer")]
    NotWaiting {
        /// The task.
        id: TaskId,
        /// Its status.
        status: TaskStatus,
    },
    /// The filing is invalid.
    #[error("{0}")]
    Invalid(String),
    /// A hard limit of `[swarm_limits]` refuses it (the message names the limit).
    #[error("{0}")]
    LimitReached(String),
}

/// The result of filing one task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Filed {
    /// Its id.
    pub id: TaskId,
    /// False when an unfinished task with the same content existed: that one is returned.
    pub created: bool,
}

struct Worker {
    config: WorkerConfig,
    model: String,
    stats: WorkerStats,
    /// The task whose call is running.
    current: Option<TaskId>,
    /// The next task, durably assigned, waiting in the worker's slot.
    reserved: Option<TaskId>,
    /// The call task now running for this worker (see [`super::reserve`]).
    lane: u64,
    /// Spawned by autoscaling or a directive (see [`crate::coordinator::autoscale`]).
    ephemeral: bool,
    /// A despawned ephemeral worker: its index waits to be reused.
    retired: bool,
    /// When it was spawned.
    spawned_ms: u64,
    /// Its recent tasks, for its prompts (see [`crate::workers::memory`]).
    memory: WorkerMemory,
}

/// Ready tasks a worker's pick considers, most urgent first: the pick score is computed
/// over this window rather than the whole queue, so a pick costs the same however long the
/// queue is.
const PICK_WINDOW: usize = 16;

/// What one assignment learned about the budget.
#[derive(Debug, Default)]
struct BudgetOutcome {
    /// A paid reservation was refused (the first reason).
    refused: Option<String>,
    /// A paid reservation was granted.
    granted: bool,
    /// Every ready task was considered.
    scanned_all: bool,
}

/// Counts for `status`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Counts {
    /// Unfinished tasks by status, plus failed ones awaiting retry.
    pub by_status: BTreeMap<String, u64>,
    /// Workers holding a task.
    pub busy_workers: usize,
    /// All workers.
    pub workers: usize,
    /// Tasks completed since the host started.
    pub completed_since_start: u64,
    /// Attempts failed since the host started.
    pub failed_since_start: u64,
}

/// The in-memory scheduler state.
pub struct Core {
    cfg: SchedulerConfig,
    next_id: u64,
    active: HashMap<TaskId, Task>,
    finished: HashMap<TaskId, TaskStatus>,
    ready: BTreeSet<(Reverse<Priority>, TaskId)>,
    waiting_on: HashMap<TaskId, Vec<TaskId>>,
    dedup: HashMap<u64, TaskId>,
    retries: BTreeSet<(u64, TaskId)>,
    workers: Vec<Worker>,
    free: VecDeque<usize>,
    slots: Arc<Slots>,
    next_lane: u64,
    cooldowns: BTreeMap<String, u64>,
    completed_since_start: u64,
    failed_since_start: u64,
    /// Held tasks by status (indexed like `TaskStatus::ALL`), kept up to date on every
    /// change so `counts` costs nothing.
    held_by_status: [u64; TaskStatus::ALL.len()],
    /// Worker stats or occupancy changed since the last `take_workers_changed`.
    workers_changed: bool,
    /// Routing rules, local-first and the fallback chain.
    router: RouterConfig,
    /// Answer lengths and compact prompts.
    limits: LimitsConfig,
    /// Who each worker is: profiles and documents for the system prompts.
    identities: Arc<Identities>,
    /// Spend, limits and the reservations of calls in flight.
    budget: Budget,
    /// While paid work is paused: when the budget day rolls over (the loop wakes then).
    budget_wake_ms: Option<u64>,
    /// Models pinned by a fallback, used by the task's next call.
    pinned: HashMap<TaskId, Route>,
    /// Position in the fallback chain from which a task's next fallback is taken.
    fallback_pos: HashMap<TaskId, usize>,
    /// Multi-call tasks: what their earlier calls were charged (see [`steps`]).
    step_spend: HashMap<TaskId, steps::StepSpend>,
    /// Characters the offered tools add to every prompt (in the worst-case estimate).
    tool_chars: usize,
    /// Suspensions and the circuit breaker (see [`super::ladder`]).
    ladder: Ladder,
    /// What workers remember of their recent tasks.
    memory_cfg: MemoryConfig,
    /// When workers get personal time.
    personal: PersonalTimeConfig,
    /// Approval decisions that came before their task's call ended (see [`approval_hooks`]).
    early_outcomes: HashMap<hypernet_model::ids::ApprovalId, String>,
    /// Autoscaling, its caps and the swarm's limits.
    scaler: Autoscaler,
    /// Whether complex tasks are split when filed.
    decompose: bool,
    /// Despawned ephemeral workers.
    retired: usize,
    /// Configured workers (the first ones in `workers`; ephemeral ones follow).
    configured: usize,
    /// The latest `now_ms` seen (for calls that carry no time).
    clock_ms: u64,
    /// What the current batch has decided.
    pub fx: Effects,
}

impl Core {
    /// A core with `workers`, no tasks.
    pub fn new(cfg: SchedulerConfig, workers: Vec<WorkerConfig>) -> Core {
        let workers: Vec<Worker> = workers
            .into_iter()
            .map(|config| Worker {
                model: config
                    .model
                    .clone()
                    .unwrap_or_else(|| cfg.default_model.clone()),
                config,
                stats: WorkerStats::default(),
                current: None,
                reserved: None,
                lane: 0,
                ephemeral: false,
                retired: false,
                spawned_ms: 0,
                memory: WorkerMemory::default(),
            })
            .collect();
        Core {
            configured: workers.len(),
            free: (0..workers.len()).collect(),
            slots: Arc::new(Slots::new(workers.len() + autoscale::MAX_EPHEMERAL)),
            next_lane: 0,
            workers,
            cfg,
            next_id: 1,
            active: HashMap::new(),
            finished: HashMap::new(),
            ready: BTreeSet::new(),
            waiting_on: HashMap::new(),
            dedup: HashMap::new(),
            retries: BTreeSet::new(),
            cooldowns: BTreeMap::new(),
            completed_since_start: 0,
            failed_since_start: 0,
            held_by_status: [0; TaskStatus::ALL.len()],
            workers_changed: true,
            router: RouterConfig::default(),
            limits: LimitsConfig::default(),
            identities: Arc::default(),
            budget: Budget::default(),
            budget_wake_ms: None,
            pinned: HashMap::new(),
            fallback_pos: HashMap::new(),
            step_spend: HashMap::new(),
            tool_chars: 0,
            ladder: Ladder::default(),
            memory_cfg: MemoryConfig::default(),
            early_outcomes: HashMap::new(),
            personal: PersonalTimeConfig {
                enabled: false,
                ..PersonalTimeConfig::default()
            },
            // Until configured: no autoscaling and no limits.
            scaler: Autoscaler::new(
                autoscale::AutoscaleConfig {
                    enabled: false,
                    ..Default::default()
                },
                autoscale::SwarmLimits::unlimited(),
            ),
            decompose: CoordinatorConfig::default().decompose,
            retired: 0,
            clock_ms: 0,
            fx: Effects::default(),
        }
    }

    /// Sets decomposition, autoscaling and the swarm's limits (defaults: as documented in
    /// [`crate::coordinator`]).
    pub fn configure_coordinator(
        &mut self,
        coordinator: &CoordinatorConfig,
        autoscale: autoscale::AutoscaleConfig,
        limits: autoscale::SwarmLimits,
    ) {
        self.decompose = coordinator.decompose;
        self.scaler = Autoscaler::new(autoscale, limits);
    }

    /// Sets the router, the answer limits and the budget (defaults: every task on its
    /// worker's model, 1024 tokens, no limits).
    pub fn configure(&mut self, router: RouterConfig, limits: LimitsConfig, budget: Budget) {
        self.router = router;
        self.limits = limits;
        self.budget = budget;
    }

    /// Sets the failure ladder's rules and restores its persisted state.
    pub fn configure_ladder(
        &mut self,
        cfg: ladder::LadderConfig,
        state: Option<ladder::Persisted>,
    ) {
        self.ladder = Ladder::new(cfg);
        if let Some(state) = state {
            self.ladder.restore(state);
        }
    }

    /// The failure ladder.
    pub fn ladder(&self) -> &Ladder {
        &self.ladder
    }

    /// Restores the persisted spend (today's and the totals).
    pub fn restore_budget(&mut self, state: budget::Persisted) {
        self.budget.restore(state);
    }

    /// Answer lengths and compact prompts.
    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The budget, for charges made outside a task (the boot sequence).
    pub fn budget_mut(&mut self) -> &mut Budget {
        &mut self.budget
    }

    /// Sets who the workers are (default: no archive, identities from the configuration).
    pub fn set_identities(&mut self, identities: Arc<Identities>) {
        self.identities = identities;
    }

    /// Who the workers are.
    pub fn identities(&self) -> &Arc<Identities> {
        &self.identities
    }

    /// What `hypernet budget` shows.
    pub fn budget_view(&self, now_ms: u64) -> BudgetView {
        self.budget.view(now_ms)
    }

    /// Raises (or lowers) the limits at run time; the next assignment tries again.
    pub fn set_budget_limits(&mut self, daily_usd: Option<f64>, session_usd: Option<f64>) {
        self.budget.set_limits(daily_usd, session_usd);
        self.fx.events.push((
            "budget.limits".into(),
            json!({ "daily_limit_usd": daily_usd, "session_limit_usd": session_usd }),
        ));
    }

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
    /// [`Core::requeue_interrupted`]). Finished tasks keep only their status in memory.
    pub fn restore_task(&mut self, task: Task) {
        self.next_id = self.next_id.max(task.id.0 + 1);
        self.remember_restored(&task);
        let keep = task.status.is_unfinished()
            || (task.status == TaskStatus::Failed && task.retry_at_ms.is_some());
        if keep {
            self.admit(task);
        } else {
            self.finished.insert(task.id, task.status);
        }
    }

    /// After a restore: tasks that were assigned or running when the host stopped go back to
    /// ready (their attempt stays counted; no call is running for them any more).
    pub fn requeue_interrupted(&mut self) {
        self.requeue_in_flight("re-queued after restart");
    }

    /// Unfinished, or failed with an automatic retry coming: a duplicate of it is not filed.
    fn is_open(task: &Task) -> bool {
        task.status.is_unfinished()
            || (task.status == TaskStatus::Failed && task.retry_at_ms.is_some())
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
                if self.finished.get(dep) != Some(&TaskStatus::Completed) {
                    self.waiting_on.entry(*dep).or_default().push(id);
                }
            }
        }
        self.finished.remove(&id);
        self.held_by_status[task.status as usize] += 1;
        self.active.insert(id, task);
    }

    fn status_of(&self, id: TaskId) -> Option<TaskStatus> {
        self.active
            .get(&id)
            .map(|t| t.status)
            .or_else(|| self.finished.get(&id).copied())
    }

    /// The one place a held task's status changes: checked, marked dirty, announced.
    fn set_status(
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
        let mut payload = json!({ "id": id, "from": from, "status": to, "title": task.title, "tags": task.tags, "worker": task.worker });
        if let (Some(p), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
            p.extend(extra.clone());
        }
        self.fx.events.push((format!("task.{to}"), payload));
        Ok(())
    }

    /// Moves a held task that reached a final state out of memory.
    fn evict(&mut self, id: TaskId) {
        if let Some(task) = self.active.remove(&id) {
            self.held_by_status[task.status as usize] -= 1;
            let key = content_key(&task.title, &task.description);
            if self.dedup.get(&key) == Some(&id) {
                self.dedup.remove(&key);
            }
            self.fx.dirty.remove(&id);
            self.finished.insert(id, task.status);
            self.fx.finished.push(task);
        }
    }

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
            let key = content_key(&spec.title, &spec.description);
            if let Some(&existing) = self.dedup.get(&key)
                && self.active.get(&existing).is_some_and(Self::is_open)
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
            self.fx.dirty.insert(id);
            let deps = task.depends_on.clone();
            self.held_by_status[TaskStatus::Pending as usize] += 1;
            self.active.insert(id, task);
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

    /// Checks a whole batch before anything changes — titles, keys, every dependency — and
    /// orders it so dependencies come first. Iterative (Kahn's algorithm), so a long chain
    /// cannot exhaust the stack; a cycle is reported along its path.
    fn plan_order(&self, batch: &[PlannedTask]) -> Result<Vec<usize>, CoreError> {
        let mut keys: HashMap<&str, usize> = HashMap::new();
        for (i, p) in batch.iter().enumerate() {
            if p.spec.title.trim().is_empty() {
                return Err(CoreError::Invalid("`title` must not be empty".into()));
            }
            if let Some(name) = &p.spec.for_worker {
                self.live_worker_name(name)?;
            }
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

    /// Decides whether a pending or blocked task is ready, or why it is blocked.
    fn evaluate(&mut self, id: TaskId) -> Result<(), CoreError> {
        let task = &self.active[&id];
        if !matches!(task.status, TaskStatus::Pending | TaskStatus::Blocked) {
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
                if status == TaskStatus::Pending {
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
    fn reevaluate_dependents(&mut self, dep: TaskId) -> Result<(), CoreError> {
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

    /// Gives ready tasks to free workers, highest priority then oldest first, then (when
    /// reservations are on) one more to each busy worker; returns how many calls were
    /// dispatched.
    pub fn assign(&mut self, now_ms: u64) -> usize {
        if self.budget.roll(now_ms) {
            self.fx.budget = true;
        }
        for probe in self.ladder.due_probes(now_ms) {
            self.fx.probes.push(probe);
        }
        let stopped = self.stopped_workers();
        let mut outcome = BudgetOutcome::default();
        let mut skipped = Vec::new();
        let mut started = 0;
        self.clock_ms = self.clock_ms.max(now_ms);
        while !self.free.is_empty() {
            let free: Vec<usize> = self
                .free
                .iter()
                .copied()
                .filter(|&w| !stopped.get(w).copied().unwrap_or(false))
                .collect();
            if free.is_empty() {
                break;
            }
            let Some((pos, (prio, id))) = self.pick(&free, 0) else {
                outcome.scanned_all = true;
                break;
            };
            self.ready.remove(&(prio, id));
            let pos = self.worker_for(id, &free, pos);
            if !self.plan_call(id, free[pos], now_ms, &mut outcome) {
                // Over budget: it waits, ready, while cheaper work goes ahead.
                skipped.push((prio, id));
                continue;
            }
            let at = self.free.iter().position(|&x| x == free[pos]);
            let w = self
                .free
                .remove(at.expect("a free worker"))
                .expect("in range");
            self.claim(id, w);
            self.run_on(id, w, now_ms, true);
            started += 1;
        }
        self.ready.extend(skipped);
        if self.cfg.reserve {
            self.reserve(now_ms, &mut outcome, &stopped);
        }
        self.update_pause(outcome, now_ms);
        started
    }

    /// Routes the next call of `id` on worker `w` and reserves its worst-case cost; when
    /// the routed model is over budget, the fallback chain is tried. Records the model and
    /// the reason on the task. False when no model is affordable.
    fn plan_call(&mut self, id: TaskId, w: usize, now_ms: u64, out: &mut BudgetOutcome) -> bool {
        let task = &self.active[&id];
        let worker = &self.workers[w];
        let first = match self.pinned.get(&id) {
            Some(route) => route.clone(),
            None => router::route(&self.router, task, &worker.model),
        };
        let max_tokens = u64::from(self.limits.max_tokens_for(&task.tags));
        let mut input_tokens = None;
        let mut candidates = vec![first.clone()];
        candidates.extend(
            self.router
                .fallback
                .iter()
                .filter(|m| **m != first.model)
                .map(|m| Route {
                    model: m.clone(),
                    reason: format!("fallback after {}: over budget", first.model),
                }),
        );
        let mut chosen = None;
        let mut refused = None;
        for route in candidates {
            let price = self.budget.price(&route.model);
            let input = if price.input_per_mtok > 0.0 {
                *input_tokens.get_or_insert_with(|| {
                    let recall = prompts::Recall {
                        cfg: &self.memory_cfg,
                        memory: &worker.memory,
                    };
                    let system = prompts::system_prompt(
                        &self.limits,
                        &self.identities,
                        &worker.config,
                        recall,
                        task,
                        &first.model,
                    );
                    let chars = system.text.chars().count()
                        + prompts::user_prompt(task).chars().count()
                        + self.tool_chars;
                    budget::estimate_tokens(chars)
                })
            } else {
                0
            };
            let micros = price.cost_micros(input, max_tokens);
            match self.budget.reserve(id, micros, now_ms) {
                Ok(()) => {
                    if micros > 0 {
                        out.granted = true;
                    }
                    chosen = Some(route);
                    break;
                }
                Err(e) => {
                    refused.get_or_insert(e);
                }
            }
        }
        let Some(route) = chosen else {
            if let Some(e) = refused {
                out.refused.get_or_insert_with(|| e.to_string());
            }
            return false;
        };
        let task = self.active.get_mut(&id).expect("ready tasks are held");
        if task.model != route.model || task.route_reason != route.reason {
            task.model = route.model;
            task.route_reason = route.reason;
            self.fx.dirty.insert(id);
        }
        true
    }

    /// Pauses paid work when a reservation was refused (announced once), and resumes it
    /// when a paid call was granted or nothing waits for money any more.
    fn update_pause(&mut self, out: BudgetOutcome, now_ms: u64) {
        if let Some(reason) = out.refused.clone().filter(|_| !out.granted) {
            if !self.budget.paused {
                self.budget.paused = true;
                let next_reset_ms = self.budget.next_reset_ms(now_ms);
                tracing::warn!(reason = %reason, next_reset_ms, "budget exhausted: paid work paused");
                self.fx.events.push((
                    "budget.exhausted".into(),
                    json!({ "reason": reason, "next_reset_ms": next_reset_ms }),
                ));
            }
            // Wake at the next reset (recomputed once it has passed).
            if self.budget_wake_ms.is_none_or(|at| at <= now_ms) {
                self.budget_wake_ms = Some(self.budget.next_reset_ms(now_ms));
            }
        } else if self.budget.paused && out.refused.is_none() && (out.granted || out.scanned_all) {
            // Resumed only when nothing was refused: a call squeezing in under the limit
            // while others still wait is not the end of the pause.
            self.budget.paused = false;
            self.budget_wake_ms = None;
            tracing::info!("budget restored: paid work resumes");
            self.fx.events.push(("budget.restored".into(), json!({})));
        }
    }

    /// Gives each busy worker without a reservation the next ready task. A ready task of
    /// higher priority than a reservation takes its place (the reserved task goes back to
    /// ready), so reservations never delay more urgent work.
    fn reserve(&mut self, now_ms: u64, out: &mut BudgetOutcome, stopped: &[bool]) {
        if self.ready.is_empty() {
            return;
        }
        let mut open: Vec<usize> = (0..self.workers.len())
            .filter(|&w| self.workers[w].current.is_some() && self.workers[w].reserved.is_none())
            .filter(|&w| !stopped.get(w).copied().unwrap_or(false))
            .collect();
        let mut skipped = Vec::new();
        while let Some(&(Reverse(best), _)) = self.ready.iter().next() {
            if open.is_empty() {
                match self.worst_reservation() {
                    Some((prio, w))
                        if prio < best
                            && self.withdraw(w, "a task of higher priority took its place") =>
                    {
                        open.push(w)
                    }
                    _ => break,
                }
            }
            let Some((pos, (prio, id))) = self.pick(&open, 1) else {
                break;
            };
            self.ready.remove(&(prio, id));
            let pos = self.worker_for(id, &open, pos);
            if !self.plan_call(id, open[pos], now_ms, out) {
                skipped.push((prio, id));
                continue;
            }
            let w = open.remove(pos);
            let attempt = self.claim(id, w);
            let max_tokens = self.limits.max_tokens_for(&self.active[&id].tags);
            let model = self.active[&id].model.clone();
            let worker = &mut self.workers[w];
            worker.reserved = Some(id);
            self.workers_changed = true;
            self.fx.reserve.push(Dispatch {
                task: id,
                attempt,
                worker: worker.config.name.clone(),
                model,
                max_tokens,
                worker_index: w,
                lane: worker.lane,
            });
        }
        self.ready.extend(skipped);
    }

    /// The reservation to give up first: lowest priority, then newest.
    fn worst_reservation(&self) -> Option<(Priority, usize)> {
        self.workers
            .iter()
            .enumerate()
            .filter_map(|(w, worker)| {
                let id = worker.reserved?;
                Some((self.active[&id].priority, Reverse(id), w))
            })
            .min()
            .map(|(prio, _, w)| (prio, w))
    }

    /// Takes worker `w`'s reservation back to ready; false when its call has already
    /// started (the scheduler learns of it with the running call's answer).
    fn withdraw(&mut self, w: usize, reason: &str) -> bool {
        let Some(id) = self.workers[w].reserved else {
            return false;
        };
        if self.slots.withdraw(w).is_none() {
            return false;
        }
        self.workers[w].reserved = None;
        self.workers_changed = true;
        let task = self.active.get_mut(&id).expect("reserved tasks are held");
        task.worker = None;
        // The call never started: the attempt is not spent.
        task.attempts -= 1;
        let priority = task.priority;
        self.budget.release(id);
        self.set_status(id, TaskStatus::Ready, json!({ "reason": reason }))
            .expect("assigned tasks may become ready");
        self.ready.insert((Reverse(priority), id));
        true
    }

    /// Takes back every reservation whose call has not started (at shutdown).
    pub fn withdraw_reservations(&mut self) {
        for w in 0..self.workers.len() {
            self.withdraw(w, "the host is shutting down");
        }
    }

    /// The slots through which call tasks take their reserved next call.
    pub fn slots(&self) -> Arc<Slots> {
        self.slots.clone()
    }

    /// Assigns `id` to worker `w` (an attempt begins); returns the attempt number.
    fn claim(&mut self, id: TaskId, w: usize) -> u32 {
        let name = self.workers[w].config.name.clone();
        let task = self.active.get_mut(&id).expect("ready tasks are held");
        task.worker = Some(name.clone());
        task.attempts += 1;
        let attempt = task.attempts;
        self.set_status(id, TaskStatus::Assigned, json!({ "worker": name }))
            .expect("ready tasks may be assigned");
        attempt
    }

    /// Marks `id` running on worker `w`. With `dispatch`, the loop starts the call on a new
    /// lane; without, a call task has started it already (it was reserved).
    fn run_on(&mut self, id: TaskId, w: usize, now_ms: u64, dispatch: bool) {
        if dispatch {
            self.next_lane += 1;
            self.workers[w].lane = self.next_lane;
        }
        let worker = &mut self.workers[w];
        worker.current = Some(id);
        let (name, lane) = (worker.config.name.clone(), worker.lane);
        self.workers_changed = true;
        let max_tokens = self.limits.max_tokens_for(&self.active[&id].tags);
        let task = self.active.get_mut(&id).expect("assigned tasks are held");
        if task.model.is_empty() {
            task.model = self.workers[w].model.clone();
        }
        let model = task.model.clone();
        task.started_ms = Some(now_ms);
        let attempt = task.attempts;
        self.set_status(
            id,
            TaskStatus::Running,
            json!({ "worker": name, "model": model, "attempt": attempt }),
        )
        .expect("assigned tasks may run");
        if dispatch {
            self.fx.dispatch.push(Dispatch {
                task: id,
                attempt,
                worker: name,
                model,
                max_tokens,
                worker_index: w,
                lane,
            });
        }
    }

    /// The best (worker, task) pair among `candidates` (each holding `load` tasks) and the
    /// first [`PICK_WINDOW`] ready tasks: highest `0.6·affinity + 0.4·priority/400` (see
    /// [`affinity`]); ties go to the more urgent task, then the worker first in line.
    /// Returns the worker's position in `candidates` and the task's ready entry.
    fn pick(
        &self,
        candidates: &[usize],
        load: usize,
    ) -> Option<(usize, (Reverse<Priority>, TaskId))> {
        let fit = |w: usize| {
            let worker = &self.workers[w];
            Fit {
                capabilities: &worker.config.capabilities,
                success_rate: worker.stats.success_rate(),
                load,
            }
        };
        let parts: Vec<f64> = candidates
            .iter()
            .map(|&w| affinity::worker_part(&fit(w)))
            .collect();
        let mut best: Option<(f64, usize, (Reverse<Priority>, TaskId))> = None;
        // A task with the priority and tags of one already scored cannot beat it.
        let mut seen: Vec<(Priority, &[String])> = Vec::new();
        // Tasks filed for a worker that is not a candidate take no place in the window.
        let open = self.ready.iter().filter(|(_, id)| {
            let task = &self.active[id];
            task.for_worker.is_none() || candidates.iter().any(|&w| self.may_take(task, w))
        });
        for &(prio, id) in open.take(PICK_WINDOW) {
            let task = &self.active[&id];
            let tags = task.tags.as_slice();
            if task.for_worker.is_none() {
                if seen.iter().any(|&(p, t)| p == prio.0 && t == tags) {
                    continue;
                }
                seen.push((prio.0, tags));
            }
            for (pos, &w) in candidates.iter().enumerate() {
                if !self.may_take(task, w) {
                    continue;
                }
                let tag = affinity::tag_part(tags, &self.workers[w].config.capabilities);
                let score = affinity::pick_score((tag + parts[pos]).min(1.0), prio.0);
                if best.is_none_or(|(b, _, _)| score > b) {
                    best = Some((score, pos, (prio, id)));
                }
            }
        }
        best.map(|(_, pos, entry)| (pos, entry))
    }

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
    fn release_worker(&mut self, id: TaskId, now_ms: u64) -> Option<usize> {
        let w = self.workers.iter().position(|w| w.current == Some(id))?;
        self.workers[w].current = None;
        self.workers_changed = true;
        match self.workers[w].reserved.take() {
            Some(next) => {
                let dispatch = self.slots.withdraw(w).is_some();
                self.run_on(next, w, now_ms, dispatch);
            }
            None => self.free.push_back(w),
        }
        Some(w)
    }

    fn is_current(&self, id: TaskId, attempt: u32) -> bool {
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
        result.cost_micros = self.budget.settle(
            id,
            &model,
            &worker,
            result.input_tokens.saturating_sub(earlier.input_tokens),
            result.output_tokens.saturating_sub(earlier.output_tokens),
            now_ms,
        ) + earlier.cost_micros;
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
        self.fail_attempt(id, error, now_ms);
    }

    /// [`Core::fail`] once the failure is counted.
    fn fail_attempt(&mut self, id: TaskId, error: String, now_ms: u64) {
        self.budget.release(id);
        self.step_spend.remove(&id);
        self.pinned.remove(&id);
        self.fallback_pos.remove(&id);
        self.release_after_failure(id, &error, now_ms);
        let task = self.active.get_mut(&id).expect("current");
        task.error = Some(error.clone());
        task.finished_ms = Some(now_ms);
        let retry_at = (task.attempts < task.max_attempts).then(|| {
            let shift = task.attempts.saturating_sub(1).min(20);
            let delay = self
                .cfg
                .retry_backoff_ms
                .saturating_mul(1 << shift)
                .min(self.cfg.retry_backoff_max_ms);
            now_ms + delay
        });
        task.retry_at_ms = retry_at;
        self.set_status(
            id,
            TaskStatus::Failed,
            json!({ "error": error, "retry_at_ms": retry_at }),
        )
        .expect("running tasks may fail");
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

    /// Records a failed call with its typed error. When the provider is down (after the
    /// executor's retries) and the fallback chain has a model left, the task goes straight
    /// back to ready on that model, with no backoff; otherwise as [`Core::fail`].
    pub fn fail_call(&mut self, id: TaskId, attempt: u32, error: &CallError, now_ms: u64) {
        if !self.is_current(id, attempt) {
            return;
        }
        self.note_failure(id, Failure::of(error), now_ms);
        let Some(why) = router::provider_down(error) else {
            return self.fail_attempt(id, error.to_string(), now_ms);
        };
        let model = self.active[&id].model.clone();
        let from = self.fallback_pos.get(&id).copied().unwrap_or(0);
        let Some((pos, next)) = router::next_fallback(&self.router, from, &model)
            .map(|(pos, next)| (pos, next.to_owned()))
        else {
            return self.fail_attempt(id, error.to_string(), now_ms);
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

    fn requeue_failed(&mut self, id: TaskId, reason: &str) {
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

    /// Retries a failed task by hand (even when its attempts are used up). `stored` is the
    /// task as stored, needed when it is no longer held in memory.
    pub fn retry(&mut self, id: TaskId, stored: Option<Task>) -> Result<(), CoreError> {
        let was_held = self.hold(id, stored)?;
        let from = self.active[&id].status;
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
        self.ready.remove(&(Reverse(priority), id));
        if let Some(at) = task.retry_at_ms {
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
        self.set_status(id, TaskStatus::Cancelled, json!({}))?;
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
        self.finished.remove(&id);
        self.held_by_status[task.status as usize] += 1;
        self.active.insert(id, task);
        Ok(false)
    }

    /// Undoes a `hold` whose change was refused: the task goes back to the finished set
    /// (and is written again, unchanged, with this batch).
    fn unhold(&mut self, id: TaskId, was_held: bool) {
        if !was_held && let Some(task) = self.active.remove(&id) {
            self.held_by_status[task.status as usize] -= 1;
            self.finished.insert(id, task.status);
            self.fx.finished.push(task);
        }
    }

    /// Whether `id` is held in memory (else the caller must load it to retry/cancel).
    pub fn holds(&self, id: TaskId) -> bool {
        self.active.contains_key(&id)
    }

    /// Whether a task with this id was ever filed.
    pub fn knows(&self, id: TaskId) -> bool {
        self.status_of(id).is_some()
    }

    /// Re-queues every running task (at shutdown, when calls did not finish in time).
    pub fn requeue_running(&mut self) {
        self.requeue_in_flight("re-queued at shutdown");
    }

    /// Every assigned or running task back to ready (its attempt stays counted), every
    /// worker free, every reservation withdrawn.
    fn requeue_in_flight(&mut self, reason: &str) {
        for (w, worker) in self.workers.iter_mut().enumerate() {
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
            .map(|t| t.id)
            .collect();
        for id in in_flight {
            self.budget.release(id);
            let task = self.active.get_mut(&id).expect("held");
            task.worker = None;
            let priority = task.priority;
            self.set_status(id, TaskStatus::Ready, json!({ "reason": reason }))
                .expect("assigned and running tasks may become ready");
            self.ready.insert((Reverse(priority), id));
        }
    }

    /// No task ready or in flight and no retry scheduled.
    pub fn is_idle(&self) -> bool {
        self.ready.is_empty() && self.free.len() == self.alive() && self.retries.is_empty()
    }

    /// Calls in flight.
    pub fn in_flight(&self) -> usize {
        self.alive() - self.free.len()
    }

    /// Workers alive: configured ones and ephemeral ones not despawned.
    fn alive(&self) -> usize {
        self.workers.len() - self.retired
    }

    /// Files the standing priorities that are due: only when idle, once per cooldown per
    /// title, never while an unfinished task of that title exists.
    pub fn file_standing(&mut self, list: &[StandingPriority], now_ms: u64) -> usize {
        if !self.is_idle() {
            return 0;
        }
        let mut filed = 0;
        for s in list {
            let cooled = self
                .cooldowns
                .get(&s.title)
                .is_none_or(|&last| now_ms >= last + s.cooldown_secs * 1000);
            let open = self.title_is_open(&s.title);
            if !cooled || open {
                continue;
            }
            let spec = TaskSpec {
                title: s.title.clone(),
                description: s.description.clone(),
                priority: s.priority,
                tags: s.tags.clone(),
                ..TaskSpec::default()
            };
            if self
                .file(vec![PlannedTask { key: None, spec }], "standing", now_ms)
                .is_ok()
            {
                self.cooldowns.insert(s.title.clone(), now_ms);
                self.fx.cooldowns = true;
                filed += 1;
            }
        }
        filed
    }

    fn title_is_open(&self, title: &str) -> bool {
        self.active
            .values()
            .any(|t| t.title == title && t.status.is_unfinished())
    }

    /// When the next timed action is due: a retry, or (when idle) a standing priority.
    pub fn next_due(&self, list: &[StandingPriority]) -> Option<u64> {
        let retry = self.retries.iter().next().map(|&(at, _)| at);
        let standing = if self.is_idle() {
            list.iter()
                .filter(|s| !self.title_is_open(&s.title))
                .filter_map(|s| {
                    self.cooldowns
                        .get(&s.title)
                        .map(|&l| l + s.cooldown_secs * 1000)
                })
                .min()
        } else {
            None
        };
        let scale = self
            .scaler
            .cfg
            .enabled
            .then(|| self.scaler.next_due(&self.pool()))
            .flatten();
        [
            retry,
            standing,
            self.budget_wake_ms,
            self.ladder.next_due(),
            scale,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// A held task.
    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.active.get(&id)
    }

    /// The configuration of the worker at `index`.
    pub fn worker_config_at(&self, index: usize) -> &WorkerConfig {
        &self.workers[index].config
    }

    /// Every worker with its stats.
    pub fn worker_views(&self) -> Vec<WorkerView> {
        self.workers
            .iter()
            .filter(|w| !w.retired)
            .map(|w| WorkerView {
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
            })
            .collect()
    }

    /// Name and stats of the worker at `index`.
    pub fn worker_stats(&self, index: usize) -> (&str, &WorkerStats) {
        let w = &self.workers[index];
        (&w.config.name, &w.stats)
    }

    /// Standing-priority cooldowns (title → last filed).
    pub fn cooldowns(&self) -> &BTreeMap<String, u64> {
        &self.cooldowns
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
            busy_workers: self.in_flight(),
            workers: self.alive(),
            completed_since_start: self.completed_since_start,
            failed_since_start: self.failed_since_start,
        }
    }
}

mod coordination;
mod ladder_hooks;

mod signal_hooks;

mod worker_hooks;

mod approval_hooks;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod budget_tests;

#[cfg(test)]
mod ladder_tests;

#[cfg(test)]
mod coord_tests;

#[cfg(test)]
mod signals_tests;

#[cfg(test)]
mod workers_tests;

pub mod steps;
