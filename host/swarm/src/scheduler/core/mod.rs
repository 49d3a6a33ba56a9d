//! The scheduler's decisions, as plain data and functions: no I/O, no clock, no runtime.
//! Every method takes `now_ms` and records what must happen in [`Effects`]; the loop in
//! [`super`] (the scheduler loop) persists, announces and calls.
//!
//! This file holds the core's types, its construction and its configuration; the rest of
//! its methods are in the modules listed at the end, one per responsibility.

use super::effects::Effects;
use super::ladder::{self, Ladder};
use super::reserve::Slots;
use crate::budget::{self, Budget, BudgetView};
use crate::config::SchedulerConfig;
use crate::coordinator::CoordinatorConfig;
use crate::coordinator::autoscale::{self, Autoscaler};
use crate::identity::Identities;
use crate::prompts::LimitsConfig;
use crate::router::{Route, RouterConfig};
use crate::workers::memory::{MemoryConfig, WorkerMemory};
use crate::workers::personal::PersonalTimeConfig;
use crate::workers::{WorkerConfig, WorkerStats};
pub use hypernet_model::tasks::PlannedTask;
use hypernet_model::tasks::{IllegalTransition, Task, TaskId, TaskStatus};
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
    /// No live worker has that name (the message names those there are).
    #[error("{0}")]
    NoSuchWorker(String),
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
    /// The other tasks sharing that call (see [`batching_hooks`]).
    batch: Vec<TaskId>,
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
    /// Paused by a person: takes no new task (see [`roster`]).
    paused: bool,
    /// Removed by a person while making a call: leaves when the call ends.
    leaving: bool,
    /// Added by a person at run time.
    added: bool,
}

impl Worker {
    /// An idle worker as `config` says, on its model (none: fill `model` in).
    fn new(config: WorkerConfig) -> Worker {
        Worker {
            model: config.model.clone().unwrap_or_default(),
            config,
            stats: WorkerStats::default(),
            current: None,
            batch: Vec::new(),
            reserved: None,
            lane: 0,
            ephemeral: false,
            retired: false,
            spawned_ms: 0,
            memory: WorkerMemory::default(),
            paused: false,
            leaving: false,
            added: false,
        }
    }
}

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
    /// Finished tasks by status (completed, failed, cancelled), every one stored.
    pub finished: BTreeMap<String, u64>,
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
    /// Boxed: a queued task's slot would be about 800 bytes, and a burst's spare slots
    /// with it.
    active: HashMap<TaskId, Box<Task>>,
    /// The final status of every task no longer held (see [`finished`]).
    finished: finished::Finished,
    ready: BTreeSet<(Reverse<Priority>, TaskId)>,
    waiting_on: HashMap<TaskId, Vec<TaskId>>,
    dedup: HashMap<u64, TaskId>,
    /// The tasks held in memory that were filed with an `origin`, by origin. An origin files
    /// one task, ever: those of finished tasks are in the store (`task_origins`), which the
    /// loop reads for a filing that names one (see [`Core::origin_of`]).
    origins: HashMap<String, TaskId>,
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
    /// The models of each tier, for tier rules.
    tiers: crate::router::TierModels,
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
    /// Workers waiting for their boot sequence (see [`boot_hooks`]).
    boot: boot_hooks::Booting,
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
    /// Peers and delegations, when federation is on (see [`delegation`]).
    fed: Option<Box<delegation::Federated>>,
    /// What people changed of the workers (see [`roster`]).
    roster: roster::Roster,
    /// Tasks through providers' batch APIs (see [`batch_hooks`]).
    batch_api: crate::scheduler::batch_api::book::Book,
    /// Tasks sharing calls (see [`batching_hooks`]).
    batching: batching_hooks::Batching,
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
                ..Worker::new(config)
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
            finished: finished::Finished::default(),
            ready: BTreeSet::new(),
            waiting_on: HashMap::new(),
            dedup: HashMap::new(),
            origins: HashMap::new(),
            retries: BTreeSet::new(),
            cooldowns: BTreeMap::new(),
            completed_since_start: 0,
            failed_since_start: 0,
            held_by_status: [0; TaskStatus::ALL.len()],
            workers_changed: true,
            router: RouterConfig::default(),
            tiers: Default::default(),
            limits: LimitsConfig::default(),
            identities: Arc::default(),
            budget: Budget::default(),
            budget_wake_ms: None,
            pinned: HashMap::new(),
            fallback_pos: HashMap::new(),
            step_spend: HashMap::new(),
            tool_chars: 0,
            ladder: Ladder::default(),
            boot: boot_hooks::Booting::default(),
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
            fed: None,
            roster: roster::Roster::default(),
            batch_api: Default::default(),
            batching: batching_hooks::Batching::default(),
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
        let models = self.workers.iter().map(|w| w.model.as_str());
        // A configuration read from a file was checked when it was parsed.
        self.tiers = router
            .tier_models(budget.prices(), models)
            .unwrap_or_default();
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
    pub fn restore_budget(&mut self, state: budget::Persisted, today: Option<budget::DaySpend>) {
        self.budget.restore(state, today);
    }

    /// Answer lengths and compact prompts.
    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    /// The budget.
    pub fn budget(&self) -> &Budget {
        &self.budget
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
}

// `Core`'s methods, by responsibility:
// the held tasks: lookups, status changes, eviction
mod held;
// the statuses of finished tasks, as runs of ids
mod finished;
// filing a batch: checks, duplicates, dependency order and cycles, readiness
mod filing;
// handing ready tasks to free workers: pick, route, budget, dispatch
mod assign;
// the next task held for a busy worker
mod reservations;
// the end of a call: completion, failure, retry backoff, fallback
mod outcome;
// cancel and retry by hand
mod cancel;

pub mod delegation;
// restore from the store; requeue after a restart or at shutdown
mod restore;
// standing priorities and the next timed wake-up
mod standing;
// what the loop and the API read: idleness, workers, counts
mod views;
// the calls of a multi-call task and their budget
mod charges;
pub mod steps;
// the coordinator: splitting, conflicts, autoscaling, the swarm's limits
mod coordination;
// the failure ladder: suspended workers, the breaker, probes
pub mod boot_hooks;
mod ladder_hooks;
// signals and directives in answers; a person's answers
mod signal_hooks;
// worker memory, personal time, tasks filed for one worker
mod worker_hooks;

pub mod roster;
// tasks waiting on the approval queue
mod approval_hooks;
// deferrable tasks through providers' batch APIs
mod batch_hooks;
// simple tasks sharing one call
mod batching_hooks;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod budget_tests;

#[cfg(test)]
mod ladder_tests;

#[cfg(test)]
mod coordination_tests;

#[cfg(test)]
mod signal_tests;

#[cfg(test)]
mod worker_tests;

#[cfg(test)]
mod roster_tests;

#[cfg(test)]
mod delegation_tests;

#[cfg(test)]
mod batch_tests;

#[cfg(test)]
mod batching_tests;
