//! The scheduler: one thread owns the task graph ([`core::Core`]) and works in batches.
//! Each batch takes every command waiting (filings, answers, cancels, retries), decides,
//! writes all changes in one redb transaction, and only then replies, announces the events
//! and starts the model calls (on the async runtime, all concurrently). It sleeps until
//! the next command or the next timed action (a retry, a standing priority) — never on a
//! fixed tick. A busy worker's next call may start without the loop (see [`reserve`]): it
//! was made durable, as an assignment, in an earlier batch.

pub mod abort;
pub mod batch_api;
pub mod batching;
mod boot_task;
pub mod call;
pub mod call_metrics;
pub mod conversation;
pub mod core;
pub mod effects;
pub mod exec;
pub mod host_commands;
pub mod ladder;
pub mod output;
pub mod persist;
pub mod plugin_provider;
pub mod precise_sleep;
pub mod reserve;
pub mod simulated;
pub mod tool_loop;

use self::call::{CallSpec, ProviderMap};
use self::core::{Core, CoreError, Counts, Filed, PlannedTask};
use self::reserve::{Reserved, Slots};
use crate::config::HostConfig;
use crate::federation::{Applied, PeerStatus, RemoteUpdate};
use crate::persist::{BudgetTable, LadderTable, TaskTables};
use crate::scheduler::persist::Batch;
use crate::workers::WorkerView;
pub use host_commands::{HostCommands, Inbox};
use hypernet_engine::Registry;
use hypernet_model::clock::now_ms;
use hypernet_model::tasks::{RemoteOrigin, TaskId, TaskResult, TaskSpec};
use hypernet_store::Store;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

type Reply<T> = oneshot::Sender<Result<T, CoreError>>;

enum Command {
    File {
        batch: Vec<PlannedTask>,
        filed_by: String,
        reply: Reply<Vec<Filed>>,
    },
    Cancel {
        id: TaskId,
        reply: Reply<()>,
    },
    Retry {
        id: TaskId,
        reply: Reply<()>,
    },
    Answer {
        id: TaskId,
        answer: String,
        reply: Reply<()>,
    },
    Memory {
        worker: String,
        reply: oneshot::Sender<Option<crate::workers::memory::WorkerMemory>>,
    },
    Resolved {
        task: TaskId,
        approval: hypernet_model::ids::ApprovalId,
        outcome: String,
    },
    Finished {
        id: TaskId,
        attempt: u32,
        outcome: Result<TaskResult, hypernet_llm::CallError>,
    },
    /// A batched call ended (see [`batching`]).
    Batched(Box<batching::call::Finished>),
    Probed {
        target: ladder::ProbeTarget,
        outcome: Result<(), ladder::Failure>,
    },
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<()>,
    },
    SetBudget {
        daily_usd: Option<f64>,
        session_usd: Option<f64>,
        reply: Reply<crate::budget::BudgetView>,
    },
    Decompose {
        id: TaskId,
        reply: Reply<Vec<Filed>>,
    },
    SetLimit {
        name: String,
        limit: crate::coordinator::autoscale::Limit,
        reply: Reply<serde_json::Value>,
    },
    Roster {
        change: core::roster::RosterChange,
        reply: Reply<crate::workers::WorkerView>,
    },
    Step(exec::StepCharge),
    /// The offered tools changed: this many characters they add to a prompt at most.
    ToolPromptChars(usize),
    Boot(crate::identity::startup::Request),
    FileRemote {
        batch: Vec<(TaskSpec, RemoteOrigin)>,
        reply: oneshot::Sender<Vec<Result<Filed, CoreError>>>,
    },
    CancelRemote {
        keys: Vec<String>,
        reply: Reply<()>,
    },
    ApplyRemote {
        updates: Vec<RemoteUpdate>,
        reply: Reply<Vec<Applied>>,
    },
    Peers(Option<Vec<PeerStatus>>),
    Federation(oneshot::Sender<core::delegation::FederationView>),
    /// What the batch API runner learned (see [`batch_api`]).
    BatchApi(batch_api::runner::Report),
}

/// The store's namespace of delegations withdrawn before they came (see
/// [`Scheduler::cancel_remote`]).
const WITHDRAWN: &str = "federation.withdrawn";

/// How often pending approval requests are checked for expiry.
const APPROVAL_EXPIRY_EVERY: Duration = Duration::from_secs(30);

/// Told the moment each model call starts (used by `hypernet bench` to measure scheduling
/// latency).
pub type CallProbe = Arc<dyn Fn(TaskId) + Send + Sync>;

/// What `status` shows without touching the store.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Snapshot {
    /// Held tasks by status, and worker occupancy.
    pub counts: Counts,
    /// Workers with stats.
    pub workers: Vec<WorkerView>,
    /// Batches written since start.
    pub batches: u64,
    /// Host start time.
    pub started_ms: u64,
    /// Limits, spend and reservations.
    pub budget: crate::budget::BudgetView,
    /// The failure ladder's circuit breaker.
    pub breaker: ladder::BreakerView,
    /// Conflicts among the tasks workers hold.
    pub conflicts: Vec<crate::coordinator::conflicts::Conflict>,
    /// The boot sequences still to run (they run in the background after the start).
    pub boot: Option<core::boot_hooks::BootView>,
    /// Tasks in providers' batch APIs (when `[batch_api] enabled`).
    pub batch_api: Option<batch_api::book::BatchApiView>,
}

/// Sends commands to the scheduler thread. Cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    tx: mpsc::Sender<Command>,
    snapshot: Arc<RwLock<Snapshot>>,
    /// Replaced as each boot sequence ends.
    identities: Arc<RwLock<Arc<crate::identity::Identities>>>,
    workers: Arc<[crate::workers::WorkerConfig]>,
    approvals: crate::approvals::service::Approvals,
    bus: crate::bus::Bus,
    /// The model names and prefixes the loaded providers serve.
    models: Arc<[String]>,
    /// How long model calls take.
    call_metrics: call_metrics::CallMetrics,
    /// Workers' tool rights (an added worker gets its own).
    permissions: Arc<crate::tools::TierPermission>,
    /// What models cost, for estimates.
    prices: Arc<crate::budget::prices::PriceTable>,
    /// The stored spend by day, for cost reports.
    ledger: crate::budget::report::Ledger,
}

/// Why the scheduler could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] hypernet_store::StoreError),
    /// The HTTP client for model calls could not be built.
    #[error("building the HTTP client: {0}")]
    Http(String),
    /// The workers' identities could not be loaded or booted.
    #[error("{0:#}")]
    Identities(anyhow::Error),
    /// The scheduler thread could not be started.
    #[error(transparent)]
    Thread(#[from] std::io::Error),
}

/// What the scheduler is given, built before it in this order: the store, the
/// scheduler's [`Inbox`] (so that the registry's plugins and the approval queue can send to
/// it), the workers' permissions, the audit log, the registry, the outbox.
pub struct Parts {
    /// The redb file.
    pub store: Store,
    /// The plugins.
    pub registry: Arc<Registry>,
    /// The scheduler's command channel.
    pub inbox: Inbox,
    /// Workers' tool tiers (shared with the [`HostCommands`] that `permissions.set` runs).
    pub permissions: Arc<crate::tools::TierPermission>,
    /// Where tool calls, approvals and plugin commands are recorded (none in tests and
    /// benchmarks).
    pub audit: Option<crate::audit::Audit>,
    /// Where `send_message` sends (none: the tool answers that it cannot).
    pub outbox: Option<crate::outbox::Outbox>,
    /// Told the moment each model call starts (`hypernet bench`).
    pub probe: Option<CallProbe>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

fn gone<T>(_: T) -> CoreError {
    CoreError::Invalid("the scheduler has stopped".into())
}

impl Scheduler {
    /// Restores the task graph from the store (re-queuing interrupted work), discovers the
    /// providers, loads the identities, builds the tools and the approval queue, and starts
    /// the scheduler thread; the boot sequences of new instances then run in the background
    /// (see [`crate::identity::startup`]).
    pub async fn start(config: &HostConfig, parts: Parts) -> Result<Scheduler, StartError> {
        let Parts {
            store,
            registry,
            inbox,
            permissions,
            audit,
            outbox,
            probe,
        } = parts;
        let ledger = crate::budget::report::Ledger::new(store.clone(), &config.budget);
        let mut core = Core::new(config.scheduler.clone(), config.workers.clone());
        core.restore_state(store.worker_stats()?, store.cooldowns()?);
        core.configure_workers(config.memory.clone(), config.personal_time.clone());
        core.configure(
            config.router.clone(),
            config.limits.clone(),
            crate::budget::Budget::new(&config.budget),
        );
        core.configure_coordinator(
            &config.coordinator,
            config.autoscale.clone(),
            config.swarm_limits,
        );
        if let Some(spent) = store.budget()? {
            let today = store.spend_days(spent.day, spent.day)?.pop();
            core.restore_budget(spent, today);
        }
        let roster = store.roster()?;
        for added in &roster.added {
            permissions.admit(added);
        }
        core.restore_roster(roster);
        core.configure_ladder(config.ladder.clone(), store.ladder()?);
        core.configure_batching(config.batching.clone());
        // Finished tasks' origins are looked up in the store; a store written before the
        // origins were indexed gets them indexed now.
        let mut finished_origins = Vec::new();
        store.for_each_task(|t| {
            if let Some(origin) = &t.origin
                && !Core::is_open(&t)
            {
                finished_origins.push((origin.clone(), t.id));
            }
            core.restore_task(t)
        })?;
        store.index_origins(&finished_origins)?;
        drop(finished_origins);
        let stored_batches = core.restore_batches(
            batch_api::persist::BatchApiTable::batches(&store)?,
            now_ms(),
        );
        core.requeue_interrupted(now_ms());
        let http = hypernet_llm::HttpExecutor::new(&config.http)
            .map_err(|e| StartError::Http(e.to_string()))?;
        let providers = Arc::new(ProviderMap::discover(&registry, &http).await);
        let models: Arc<[String]> = providers.prefixes().into();
        let batch_limits = batch_api::batch_limits(&registry).await;
        core.configure_batch_api(
            config.batch_api.clone(),
            batch_api::batchable(providers.clone(), &batch_limits),
        );
        if config.federation.enabled {
            core.configure_federation(&config.federation);
            core.set_served_models(models.to_vec());
            for key in store.kv_list(WITHDRAWN, "")? {
                core.withdraw_remote(key);
            }
        }
        let loaded = crate::identity::startup::load(config).map_err(StartError::Identities)?;
        let to_boot = crate::identity::startup::awaiting_boot(config, &loaded);
        let identities = Arc::new(RwLock::new(Arc::new(loaded.clone())));
        core.set_identities(Arc::new(loaded.clone()));
        core.await_boot(to_boot.iter().map(|(w, _)| w.name.clone()));
        let bus = crate::bus::Bus::start(registry.clone(), &config.workers)?;
        let Inbox { tx, rx, accepting } = inbox;
        let plugin_tools = if config.tools.enabled {
            crate::tools::plugin::discover(&registry).await
        } else {
            Vec::new()
        };
        let build = {
            let (config, store, audit) = (config.clone(), store.clone(), audit.clone());
            let messages = crate::tools::send_message::SendMessage::new(outbox, Some(bus.clone()));
            move |plugin_tools| {
                tool_registry(
                    &config,
                    &store,
                    plugin_tools,
                    audit.clone(),
                    messages.clone(),
                )
            }
        };
        let first = build(plugin_tools);
        crate::tools::setup::warn_unknown_grants(&config.workers, &first);
        let tools = crate::tools::SharedTools::new(first);
        if config.tools.enabled {
            let tx = tx.clone();
            crate::tools::plugin::follow(registry.clone(), tools.clone(), move |found| {
                let fresh = build(found);
                let _ = tx.send(Command::ToolPromptChars(tool_prompt_chars(&fresh)));
                fresh
            });
        }
        let permissions_handle = permissions.clone();
        let contexts = crate::tools::ToolContexts {
            permission: permissions,
            workspace_root: config.tools.workspace_root.clone(),
        };
        let approvals = crate::approvals::service::Approvals::new(
            store.clone(),
            config.approvals.clone(),
            crate::approvals::service::Runner {
                tools: tools.clone(),
                contexts: {
                    let contexts = contexts.clone();
                    Arc::new(move |task, worker: &str| contexts.context(task, Arc::from(worker)))
                },
            },
            Arc::new(Resolutions(tx.clone())),
            audit,
        );
        let exec = Arc::new(exec_settings(config, tools, contexts, &approvals, &tx));
        let call_metrics = exec.call_metrics.clone();
        core.set_tool_prompt_chars(tool_prompt_chars(&exec.tools.current()));
        // The boot sequences to come show from the first status on, not from the first
        // refresh.
        let snapshot = Arc::new(RwLock::new(Snapshot {
            started_ms: now_ms(),
            boot: core.boot_view(),
            ..Snapshot::default()
        }));
        let batch_runner = batch_api::start_runner(
            &config.batch_api,
            registry.clone(),
            http.clone(),
            batch_limits,
            &tx,
        );
        let worker = Loop {
            slots: core.slots(),
            core,
            store,
            registry: registry.clone(),
            providers,
            http,
            runtime: tokio::runtime::Handle::current(),
            tx: tx.clone(),
            snapshot: snapshot.clone(),
            standing: config.standing.clone(),
            call_timeout: Duration::from_millis(config.scheduler.call_timeout_ms),
            batches: 0,
            snapshot_stale: true,
            last_refresh: Instant::now(),
            last_workers_refresh: Instant::now(),
            probe,
            aborts: Arc::default(),
            stop_after_write: Vec::new(),
            exec,
            bus: bus.clone(),
            batch_runner,
        };
        worker.poll_stored_batches(stored_batches);
        let boot = boot_task::BootTask {
            config: config.identity.clone(),
            identities: loaded,
            workers: to_boot,
            registry: registry.clone(),
            providers: worker.providers.clone(),
            http: worker.http.clone(),
            timeout: worker.call_timeout,
            shared: identities.clone(),
            tx: tx.clone(),
        };
        std::thread::Builder::new()
            .name("scheduler".into())
            .spawn(move || worker.run(rx))?;
        accepting.store(true, std::sync::atomic::Ordering::Release);
        boot.spawn();
        let scheduler = Scheduler {
            tx,
            snapshot,
            identities,
            workers: Arc::from(config.workers.clone()),
            approvals: approvals.clone(),
            bus,
            models,
            call_metrics,
            permissions: permissions_handle,
            prices: Arc::new(crate::budget::prices::PriceTable::new(
                &config.budget.prices,
            )),
            ledger,
        };
        if let Err(e) = approvals.recover(now_ms()).await {
            tracing::error!(error = %e, "cannot recover the approval queue");
        }
        approvals.spawn_expiry(APPROVAL_EXPIRY_EVERY);
        Ok(scheduler)
    }

    /// What a call to `model` with `input_tokens` in and `output_tokens` out would cost.
    pub fn estimate(
        &self,
        model: &str,
        input_tokens: u64,
        output_tokens: u64,
    ) -> crate::budget::prices::Estimate {
        self.prices.estimate(model, input_tokens, output_tokens)
    }

    /// Where the money went over the last `days` budget days, against the targets, with
    /// the savings and a projection (see [`crate::budget::report`]).
    pub fn cost_report(
        &self,
        days: u64,
    ) -> Result<crate::budget::report::CostReport, hypernet_store::StoreError> {
        let limit = self.read_snapshot(|s| s.budget.daily_limit_micros);
        self.ledger.report(days, now_ms(), limit)
    }

    /// How long model calls have taken since the host started.
    pub fn call_metrics(&self) -> &call_metrics::CallMetrics {
        &self.call_metrics
    }

    /// The sizes of the full and compact identity prompts of the configured worker `name`
    /// (any case) calling `model`.
    pub fn prompt_sizes(&self, name: &str, model: &str) -> Option<crate::identity::PromptSizes> {
        let worker = self
            .workers
            .iter()
            .find(|w| w.name.eq_ignore_ascii_case(name))?;
        let identities = self.identities.read().expect("identities lock").clone();
        Some(identities.prompt_sizes(worker, model, "An example task"))
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, CoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(make(reply)).map_err(gone)?;
        rx.await.map_err(gone)?
    }

    /// Files tasks (a batch may reference its own members by key).
    pub async fn file(
        &self,
        batch: Vec<PlannedTask>,
        filed_by: &str,
    ) -> Result<Vec<Filed>, CoreError> {
        let filed_by = filed_by.to_owned();
        self.ask(|reply| Command::File {
            batch,
            filed_by,
            reply,
        })
        .await
    }

    /// Pauses, resumes, adds or removes a worker (see [`core::roster`]); the worker as it
    /// is now (a removed one as it was).
    pub async fn change_roster(
        &self,
        change: core::roster::RosterChange,
    ) -> Result<crate::workers::WorkerView, CoreError> {
        let added = match &change {
            core::roster::RosterChange::Add(config) => Some(config.clone()),
            _ => None,
        };
        let view = self.ask(|reply| Command::Roster { change, reply }).await?;
        if let Some(config) = added.filter(|_| view.added) {
            self.permissions.admit(&config);
        }
        Ok(view)
    }

    /// Cancels a task.
    pub async fn cancel(&self, id: TaskId) -> Result<(), CoreError> {
        self.ask(|reply| Command::Cancel { id, reply }).await
    }

    /// Retries a failed task.
    pub async fn retry(&self, id: TaskId) -> Result<(), CoreError> {
        self.ask(|reply| Command::Retry { id, reply }).await
    }

    /// Answers the question a `needs_input` task waits on; the task is ready again.
    pub async fn answer(&self, id: TaskId, answer: String) -> Result<(), CoreError> {
        self.ask(|reply| Command::Answer { id, answer, reply })
            .await
    }

    /// Stops dispatching, lets calls in flight finish for up to `grace`, re-queues the rest,
    /// and saves everything.
    pub async fn shutdown(&self, grace: Duration) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Shutdown { grace, reply }).is_ok() {
            let _ = rx.await;
        }
    }

    /// Changes the budget limits (USD; `None` keeps one) and wakes the scheduler; returns
    /// the budget as it stands after the change.
    pub async fn set_budget(
        &self,
        daily_usd: Option<f64>,
        session_usd: Option<f64>,
    ) -> Result<crate::budget::BudgetView, CoreError> {
        self.ask(|reply| Command::SetBudget {
            daily_usd,
            session_usd,
            reply,
        })
        .await
    }

    /// Splits a waiting task into its chained subtasks.
    pub async fn decompose(&self, id: TaskId) -> Result<Vec<Filed>, CoreError> {
        self.ask(|reply| Command::Decompose { id, reply }).await
    }

    /// What the worker called `name` (any case) remembers of its recent tasks.
    pub async fn memory(&self, name: &str) -> Option<crate::workers::memory::WorkerMemory> {
        let (reply, rx) = oneshot::channel();
        let worker = name.to_owned();
        self.tx.send(Command::Memory { worker, reply }).ok()?;
        rx.await.ok().flatten()
    }

    /// Files tasks other swarms delegated here (each once, however often it comes).
    pub async fn file_remote(
        &self,
        batch: Vec<(TaskSpec, RemoteOrigin)>,
    ) -> Result<Vec<Result<Filed, CoreError>>, CoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::FileRemote { batch, reply })
            .map_err(gone)?;
        rx.await.map_err(gone)
    }

    /// Cancels the unfinished tasks filed under these [`RemoteOrigin::key`]s (the swarm
    /// that delegated them withdrew them); a key with no such task is remembered, so the
    /// delegation, should it come later, is not filed.
    pub async fn cancel_remote(&self, keys: Vec<String>) -> Result<(), CoreError> {
        self.ask(|reply| Command::CancelRemote { keys, reply })
            .await
    }

    /// Applies peers' reports on tasks delegated from here (durable when this returns).
    pub async fn apply_remote(
        &self,
        updates: Vec<RemoteUpdate>,
    ) -> Result<Vec<Applied>, CoreError> {
        self.ask(|reply| Command::ApplyRemote { updates, reply })
            .await
    }

    /// Tells the scheduler the peers now live (`None`: they could not be read).
    pub fn peers_seen(&self, peers: Option<Vec<PeerStatus>>) {
        let _ = self.tx.send(Command::Peers(peers));
    }

    /// Federation now: the peers and the tasks crossing swarms.
    pub async fn federation(&self) -> core::delegation::FederationView {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Command::Federation(reply)).is_err() {
            return Default::default();
        }
        rx.await.unwrap_or_default()
    }

    /// The model names and prefixes the loaded providers serve.
    pub fn served_models(&self) -> &[String] {
        &self.models
    }

    /// The approval queue.
    pub fn approvals(&self) -> &crate::approvals::service::Approvals {
        &self.approvals
    }

    /// The bus between workers.
    pub fn bus(&self) -> &crate::bus::Bus {
        &self.bus
    }

    /// The latest counts and worker views.
    pub fn snapshot(&self) -> Snapshot {
        self.read_snapshot(Snapshot::clone)
    }

    /// Reads the latest snapshot in place: cheaper than [`Self::snapshot`] when only a few
    /// figures are needed, as the copy includes every worker's view.
    pub fn read_snapshot<T>(&self, read: impl FnOnce(&Snapshot) -> T) -> T {
        read(&self.snapshot.read().expect("snapshot lock"))
    }
}

/// Hands the approval queue's decisions to the scheduler thread. (Only the sender, not the
/// [`Scheduler`]: the scheduler holds the queue, and the queue must not hold it back.)
struct Resolutions(mpsc::Sender<Command>);

impl crate::approvals::service::Resolver for Resolutions {
    fn resolved(&self, task: TaskId, approval: hypernet_model::ids::ApprovalId, outcome: String) {
        let _ = self.0.send(Command::Resolved {
            task,
            approval,
            outcome,
        });
    }
}

struct Loop {
    core: Core,
    store: Store,
    registry: Arc<Registry>,
    providers: Arc<ProviderMap>,
    slots: Arc<Slots>,
    http: hypernet_llm::HttpExecutor,
    runtime: tokio::runtime::Handle,
    tx: mpsc::Sender<Command>,
    snapshot: Arc<RwLock<Snapshot>>,
    standing: Vec<crate::config::StandingPriority>,
    call_timeout: Duration,
    batches: u64,
    snapshot_stale: bool,
    last_refresh: Instant,
    last_workers_refresh: Instant,
    probe: Option<CallProbe>,
    aborts: Arc<abort::Aborts>,
    /// Tasks cancelled in this batch, whose calls stop once it is written.
    stop_after_write: Vec<TaskId>,
    /// Tools, tool-loop and conversation settings, the budget gate.
    exec: Arc<exec::Exec>,
    /// Unread worker messages go into their recipient's next prompt.
    bus: crate::bus::Bus,
    /// Submits and polls batches (when `[batch_api] enabled`).
    batch_runner: Option<batch_api::runner::Runner>,
}

/// The tools offered to workers (when `[tools] enabled`: the host's, then the plugins'),
/// every call recorded in `audit`.
fn tool_registry(
    config: &HostConfig,
    store: &Store,
    plugin_tools: Vec<crate::tools::plugin::PluginTool>,
    audit: Option<crate::audit::Audit>,
    messages: crate::tools::send_message::SendMessage,
) -> crate::tools::ToolRegistry {
    let extra = plugin_tools
        .into_iter()
        .map(|t| Arc::new(t) as Arc<dyn crate::tools::Tool>)
        .collect();
    let mut tools = crate::tools::setup::registry(&config.tools, store, messages, extra);
    if let Some(audit) = audit {
        tools.set_observer(Arc::new(crate::audit::tools::ToolTrail::new(audit)));
    }
    tools
}

/// The tool-loop settings; step charges go to the scheduler thread through `tx`.
fn exec_settings(
    config: &HostConfig,
    tools: crate::tools::SharedTools,
    contexts: crate::tools::ToolContexts,
    approvals: &crate::approvals::service::Approvals,
    tx: &mpsc::Sender<Command>,
) -> exec::Exec {
    let tx = tx.clone();
    exec::Exec {
        tools,
        tools_cfg: config.tools.clone(),
        conversation: config.conversation.clone(),
        gate: Arc::new(move |charge| {
            // A stopped scheduler drops the reply, which the loop reads as a refusal.
            let _ = tx.send(Command::Step(charge));
        }),
        contexts,
        approvals: Some(approvals.clone()),
        call_metrics: call_metrics::CallMetrics::default(),
    }
}

/// The most characters the offered tools add to a prompt (natively or described).
fn tool_prompt_chars(tools: &crate::tools::ToolRegistry) -> usize {
    let specs = tools.specs();
    if specs.is_empty() {
        return 0;
    }
    let native = serde_json::to_string(&specs[..]).map_or(0, |s| s.len());
    native.max(tool_loop::fenced_instructions(&specs).chars().count())
}

/// Replies held until the batch they belong to is durable.
type Deferred = Vec<Box<dyn FnOnce(Result<(), String>) + Send>>;

const MAX_BATCH: usize = 8192;

/// Under continuous load the snapshot is refreshed at most this often (and always before
/// the loop sleeps).
const SNAPSHOT_EVERY: Duration = Duration::from_millis(100);

/// Under continuous load, worker views in the snapshot are rebuilt at most this often.
const WORKERS_EVERY: Duration = Duration::from_secs(1);

impl Loop {
    /// Why an added worker's model cannot be used, if it cannot: no loaded provider
    /// serves it.
    fn unserved_model(&self, change: &core::roster::RosterChange) -> Option<CoreError> {
        let core::roster::RosterChange::Add(config) = change else {
            return None;
        };
        let model = config.model.as_deref()?;
        self.providers.provider_for(model).is_none().then(|| {
            CoreError::Invalid(format!(
                "`model`: no loaded provider serves `{model}` (served: {})",
                self.providers.prefixes().join(", ")
            ))
        })
    }

    fn run(mut self, rx: mpsc::Receiver<Command>) {
        let mut shutdown: Option<(Instant, oneshot::Sender<()>)> = None;
        // The first batch writes what restoring changed (re-queued tasks).
        let mut first = true;
        loop {
            let mut deferred: Deferred = Vec::new();
            if !first {
                let cmd = match rx.try_recv() {
                    Ok(c) => Some(c),
                    Err(mpsc::TryRecvError::Disconnected) => return,
                    Err(mpsc::TryRecvError::Empty) => {
                        // About to sleep: bring the snapshot up to date first.
                        self.refresh_snapshot(true);
                        match self.wait_time(shutdown.as_ref().map(|s| s.0)) {
                            Some(d) => match rx.recv_timeout(d) {
                                Ok(c) => Some(c),
                                Err(mpsc::RecvTimeoutError::Timeout) => None,
                                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                            },
                            None => match rx.recv() {
                                Ok(c) => Some(c),
                                Err(_) => return,
                            },
                        }
                    }
                };
                let mut handled = 0;
                let mut next = cmd;
                while let Some(cmd) = next {
                    self.handle(cmd, &mut deferred, &mut shutdown);
                    handled += 1;
                    next = if handled < MAX_BATCH {
                        rx.try_recv().ok()
                    } else {
                        None
                    };
                }
            }
            first = false;
            let now = now_ms();
            self.core.release_retries(now);
            if shutdown.is_none() {
                self.core.file_standing(&self.standing, now);
                self.core.autoscale(now);
                self.core.collect_deferrable(now);
                self.core.assign(now);
            } else if shutdown
                .as_ref()
                .is_some_and(|(deadline, _)| Instant::now() >= *deadline)
            {
                self.core.requeue_running(now_ms());
                // Re-queued: their calls would be ignored; stop them.
                self.aborts.abort_all();
            }
            let written = self.flush();
            for reply in deferred {
                reply(written.clone());
            }
            if let Err(e) = written {
                tracing::error!(error = %e, "cannot write to the store; the scheduler stops");
                return;
            }
            if let Some((_, _)) = &shutdown
                && self.core.in_flight() == 0
            {
                let (_, reply) = shutdown.take().expect("checked");
                tracing::info!("scheduler stopped; state saved");
                // What the loop holds (the store among it) is released before the caller
                // hears that the scheduler stopped.
                drop(self);
                let _ = reply.send(());
                return;
            }
        }
    }

    /// How long to sleep: until the next timed action, or the shutdown deadline.
    fn wait_time(&self, deadline: Option<Instant>) -> Option<Duration> {
        let due = self
            .core
            .next_due(&self.standing)
            .map(|at| Duration::from_millis(at.saturating_sub(now_ms())));
        let until_deadline = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        match (due, until_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn handle(
        &mut self,
        cmd: Command,
        deferred: &mut Deferred,
        shutdown: &mut Option<(Instant, oneshot::Sender<()>)>,
    ) {
        let now = now_ms();
        match cmd {
            Command::File {
                batch,
                filed_by,
                reply,
            } => {
                let origins = batch.iter().filter_map(|p| p.spec.origin.clone());
                let result = self
                    .look_up_origins(origins)
                    .and_then(|()| self.core.file(batch, &filed_by, now));
                defer(deferred, reply, result);
            }
            Command::Cancel { id, reply } => {
                let result = self
                    .stored_if_needed(id)
                    .and_then(|stored| self.core.cancel(id, stored, now));
                if result.is_ok() {
                    self.stop_after_write.push(id);
                }
                defer(deferred, reply, result);
            }
            Command::Retry { id, reply } => {
                let result = self
                    .stored_if_needed(id)
                    .and_then(|stored| self.core.retry(id, stored));
                defer(deferred, reply, result);
            }
            Command::Answer { id, answer, reply } => {
                let result = self.core.answer(id, &answer, now);
                defer(deferred, reply, result);
            }
            Command::Resolved {
                task,
                approval,
                outcome,
            } => self.core.resolve_approval(task, approval, outcome, now),
            Command::Memory { worker, reply } => {
                let _ = reply.send(self.core.memory_of(&worker).cloned());
            }
            Command::Finished {
                id,
                attempt,
                outcome,
            } => match outcome {
                Ok(result) => self.core.complete(id, attempt, result, now),
                Err(error) => self.core.fail_call(id, attempt, &error, now),
            },
            Command::Batched(finished) => self.core.batch_finished(*finished, now),
            Command::Probed { target, outcome } => self.core.probe_result(&target, outcome, now),
            Command::SetBudget {
                daily_usd,
                session_usd,
                reply,
            } => {
                self.core.set_budget_limits(daily_usd, session_usd);
                defer(deferred, reply, Ok(self.core.budget_view(now)));
            }
            Command::Decompose { id, reply } => {
                let result = self.core.decompose(id, now);
                defer(deferred, reply, result);
            }
            Command::SetLimit { name, limit, reply } => {
                let result = self.core.set_limit(&name, limit);
                defer(deferred, reply, result);
            }
            Command::ToolPromptChars(chars) => self.core.set_tool_prompt_chars(chars),
            Command::Roster { change, reply } => {
                let result = match self.unserved_model(&change) {
                    Some(refusal) => Err(refusal),
                    None => self.core.change_roster(change, now),
                };
                defer(deferred, reply, result);
            }
            Command::Step(charge) => {
                let result = self.core.step(
                    charge.task,
                    charge.attempt,
                    charge.settle,
                    charge.reserve_micros,
                    now,
                );
                let _ = charge.reply.send(result);
            }
            Command::Boot(request) => self.core.boot_request(request, now),
            Command::FileRemote { batch, reply } => {
                let origins = batch.iter().map(|(_, remote)| remote.key());
                let results = match self.look_up_origins(origins) {
                    Ok(()) => self.core.file_remote(batch, now),
                    Err(e) => batch.iter().map(|_| Err(e.clone())).collect(),
                };
                deferred.push(Box::new(move |written| {
                    let results = match written {
                        Ok(()) => results,
                        Err(e) => results
                            .into_iter()
                            .map(|_| Err(CoreError::Invalid(format!("not saved: {e}"))))
                            .collect(),
                    };
                    let _ = reply.send(results);
                }));
            }
            Command::CancelRemote { keys, reply } => {
                let result = self.cancel_remote(keys, now);
                defer(deferred, reply, result);
            }
            Command::ApplyRemote { updates, reply } => {
                let applied = updates
                    .into_iter()
                    .map(|u| self.core.apply_remote(u, now))
                    .collect();
                defer(deferred, reply, Ok(applied));
            }
            Command::Peers(peers) => self.core.peers_seen(peers, now),
            Command::Federation(reply) => {
                let _ = reply.send(self.core.federation_view());
            }
            Command::BatchApi(report) => self.core.batch_report(report, now),
            Command::Shutdown { grace, reply } => {
                tracing::info!(
                    in_flight = self.core.in_flight(),
                    ?grace,
                    "scheduler stopping: no new calls"
                );
                self.core.withdraw_reservations();
                *shutdown = Some((Instant::now() + grace, reply));
            }
        }
    }

    /// Cancels the unfinished tasks filed under `keys`; a key with no task yet is kept as
    /// withdrawn (see [`Scheduler::cancel_remote`]).
    fn cancel_remote(&mut self, keys: Vec<String>, now: u64) -> Result<(), CoreError> {
        for key in keys {
            match self.core.remote_task(&key) {
                Some(id) => {
                    if self.core.cancel(id, None, now).is_ok() {
                        self.stop_after_write.push(id);
                    }
                }
                None => {
                    // Kept, so the delegation is not filed should it come after all.
                    self.store
                        .kv_put(WITHDRAWN, &key, b"")
                        .map_err(|e| CoreError::Invalid(format!("keeping {key}: {e}")))?;
                    self.core.withdraw_remote(key);
                }
            }
        }
        Ok(())
    }

    /// Finds in the store the tasks filed with `origins` that the core does not know of
    /// (it keeps only its held tasks' origins), for this batch's filings.
    fn look_up_origins(&mut self, origins: impl Iterator<Item = String>) -> Result<(), CoreError> {
        for origin in origins {
            if self.core.origin_of(&origin).is_some() {
                continue;
            }
            let stored = self.store.task_by_origin(&origin).map_err(|e| {
                CoreError::Invalid(format!("looking up the task of origin `{origin}`: {e}"))
            })?;
            if let Some(id) = stored {
                self.core.note_stored_origin(&origin, id);
            }
        }
        Ok(())
    }

    /// The stored copy of a task the core no longer holds (needed to cancel or retry it).
    fn stored_if_needed(
        &self,
        id: TaskId,
    ) -> Result<Option<hypernet_model::tasks::Task>, CoreError> {
        if self.core.holds(id) || !self.core.knows(id) {
            return Ok(None);
        }
        self.store
            .task(id)
            .map_err(|e| CoreError::Invalid(format!("reading {id}: {e}")))
    }

    /// Persists the batch with its events (one commit: an event exists exactly when the
    /// change it announces does), then starts its calls.
    fn flush(&mut self) -> Result<(), String> {
        let mut fx = std::mem::take(&mut self.core.fx);
        let events = std::mem::take(&mut fx.events);
        let batch_changes = self.core.take_batch_changes();
        if fx.needs_write() || !events.is_empty() || !batch_changes.is_empty() {
            let tasks: Vec<&hypernet_model::tasks::Task> = fx
                .dirty
                .iter()
                .filter_map(|id| self.core.task(*id))
                .chain(fx.finished.iter())
                .collect();
            let workers = fx
                .workers
                .iter()
                .map(|&w| self.core.worker_stats(w))
                .collect();
            let batch = Batch {
                tasks,
                workers,
                cooldowns: fx.cooldowns.then(|| self.core.cooldowns()),
                roster: fx.roster.then(|| self.core.roster()),
                budget: fx.budget.then(|| {
                    let b = self.core.budget();
                    (b.persisted(), b.today())
                }),
                ladder: fx.ladder.then(|| self.core.ladder().persisted()),
            };
            let started = Instant::now();
            let n_events = events.len();
            self.registry
                .commit("host", events, |txn| {
                    persist::write_batch(txn, &batch)?;
                    batch_api::persist::write(txn, &batch_changes)
                })
                .map_err(|e| e.to_string())?;
            self.batches += 1;
            for entry in &fx.personal {
                self.archive_personal(entry);
            }
            tracing::debug!(
                tasks = batch.tasks.len(),
                events = n_events,
                calls = fx.dispatch.len(),
                commit_us = started.elapsed().as_micros() as u64,
                "batch written"
            );
        }
        // Cancelled tasks' calls stop once the cancel is durable.
        for id in self.stop_after_write.drain(..) {
            self.aborts.abort(id);
        }
        for d in fx.reserve {
            self.offer(d);
        }
        for d in fx.dispatch {
            self.start_call(d);
        }
        self.hand_to_batch_runner();
        for b in fx.batches {
            self.start_batch(b);
        }
        for p in fx.probes {
            self.start_probe(p);
        }
        self.core.shrink_spare();
        self.snapshot_stale = true;
        if self.last_refresh.elapsed() >= SNAPSHOT_EVERY {
            self.refresh_snapshot(false);
        }
        Ok(())
    }

    /// Copies a personal-log entry (already stored) into its instance's archive folder.
    fn archive_personal(&self, entry: &crate::workers::personal::PersonalEntry) {
        let Some(instance) = self.core.identities().get(&entry.worker) else {
            return;
        };
        match crate::workers::personal::write_to_archive(&instance.dir, entry) {
            Ok(path) => tracing::debug!(path = %path.display(), "personal time archived"),
            Err(e) => {
                tracing::warn!(worker = %entry.worker, task = %entry.task, error = %e, "cannot write personal time to the archive")
            }
        }
    }

    /// Publishes counts and worker views for readers (when anything changed). Under load
    /// (`full` false) the worker views, the costly part, are rebuilt at most once a second.
    fn refresh_snapshot(&mut self, full: bool) {
        let workers_due = full || self.last_workers_refresh.elapsed() >= WORKERS_EVERY;
        let workers =
            (workers_due && self.core.take_workers_changed()).then(|| self.core.worker_views());
        if !self.snapshot_stale && workers.is_none() {
            return;
        }
        let mut snap = self.snapshot.write().expect("snapshot lock");
        snap.counts = self.core.counts();
        snap.budget = self.core.budget_view(now_ms());
        snap.breaker = self.core.ladder().breaker_view();
        snap.boot = self.core.boot_view();
        snap.batch_api = self.core.batch_api_view();
        snap.batches = self.batches;
        if let Some(workers) = workers {
            snap.workers = workers;
            self.last_workers_refresh = Instant::now();
            let conflicts = self.core.conflicts();
            for c in conflicts
                .iter()
                .filter(|c| !snap.conflicts.iter().any(|o| o.key() == c.key()))
            {
                tracing::warn!(kind = c.kind, tasks = ?c.tasks, "conflict detected");
                self.registry
                    .publish("host", "conflict.detected", serde_json::json!(c));
            }
            snap.conflicts = conflicts;
        }
        self.snapshot_stale = false;
        self.last_refresh = Instant::now();
    }

    /// What to send for `d`: the worker introduces itself (compactly for routine tasks),
    /// the task is the message, the answer length is the one the budget reserved for; with
    /// tools or plan-and-steps as [`Self::exec_spec`] chooses.
    fn call_spec(&self, d: &effects::Dispatch) -> Option<CallSpec> {
        let mut spec = self.base_spec(d)?;
        let task = self.core.task(d.task)?;
        self.exec_spec(&mut spec, task);
        Some(spec)
    }

    /// [`Self::call_spec`] as a single-turn call, offering no tools.
    fn base_spec(&self, d: &effects::Dispatch) -> Option<CallSpec> {
        let task = self.core.task(d.task)?;
        let w = self.core.worker_config_at(d.worker_index);
        let recall = crate::prompts::Recall {
            cfg: self.core.memory_config(),
            memory: self.core.worker_memory(d.worker_index).1,
        };
        let mut system = crate::prompts::system_prompt(
            self.core.limits(),
            self.core.identities(),
            w,
            recall,
            task,
            &d.model,
        );
        // After the stable prefix, so the cached part stays the same.
        system
            .text
            .push_str(&crate::bus::prompt::take_section(&self.bus, &w.name));
        Some(CallSpec {
            model: d.model.clone(),
            system: system.text,
            system_cache_prefix: system.stable_len,
            prompt: crate::prompts::user_prompt(task),
            max_tokens: d.max_tokens,
            ..CallSpec::default()
        })
    }

    /// Chooses how the task's calls run: tools offered (natively, or described for a
    /// fenced-tool model) and plan-and-steps for a complex task; single-turn otherwise.
    fn exec_spec(&self, spec: &mut CallSpec, task: &hypernet_model::tasks::Task) {
        let conversation = self.exec.conversation.enabled
            && crate::router::complexity_of(task) == hypernet_model::tasks::Complexity::Complex;
        let tools = self.exec.tools.current().specs();
        if tools.is_empty() && !conversation {
            return;
        }
        let fenced = self.exec.tools_cfg.is_fenced(&spec.model);
        if fenced && !tools.is_empty() {
            spec.system
                .push_str(&tool_loop::fenced_instructions(&tools));
        } else {
            spec.tools = tools;
        }
        spec.exec = Some(exec::ExecSpec {
            conversation,
            fenced,
            price: self.core.budget().price(&spec.model),
            ceiling: task.remote.as_ref().map(|r| r.tier),
        });
    }

    /// Offers a durable reservation to the worker's running call task, and has the
    /// provider prepare it meanwhile so the call can go out the moment the worker is free.
    fn offer(&self, d: effects::Dispatch) {
        let Some(spec) = self.call_spec(&d) else {
            return;
        };
        let reserved = Reserved {
            task: d.task,
            attempt: d.attempt,
            spec: spec.clone(),
            prepared: None,
        };
        self.slots.put(d.worker_index, d.lane, reserved);
        let (registry, providers, slots) = (
            self.registry.clone(),
            self.providers.clone(),
            self.slots.clone(),
        );
        self.runtime.spawn(async move {
            // A failure is left for the call itself to meet and report.
            if let Ok(prepared) = call::prepare(&registry, &providers, &spec).await {
                slots.attach(d.worker_index, d.lane, d.task, prepared);
            }
        });
    }

    /// Sends a failure ladder's probe: one word, one token, to the model that failed. Its
    /// few tokens are not charged to the budget.
    fn start_probe(&self, p: ladder::Probe) {
        let spec = CallSpec {
            model: p.model,
            system: "You are checking that this model answers.".into(),
            prompt: "Reply with one word: ready".into(),
            max_tokens: 1,
            ..CallSpec::default()
        };
        let (registry, providers, http, tx, timeout) = (
            self.registry.clone(),
            self.providers.clone(),
            self.http.clone(),
            self.tx.clone(),
            self.call_timeout,
        );
        self.runtime.spawn(async move {
            let model = spec.model.clone();
            let outcome = call::run(registry, providers, http, spec, None, timeout, None).await;
            if let Err(e) = &outcome {
                tracing::info!(target_of_probe = ?p.target, model = %model, error = %e, "probe failed");
            }
            let outcome = outcome.map(|_| ()).map_err(|e| ladder::Failure::of(&e));
            let _ = tx.send(Command::Probed {
                target: p.target,
                outcome,
            });
        });
    }

    /// Starts a call task on a new lane: it runs `d`, then each call reserved for its lane,
    /// reporting every answer to the scheduler.
    fn start_call(&self, d: effects::Dispatch) {
        let Some(spec) = self.call_spec(&d) else {
            return;
        };
        let env = exec::CallEnv {
            registry: self.registry.clone(),
            providers: self.providers.clone(),
            http: self.http.clone(),
            timeout: self.call_timeout,
            exec: self.exec.clone(),
        };
        let (tx, slots, probe, aborts) = (
            self.tx.clone(),
            self.slots.clone(),
            self.probe.clone(),
            self.aborts.clone(),
        );
        let (worker, lane) = (d.worker_index, d.lane);
        let worker_name: Arc<str> = d.worker.as_str().into();
        let mut next = Some(Reserved {
            task: d.task,
            attempt: d.attempt,
            spec,
            prepared: None,
        });
        self.runtime.spawn(async move {
            while let Some(Reserved {
                task: id,
                attempt,
                spec,
                prepared,
            }) = next.take()
            {
                if let Some(probe) = &probe {
                    probe(id);
                }
                tracing::info!(task = %id, model = %spec.model, attempt, "call started");
                let stop = aborts.register(id);
                let origin = output::Origin {
                    task: id,
                    worker: worker_name.clone(),
                };
                let call = exec::run_task(&env, spec, prepared, attempt, &origin);
                // Dropping the call closes its connection and frees its provider slot.
                let outcome = tokio::select! {
                    outcome = call => outcome,
                    Ok(()) = stop => Err(hypernet_llm::CallError::Host("the call was stopped".into())),
                };
                aborts.finished(id);
                match &outcome {
                    Ok(r) => tracing::info!(task = %id, tokens = r.input_tokens + r.output_tokens, "call finished"),
                    Err(e) => tracing::warn!(task = %id, error = %e, "call failed"),
                }
                // The next call starts before the scheduler even hears of this answer.
                next = slots.take_for_lane(worker, lane);
                let _ = tx.send(Command::Finished {
                    id,
                    attempt,
                    outcome,
                });
            }
        });
    }
}

fn defer<T: Send + 'static>(
    deferred: &mut Deferred,
    reply: Reply<T>,
    result: Result<T, CoreError>,
) {
    deferred.push(Box::new(move |written| {
        let result = match written {
            Ok(()) => result,
            Err(e) => Err(CoreError::Invalid(format!("not saved: {e}"))),
        };
        let _ = reply.send(result);
    }));
}
