//! The `hypernet` binary: `run` starts a host; the other commands talk to a running host
//! over its API (found through the data directory). This crate is glue over the library
//! crates below it, and [`compose`] is the one place that builds the host's services.
//!
//! - [`mod@run`]: `hypernet run`.
//! - [`compose`]: builds every service in order and hands each what it needs.
//! - [`datadir`]: files of the data directory.
//! - [`mod@bench`]: `hypernet bench`.
//!
//! Output goes through one writer, for which a reader that stops early ([`ClosedOutput`])
//! ends a command quietly.

#[macro_use]
mod output;

mod address;
mod approvals;
mod audit;
pub mod bench;
mod budget;
mod channels;
mod client;
pub mod compose;
pub mod console;
mod cost;
mod dashboard;
pub mod datadir;
mod doctor;
mod federation;
pub(crate) mod format;
pub mod memory;
mod messages;
mod plugin_new;
mod plugins;
pub mod program;
pub mod run;
pub mod status;
mod table;

pub use address::AddressCommand;
pub use approvals::ApprovalsCommand;
pub use audit::{AuditCommand, KeysCommand};
pub use messages::MessagesArgs;
pub use output::ClosedOutput;
pub use plugin_new::{NewPluginArgs, PluginKind};
pub use table::render as render_table;
mod tasks;

use crate::run::{RunOptions, run};
use anyhow::Result;
use clap::{Parser, Subcommand};
use hypernet_model::tasks::{Complexity, TaskId, TaskStatus};
use hypernet_plugin_api::Priority;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Hypernet Swarm: a swarm of LLM workers over a durable task graph.
#[derive(Debug, Parser)]
#[command(name = "hypernet", version, about)]
pub struct Cli {
    /// Data directory: the database, the API token, and how to reach the running host.
    #[arg(
        long,
        global = true,
        env = "HYPERNET_DATA",
        default_value = "hypernet-data"
    )]
    pub data_dir: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Measure the whole system: concurrency, throughput, scheduling latency, memory.
    Bench(crate::bench::BenchOptions),
    /// Start the host: load plugins, serve the API, run until Ctrl-C or SIGTERM.
    Run {
        /// Plugin manifest [default: ./plugins.toml if present, else the built-in one].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Address of the HTTP API (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:7477")]
        listen: SocketAddr,
        /// Host config [default: ./hypernet.toml if present, else built-in defaults].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Check a configuration before a run — config, manifest and plugins, a model
    /// provider, API keys, the servers plugins talk to, disk, port — and say what to fix.
    Doctor {
        /// Plugin manifest [default: ./plugins.toml if present, else the built-in one].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Host config [default: ./hypernet.toml if present, else built-in defaults].
        #[arg(long)]
        config: Option<PathBuf>,
        /// The address the API will listen on.
        #[arg(long, default_value = "127.0.0.1:7477")]
        listen: SocketAddr,
    },
    /// Inspect, check, toggle and call plugins.
    #[command(subcommand, visible_alias = "plugin")]
    Plugins(PluginsCommand),
    /// File, list, show, cancel and retry tasks in the running host.
    #[command(subcommand, visible_alias = "tasks")]
    Task(TaskCommand),
    /// The running host at a glance: task counts, busy workers and their tasks, plugins,
    /// uptime; with --watch, refreshed until Ctrl-C.
    Status {
        /// Print JSON.
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Refresh the view until Ctrl-C (in place on a terminal).
        #[arg(long)]
        watch: bool,
        /// Seconds between refreshes when watching (fractions allowed, at least 0.1).
        #[arg(long, value_name = "SECS", default_value = "1", value_parser = status::interval, requires = "watch")]
        interval: Duration,
    },
    /// A full-screen view of the running host to work from: the task board, the selected
    /// task's answer as it streams, workers, budget, approvals and questions, plugins, with
    /// keys to act on each (? lists them).
    Console {
        /// Seconds between reads of the host (fractions allowed, at least 0.1); streamed
        /// output and changes the host announces show sooner.
        #[arg(long, value_name = "SECS", default_value = "1", value_parser = status::interval)]
        refresh: Duration,
    },
    /// Totals over every stored task: by status, by model, tokens and cost.
    Summary {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The workers: address, role, model, state, current task and counters; or pause,
    /// resume, add or remove one while the host runs.
    Workers {
        /// Change a worker instead of listing them.
        #[command(subcommand)]
        action: Option<WorkersCommand>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One worker in detail.
    Worker {
        /// Worker name (any case) or address.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the address of the running host's live dashboard, with its API token.
    Dashboard {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Spending: limits, spent today and this session, reserved, by model and worker,
    /// next reset, whether paid work is paused.
    Budget {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Where the money went: spend by day, model, worker and category against the
    /// targets of `[budget.targets]`, what each saving saved, and the spend projected to
    /// the end of the day and the month; `hypernet cost estimate --model M --tokens N`
    /// prices a call before it is made.
    Cost(CostArgs),
    /// Hypernet addresses: check what one parses to, or why it does not.
    #[command(subcommand)]
    Address(AddressCommand),
    /// Actions waiting for a person's approval: list, show, approve, deny.
    #[command(subcommand, visible_alias = "approval")]
    Approvals(ApprovalsCommand),
    /// Messages between workers, newest first: id, from, to, thread, status, age, body.
    Messages(MessagesArgs),
    /// The signed audit log: list its entries, verify its chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Channels to people (Discord, Telegram, email, webhooks): list them, set one up.
    #[command(subcommand, visible_alias = "channel")]
    Channels(channels::ChannelsCommand),
    /// Other swarms (federation): the peers, their load, the tasks delegated in and out.
    #[command(subcommand)]
    Federation(federation::FederationCommand),
    /// The host's signing keys: list, rotate, revoke.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Failed tasks, newest first.
    Failures {
        /// At most this many [host default: 50].
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Finished tasks (completed, failed, cancelled), newest first.
    History {
        /// At most this many [host default: 50].
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// `hypernet task ...`
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// File a task; filing a duplicate of an unfinished task returns that task's id.
    Add {
        /// Short title.
        title: String,
        /// Full description.
        #[arg(long, default_value = "")]
        description: String,
        /// critical, high, normal or low.
        #[arg(long, default_value = "normal", value_parser = tasks::serde_word::<Priority>)]
        priority: Priority,
        /// Tags for routing and worker matching, comma-separated.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Tasks that must complete first, comma-separated (`T-1,T-2`).
        #[arg(long, value_delimiter = ',')]
        depends_on: Vec<TaskId>,
        /// simple, moderate or complex [default: estimated by the host].
        #[arg(long, value_parser = tasks::serde_word::<Complexity>)]
        complexity: Option<Complexity>,
        /// Run it at this swarm (federation): it is delegated there.
        #[arg(long)]
        swarm: Option<String>,
        /// Attempts allowed before it stays failed [default: the host's `max_attempts`].
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_attempts: Option<u32>,
        /// It may wait up to a day for its answer: with `[batch_api] enabled`, it goes
        /// through its provider's batch API at half price (one answer, no tools).
        #[arg(long)]
        deferrable: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tasks, newest first: id, status, priority, worker, attempts, title.
    List {
        /// Only this status: pending, blocked, ready, assigned, running, needs_input,
        /// delegated, completed, failed or cancelled.
        #[arg(long)]
        status: Option<TaskStatus>,
        /// At most this many [host default: 200].
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show one task: its fields, error and answer.
    Show {
        /// Task id (`T-5`).
        id: TaskId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a task that is not completed (a running call's answer is ignored).
    Cancel {
        /// Task id (`T-5`).
        id: TaskId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Queue a failed or cancelled task again (allowing it one more attempt); a cancelled
    /// one waits for its unfinished dependencies again.
    Retry {
        /// Task id (`T-5`).
        id: TaskId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Answer the question a `needs_input` task waits on (see `task show`); it is queued
    /// again with the answer.
    Answer {
        /// Task id (`T-5`).
        id: TaskId,
        /// The answer.
        answer: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hypernet cost [--days N] [--json]`, or `hypernet cost estimate ...`.
#[derive(Debug, clap::Args)]
pub struct CostArgs {
    /// What else to do than report.
    #[command(subcommand)]
    pub command: Option<CostCommand>,
    /// Budget days to report, today's included (1–366).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=366))]
    pub days: u64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `hypernet cost ...`
#[derive(Debug, Subcommand)]
pub enum CostCommand {
    /// The price of a call before it is made: the model's tier, its price per million
    /// tokens and where that comes from, and the cost of the tokens given.
    Estimate {
        /// The model (`anthropic/claude-sonnet-4-5`).
        #[arg(long)]
        model: String,
        /// Input tokens of the call.
        #[arg(long)]
        tokens: u64,
        /// Output tokens of the call.
        #[arg(long, default_value_t = 0)]
        output_tokens: u64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hypernet workers pause|resume|add|remove ...`: workers managed while the host runs;
/// every change is kept across restarts.
#[derive(Debug, Subcommand)]
pub enum WorkersCommand {
    /// Stop giving a worker new tasks; its call in progress finishes.
    Pause {
        /// Worker name (any case).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give a paused worker tasks again.
    Resume {
        /// Worker name (any case).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a worker (a configured one removed earlier comes back as configured).
    Add {
        /// Its name: one word, not taken.
        name: String,
        /// The model it calls [default: the scheduler's default model].
        #[arg(long)]
        model: Option<String>,
        /// What it does.
        #[arg(long, default_value = "")]
        role: String,
        /// Capability tags matched against task tags, comma-separated.
        #[arg(long, value_delimiter = ',')]
        capabilities: Vec<String>,
        /// Tool permission tier, 0 (read-only) to 4 (destructive).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(0..=4))]
        tier: u8,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a worker: at once when idle, else when its call ends.
    Remove {
        /// Worker name (any case).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `hypernet plugins ...`
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the running host's plugins: name, version, kinds, state, library.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate a manifest and every plugin in it without starting anything.
    Check {
        /// Manifest to check [default: ./plugins.toml if present, else the built-in one].
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start a disabled or failed plugin in the running host.
    Enable {
        /// Plugin name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop a plugin in the running host (until enabled again or the host restarts).
    Disable {
        /// Plugin name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// What a running plugin offers: each service's queries (with their arguments and
    /// answers), the events it publishes, its tools, a provider's models.
    Describe {
        /// Plugin name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call a plugin's named query with JSON arguments and print the JSON answer.
    Call {
        /// Plugin name (or `plugin:service`).
        name: String,
        /// Query name.
        query: String,
        /// Arguments as JSON [default: null].
        args: Option<String>,
    },
    /// Write a new plugin crate, ready to build and load: Cargo.toml, a commented
    /// src/lib.rs with its tests, its plugins.toml entry, a README.
    New(NewPluginArgs),
}

impl Cli {
    /// Runs the command; the process exit code follows from the result.
    pub async fn execute(self) -> Result<()> {
        match self.command {
            Command::Run {
                manifest,
                listen,
                config,
            } => {
                run(RunOptions {
                    manifest,
                    data_dir: self.data_dir,
                    listen,
                    config,
                })
                .await
            }
            Command::Doctor {
                manifest,
                config,
                listen,
            } => doctor::run(doctor::Options {
                data_dir: &self.data_dir,
                manifest: manifest.as_deref(),
                config: config.as_deref(),
                listen,
            }),
            Command::Plugins(cmd) => plugins::execute(&self.data_dir, cmd).await,
            // The benchmarks are a program of their own, given this command line.
            Command::Bench(_) => program::exec_beside(
                "hypernet-bench",
                "hypernet bench",
                std::env::args_os().skip(1),
            ),
            Command::Task(cmd) => tasks::execute(&self.data_dir, cmd).await,
            Command::Status {
                json,
                watch,
                interval,
            } => status::show(&self.data_dir, json, watch.then_some(interval)).await,
            Command::Console { refresh } => console::launch(&self.data_dir, refresh),
            Command::Summary { json } => tasks::summary(&self.data_dir, json).await,
            Command::Workers { action: None, json } => tasks::workers(&self.data_dir, json).await,
            Command::Workers {
                action: Some(action),
                ..
            } => tasks::change_worker(&self.data_dir, action).await,
            Command::Worker { name, json } => tasks::worker(&self.data_dir, &name, json).await,
            Command::Budget { json } => budget::show(&self.data_dir, json).await,
            Command::Cost(args) => cost::run(&self.data_dir, args).await,
            Command::Dashboard { json } => dashboard::show(&self.data_dir, json).await,
            Command::Address(cmd) => address::run(cmd),
            Command::Approvals(cmd) => approvals::run(&self.data_dir, cmd).await,
            Command::Messages(args) => messages::list(&self.data_dir, args).await,
            Command::Audit(cmd) => audit::audit(&self.data_dir, cmd).await,
            Command::Channels(cmd) => channels::run(&self.data_dir, cmd).await,
            Command::Federation(cmd) => federation::run(&self.data_dir, cmd).await,
            Command::Keys(cmd) => audit::keys(&self.data_dir, cmd).await,
            Command::Failures { limit, json } => tasks::failures(&self.data_dir, limit, json).await,
            Command::History { limit, json } => tasks::history(&self.data_dir, limit, json).await,
        }
    }

    /// Runs `hypernet bench` (what `hypernet-bench` does with its command line, which is
    /// `hypernet`'s); any other command is refused.
    pub async fn execute_bench(self) -> Result<()> {
        match self.command {
            Command::Bench(options) => crate::bench::run(options).await,
            _ => anyhow::bail!(
                "hypernet-bench runs only `hypernet bench`; run `hypernet` for the rest"
            ),
        }
    }

    /// Whether this command is the long-running host (which logs at info by default).
    pub fn is_host(&self) -> bool {
        matches!(self.command, Command::Run { .. })
    }
}
